using LstmSharp.Tensors;

namespace LstmSharp.Autograd;

/// <summary>
/// Differentiable ops. Each op computes its output, then hands the tape a closure with its
/// gradient rule right beside the forward code (<see cref="Tape.Track(string, Tensor, Tensor, Action)"/>).
/// Without a recording tape the closure is never stored, so inference keeps no activations.
/// Inputs are validated up front; messages read <c>op 'matmul' in layer 'dense': expected [*, 128], got [32, 64]</c>.
/// </summary>
/// <remarks>
/// Writing a new op:
/// <code>
/// public static Tensor Square(Tensor x)
/// {
///     var y = new Tensor(x.ShapeArray);
///     TensorPrimitives.Multiply(x.Span, x.Span, y.Span);
///     Tape.Track("square", y, x, () =>
///     {
///         if (x.RequiresGrad)
///         {
///             // dx += 2 x dy
///             var dx = x.EnsureGrad().Span;
///             var dy = y.Grad!.Span;
///             for (int i = 0; i &lt; dx.Length; i++) dx[i] += 2 * x.Span[i] * dy[i];
///         }
///     });
///     return y;
/// }
/// </code>
/// </remarks>
public static partial class Ops
{
    /// <summary>"op 'name'" or "op 'name' in layer 'dense_1'", the prefix of every op error.</summary>
    /// <summary>The backward of a one-input op: accumulates into <paramref name="dx"/> (x's gradient) from <paramref name="dy"/> (y's).</summary>
    private delegate void UnaryBackward(Span<float> dx, ReadOnlySpan<float> dy);

    /// <summary>Records y = op(x) on the tape; its backward runs only when x wants a gradient.</summary>
    private static void TrackUnary(string op, Tensor y, Tensor x, UnaryBackward backward) =>
        Tape.Track(op, y, x, () =>
        {
            if (x.RequiresGrad)
            {
                backward(x.EnsureGrad().Span, y.Grad!.Span);
            }
        });

    /// <summary>The three sizes of a rank-3 <paramref name="t"/>, or an error naming the op, the argument and its <paramref name="layout"/> (<c>[batch, steps, channels]</c>).</summary>
    private static (int D0, int D1, int D2) Dims3(string op, Tensor t, string argument, string layout) =>
        t.Rank == 3 ? (t.Dim(0), t.Dim(1), t.Dim(2)) : throw ShapeError(op, $"{argument} as {layout}", t.Shape, argument);

    internal static string Where(string op) => Tape.CurrentLayer is { } layer ? $"op '{op}' in layer '{layer}'" : $"op '{op}'";

    internal static ArgumentException ShapeError(string op, string expected, ReadOnlySpan<int> actual, string? argument = null)
    {
        string arg = argument is null ? string.Empty : $" ({argument})";
        return new ArgumentException($"{Where(op)}: expected {expected}{arg}, got {Tensor.FormatShape(actual)}.");
    }

    internal static string Shape(ReadOnlySpan<int> shape) => Tensor.FormatShape(shape);

    /// <summary>Normalises a possibly negative axis against a rank, with an op-named error.</summary>
    internal static int Axis(string op, int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), $"{Where(op)}: axis {axis} is out of range for rank {rank}.");
        }

        return a;
    }

    /// <summary>Product of <paramref name="shape"/>[from..to).</summary>
    internal static int Prod(ReadOnlySpan<int> shape, int from, int to)
    {
        int p = 1;
        for (int i = from; i < to; i++)
        {
            p *= shape[i];
        }

        return p;
    }

    /// <summary>dst += src (same length).</summary>
    internal static void AddInto(Span<float> dst, ReadOnlySpan<float> src) => System.Numerics.Tensors.TensorPrimitives.Add(dst, src, dst);

    internal static void NotNull(Tensor? t, string op, string argument)
    {
        if (t is null)
        {
            throw new ArgumentNullException(argument, $"{Where(op)}: {argument} is null.");
        }
    }
}
