using System.Globalization;
using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>The data at the model's boundary: checks of inputs and targets, the samples' axis moved to the front and back, rows gathered into batches.</summary>
public abstract partial class Model
{
    internal void CheckData(string method, IReadOnlyList<Tensor> x, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != InputCount)
        {
            throw new ArgumentException($"Model '{Name}' {method}: expected {InputCount} input tensor{(InputCount == 1 ? string.Empty : "s")}, got {x.Count}.");
        }

        if (y.Rank == 0 || y.Dim(0) == 0)
        {
            throw new ArgumentException($"Model '{Name}' {method}: targets must be a non-empty batch [samples, ...], got {Tensor.FormatShape(y.Shape)}.");
        }

        CheckSameCount(method, x, y.Dim(0));
        foreach (var t in x.Append(y))
        {
            int bad = Kernels.Reductions.IndexOfNonFinite(t.Span);
            if (bad >= 0)
            {
                throw new ArgumentException($"Model '{Name}' {method}: data contains {t.Span[bad].ToString(CultureInfo.InvariantCulture)} (NaN or infinity) in a tensor of shape {Tensor.FormatShape(t.Shape)}.");
            }
        }
    }

    private void CheckSameCount(string method, IReadOnlyList<Tensor> x, int n)
    {
        for (int i = 0; i < x.Count; i++)
        {
            if (x[i].Rank == 0 || x[i].Dim(0) != n)
            {
                throw new ArgumentException($"Model '{Name}' {method}: input {i} has shape {Tensor.FormatShape(x[i].Shape)}; expected {n} samples on its first axis.");
            }
        }
    }

    private IReadOnlyList<Tensor> InputsToBatchMajor(IReadOnlyList<Tensor> x)
    {
        var axes = InputBatchAxes;
        if (axes.All(a => a == 0))
        {
            return x;
        }

        return x.Select((t, i) => MoveAxis(t, i < axes.Count ? axes[i] : 0, 0, $"input {i}")).ToArray();
    }

    private IReadOnlyList<Tensor> OutputsFromBatchMajor(IReadOnlyList<Tensor> outputs)
    {
        var axes = OutputBatchAxes;
        if (axes.All(a => a == 0))
        {
            return outputs;
        }

        return outputs.Select((t, k) => MoveAxis(t, 0, k < axes.Count ? axes[k] : 0, $"output {k}")).ToArray();
    }

    internal (IReadOnlyList<Tensor> X, Tensor Y) DataToBatchMajor(IReadOnlyList<Tensor> x, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        var axes = OutputBatchAxes;
        return (InputsToBatchMajor(x), axes.Count > 0 && axes[0] != 0 ? MoveAxis(y, axes[0], 0, "targets") : y);
    }

    /// <summary>A copy of <paramref name="t"/> with axis <paramref name="from"/> moved to position <paramref name="to"/> (the others keep their order).</summary>
    private Tensor MoveAxis(Tensor t, int from, int to, string what)
    {
        if (from == to)
        {
            return t;
        }

        if (from >= t.Rank || to >= t.Rank)
        {
            throw new ArgumentException($"Model '{Name}': {what} has shape {Tensor.FormatShape(t.Shape)}; its samples are on axis {Math.Max(from, to)}, so it needs at least {Math.Max(from, to) + 1} axes.");
        }

        // Either way the data is [outer, A, B, inner] -> [outer, B, A, inner]: for from < to, A is
        // the moved axis and B the axes after it up to `to`; for from > to, A is the axes from `to`
        // up to the moved one and B the moved axis.
        var shape = t.ShapeArray;
        static int Product(int[] s, int start, int end)
        {
            int p = 1;
            for (int a = start; a < end; a++)
            {
                p *= s[a];
            }

            return p;
        }

        int lo = Math.Min(from, to), hi = Math.Max(from, to);
        int outer = Product(shape, 0, lo), inner = Product(shape, hi + 1, shape.Length);
        int sizeA = from < to ? shape[from] : Product(shape, to, from);
        int sizeB = from < to ? Product(shape, from + 1, to + 1) : shape[from];
        var list = shape.ToList();
        int moved = list[from];
        list.RemoveAt(from);
        list.Insert(to, moved);
        var result = new Tensor(list.ToArray());
        var src = t.Span;
        var dst = result.Span;
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < sizeA; i++)
            {
                for (int j = 0; j < sizeB; j++)
                {
                    src.Slice((((o * sizeA) + i) * sizeB + j) * inner, inner).CopyTo(dst.Slice((((o * sizeB) + j) * sizeA + i) * inner, inner));
                }
            }
        }

        return result;
    }
}
