using LstmSharp.Kernels;
using LstmSharp.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LstmSharp.Autograd;

public static partial class Ops
{
    /// <summary>
    /// A batch of matrix products, one GEMM per batch entry: a is <c>[B, M, K]</c>, b is
    /// <c>[B, K, N]</c> (or <c>[B, N, K]</c> when <paramref name="transposeB"/>); y is <c>[B, M, N]</c>:
    /// <code>
    /// y_b = a_b · op(b_b)     da_b += dy_b · op(b_b)ᵀ     db_b += a_bᵀ · dy_b  (dy_bᵀ · a_b when transposed)
    /// </code>
    /// Attention's scores (query · keyᵀ) and its weighted sum of values (weights · value).
    /// </summary>
    public static Tensor BatchMatMul(Tensor a, Tensor b, bool transposeB = false)
    {
        const string op = "batch_matmul";
        NotNull(a, op, nameof(a));
        NotNull(b, op, nameof(b));
        if (a.Rank != 3)
        {
            throw ShapeError(op, "a as [batch, M, K]", a.Shape, "a");
        }

        int batch = a.Dim(0), m = a.Dim(1), k = a.Dim(2);
        int n = b.Rank == 3 ? (transposeB ? b.Dim(1) : b.Dim(2)) : 0;
        if (b.Rank != 3 || b.Dim(0) != batch || (transposeB ? b.Dim(2) : b.Dim(1)) != k)
        {
            throw ShapeError(op, transposeB ? $"b as [{batch}, N, {k}]" : $"b as [{batch}, {k}, N]", b.Shape, "b");
        }

        var y = new Tensor(batch, m, n);
        if (m > 0 && n > 0 && k > 0)
        {
            WorkerPool.Shared.For(batch, new BatchGemmJob(BatchGemmJob.Product.Forward, transposeB, m, n, k, a.Span, b.Span, y.Span));
        }

        Tape.Track(op, y, a, b, () =>
        {
            if (m == 0 || n == 0 || k == 0)
            {
                return;
            }

            if (a.RequiresGrad)
            {
                WorkerPool.Shared.For(batch, new BatchGemmJob(BatchGemmJob.Product.GradA, transposeB, m, n, k, y.Grad!.Span, b.Span, a.EnsureGrad().Span));
            }

            if (b.RequiresGrad)
            {
                WorkerPool.Shared.For(batch, new BatchGemmJob(BatchGemmJob.Product.GradB, transposeB, m, n, k, a.Span, y.Grad!.Span, b.EnsureGrad().Span));
            }
        });
        return y;
    }

