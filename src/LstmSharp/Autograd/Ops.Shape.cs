using LstmSharp.Tensors;

namespace LstmSharp.Autograd;

/// <remarks>
/// The axis ops below see a tensor as <c>[outer, size(axis), inner]</c>: outer is the product of
/// the axes before <c>axis</c>, inner of those after it, so each copy is a block of
/// <c>size·inner</c> contiguous floats per outer index.
/// </remarks>
public static partial class Ops
{
    /// <summary>Joins tensors along <paramref name="axis"/>; all other axes must agree. Backward splits dy.</summary>
    public static Tensor Concatenate(IReadOnlyList<Tensor> inputs, int axis = -1)
    {
        const string op = "concatenate";
        if (inputs is null || inputs.Count == 0)
        {
            throw new ArgumentException($"{Where(op)}: expected at least one input, got none.", nameof(inputs));
        }

        for (int i = 0; i < inputs.Count; i++)
        {
            NotNull(inputs[i], op, $"inputs[{i}]");
        }

        var first = inputs[0];
        int ax = Axis(op, axis, first.Rank);
        int[] outShape = first.ShapeArray;
        outShape[ax] = 0;
        foreach (var t in inputs)
        {
            if (t.Rank != first.Rank || !SameExcept(t.Shape, first.Shape, ax))
            {
                throw new ArgumentException($"{Where(op)}: inputs must match except on axis {axis}; expected {Shape(WithAxis(first.Shape, ax))}, got {Shape(t.Shape)}.");
            }

            outShape[ax] += t.Dim(ax);
        }

        var y = new Tensor(outShape);
        int outer = Prod(outShape, 0, ax);
        int inner = Prod(outShape, ax + 1, outShape.Length);
        int outBlock = outShape[ax] * inner;
        int offset = 0;
        foreach (var t in inputs)
        {
            int block = t.Dim(ax) * inner;
            for (int o = 0; o < outer; o++)
            {
                t.Span.Slice(o * block, block).CopyTo(y.Span.Slice((o * outBlock) + offset, block));
            }

            offset += block;
        }

        var ins = inputs.ToArray();
        Tape.Track(op, [y], ins, () =>
        {
            var dy = y.Grad!.Span;
            int off = 0;
            foreach (var t in ins)
            {
                int block = t.Dim(ax) * inner;
                if (t.RequiresGrad)
                {
                    var dt = t.EnsureGrad().Span;
                    for (int o = 0; o < outer; o++)
                    {
                        AddInto(dt.Slice(o * block, block), dy.Slice((o * outBlock) + off, block));
                    }
                }

                off += block;
            }
        });
        return y;
    }

    /// <summary>Splits <paramref name="x"/> along <paramref name="axis"/> into pieces of the given sizes (which must sum to the axis). Backward concatenates.</summary>
    public static Tensor[] Split(Tensor x, IReadOnlyList<int> sizes, int axis = -1)
    {
        const string op = "split";
        NotNull(x, op, nameof(x));
        ArgumentNullException.ThrowIfNull(sizes);
        int ax = Axis(op, axis, x.Rank);
        int total = 0;
        foreach (int s in sizes)
        {
            if (s < 0)
            {
                throw new ArgumentException($"{Where(op)}: sizes must be >= 0, got [{string.Join(", ", sizes)}].", nameof(sizes));
            }

            total += s;
        }

        if (total != x.Dim(ax))
        {
            throw new ArgumentException($"{Where(op)}: sizes [{string.Join(", ", sizes)}] sum to {total}, expected axis {axis} of {Shape(x.Shape)} ({x.Dim(ax)}).", nameof(sizes));
        }

        int outer = Prod(x.Shape, 0, ax);
        int inner = Prod(x.Shape, ax + 1, x.Rank);
        int inBlock = x.Dim(ax) * inner;
        var ys = new Tensor[sizes.Count];
        int offset = 0;
        for (int i = 0; i < ys.Length; i++)
        {
            int[] shape = x.ShapeArray;
            shape[ax] = sizes[i];
            ys[i] = new Tensor(shape);
            int block = sizes[i] * inner;
            for (int o = 0; o < outer; o++)
            {
                x.Span.Slice((o * inBlock) + offset, block).CopyTo(ys[i].Span.Slice(o * block, block));
            }

            offset += block;
        }

        Tape.Track(op, ys, [x], () =>
        {
            if (!x.RequiresGrad)
            {
                return;
            }

            var dx = x.EnsureGrad().Span;
            int off = 0;
            foreach (var yi in ys)
            {
                int block = yi.Dim(ax) * inner;
                var dyi = yi.Grad!.Span;
                for (int o = 0; o < outer; o++)
                {
                    AddInto(dx.Slice((o * inBlock) + off, block), dyi.Slice(o * block, block));
                }

                off += block;
            }
        });
        return ys;
    }

