using LstmSharp.Tensors;

namespace LstmSharp.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Reorders the axes (NumPy's <c>transpose(x, axes)</c>, ONNX <c>Transpose</c>): output axis i is
    /// input axis <paramref name="perm"/>[i], so y[i₀, …] = x at the index whose axis perm[j]
    /// is i_j. A copy; the gradient is scattered back through the inverse permutation.
    /// </summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        const string op = "permute";
        NotNull(x, op, nameof(x));
        ArgumentNullException.ThrowIfNull(perm);
        int rank = x.Rank;
        if (perm.Length != rank || perm.Any(a => a < 0 || a >= rank) || perm.Distinct().Count() != rank)
        {
            throw new ArgumentException($"op '{op}': perm must be a permutation of 0..{rank - 1} for x of shape {Tensor.FormatShape(x.Shape)}, got [{string.Join(", ", perm)}].", nameof(perm));
        }

        var shape = x.ShapeArray;
        var outShape = perm.Select(a => shape[a]).ToArray();
        var y = new Tensor(outShape);
        Copy(x.Span, shape, perm, y.Span, forward: true);
        Tape.Track(op, y, x, () =>
        {
            if (x.RequiresGrad)
            {
                Copy(x.EnsureGrad().Span, shape, perm, y.Grad!.Span, forward: false);
            }
        });
        return y;

        // forward: y[out index] = x[in index]; backward: dx[in index] += dy[out index].
        static void Copy(Span<float> xs, int[] inShape, int[] perm, Span<float> ys, bool forward)
        {
            int rank = inShape.Length;
            if (ys.Length == 0)
            {
                return;
            }

            if (rank == 0)
            {
                if (forward)
                {
                    ys[0] = xs[0];
                }
                else
                {
                    xs[0] += ys[0];
                }

                return;
            }

            var inStrides = new int[rank];
            for (int a = rank - 1, s = 1; a >= 0; s *= inShape[a], a--)
            {
                inStrides[a] = s;
            }

            // The input stride of each output axis; the last output axis is walked in an inner loop.
            var strideOfOut = perm.Select(a => inStrides[a]).ToArray();
            var outShape = perm.Select(a => inShape[a]).ToArray();
            int inner = outShape[rank - 1], innerStride = strideOfOut[rank - 1];
            var index = new int[rank];
            int rows = ys.Length / inner;
            for (int r = 0; r < rows; r++)
            {
                int src = 0;
                for (int a = 0; a < rank - 1; a++)
                {
                    src += index[a] * strideOfOut[a];
                }

                var yRow = ys.Slice(r * inner, inner);
                if (forward)
                {
                    for (int j = 0; j < inner; j++)
                    {
                        yRow[j] = xs[src + (j * innerStride)];
                    }
                }
                else
                {
                    for (int j = 0; j < inner; j++)
                    {
                        xs[src + (j * innerStride)] += yRow[j];
                    }
                }

                for (int a = rank - 2; a >= 0; a--)
                {
                    if (++index[a] < outShape[a])
                    {
                        break;
                    }

                    index[a] = 0;
                }
            }
        }
    }
}