    /// <summary>
    /// Bahdanau's additive attention scores (Keras <c>AdditiveAttention</c>): query <c>[B, Tq, D]</c>,
    /// key <c>[B, Tv, D]</c>, optional <paramref name="scale"/> <c>[D]</c> (all ones when null):
    /// <code>
    /// s[b,i,j] = Σ_d scale_d · tanh(q[b,i,d] + k[b,j,d])
    /// with t = tanh(q_i + k_j), u = ds[b,i,j] · scale ⊙ (1 − t²):   dq_i += u   dk_j += u   dscale += ds[b,i,j] · t
    /// </code>
    /// The tanh values are recomputed in the backward instead of kept (B·Tq·Tv·D of them).
    /// </summary>
    public static Tensor AdditiveAttentionScores(Tensor query, Tensor key, Tensor? scale = null)
    {
        const string op = "additive_attention_scores";
        var (batch, tq, tv, d) = CheckQueryKey(op, query, key);
        if (scale is not null && (scale.Rank != 1 || scale.Length != d))
        {
            throw ShapeError(op, $"scale as [{d}]", scale.Shape, "scale");
        }

        var y = new Tensor(batch, tq, tv);
        var t = new float[d];
        var qs = query.Span;
        var ks = key.Span;
        var ys = y.Span;
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < tq; i++)
            {
                var qi = qs.Slice(((b * tq) + i) * d, d);
                for (int j = 0; j < tv; j++)
                {
                    TensorPrimitives.Add(qi, ks.Slice(((b * tv) + j) * d, d), t);
                    TensorPrimitives.Tanh(t, t);
                    ys[(((b * tq) + i) * tv) + j] = scale is null ? TensorPrimitives.Sum(t) : TensorPrimitives.Dot(t, scale.Span);
                }
            }
        }

        Tensor[] inputs = scale is null ? [query, key] : [query, key, scale];
        Tape.Track(op, [y], inputs, () =>
        {
            var dy = y.Grad!.Span;
            var tb = new float[d];
            var u = new float[d];
            var q = query.Span;
            var k = key.Span;
            var dq = query.RequiresGrad ? query.EnsureGrad().Span : default;
            var dk = key.RequiresGrad ? key.EnsureGrad().Span : default;
            var ds = scale is not null && scale.RequiresGrad ? scale.EnsureGrad().Span : default;
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < tq; i++)
                {
                    int qi = ((b * tq) + i) * d;
                    for (int j = 0; j < tv; j++)
                    {
                        float g = dy[(((b * tq) + i) * tv) + j];
                        if (g == 0f)
                        {
                            continue;
                        }

                        int kj = ((b * tv) + j) * d;
                        TensorPrimitives.Add(q.Slice(qi, d), k.Slice(kj, d), tb);
                        TensorPrimitives.Tanh(tb, tb);
                        if (!ds.IsEmpty)
                        {
                            TensorPrimitives.MultiplyAdd(tb, g, ds, ds);
                        }

                        // u = g · scale ⊙ (1 − t²)
                        TensorPrimitives.Multiply(tb, tb, u);
                        TensorPrimitives.Subtract(1f, u, u);
                        if (scale is not null)
                        {
                            TensorPrimitives.Multiply(u, scale.Span, u);
                        }

                        TensorPrimitives.Multiply(u, g, u);
                        if (!dq.IsEmpty)
                        {
                            TensorPrimitives.Add(dq.Slice(qi, d), u, dq.Slice(qi, d));
                        }

                        if (!dk.IsEmpty)
                        {
                            TensorPrimitives.Add(dk.Slice(kj, d), u, dk.Slice(kj, d));
                        }
                    }
                }
            }
        });
        return y;
    }

    /// <summary>
    /// Checks an attention op's query <c>[B, Tq, D]</c> and key <c>[B, Tv, D]</c> (not null, rank 3,
    /// the key's batch and depth the query's) and returns their sizes.
    /// </summary>
    private static (int Batch, int Tq, int Tv, int Dim) CheckQueryKey(string op, Tensor query, Tensor key)
    {
        NotNull(query, op, nameof(query));
        NotNull(key, op, nameof(key));
        if (query.Rank != 3)
        {
            throw ShapeError(op, "query as [batch, Tq, dim]", query.Shape, "query");
        }

        int batch = query.Dim(0), tq = query.Dim(1), d = query.Dim(2);
        if (key.Rank != 3 || key.Dim(0) != batch || key.Dim(2) != d)
        {
            throw ShapeError(op, $"key as [{batch}, Tv, {d}]", key.Shape, "key");
        }

        return (batch, tq, key.Dim(1), d);
    }

    /// <summary>
    /// One batch entry's product per index (the GEMM inside runs on the thread that takes the
    /// index), so each entry is one GEMM call whatever the thread count: the same bits.
    /// </summary>
    private readonly ref struct BatchGemmJob(BatchGemmJob.Product product, bool transposeB, int m, int n, int k, ReadOnlySpan<float> first, ReadOnlySpan<float> second, Span<float> output) : IParallelJob
    {
        public enum Product
        {
            /// <summary>y_i = a_i · op(b_i): first = a, second = b, output = y.</summary>
            Forward,

            /// <summary>da_i += dy_i · op(b_i)ᵀ: first = dy, second = b, output = da.</summary>
            GradA,

            /// <summary>db_i += a_iᵀ · dy_i (dy_iᵀ · a_i when b is [N, K]): first = a, second = dy, output = db.</summary>
            GradB,
        }

        private readonly ReadOnlySpan<float> first = first;
        private readonly ReadOnlySpan<float> second = second;
        private readonly Span<float> output = output;

        public void Execute(int i)
        {
            int ldb = transposeB ? k : n;
            switch (product)
            {
                case Product.Forward:
                    Gemm.Sgemm(false, transposeB, m, n, k, 1f, first.Slice(i * m * k, m * k), k, second.Slice(i * k * n, k * n), ldb, 0f, output.Slice(i * m * n, m * n), n);
                    break;
                case Product.GradA:
                    // da[M,K] += dy[M,N] · op(b)ᵀ
                    Gemm.Sgemm(false, !transposeB, m, k, n, 1f, first.Slice(i * m * n, m * n), n, second.Slice(i * k * n, k * n), ldb, 1f, output.Slice(i * m * k, m * k), k);
                    break;
                case Product.GradB when !transposeB:
                    // db[K,N] += aᵀ · dy
                    Gemm.Sgemm(true, false, k, n, m, 1f, first.Slice(i * m * k, m * k), k, second.Slice(i * m * n, m * n), n, 1f, output.Slice(i * k * n, k * n), n);
                    break;
                default:
                    // b stored [N,K]: db += dyᵀ · a
                    Gemm.Sgemm(true, false, n, k, m, 1f, second.Slice(i * m * n, m * n), n, first.Slice(i * m * k, m * k), k, 1f, output.Slice(i * k * n, k * n), k);
                    break;
            }
        }
    }
}
