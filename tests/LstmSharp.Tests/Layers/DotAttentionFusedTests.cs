using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Layers;

/// <summary>
/// <see cref="Ops.DotProductAttention"/> (what <c>Attention(score_mode "dot")</c> runs) against the
/// composed ops it replaces, BatchMatMul → Mul(scale) → Add(mask offsets) → Softmax → BatchMatMul →
/// Mul(query keep), on the same data: output, weights and the gradients of query, key and value the
/// same bits; the scale's gradient (summed per batch entry first) to float rounding. Also the same
/// bits for 1–3 threads, and gradients reaching the weights when they are a returned output.
/// </summary>
public class DotAttentionFusedTests
{
    private sealed record Case(int Batch, int Tq, int Tv, int D, int Dv, bool Scale, bool ValueMask, bool QueryMask, bool Causal, bool KeyIsValue, bool WeightsGrad);

    public static TheoryData<int> Cases() => new(Enumerable.Range(0, AllCases.Length));

    private static readonly Case[] AllCases =
    [
        new(3, 5, 4, 6, 3, Scale: false, ValueMask: false, QueryMask: false, Causal: false, KeyIsValue: false, WeightsGrad: false),
        new(3, 5, 4, 6, 6, Scale: true, ValueMask: false, QueryMask: false, Causal: false, KeyIsValue: true, WeightsGrad: false),
        new(2, 4, 4, 5, 3, Scale: true, ValueMask: true, QueryMask: true, Causal: true, KeyIsValue: false, WeightsGrad: true),
        new(4, 7, 9, 16, 16, Scale: true, ValueMask: true, QueryMask: false, Causal: false, KeyIsValue: true, WeightsGrad: true),
        new(9, 41, 40, 70, 70, Scale: true, ValueMask: false, QueryMask: true, Causal: false, KeyIsValue: true, WeightsGrad: false),
    ];

    private static (Tensor Q, Tensor K, Tensor V, Tensor S, Tensor? Vm, Tensor? Qm, Tensor Dy, Tensor Dw) Inputs(Case c)
    {
        var q = Random(41, -1, 1, c.Batch, c.Tq, c.D);
        var v = Random(42, -1, 1, c.Batch, c.Tv, c.Dv);
        var k = c.KeyIsValue ? v : Random(43, -1, 1, c.Batch, c.Tv, c.D);
        var s = Tensor.FromArray([1.3f]);
        Tensor? vm = null, qm = null;
        if (c.ValueMask)
        {
            vm = new Tensor(c.Batch, c.Tv);
            for (int i = 0; i < vm.Length; i++)
            {
                vm.Span[i] = (i % c.Tv == 0) || (i % 3 != 1) ? 1f : 0f; // step 0 stays valid
            }
        }

        if (c.QueryMask)
        {
            qm = new Tensor(c.Batch, c.Tq);
            for (int i = 0; i < qm.Length; i++)
            {
                qm.Span[i] = i % 4 == 2 ? 0f : 1f;
            }
        }

        return (q, k, v, s, vm, qm, Random(44, -1, 1, c.Batch, c.Tq, c.Dv), Random(45, -1, 1, c.Batch, c.Tq, c.Tv));
    }

    /// <summary>The composed ops, as AttentionBase ran them before the fused op.</summary>
    private static (Tensor Y, Tensor W) Composed(Case c, Tensor q, Tensor k, Tensor v, Tensor s, Tensor? vm, Tensor? qm)
    {
        var scores = Ops.BatchMatMul(q, k, transposeB: true);
        if (c.Scale)
        {
            scores = Ops.Mul(scores, s);
        }

        if (vm is not null || c.Causal)
        {
            var offsets = new Tensor(c.Batch, c.Tq, c.Tv);
            for (int b = 0; b < c.Batch; b++)
            {
                for (int i = 0; i < c.Tq; i++)
                {
                    for (int j = 0; j < c.Tv; j++)
                    {
                        bool masked = (vm is not null && vm.Span[(b * c.Tv) + j] == 0f) || (c.Causal && j > i);
                        offsets.Span[(((b * c.Tq) + i) * c.Tv) + j] = masked ? -AttentionBase.MaskedScoreOffset : 0f;
                    }
                }
            }

            scores = Ops.Add(scores, offsets);
        }

        var w = Ops.Softmax(scores);
        var y = Ops.BatchMatMul(w, v);
        if (qm is not null)
        {
            var keep = new Tensor(c.Batch, c.Tq, c.Dv);
            for (int r = 0; r < c.Batch * c.Tq; r++)
            {
                keep.Span.Slice(r * c.Dv, c.Dv).Fill(qm.Span[r] != 0f ? 1f : 0f);
            }

            y = Ops.Mul(y, keep);
        }

        return (y, w);
    }