    /// <summary>The slice at <paramref name="index"/> of <paramref name="axis"/>, with that axis removed (a copy).</summary>
    public static Tensor Select(Tensor x, int axis, int index)
    {
        const string op = "select";
        NotNull(x, op, nameof(x));
        int ax = Axis(op, axis, x.Rank);
        int n = x.Dim(ax);
        if ((uint)index >= (uint)n)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"{Where(op)}: index {index} is out of range for axis {axis} of size {n} (shape {Shape(x.Shape)}).");
        }

        int outer = Prod(x.Shape, 0, ax);
        int inner = Prod(x.Shape, ax + 1, x.Rank);
        int[] outShape = [.. x.Shape[..ax], .. x.Shape[(ax + 1)..]];
        var y = new Tensor(outShape);
        for (int o = 0; o < outer; o++)
        {
            x.Span.Slice(((o * n) + index) * inner, inner).CopyTo(y.Span.Slice(o * inner, inner));
        }

        TrackUnary(op, y, x, (dx, dy) =>
        {
            for (int o = 0; o < outer; o++)
            {
                AddInto(dx.Slice(((o * n) + index) * inner, inner), dy.Slice(o * inner, inner));
            }
        });
        return y;
    }

    /// <summary>Time step <paramref name="t"/> of a sequence: <c>[B, T, D] → [B, D]</c>.</summary>
    public static Tensor TimeStep(Tensor x, int t)
    {
        if (x is not null && x.Rank != 3)
        {
            throw ShapeError("time_step", "[batch, time, features]", x.Shape);
        }

        return Select(x!, 1, t);
    }

    /// <summary>Stacks equal-shaped tensors along a new axis <paramref name="axis"/>: T × <c>[B, D]</c> → <c>[B, T, D]</c> for axis 1.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> inputs, int axis = 1)
    {
        const string op = "stack";
        if (inputs is null || inputs.Count == 0)
        {
            throw new ArgumentException($"{Where(op)}: expected at least one input, got none.", nameof(inputs));
        }

        for (int i = 0; i < inputs.Count; i++)
        {
            NotNull(inputs[i], op, $"inputs[{i}]");
            if (!inputs[i].SameShape(inputs[0]))
            {
                throw ShapeError(op, $"every input as {Shape(inputs[0].Shape)}", inputs[i].Shape, $"inputs[{i}]");
            }
        }

        // Stacking is concatenation of the inputs viewed with a size-1 axis inserted.
        int ax = Axis(op, axis, inputs[0].Rank + 1);
        int[] unit = [.. inputs[0].Shape[..ax], 1, .. inputs[0].Shape[ax..]];
        var views = new Tensor[inputs.Count];
        for (int i = 0; i < views.Length; i++)
        {
            views[i] = Reshape(inputs[i], unit);
        }

        return Concatenate(views, ax);
    }

    /// <summary>A view with a new shape (one dimension may be -1). Shares storage; the gradient is added back unchanged.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        const string op = "reshape";
        NotNull(x, op, nameof(x));
        Tensor y;
        try
        {
            y = x.Reshape(shape);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{Where(op)}: cannot view {Shape(x.Shape)} ({x.Length} elements) as {Shape(shape)}. {e.Message}", nameof(shape), e);
        }

        y.Name = null;
        TrackUnary(op, y, x, (dx, dy) => AddInto(dx, dy));
        return y;
    }

    /// <summary>Swaps the last two axes: <c>[..., R, C] → [..., C, R]</c> (a copy).</summary>
    public static Tensor TransposeLast2(Tensor x)
    {
        const string op = "transpose";
        NotNull(x, op, nameof(x));
        if (x.Rank < 2)
        {
            throw ShapeError(op, "a tensor of rank >= 2", x.Shape);
        }

        int r = x.Dim(-2);
        int c = x.Dim(-1);
        int batches = r * c == 0 ? 0 : x.Length / (r * c);
        int[] outShape = x.ShapeArray;
        (outShape[^2], outShape[^1]) = (c, r);
        var y = new Tensor(outShape);
        Transpose(x.Span, y.Span, batches, r, c, accumulate: false);
        TrackUnary(op, y, x, (dx, dy) => Transpose(dy, dx, batches, c, r, accumulate: true));
        return y;
    }

    private static void Transpose(ReadOnlySpan<float> src, Span<float> dst, int batches, int rows, int cols, bool accumulate)
    {
        int size = rows * cols;
        for (int b = 0; b < batches; b++)
        {
            var s = src.Slice(b * size, size);
            var d = dst.Slice(b * size, size);
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < cols; j++)
                {
                    if (accumulate)
                    {
                        d[(j * rows) + i] += s[(i * cols) + j];
                    }
                    else
                    {
                        d[(j * rows) + i] = s[(i * cols) + j];
                    }
                }
            }
        }
    }

    private static bool SameExcept(ReadOnlySpan<int> a, ReadOnlySpan<int> b, int axis)
    {
        for (int i = 0; i < a.Length; i++)
        {
            if (i != axis && a[i] != b[i])
            {
                return false;
            }
        }

        return true;
    }

    private static int[] WithAxis(ReadOnlySpan<int> shape, int axis)
    {
        var s = shape.ToArray();
        s[axis] = -1;
        return s;
    }
}
