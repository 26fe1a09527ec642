using System.Globalization;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using LstmSharp.Tensors;

namespace LstmSharp.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Embedding lookup: y[..., :] = table[indices[...], :]. <paramref name="indices"/> holds
    /// integer values stored as floats (as Keras accepts), any shape; <paramref name="table"/>
    /// is <c>[input_dim, output_dim]</c>; y is indices' shape + <c>[output_dim]</c>.
    /// The gradient is sparse: only the rows that were looked up receive dy (summed over
    /// repeats); every other row of table.Grad is left untouched. y remembers the table and
    /// rows it came from, so a recurrent layer reading y can project the table instead and
    /// send its gradient to the table directly (y.Grad is then never formed).
    /// </summary>
    public static Tensor Embedding(Tensor indices, Tensor table)
    {
        const string op = "embedding";
        NotNull(indices, op, nameof(indices));
        NotNull(table, op, nameof(table));
        if (table.Rank != 2)
        {
            throw ShapeError(op, "table as [input_dim, output_dim]", table.Shape, "table");
        }

        int inputDim = table.Dim(0);
        int d = table.Dim(1);
        // Inside a training step both buffers come from the step's arena (they die with the step).
        var rows = StepArena.Ints(indices.Length);
        var iv = indices.Span;
        for (int i = 0; i < rows.Length; i++)
        {
            float v = iv[i];
            int row = (int)v;
            if (!(v >= 0 && v < inputDim) || v != row)
            {
                string what = float.IsFinite(v) && v == MathF.Floor(v) ? "is out of range" : "is not an integer index";
                throw new ArgumentOutOfRangeException(
                    nameof(indices),
                    $"{Where(op)}: index {v.ToString(CultureInfo.InvariantCulture)} at position {Position(indices.Shape, i)} {what} for input_dim {inputDim} (valid: 0..{inputDim - 1}).");
            }

            rows[i] = row;
        }

        var y = new Tensor(StepArena.Floats(rows.Length * d), [.. indices.Shape, d]);
        Kernels.Rows.Gather(rows, table.Span, d, y.Span);

        y.LookedUpFrom = new TableLookup(table, rows);
        Tape.Track(op, y, table, () =>
        {
            if (!table.RequiresGrad)
            {
                return;
            }

            var dt = table.EnsureGrad().Span;
            var dy = y.Grad!.Span;
            for (int i = 0; i < rows.Length; i++)
            {
                AddInto(dt.Slice(rows[i] * d, d), dy.Slice(i * d, d));
            }
        });
        return y;
    }

    /// <summary>Throws unless x and the generator are given and the rate is in [0, 1) (the dropout ops' arguments).</summary>
    private static void CheckDropoutArguments(string op, Tensor x, float rate, Rng rng)
    {
        NotNull(x, op, nameof(x));
        ArgumentNullException.ThrowIfNull(rng);
        if (!(rate >= 0f && rate < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), $"{Where(op)}: rate must be in [0, 1), got {rate.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    /// <summary>
    /// Inverted dropout: when <paramref name="training"/>, each element is zeroed with
    /// probability <paramref name="rate"/> and the survivors are scaled by 1/(1 − rate), so
    /// inference is the identity (returns <paramref name="x"/> itself). The mask comes from
    /// <paramref name="rng"/>, so a seeded generator repeats it.
    /// </summary>
    public static Tensor Dropout(Tensor x, float rate, Rng rng, bool training)
    {
        const string op = "dropout";
        CheckDropoutArguments(op, x, rate, rng);

        if (!training || rate == 0f)
        {
            return x;
        }

        var mask = new float[x.Length];
        rng.DropoutMask(mask, rate);
        return Dropout(x, mask);
    }

    /// <summary>Dropout with a given mask (0 or 1/(1 − rate) per element, e.g. drawn per sample by <see cref="SampleRandom"/>).</summary>
    internal static Tensor Dropout(Tensor x, float[] mask)
    {
        const string op = "dropout";
        if (mask.Length != x.Length)
        {
            throw new ArgumentException($"{Where(op)}: mask of {mask.Length} values for an input of {x.Length}.", nameof(mask));
        }

        // mask[i] is 0 or 1/(1 - rate); y = x ⊙ mask, dx = dy ⊙ mask.
        var y = new Tensor(x.ShapeArray);
        TensorPrimitives.Multiply(x.Span, mask, y.Span);
        TrackUnary(op, y, x, (dx, dy) => TensorPrimitives.MultiplyAdd(dy, mask, dx, dx));
        return y;
    }

    /// <summary>Σ x as a scalar (rank 0). Backward: dx += dy.</summary>
    public static Tensor Sum(Tensor x) => Reduce("sum", x, 1f);

    /// <summary>(1/n) Σ x as a scalar (rank 0). Backward: dx += dy / n.</summary>
    public static Tensor Mean(Tensor x)
    {
        NotNull(x, "mean", nameof(x));
        if (x.Length == 0)
        {
            throw ShapeError("mean", "a non-empty tensor", x.Shape);
        }

        return Reduce("mean", x, 1f / x.Length);
    }

    private static Tensor Reduce(string op, Tensor x, float factor)
    {
        NotNull(x, op, nameof(x));

        // Accumulate in double: a loss over a large batch should not lose digits.
        double s = 0;
        foreach (float v in x.Span)
        {
            s += v;
        }

        var y = Tensor.Scalar((float)(s * factor));
        TrackUnary(op, y, x, (dx, dy) => TensorPrimitives.Add(dx, dy[0] * factor, dx));
        return y;
    }

    private static string Position(ReadOnlySpan<int> shape, int flat)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }

        return "[" + string.Join(", ", idx) + "]";
    }
}
