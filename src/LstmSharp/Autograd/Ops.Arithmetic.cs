using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using LstmSharp.Kernels;
using LstmSharp.Tensors;

namespace LstmSharp.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Y = op(A)·op(B) as one GEMM. A is <c>[..., K]</c> (all leading axes are folded into M, so a
    /// batch of sequences <c>[B, T, K]</c> is a single <c>[B·T, K]</c> product), or <c>[K, M]</c>
    /// when <paramref name="transposeA"/>; B is <c>[K, N]</c>, or <c>[N, K]</c> when
    /// <paramref name="transposeB"/>. Y is A's leading axes + <c>[N]</c>.
    /// Gradients: dA = dY·op(B)ᵀ, dB = op(A)ᵀ·dY (transposed back into the stored layouts).
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        const string op = "matmul";
        NotNull(a, op, nameof(a));
        NotNull(b, op, nameof(b));
        if (b.Rank != 2)
        {
            throw ShapeError(op, transposeB ? "b as [N, K]" : "b as [K, N]", b.Shape, "b must be 2-D");
        }

        if (a.Rank < 2 || (transposeA && a.Rank != 2))
        {
            throw ShapeError(op, transposeA ? "a as [K, M]" : "a as [..., K] of rank >= 2", a.Shape, "a");
        }

        int k = transposeB ? b.Dim(1) : b.Dim(0);
        int n = transposeB ? b.Dim(0) : b.Dim(1);
        int ka = transposeA ? a.Dim(0) : a.Dim(-1);
        int m = transposeA ? a.Dim(1) : a.Length / Math.Max(ka, 1);
        if (ka != k)
        {
            string expected = transposeA ? $"a as [{k}, *]" : $"a as [*, {k}]";
            throw new ArgumentException($"{Where(op)}: expected {expected} to match b {Shape(b.Shape)}{(transposeB ? " (transposed)" : string.Empty)}, got {Shape(a.Shape)}.");
        }

        if (!transposeA && ka == 0)
        {
            m = Prod(a.Shape, 0, a.Rank - 1);
        }

        int[] outShape = transposeA ? [m, n] : [.. a.Shape[..^1], n];
        var y = new Tensor(outShape);
        int lda = transposeA ? m : k;
        int ldb = transposeB ? k : n;
        if (m > 0 && n > 0 && k > 0)
        {
            Gemm.Sgemm(transposeA, transposeB, m, n, k, 1f, a.Span, lda, b.Span, ldb, 0f, y.Span, n);
        }

        Tape.Track(op, y, a, b, () =>
        {
            var dy = y.Grad!.Span;
            if (a.RequiresGrad)
            {
                var da = a.EnsureGrad().Span;
                if (!transposeA)
                {
                    // dA[M,K] += dY[M,N] · op(B)ᵀ
                    Gemm.Sgemm(false, !transposeB, m, k, n, 1f, dy, n, b.Span, ldb, 1f, da, k);
                }
                else
                {
                    // A is stored [K,M]: dA += op(B) · dYᵀ
                    Gemm.Sgemm(transposeB, true, k, m, n, 1f, b.Span, ldb, dy, n, 1f, da, m);
                }
            }

            if (b.RequiresGrad)
            {
                var db = b.EnsureGrad().Span;
                if (!transposeB)
                {
                    // dB[K,N] += op(A)ᵀ · dY
                    Gemm.Sgemm(!transposeA, false, k, n, m, 1f, a.Span, lda, dy, n, 1f, db, n);
                }
                else
                {
                    // B is stored [N,K]: dB += dYᵀ · op(A)
                    Gemm.Sgemm(true, transposeA, n, k, m, 1f, dy, n, a.Span, lda, 1f, db, k);
                }
            }
        });
        return y;
    }

    /// <summary>
    /// a + b. Shapes are equal, or one operand's shape is a suffix of the other's (a bias
    /// <c>[N]</c> broadcast over <c>[..., N]</c>); the broadcast operand's gradient sums over
    /// the leading axes.
    /// </summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary("add", a, b, BinaryKind.Add);

    /// <summary>a − b, with <see cref="Add"/>'s shape rules (b may broadcast; a may not).</summary>
    public static Tensor Subtract(Tensor a, Tensor b) => Binary("subtract", a, b, BinaryKind.Subtract);

    /// <summary>Elementwise a ⊙ b, with <see cref="Add"/>'s shape rules.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary("mul", a, b, BinaryKind.Mul);

    /// <summary>y = s·x for a constant s.</summary>
    public static Tensor Scale(Tensor x, float s)
    {
        NotNull(x, "scale", nameof(x));
        var y = new Tensor(x.ShapeArray);
        TensorPrimitives.Multiply(x.Span, s, y.Span);
        Tape.Track("scale", y, x, () =>
        {
            if (x.RequiresGrad)
            {
                var dx = x.EnsureGrad().Span;
                TensorPrimitives.MultiplyAdd(y.Grad!.Span, s, dx, dx);
            }
        });
        return y;
    }

    private enum BinaryKind
    {
        Add,
        Subtract,
        Mul,
    }

    private static Tensor Binary(string op, Tensor a, Tensor b, BinaryKind kind)
    {
        NotNull(a, op, nameof(a));
        NotNull(b, op, nameof(b));
        if (kind != BinaryKind.Subtract && !a.SameShape(b) && IsSuffix(a.Shape, b.Shape))
        {
            // Commutative: keep the full-size operand first so only b ever broadcasts.
            (a, b) = (b, a);
        }

        if (!a.SameShape(b) && !IsSuffix(b.Shape, a.Shape))
        {
            throw new ArgumentException($"{Where(op)}: shapes {Shape(a.Shape)} and {Shape(b.Shape)} are not equal and b is not a trailing-axes broadcast of a (expected b as [{string.Join(", ", a.ShapeArray[Math.Max(0, a.Rank - b.Rank)..])}]).");
        }

        var y = new Tensor(a.ShapeArray);
        int inner = b.Length;
        int rows = inner == 0 ? 0 : a.Length / inner;
        var av = a.Span;
        var bv = b.Span;
        var yv = y.Span;
        if (inner == 1)
        {
            // A scalar b (e.g. a learned scale): one call over a, not one per element; the same bits.
            switch (kind)
            {
                case BinaryKind.Add: TensorPrimitives.Add(av, bv[0], yv); break;
                case BinaryKind.Subtract: TensorPrimitives.Subtract(av, bv[0], yv); break;
                default: TensorPrimitives.Multiply(av, bv[0], yv); break;
            }
        }
        else
        {
            for (int r = 0; r < rows; r++)
            {
                var ar = av.Slice(r * inner, inner);
                var yr = yv.Slice(r * inner, inner);
                switch (kind)
                {
                    case BinaryKind.Add: TensorPrimitives.Add(ar, bv, yr); break;
                    case BinaryKind.Subtract: TensorPrimitives.Subtract(ar, bv, yr); break;
                    default: TensorPrimitives.Multiply(ar, bv, yr); break;
                }
            }
        }

        Tape.Track(op, y, a, b, () =>
        {
            var dy = y.Grad!.Span;
            if (inner == 1 && a.Length > 0)
            {
                ScalarBroadcastBackward(kind, a, b, dy);
                return;
            }

            if (a.RequiresGrad)
            {
                var da = a.EnsureGrad().Span;
                for (int r = 0; r < rows; r++)
                {
                    var dyr = dy.Slice(r * inner, inner);
                    var dar = da.Slice(r * inner, inner);
                    if (kind == BinaryKind.Mul)
                    {
                        TensorPrimitives.MultiplyAdd(dyr, b.Span, dar, dar);
                    }
                    else
                    {
                        TensorPrimitives.Add(dar, dyr, dar);
                    }
                }
            }

            if (b.RequiresGrad)
            {
                var db = b.EnsureGrad().Span;
                for (int r = 0; r < rows; r++)
                {
                    var dyr = dy.Slice(r * inner, inner);
                    switch (kind)
                    {
                        case BinaryKind.Add: TensorPrimitives.Add(db, dyr, db); break;
                        case BinaryKind.Subtract: TensorPrimitives.Subtract(db, dyr, db); break;
                        default: TensorPrimitives.MultiplyAdd(dyr, a.Span.Slice(r * inner, inner), db, db); break;
                    }
                }
            }
        });
        return y;
    }

    /// <summary>
    /// The backward of <see cref="Binary"/> with a one-element b: da as one call, db summed element
    /// by element in order (as the general loop, without a call per element).
    /// </summary>
    private static void ScalarBroadcastBackward(BinaryKind kind, Tensor a, Tensor b, ReadOnlySpan<float> dy)
    {
        if (a.RequiresGrad)
        {
            var da = a.EnsureGrad().Span;
            if (kind == BinaryKind.Mul)
            {
                TensorPrimitives.MultiplyAdd(dy, b.Span[0], da, da);
            }
            else
            {
                TensorPrimitives.Add(da, dy, da);
            }
        }

        if (b.RequiresGrad)
        {
            var db = b.EnsureGrad().Span;
            var av = a.Span;
            float acc = db[0];
            for (int r = 0; r < dy.Length; r++)
            {
                acc = kind switch
                {
                    BinaryKind.Add => acc + dy[r],
                    BinaryKind.Subtract => acc - dy[r],
                    _ => (dy[r] * av[r]) + acc,
                };
            }

            db[0] = acc;
        }
    }

    private static bool IsSuffix(ReadOnlySpan<int> suffix, ReadOnlySpan<int> shape) =>
        suffix.Length <= shape.Length && shape[(shape.Length - suffix.Length)..].SequenceEqual(suffix);
}