    private static float[][] Run(Case c, bool fused)
    {
        var (q, k, v, s, vm, qm, dy, dw) = Inputs(c);
        Tensor[] leaves = c.Scale ? [q, k, v, s] : [q, k, v];
        foreach (var t in leaves)
        {
            t.RequiresGrad = true;
        }

        using var tape = Tape.Record();
        var (y, w) = fused
            ? Ops.DotProductAttention(q, k, v, c.Scale ? s : null, vm, qm, c.Causal, AttentionBase.MaskedScoreOffset, returnWeights: c.WeightsGrad)
            : Composed(c, q, k, v, s, vm, qm);
        var loss = y;
        if (c.WeightsGrad)
        {
            // A loss on both outputs: Σ dy ⊙ y + Σ dw ⊙ w, so the weights carry a gradient of their own.
            var both = Ops.Add(Ops.Sum(Ops.Mul(y, dy)), Ops.Sum(Ops.Mul(w!, dw)));
            tape.Backward(both);
        }
        else
        {
            tape.Backward(loss, dy);
        }

        var result = new List<float[]> { y.ToArray(), q.Grad!.ToArray(), v.Grad!.ToArray() };
        if (!c.KeyIsValue)
        {
            result.Add(k.Grad!.ToArray());
        }

        if (c.WeightsGrad)
        {
            result.Add(w!.ToArray());
        }

        result.Add(c.Scale ? s.Grad!.ToArray() : []);
        return [.. result];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TheFusedOpGivesTheComposedOpsBitsAndTheirScaleGradientToRounding(int index)
    {
        var c = AllCases[index];
        var fused = Run(c, fused: true);
        var composed = Run(c, fused: false);
        Assert.Equal(composed.Length, fused.Length);
        for (int i = 0; i < fused.Length - 1; i++)
        {
            Assert.Equal(composed[i], fused[i]);
        }

        if (c.Scale)
        {
            float a = fused[^1][0], e = composed[^1][0];
            Assert.True(Math.Abs(a - e) <= 1e-5 * (1 + Math.Abs(e)), $"dscale fused {a} vs composed {e}");
        }
    }

    [Fact]
    public void TheFusedOpGivesTheSameBitsForAnyThreadCount()
    {
        var c = AllCases[^1] with { ValueMask = true, Causal = false, WeightsGrad = true };
        var pool = WorkerPool.Shared;
        int saved = pool.ThreadCount;
        var results = new List<float[]>();
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                pool.ThreadCount = threads;
                results.Add(Run(c, fused: true).SelectMany(a => a).ToArray());
            }
        }
        finally
        {
            pool.ThreadCount = saved;
        }

        Assert.Equal(results[0], results[1]);
        Assert.Equal(results[0], results[2]);
    }

    [Fact]
    public void OutputsOfEarlierCallsStayIntactAndInferenceRecordsNothing()
    {
        // The weights buffer is pooled when not returned: a later call must not touch an earlier call's outputs.
        var c = AllCases[2];
        var (q, k, v, s, vm, qm, _, _) = Inputs(c);
        var (first, firstWeights) = Ops.DotProductAttention(q, k, v, s, vm, qm, c.Causal, AttentionBase.MaskedScoreOffset, returnWeights: true);
        var expected = first.ToArray();
        var expectedWeights = firstWeights!.ToArray();
        for (int i = 0; i < 3; i++)
        {
            var other = Random(50 + i, -1, 1, c.Batch, c.Tq, c.D);
            _ = Ops.DotProductAttention(other, k, v, s, vm, qm, c.Causal, AttentionBase.MaskedScoreOffset, returnWeights: false);
        }

        Assert.Equal(expected, first.ToArray());
        Assert.Equal(expectedWeights, firstWeights.ToArray());
        Assert.False(first.RequiresGrad);
    }

    [Fact]
    public void EmptyStepsAndDepthsGiveZerosAndErrorsNameTheOperand()
    {
        var q = Random(60, -1, 1, 2, 3, 4);
        var v0 = new Tensor(2, 0, 4);
        var (y, w) = Ops.DotProductAttention(q, v0, v0, null, null, null, false, AttentionBase.MaskedScoreOffset, returnWeights: true);
        Assert.Equal([2, 3, 4], y.ShapeArray);
        Assert.All(y.ToArray(), x => Assert.Equal(0f, x));
        Assert.Equal([2, 3, 0], w!.ShapeArray);

        var qd0 = new Tensor(2, 3, 0);
        var kd0 = new Tensor(2, 5, 0);
        var v = Random(61, -1, 1, 2, 5, 4);
        var (y0, _) = Ops.DotProductAttention(qd0, kd0, v, null, null, null, false, AttentionBase.MaskedScoreOffset, returnWeights: false);
        for (int b = 0; b < 2; b++)
        {
            for (int c = 0; c < 4; c++)
            {
                // All scores 0: the mean of the values.
                double mean = Enumerable.Range(0, 5).Average(j => v[b, j, c]);
                Assert.Equal(mean, y0[b, 0, c], 1e-6);
            }
        }

        var e = Assert.Throws<ArgumentException>(() => Ops.DotProductAttention(q, Random(62, -1, 1, 2, 5, 3), v, null, null, null, false, 1e9f, false));
        Assert.Contains("dot_product_attention", e.Message);
        Assert.Contains("[2, Tv, 4]", e.Message);
        Assert.Contains("[2, 5, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.DotProductAttention(q, v, v, null, new Tensor(2, 4), null, false, 1e9f, false));
        Assert.Contains("[2, 5]", e.Message);
        Assert.Contains("[2, 4]", e.Message);
    }
}
