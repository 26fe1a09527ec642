using System.Buffers;
using LstmSharp.Kernels;
using LstmSharp.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LstmSharp.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Keras's dot-product attention as one op: query <c>[B, Tq, D]</c>, key <c>[B, Tv, D]</c>,
    /// value <c>[B, Tv, Dv]</c>, an optional scalar <paramref name="scale"/> <c>[]</c>, optional
    /// masks (<paramref name="valueMask"/> <c>[B, Tv]</c>, <paramref name="queryMask"/> <c>[B, Tq]</c>,
    /// 0 = masked) and the causal mask; <paramref name="maskOffset"/> is what a masked score loses
    /// (Keras: 1e9). Per batch entry b (all on one thread):
    /// <code>
    /// r = q_b · k_bᵀ                 s = scale · r,  s[i,j] −= maskOffset where value step j is masked or (causal) j &gt; i
    /// w = softmax_j(s)               y_b = w · v_b,  y_b[i] = 0 where query step i is masked
    /// backward, with dy_b zeroed on masked query rows and dw = dy_b · v_bᵀ (+ the weights' own gradient):
    /// dv_b += wᵀ · dy_b    ds = w ⊙ (dw − rowsum(dw ⊙ w))    dscale += Σ ds ⊙ r    dr = scale · ds
    /// dq_b += dr · k_b     dk_b += drᵀ · q_b
    /// </code>
    /// The same values, in the same order per element, as the composed ops
    /// (<see cref="BatchMatMul"/>, <see cref="Mul"/>, <see cref="Add"/>, <see cref="Softmax"/>,
    /// <see cref="BatchMatMul"/>, a query-mask <see cref="Mul"/>), except dscale, which is summed per
    /// batch entry, then over the entries in order. The composed ops allocate per call the scores,
    /// the scaled scores and the weights [B, Tq, Tv] and a gradient for each (at seq2seq sizes all on
    /// the large-object heap); here w (and r, with a learned scale, for dscale) is one pooled buffer
    /// the tape returns when it is disposed, ds is pooled during the backward, and the output's
    /// storage comes from the step's <see cref="StepArena"/> inside a model's step.
    /// </summary>
    /// <returns>The output <c>[B, Tq, Dv]</c>, and the weights <c>[B, Tq, Tv]</c> as a second
    /// (differentiable) output when <paramref name="returnWeights"/>, else null.</returns>
    internal static (Tensor Output, Tensor? Weights) DotProductAttention(
        Tensor query, Tensor key, Tensor value, Tensor? scale, Tensor? valueMask, Tensor? queryMask, bool causal, float maskOffset, bool returnWeights)
    {
        const string op = "dot_product_attention";
        var (batch, tq, tv, d) = CheckQueryKey(op, query, key);
        NotNull(value, op, nameof(value));
        if (value.Rank != 3 || value.Dim(0) != batch || value.Dim(1) != tv)
        {
            throw ShapeError(op, $"value as [{batch}, {tv}, dv]", value.Shape, "value");
        }

        if (scale is not null && scale.Length != 1)
        {
            throw ShapeError(op, "scale as []", scale.Shape, "scale");
        }

        if (valueMask is not null && (valueMask.Rank != 2 || valueMask.Dim(0) != batch || valueMask.Dim(1) != tv))
        {
            throw ShapeError(op, $"value mask as [{batch}, {tv}]", valueMask.Shape, "valueMask");
        }

        if (queryMask is not null && (queryMask.Rank != 2 || queryMask.Dim(0) != batch || queryMask.Dim(1) != tq))
        {
            throw ShapeError(op, $"query mask as [{batch}, {tq}]", queryMask.Shape, "queryMask");
        }

        int dv = value.Dim(2);
        Tensor[] inputs = scale is null ? [query, key, value] : [query, key, value, scale];
        bool record = Tape.ShouldRecord(inputs);
        bool keepRaw = record && scale is not null && scale.RequiresGrad;
        int scores = batch * tq * tv;
        // Every element is written below: storage from the step's arena inside a model's step, else uninitialised
        // (at seq2seq sizes each is on the large-object heap, where zeroing fresh pages costs as much as the products).
        var y = new Tensor(StepArena.Floats(batch * tq * dv), batch, tq, dv);
        var weightsTensor = returnWeights ? new Tensor(StepArena.Floats(scores), batch, tq, tv) : null;
        float[] weights = weightsTensor?.Data ?? ArrayPool<float>.Shared.Rent(scores);
        float[]? raw = keepRaw ? ArrayPool<float>.Shared.Rent(scores) : null;
        var geometry = new AttentionGeometry(tq, tv, d, dv, scale?.Span[0], causal, maskOffset);
        WorkerPool.Shared.For(batch, new DotAttentionForward(
            geometry, query.Span, key.Span, value.Span, valueMask is null ? default : valueMask.Span, queryMask is null ? default : queryMask.Span,
            weights.AsSpan(0, scores), raw is null ? default : raw.AsSpan(0, scores), y.Span));

        Tensor[] outputs = weightsTensor is null ? [y] : [y, weightsTensor];
        Tape.Track(op, outputs, inputs, () =>
        {
            var dy = y.Grad!.Span;
            float[]? masked = null;
            if (queryMask is not null)
            {
                // The composed ops' y ⊙ keep: dy ⊙ keep, row by row.
                masked = ArrayPool<float>.Shared.Rent(dy.Length);
                var qm = queryMask.Span;
                for (int r = 0; r < batch * tq; r++)
                {
                    TensorPrimitives.Multiply(dy.Slice(r * dv, dv), qm[r] != 0f ? 1f : 0f, masked.AsSpan(r * dv, dv));
                }

                dy = masked.AsSpan(0, dy.Length);
            }

            float[] ds = ArrayPool<float>.Shared.Rent(scores);
            float[]? partials = keepRaw ? ArrayPool<float>.Shared.Rent(batch) : null;
            try
            {
                WorkerPool.Shared.For(batch, new DotAttentionBackward(
                    geometry, query.Span, key.Span, value.Span, weights.AsSpan(0, scores), raw is null ? default : raw.AsSpan(0, scores),
                    dy, weightsTensor?.Grad is { } dw ? dw.Span : default, ds.AsSpan(0, scores), partials is null ? default : partials.AsSpan(0, batch),
                    query.RequiresGrad ? query.EnsureGrad().Span : default,
                    key.RequiresGrad ? key.EnsureGrad().Span : default,
                    value.RequiresGrad ? value.EnsureGrad().Span : default));
                if (partials is not null)
                {
                    float sum = 0f;
                    for (int b = 0; b < batch; b++)
                    {
                        sum += partials[b];
                    }

                    scale!.EnsureGrad().Span[0] += sum;
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(ds);
                if (partials is not null)
                {
                    ArrayPool<float>.Shared.Return(partials);
                }

                if (masked is not null)
                {
                    ArrayPool<float>.Shared.Return(masked);
                }
            }
        });

        if (record)
        {
            // The backward reads them: they go back to the pool when the tape is disposed.
            Tape.Current!.KeepUntilDisposed(weightsTensor is null ? weights : null, raw);
        }
        else if (weightsTensor is null)
        {
            ArrayPool<float>.Shared.Return(weights);
        }

        return (y, weightsTensor);
    }

    /// <summary>The sizes and options every batch entry of <see cref="DotProductAttention"/> shares.</summary>
    private readonly record struct AttentionGeometry(int Tq, int Tv, int D, int Dv, float? Scale, bool Causal, float MaskOffset)
    {
        /// <summary>Row strides for the GEMMs (at least 1, as Sgemm wants, when a depth is 0).</summary>
        public int Ld => Math.Max(D, 1);

        public int Ldv => Math.Max(Dv, 1);
    }

    private readonly ref struct DotAttentionForward(
        AttentionGeometry g, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> valueMask, ReadOnlySpan<float> queryMask,
        Span<float> weights, Span<float> raw, Span<float> y) : IParallelJob
    {
        private readonly ReadOnlySpan<float> q = q, k = k, v = v, valueMask = valueMask, queryMask = queryMask;
        private readonly Span<float> weights = weights, raw = raw, y = y;

        public void Execute(int b)
        {
            int tq = g.Tq, tv = g.Tv, d = g.D, dv = g.Dv;
            var w = weights.Slice(b * tq * tv, tq * tv);
            var yb = y.Slice(b * tq * dv, tq * dv);
            if (tq == 0 || tv == 0)
            {
                yb.Clear();
                return;
            }

            // r = q·kᵀ lands in w (or in raw when dscale needs it kept), then s = scale·r in w.
            var r = raw.IsEmpty ? w : raw.Slice(b * tq * tv, tq * tv);
            Gemm.Sgemm(false, true, tq, tv, d, 1f, q.Slice(b * tq * d, tq * d), g.Ld, k.Slice(b * tv * d, tv * d), g.Ld, 0f, r, tv);
            if (g.Scale is { } s)
            {
                TensorPrimitives.Multiply(r, s, w);
            }

            if (!valueMask.IsEmpty || g.Causal)
            {
                var vm = valueMask.IsEmpty ? default : valueMask.Slice(b * tv, tv);
                for (int i = 0; i < tq; i++)
                {
                    for (int j = 0; j < tv; j++)
                    {
                        if ((!vm.IsEmpty && vm[j] == 0f) || (g.Causal && j > i))
                        {
                            w[(i * tv) + j] += -g.MaskOffset;
                        }
                    }
                }
            }

            Rows.Softmax(w, tq, tv, w);
            Gemm.Sgemm(false, false, tq, dv, tv, 1f, w, tv, v.Slice(b * tv * dv, tv * dv), g.Ldv, 0f, yb, g.Ldv);
            if (!queryMask.IsEmpty)
            {
                for (int i = 0; i < tq; i++)
                {
                    if (queryMask[(b * tq) + i] == 0f)
                    {
                        yb.Slice(i * dv, dv).Clear();
                    }
                }
            }
        }
    }

    private readonly ref struct DotAttentionBackward(
        AttentionGeometry g, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> weights, ReadOnlySpan<float> raw,
        ReadOnlySpan<float> dy, ReadOnlySpan<float> dWeights, Span<float> ds, Span<float> scalePartials, Span<float> dq, Span<float> dk, Span<float> dv) : IParallelJob
    {
        private readonly ReadOnlySpan<float> q = q, k = k, v = v, weights = weights, raw = raw, dy = dy, dWeights = dWeights;
        private readonly Span<float> ds = ds, scalePartials = scalePartials, dq = dq, dk = dk, dv = dv;

        public void Execute(int b)
        {
            int tq = g.Tq, tv = g.Tv, d = g.D, dvw = g.Dv;
            if (!scalePartials.IsEmpty)
            {
                scalePartials[b] = 0f;
            }

            if (tq == 0 || tv == 0)
            {
                return;
            }

            int sOff = b * tq * tv;
            var w = weights.Slice(sOff, tq * tv);
            var dsb = ds.Slice(sOff, tq * tv);
            var dyb = dy.Slice(b * tq * dvw, tq * dvw);
            var vb = v.Slice(b * tv * dvw, tv * dvw);

            // dw = dy·vᵀ (+ the gradient of the returned weights), and dv += wᵀ·dy.
            Gemm.Sgemm(false, true, tq, tv, dvw, 1f, dyb, g.Ldv, vb, g.Ldv, 0f, dsb, tv);
            if (!dWeights.IsEmpty)
            {
                TensorPrimitives.Add(dWeights.Slice(sOff, tq * tv), dsb, dsb);
            }

            if (!dv.IsEmpty)
            {
                Gemm.Sgemm(true, false, tv, dvw, tq, 1f, w, tv, dyb, g.Ldv, 1f, dv.Slice(b * tv * dvw, tv * dvw), g.Ldv);
            }

            Rows.SoftmaxBackward(w, dsb, tq, tv, dsb);
            if (g.Scale is { } s)
            {
                if (!scalePartials.IsEmpty)
                {
                    scalePartials[b] = TensorPrimitives.Dot(dsb, raw.Slice(sOff, tq * tv));
                }

                TensorPrimitives.Multiply(dsb, s, dsb);
            }

            if (!dq.IsEmpty)
            {
                Gemm.Sgemm(false, false, tq, d, tv, 1f, dsb, tv, k.Slice(b * tv * d, tv * d), g.Ld, 1f, dq.Slice(b * tq * d, tq * d), g.Ld);
            }

            if (!dk.IsEmpty)
            {
                Gemm.Sgemm(true, false, tv, d, tq, 1f, dsb, tv, q.Slice(b * tq * d, tq * d), g.Ld, 1f, dk.Slice(b * tv * d, tv * d), g.Ld);
            }
        }
    }
}
