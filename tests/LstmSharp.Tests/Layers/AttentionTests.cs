using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Layers;

/// <summary>
/// Attention and AdditiveAttention against a double reference written from Keras's equations
/// (scores, −1e9 on masked scores, softmax, weighted sum, query mask), with central differences
/// of the output w.r.t. query, value, key and the scale weights.
/// </summary>
public class AttentionTests
{
    private const int Batch = 2, Tq = 3, Tv = 4, Dim = 5, Dv = 3;

    public AttentionTests() => Layer.ClearSession();

    /// <summary>Score of query step i against key step j of sample b, from flat double arrays.</summary>
    private delegate double Score(int b, int i, int j);

    /// <summary>
    /// Keras's <c>_apply_scores</c> and query mask: s −= 1e9 where masked; w = softmax_j(s);
    /// out[b,i] = Σ_j w_j v[b,j], zero where the query is masked. Returns out, then the weights if asked.
    /// </summary>
    private static double[] Reference(Score score, double[] v, int tq, int tv, int dv, double[]? queryMask, double[]? valueMask, bool causal, bool withWeights = false)
    {
        int batch = v.Length / (tv * dv);
        var output = new double[batch * tq * dv];
        var weights = new double[batch * tq * tv];
        var s = new double[tv];
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < tq; i++)
            {
                for (int j = 0; j < tv; j++)
                {
                    s[j] = score(b, i, j);
                    if ((valueMask is not null && valueMask[(b * tv) + j] == 0) || (causal && j > i))
                    {
                        s[j] -= 1e9;
                    }
                }

                double max = s.Max();
                double sum = s.Sum(x => Math.Exp(x - max));
                for (int j = 0; j < tv; j++)
                {
                    double w = Math.Exp(s[j] - max) / sum;
                    weights[(((b * tq) + i) * tv) + j] = w;
                    if (queryMask is not null && queryMask[(b * tq) + i] == 0)
                    {
                        continue;
                    }

                    for (int c = 0; c < dv; c++)
                    {
                        output[(((b * tq) + i) * dv) + c] += w * v[(((b * tv) + j) * dv) + c];
                    }
                }
            }
        }

        return withWeights ? [.. output, .. weights] : output;
    }

    private static Score Dot(double[] q, double[] k, double scale) => (b, i, j) =>
    {
        double s = 0;
        for (int d = 0; d < Dim; d++)
        {
            s += q[(((b * Tq) + i) * Dim) + d] * k[(((b * Tv) + j) * Dim) + d];
        }

        return scale * s;
    };

    /// <summary>Σ_d outer_d · tanh(inner · (q_d + k_d)) with outer = scale vector (or a scalar), as Keras's concat and additive scores.</summary>
    private static Score Additive(double[] q, double[] k, Func<int, double> outer, double inner) => (b, i, j) =>
    {
        double s = 0;
        for (int d = 0; d < Dim; d++)
        {
            s += outer(d) * Math.Tanh(inner * (q[(((b * Tq) + i) * Dim) + d] + k[(((b * Tv) + j) * Dim) + d]));
        }

        return s;
    };

    private static Tensor Run(AttentionBase layer, Tensor[] inputs, Tensor?[]? masks = null, bool training = false, int output = 0) =>
        layer.Apply(inputs, masks, training, out _)[output];

    [Fact]
    public void DotAttentionOnQueryAndValueMatchesTheReferenceAndFiniteDifferences()
    {
        var att = new Attention();
        var q = Random(1, -1, 1, Batch, Tq, Dim);
        var v = Random(2, -1, 1, Batch, Tv, Dim);
        CheckAgainstReference(
            "attention dot [q, v]",
            t => Run(att, [t[0], t[1]]),
            x => Reference(Dot(x[0], x[1], 1), x[1], Tq, Tv, Dim, null, null, false),
            [q, v]);
        Assert.Empty(att.Parameters);
    }

    [Fact]
    public void DotAttentionWithKeyAndScaleMatchesTheReferenceAndFiniteDifferencesOfTheScale()
    {
        var att = new Attention(useScale: true);
        var q = Random(3, -1, 1, Batch, Tq, Dim);
        var v = Random(4, -1, 1, Batch, Tv, Dv);
        var k = Random(5, -1, 1, Batch, Tv, Dim);
        att.Build([[Tq, Dim], [Tv, Dv], [Tv, Dim]]);
        att.Scale!.Value.Span[0] = 1.7f;
        CheckAgainstReference(
            "attention dot use_scale [q, v, k]",
            t => Run(att, [t[0], t[1], t[2]]),
            x => Reference(Dot(x[0], x[2], x[3][0]), x[1], Tq, Tv, Dv, null, null, false),
            [q, v, k, att.Scale.Value]);
    }

    [Fact]
    public void ConcatScoreModeMatchesTheReferenceAndFiniteDifferencesOfBothScalars()
    {
        var att = new Attention(useScale: true, scoreMode: "concat");
        var q = Random(6, -1, 1, Batch, Tq, Dim);
        var v = Random(7, -1, 1, Batch, Tv, Dv);
        var k = Random(8, -1, 1, Batch, Tv, Dim);
        att.Build([[Tq, Dim], [Tv, Dv], [Tv, Dim]]);
        Assert.Equal(["scale", "concat_score_weight"], att.Parameters.Select(p => p.Name));
        att.Scale!.Value.Span[0] = 0.8f;
        att.ConcatScoreWeight!.Value.Span[0] = 1.3f;
        CheckAgainstReference(
            "attention concat use_scale [q, v, k]",
            t => Run(att, [t[0], t[1], t[2]]),
            x => Reference(Additive(x[0], x[2], _ => x[4][0], x[3][0]), x[1], Tq, Tv, Dv, null, null, false),
            [q, v, k, att.Scale.Value, att.ConcatScoreWeight.Value]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AdditiveAttentionMatchesTheReferenceAndFiniteDifferences(bool useScale)
    {
        var att = new AdditiveAttention(useScale: useScale);
        var q = Random(9, -1, 1, Batch, Tq, Dim);
        var v = Random(10, -1, 1, Batch, Tv, Dv);
        var k = Random(11, -1, 1, Batch, Tv, Dim);
        att.Build([[Tq, Dim], [Tv, Dv], [Tv, Dim]]);
        Tensor[] inputs = useScale ? [q, v, k, att.Scale!.Value] : [q, v, k];
        CheckAgainstReference(
            $"additive attention use_scale={useScale}",
            t => Run(att, [t[0], t[1], t[2]]),
            x => Reference(Additive(x[0], x[2], d => useScale ? x[3][d] : 1, 1), x[1], Tq, Tv, Dv, null, null, false),
            inputs);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MasksFromBothSidesAndTheCausalMaskMatchTheReference(bool additive, bool causal)
    {
        // Tq = Tv for the causal mask; value step 0 stays valid so no query row is masked entirely.
        const int t = 4;
        AttentionBase att = additive ? new AdditiveAttention(useCausalMask: causal) : new Attention(useScale: true, useCausalMask: causal);
        var q = Random(12, -1, 1, Batch, t, Dim);
        var v = Random(13, -1, 1, Batch, t, Dv);
        var k = Random(14, -1, 1, Batch, t, Dim);
        var queryMask = Tensor.FromArray([1, 0, 1, 1, 1, 1, 1, 0], Batch, t);
        var valueMask = Tensor.FromArray([1, 1, 0, 1, 1, 0, 1, 1], Batch, t);
        att.Build([[t, Dim], [t, Dv], [t, Dim]]);
        var qm = queryMask.ToArray().Select(x => (double)x).ToArray();
        var vm = valueMask.ToArray().Select(x => (double)x).ToArray();
        Score ScoreOf(double[][] x) => additive
            ? AdditiveScore(x[0], x[2], x[3], t)
            : DotScore(x[0], x[2], x[3][0], t);
        CheckAgainstReference(
            $"{att.ClassName} masks causal={causal}",
            ts => Run(att, [ts[0], ts[1], ts[2]], [queryMask, valueMask, null]),
            x => Reference(ScoreOf(x), x[1], t, t, Dv, qm, vm, causal),
            [q, v, k, att.Scale!.Value]);

        // The attention weights, second output: zero on masked value steps (and above the diagonal when causal).
        var withScores = additive ? (AttentionBase)new AdditiveAttention(useCausalMask: causal, returnAttentionScores: true) : new Attention(useScale: true, useCausalMask: causal, returnAttentionScores: true);
        withScores.Build([[t, Dim], [t, Dv], [t, Dim]]);
        withScores.SetWeights(att.GetWeights());
        var outputs = withScores.Apply([q, v, k], [queryMask, valueMask, null], false, out var outputMasks);
        Assert.Equal(2, outputs.Count);
        Assert.Equal(Run(att, [q, v, k], [queryMask, valueMask, null]).ToArray(), outputs[0].ToArray());
        Assert.Equal(queryMask.ToArray(), outputMasks[0]!.ToArray());
        Assert.Equal([Batch, t, t], outputs[1].ShapeArray);
        var x = new[] { q, v, k, att.Scale.Value }.Select(a => a.ToArray().Select(f => (double)f).ToArray()).ToArray();
        var expected = Reference(ScoreOf(x), x[1], t, t, Dv, qm, vm, causal, withWeights: true)[(Batch * t * Dv)..];
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], outputs[1].Span[i], 1e-6);
            int b = i / (t * t), row = (i / t) % t, col = i % t;
            if (vm[(b * t) + col] == 0 || (causal && col > row))
            {
                Assert.Equal(0f, outputs[1].Span[i]);
            }
        }
    }

    private static Score DotScore(double[] q, double[] k, double scale, int t) => (b, i, j) =>
    {
        double s = 0;
        for (int d = 0; d < Dim; d++)
        {
            s += q[(((b * t) + i) * Dim) + d] * k[(((b * t) + j) * Dim) + d];
        }

        return scale * s;
    };

    private static Score AdditiveScore(double[] q, double[] k, double[] scale, int t) => (b, i, j) =>
    {
        double s = 0;
        for (int d = 0; d < Dim; d++)
        {
            s += scale[d] * Math.Tanh(q[(((b * t) + i) * Dim) + d] + k[(((b * t) + j) * Dim) + d]);
        }

        return s;
    };

    [Fact]
    public void AFullyMaskedValueRowAveragesTheValuesAsKerasFloat32Does()
    {
        // Keras subtracts 1e9 from every score of the row; in float32 they all round to −1e9, so the softmax is uniform.
        var att = new Attention();
        var q = Random(15, -1, 1, 1, 2, Dim);
        var v = Random(16, -1, 1, 1, Tv, Dim);
        var y = Run(att, [q, v], [null, new Tensor(1, Tv)]);
        for (int i = 0; i < 2; i++)
        {
            for (int c = 0; c < Dim; c++)
            {
                double mean = Enumerable.Range(0, Tv).Average(j => v[0, j, c]);
                Assert.Equal(mean, y[0, i, c], 1e-6);
            }
        }
    }

    [Fact]
    public void BatchMatMulMatchesTheReferenceAndFiniteDifferences()
    {
        var a = Random(17, -1, 1, 2, 3, 4);
        var b = Random(18, -1, 1, 2, 4, 5);
        var bt = Random(19, -1, 1, 2, 5, 4);
        static double[] Ref(double[] a, double[] b, bool transposeB)
        {
            var y = new double[2 * 3 * 5];
            for (int n = 0; n < 2; n++)
            {
                for (int i = 0; i < 3; i++)
                {
                    for (int j = 0; j < 5; j++)
                    {
                        for (int k = 0; k < 4; k++)
                        {
                            y[(((n * 3) + i) * 5) + j] += a[(((n * 3) + i) * 4) + k] * (transposeB ? b[(((n * 5) + j) * 4) + k] : b[(((n * 4) + k) * 5) + j]);
                        }
                    }
                }
            }

            return y;
        }

        CheckAgainstReference("batch_matmul", t => Ops.BatchMatMul(t[0], t[1]), x => Ref(x[0], x[1], false), [a, b]);
        CheckAgainstReference("batch_matmul transposeB", t => Ops.BatchMatMul(t[0], t[1], transposeB: true), x => Ref(x[0], x[1], true), [a, bt]);
        var e = Assert.Throws<ArgumentException>(() => Ops.BatchMatMul(a, bt));
        Assert.Contains("[2, 4, N]", e.Message);
        Assert.Contains("[2, 5, 4]", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BatchMatMulGivesTheSameBitsForAnyThreadCount(bool transposeB)
    {
        // Batch entries run on whichever thread takes them; each is one GEMM, so the bits must not move.
        var a = Random(31, -1, 1, 9, 41, 70);
        var b = Random(32, -1, 1, 9, transposeB ? 37 : 70, transposeB ? 70 : 37);
        var dy = Random(33, -1, 1, 9, 41, 37);
        var pool = LstmSharp.Kernels.WorkerPool.Shared;
        int saved = pool.ThreadCount;
        var results = new List<float[]>();
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                pool.ThreadCount = threads;
                a.Grad = b.Grad = null;
                a.RequiresGrad = b.RequiresGrad = true;
                using var tape = Tape.Record();
                var y = Ops.BatchMatMul(a, b, transposeB);
                tape.Backward(y, dy);
                results.Add([.. y.ToArray(), .. a.Grad!.ToArray(), .. b.Grad!.ToArray()]);
            }
        }
        finally
        {
            pool.ThreadCount = saved;
        }

        Assert.Equal(results[0], results[1]);
        Assert.Equal(results[0], results[2]);

        // And the values are the products: entry 8, row 40, column 36 against a double sum.
        double expected = 0;
        for (int k = 0; k < 70; k++)
        {
            expected += (double)a[8, 40, k] * (transposeB ? b[8, 36, k] : b[8, k, 36]);
        }

        Assert.Equal(expected, results[0][(((8 * 41) + 40) * 37) + 36], 1e-4);
    }

    [Fact]
    public void DropoutDropsAttentionWeightsOnlyInTraining()
    {
        var att = new Attention(dropout: 0.5f, seed: 3, returnAttentionScores: true);
        var plain = new Attention(returnAttentionScores: true);
        var q = Random(20, -1, 1, Batch, Tq, Dim);
        var v = Random(21, -1, 1, Batch, Tv, Dim);
        var inference = Run(att, [q, v], output: 1).ToArray();
        Assert.Equal(Run(plain, [q, v], output: 1).ToArray(), inference);
        var outputs = att.Apply([q, v], null, true, out _);
        var trained = outputs[1].ToArray();
        int dropped = 0;
        for (int i = 0; i < trained.Length; i++)
        {
            Assert.True(trained[i] == 0f || Math.Abs(trained[i] - (2 * inference[i])) < 1e-6, $"weight {i}: {trained[i]} is neither 0 nor 2 × {inference[i]}");
            dropped += trained[i] == 0f ? 1 : 0;
        }

        Assert.InRange(dropped, 1, trained.Length - 1);

        // The output is the product of the dropped weights and the values.
        var expected = Ops.BatchMatMul(outputs[1], v).ToArray();
        Assert.Equal(expected, outputs[0].ToArray());
    }

    [Fact]
    public void ParameterCountsAndWeightNamesFollowKeras()
    {
        var dot = new Attention();
        dot.Build([[Tq, Dim], [Tv, Dim]]);
        Assert.Equal(0, dot.CountParams());

        var scaled = new Attention(useScale: true);
        scaled.Build([[Tq, Dim], [Tv, Dim]]);
        Assert.Equal(1, scaled.CountParams());
        Assert.Equal("attention_1/scale", Assert.Single(scaled.Parameters).Path);
        Assert.Empty(scaled.Scale!.Value.ShapeArray);
        Assert.Equal(1f, scaled.Scale.Value.Span[0]);

        var concat = new Attention(scoreMode: "concat");
        concat.Build([[Tq, Dim], [Tv, Dim]]);
        Assert.Equal(["concat_score_weight"], concat.Parameters.Select(p => p.Name));

        var additive = new AdditiveAttention();
        additive.Build([[Tq, 64], [Tv, 32], [Tv, 64]]);
        Assert.Equal(64, additive.CountParams());
        var scale = Assert.Single(additive.Parameters);
        Assert.Equal("additive_attention/scale", scale.Path);
        Assert.Equal([64], scale.Value.ShapeArray);

        // glorot_uniform on [64]: fan_in = fan_out = 64, limit √(6/128).
        double limit = Math.Sqrt(6.0 / 128);
        Assert.All(scale.Value.ToArray(), w => Assert.InRange(w, -limit, limit));
        Assert.True(scale.Value.ToArray().Distinct().Count() > 60);

        var unscaled = new AdditiveAttention(useScale: false);
        unscaled.Build([[Tq, Dim], [Tv, Dim]]);
        Assert.Equal(0, unscaled.CountParams());
    }

    [Fact]
    public void OutputShapesFollowKeras()
    {
        var att = new Attention(returnAttentionScores: true);
        var shapes = att.ComputeOutputShapes([[7, 16], [9, 8], [9, 16]]);
        Assert.Equal([7, 8], shapes[0]);
        Assert.Equal([7, 9], shapes[1]);
        Assert.Equal([-1, 8], new AdditiveAttention().ComputeOutputShapes([[-1, 16], [-1, 8], [-1, 16]])[0]);
    }

    [Fact]
    public void ConfigsRoundTripAndKerasConfigsLoad()
    {
        foreach (AttentionBase layer in new AttentionBase[]
        {
            new Attention(useScale: true, scoreMode: "concat", dropout: 0.25f, seed: 4, useCausalMask: true, returnAttentionScores: true, name: "att"),
            new AdditiveAttention(useScale: false, dropout: 0.1f, useCausalMask: true, name: "add"),
        })
        {
            var entry = LayerRegistry.ToEntry(layer);
            var back = (AttentionBase)LayerRegistry.FromEntry(entry);
            Assert.Equal(layer.GetType(), back.GetType());
            Assert.Equal(entry.ToJsonString(), LayerRegistry.ToEntry(back).ToJsonString());
            Assert.Equal(layer.UseCausalMask, back.UseCausalMask);
            Assert.Equal(layer.Dropout, back.Dropout);
        }

        // As Keras 3 writes them (the call arguments are not in the config) and as tf.keras 2 did (causal).
        var keras3 = (Attention)LayerRegistry.FromConfig("Attention", JsonNode.Parse("""{"name": "attention", "trainable": true, "dtype": "float32", "use_scale": true, "score_mode": "dot", "dropout": 0.0}""")!.AsObject());
        Assert.True(keras3.UseScale);
        Assert.False(keras3.UseCausalMask);
        var keras3Additive = (AdditiveAttention)LayerRegistry.FromConfig("AdditiveAttention", JsonNode.Parse("""{"name": "additive_attention", "trainable": true, "dtype": "float32", "dropout": 0.0}""")!.AsObject());
        Assert.True(keras3Additive.UseScale);
        var tfKeras2 = (Attention)LayerRegistry.FromConfig("Attention", JsonNode.Parse("""{"name": "a2", "use_scale": false, "causal": true, "dropout": 0.0}""")!.AsObject());
        Assert.True(tfKeras2.UseCausalMask);
        Assert.False(new AdditiveAttention().GetConfig().ContainsKey("score_mode"));
    }

    [Fact]
    public void ErrorsNameTheLayerTheArgumentTheExpectedAndTheActualValue()
    {
        var q = new Tensor(2, 3, 4);
        var att = new Attention(name: "att");

        var e = Assert.Throws<ArgumentException>(() => Run(att, [q, new Tensor(2, 5, 6)]));
        Assert.Equal("Attention 'att': expected value (input 1, also the key) as [*, *, 4] (the query's depth), got [2, 5, 6].", e.Message);

        e = Assert.Throws<ArgumentException>(() => Run(att, [q, new Tensor(2, 5, 6), new Tensor(2, 5, 3)]));
        Assert.Equal("Attention 'att': expected key (input 2) as [*, *, 4] (the query's depth), got [2, 5, 3].", e.Message);

        e = Assert.Throws<ArgumentException>(() => Run(att, [q, new Tensor(2, 5, 6), new Tensor(2, 4, 4)]));
        Assert.Equal("Attention 'att': expected key (input 2) as [*, 5, *] (as many steps as the value's 5), got [2, 4, 4].", e.Message);

        e = Assert.Throws<ArgumentException>(() => Run(att, [q, new Tensor(3, 5, 4)]));
        Assert.Equal("Attention 'att': expected value (input 1) as [2, *, *] (the query's batch size), got [3, 5, 4].", e.Message);

        e = Assert.Throws<ArgumentException>(() => Run(att, [q, new Tensor(2, 5, 4)], [null, new Tensor(2, 4)]));
        Assert.Equal("Attention 'att': expected value mask as [2, 5], got [2, 4].", e.Message);

        e = Assert.Throws<ArgumentException>(() => Run(att, [q, new Tensor(2, 5, 4)], [new Tensor(2, 3, 1), null]));
        Assert.Equal("Attention 'att': expected query mask as [2, 3], got [2, 3, 1].", e.Message);

        e = Assert.Throws<ArgumentException>(() => att.Apply(q));
        Assert.Equal("Attention 'att': expected inputs [query, value] or [query, value, key], got 1 input.", e.Message);

        e = Assert.Throws<ArgumentException>(() => Run(new AdditiveAttention(name: "add"), [new Tensor(2, 4), new Tensor(2, 4)]));
        Assert.Equal("AdditiveAttention 'add': expected query (input 0) as [batch, Tq, dim], got [*, 4].", e.Message);

        // Built for depth 4, called with depth 6: the layer says so before any op does.
        var additive = new AdditiveAttention(name: "add2");
        Run(additive, [q, q]);
        var q6 = new Tensor(2, 3, 6);
        e = Assert.Throws<ArgumentException>(() => Run(additive, [q6, q6]));
        Assert.Equal("AdditiveAttention 'add2': expected query (input 0) as [*, *, 4] (the depth the layer was built for), got [2, 3, 6].", e.Message);

        e = Assert.Throws<ArgumentException>(() => new Attention(scoreMode: "general", name: "g"));
        Assert.Contains("Attention 'g': scoreMode must be \"dot\" or \"concat\", got \"general\"", e.Message);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => new AdditiveAttention(dropout: 1f, name: "d"));
        Assert.Contains("AdditiveAttention 'd': dropout must be in [0, 1), got 1", r.Message);
    }

    [Fact]
    public void InAFunctionalModelMasksComeFromTheEmbeddingsAndTheModelSavesAndLoads()
    {
        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            Layer.SetRandomSeed(7);
            var queryIn = Input.Create([-1], name: "query_tokens");
            var valueIn = Input.Create([-1], name: "value_tokens");
            var embed = new Embedding(12, 6, maskZero: true);
            var attended = new AdditiveAttention(dropout: 0.1f, seed: 1).Apply(embed.Apply(queryIn), embed.Apply(valueIn));
            var pooled = new GlobalAveragePooling1D().Apply(attended);
            var output = new Dense(1, activation: "sigmoid").Apply(pooled);
            var model = new Functional([queryIn, valueIn], [output]);
            model.Compile(new LstmSharp.Training.Adam(0.01), "binary_crossentropy");
            Assert.Contains("additive_attention (AdditiveAtt (None, None, 6)      6 ", model.SummaryText());

            var rng = new Random(3);
            var xq = new Tensor(32, 5);
            var xv = new Tensor(32, 6);
            var y = new Tensor(32, 1);
            for (int i = 0; i < 32; i++)
            {
                int lq = rng.Next(2, 6), lv = rng.Next(2, 7);
                for (int t = 0; t < lq; t++)
                {
                    xq[i, t] = rng.Next(1, 12);
                }

                for (int t = 0; t < lv; t++)
                {
                    xv[i, t] = rng.Next(1, 12);
                }

                y[i, 0] = xv[i, 0] > 6 ? 1 : 0;
            }

            model.Fit([xq, xv], y, batchSize: 8, epochs: 2, verbose: 0, seed: 1);
            var trained = model.Predict([xq, xv]).ToArray();

            // Masked value steps take no weight and masked query steps are left out of the pooled mean:
            // a padded sample predicts what its unpadded steps alone predict.
            var q1 = Tensor.FromArray([3, 5, 0, 0, 0], 1, 5);
            var v1 = Tensor.FromArray([7, 2, 9, 0, 0, 0], 1, 6);
            float padded = model.Predict([q1, v1]).Span[0];
            float unpadded = model.Predict([Tensor.FromArray([3, 5], 1, 2), Tensor.FromArray([7, 2, 9], 1, 3)]).Span[0];
            Assert.Equal(unpadded, padded, 1e-6);
            float otherValue = model.Predict([q1, Tensor.FromArray([7, 2, 4, 0, 0, 0], 1, 6)]).Span[0];
            Assert.NotEqual(padded, otherValue);

            string path = Path.Combine(dir, "attention.lstm");
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(trained, loaded.Predict([xq, xv]).ToArray());
            Assert.Equal(model.GetConfig().ToJsonString(), loaded.GetConfig().ToJsonString());
            Assert.Equal(["embedding/embeddings", "additive_attention/scale", "dense/kernel", "dense/bias"], loaded.Parameters.Select(p => p.Path));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AnEncoderDecoderWithAttentionLearnsToReverseSequencesFasterThanWithout()
    {
        // Decoder LSTM states start from the encoder's; Luong attention of each decoder step over
        // the encoder's outputs, concatenated with the decoder output, feeds the softmax (teacher forcing).
        var (losses, accuracy, attention, scaleBefore) = TrainReversal(withAttention: true);
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss did not halve: {string.Join(", ", losses)}");
        Assert.True(accuracy[^1] > 0.7, $"accuracy {accuracy[^1]} after {accuracy.Count} epochs");
        Assert.NotEqual(scaleBefore, attention!.Scale!.Value.Span[0]);

        // The same model without the attention branch, same seeds and budget, ends with a higher loss.
        var (plainLosses, _, _, _) = TrainReversal(withAttention: false);
        Assert.True(losses[^1] < plainLosses[^1], $"with attention {losses[^1]}, without {plainLosses[^1]}");
    }

    private static (IReadOnlyList<double> Losses, IReadOnlyList<double> Accuracy, Attention? Layer, float ScaleBefore) TrainReversal(bool withAttention)
    {
        const int vocab = 6, time = 6, units = 16, n = 192;
        Layer.ClearSession();
        Layer.SetRandomSeed(11);
        var encIn = Input.Create([time], name: "encoder_tokens");
        var decIn = Input.Create([time], name: "decoder_tokens");
        var encoder = new LstmSharp.Recurrent.LSTM(units, returnSequences: true, returnState: true).ApplyAll(new Embedding(vocab, 8).Apply(encIn));
        var decoded = new LstmSharp.Recurrent.LSTM(units, returnSequences: true).ApplyAll(new Embedding(vocab, 8).Apply(decIn), encoder[1], encoder[2])[0];
        Attention? attention = null;
        var features = decoded;
        if (withAttention)
        {
            attention = new Attention(useScale: true, returnAttentionScores: true);
            var attended = attention.ApplyAll(decoded, encoder[0]);
            Assert.Equal([time, time], attended[1].Shape);
            features = new Concatenate().Apply(decoded, attended[0]);
        }

        var probs = new TimeDistributed(new Dense(vocab, activation: "softmax")).Apply(features);
        var model = new Functional([encIn, decIn], [probs]);
        model.Compile(new LstmSharp.Training.Adam(0.02), "sparse_categorical_crossentropy", ["accuracy"]);

        var rng = new Random(5);
        var enc = new Tensor(n, time);
        var dec = new Tensor(n, time);
        var y = new Tensor(n, time);
        for (int i = 0; i < n; i++)
        {
            for (int t = 0; t < time; t++)
            {
                enc[i, t] = rng.Next(1, vocab);
            }

            for (int t = 0; t < time; t++)
            {
                y[i, t] = enc[i, time - 1 - t];
                dec[i, t] = t == 0 ? 0 : y[i, t - 1];
            }
        }

        float scale = attention?.Scale!.Value.Span[0] ?? 0f;
        var history = model.Fit([enc, dec], y, batchSize: 32, epochs: 15, verbose: 0, seed: 2);
        return (history["loss"], history["accuracy"], attention, scale);
    }
}
