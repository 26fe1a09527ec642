using LstmSharp.Tensors;

namespace LstmSharp.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Row-wise choice: row r of the result is row r of <paramref name="a"/> where
    /// <paramref name="rowMask"/>[r] ≠ 0, else row r of <paramref name="b"/> (a copy, exact in
    /// both cases). <paramref name="a"/> and <paramref name="b"/> are <c>[rows, ...]</c> of one
    /// shape; the mask is a constant. Gradients: da = dy on the chosen rows, db = dy on the others.
    /// The RNN layer carries states and outputs through masked steps with it.
    /// </summary>
    internal static Tensor SelectRows(ReadOnlySpan<float> rowMask, Tensor a, Tensor b)
    {
        const string op = "select_rows";
        NotNull(a, op, nameof(a));
        NotNull(b, op, nameof(b));
        if (!a.SameShape(b) || a.Rank == 0 || a.Dim(0) != rowMask.Length)
        {
            throw new ArgumentException($"{Where(op)}: expected a and b of one shape [{rowMask.Length}, ...], got {Shape(a.Shape)} and {Shape(b.Shape)}.");
        }

        int rows = rowMask.Length, inner = rows == 0 ? 0 : a.Length / rows;
        var take = new bool[rows];
        var y = new Tensor(a.ShapeArray);
        for (int r = 0; r < rows; r++)
        {
            take[r] = rowMask[r] != 0;
            (take[r] ? a : b).Span.Slice(r * inner, inner).CopyTo(y.Span.Slice(r * inner, inner));
        }

        Tape.Track(op, y, a, b, () =>
        {
            var dy = y.Grad!.Span;
            for (int r = 0; r < rows; r++)
            {
                var src = take[r] ? a : b;
                if (src.RequiresGrad)
                {
                    AddInto(src.EnsureGrad().Span.Slice(r * inner, inner), dy.Slice(r * inner, inner));
                }
            }
        });
        return y;
    }
}
