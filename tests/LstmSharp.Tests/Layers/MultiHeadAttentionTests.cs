using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Layers;

/// <summary>
/// MultiHeadAttention against a double reference written from Keras's equations (per-head
/// projections, scores / √key_dim, −1e9 on masked pairs, softmax, weighted values, output
/// projection), with central differences of the output w.r.t. every input and all eight
/// weights; Keras's weight names and parameter counts; save/load; errors. Also Ops.Permute.
/// </summary>
public class MultiHeadAttentionTests
{
    private const int Batch = 2, Tq = 3, Tv = 4, Dq = 5, Dvi = 3, Dki = 4, Heads = 2, Key = 3, Val = 2;

    public MultiHeadAttentionTests() => Layer.ClearSession();

    [Fact]
    public void PermuteMatchesTheReferenceAndFiniteDifferences()
    {
        var x = Random(1, -1, 1, 2, 3, 4, 5);
        CheckAgainstReference("permute [0,2,1,3]", t => Ops.Permute(t[0], 0, 2, 1, 3), a => PermuteRef(a[0], [2, 3, 4, 5], [0, 2, 1, 3]), [x]);
        var y = Random(2, -1, 1, 3, 4, 2);
        CheckAgainstReference("permute [2,0,1]", t => Ops.Permute(t[0], 2, 0, 1), a => PermuteRef(a[0], [3, 4, 2], [2, 0, 1]), [y]);
        Assert.Equal([2, 3, 4], Ops.Permute(y, 2, 0, 1).ShapeArray);
        var e = Assert.Throws<ArgumentException>(() => Ops.Permute(y, 0, 0, 1));
        Assert.Contains("permutation of 0..2", e.Message);
        Assert.Contains("[0, 0, 1]", e.Message);
    }

    private static double[] PermuteRef(double[] x, int[] shape, int[] perm)
    {
        int rank = shape.Length;
        var outShape = perm.Select(a => shape[a]).ToArray();
        var y = new double[x.Length];
        var outIndex = new int[rank];
        for (int o = 0; o < y.Length; o++)
        {
            int rest = o;
            for (int a = rank - 1; a >= 0; a--)
            {
                outIndex[a] = rest % outShape[a];
                rest /= outShape[a];
            }

            var inIndex = new int[rank];
            for (int a = 0; a < rank; a++)
            {
                inIndex[perm[a]] = outIndex[a];
            }

            int flat = 0;
            for (int a = 0; a < rank; a++)
            {
                flat = (flat * shape[a]) + inIndex[a];
            }

            y[o] = x[flat];
        }

        return y;
    }

    /// <summary>
    /// Keras MultiHeadAttention in double from flat arrays: q [B,Tq,Dq], v [B,Tv,Dvi], k [B,Tv,Dki],
    /// Wq [Dq,H,K], bq [H,K], Wk [Dki,H,K], bk, Wv [Dvi,H,V], bv [H,V], Wo [H,V,out], bo [out].
    /// Returns the output [B,Tq,out], then (withWeights) the weights [B,H,Tq,Tv].
    /// </summary>
    private static double[] Reference(double[][] x, int output, double[]? queryMask, double[]? valueMask, bool causal, bool withWeights = false)
    {
        double[] q = x[0], v = x[1], k = x[2], wq = x[3], bq = x[4], wk = x[5], bk = x[6], wv = x[7], bv = x[8], wo = x[9], bo = x[10];
        double[] Proj(double[] input, int steps, int depth, double[] w, double[] b, int size)
        {
            var p = new double[Batch * steps * Heads * size]; // [B, T, H, size]
            for (int n = 0; n < Batch * steps; n++)
            {
                for (int h = 0; h < Heads; h++)
                {
                    for (int s = 0; s < size; s++)
                    {
                        double acc = b[(h * size) + s];
                        for (int d = 0; d < depth; d++)
                        {
                            acc += input[(n * depth) + d] * w[(((d * Heads) + h) * size) + s];
                        }

                        p[(((n * Heads) + h) * size) + s] = acc;
                    }
                }
            }

            return p;
        }

        var pq = Proj(q, Tq, Dq, wq, bq, Key);
        var pk = Proj(k, Tv, Dki, wk, bk, Key);
        var pv = Proj(v, Tv, Dvi, wv, bv, Val);
        var y = new double[Batch * Tq * output];
        var weights = new double[Batch * Heads * Tq * Tv];
        var s = new double[Tv];
        for (int b = 0; b < Batch; b++)
        {
            for (int i = 0; i < Tq; i++)
            {
                var context = new double[Heads * Val];
                for (int h = 0; h < Heads; h++)
                {
                    for (int j = 0; j < Tv; j++)
                    {
                        double dot = 0;
                        for (int c = 0; c < Key; c++)
                        {
                            dot += pq[(((((b * Tq) + i) * Heads) + h) * Key) + c] * pk[(((((b * Tv) + j) * Heads) + h) * Key) + c];
                        }

                        s[j] = dot / Math.Sqrt(Key);
                        bool masked = (queryMask is not null && queryMask[(b * Tq) + i] == 0) || (valueMask is not null && valueMask[(b * Tv) + j] == 0) || (causal && j > i);
                        if (masked)
                        {
                            s[j] -= 1e9;
                        }
                    }

                    double max = s.Max();
                    double sum = s.Sum(e => Math.Exp(e - max));
                    for (int j = 0; j < Tv; j++)
                    {
                        double w = Math.Exp(s[j] - max) / sum;
                        weights[(((((b * Heads) + h) * Tq) + i) * Tv) + j] = w;
                        for (int c = 0; c < Val; c++)
                        {
                            context[(h * Val) + c] += w * pv[(((((b * Tv) + j) * Heads) + h) * Val) + c];
                        }
                    }
                }

                for (int o = 0; o < output; o++)
                {
                    double acc = bo[o];
                    for (int hc = 0; hc < Heads * Val; hc++)
                    {
                        acc += context[hc] * wo[(hc * output) + o];
                    }

                    y[(((b * Tq) + i) * output) + o] = acc;
                }
            }
        }

        return withWeights ? [.. y, .. weights] : y;
    }

    private static (MultiHeadAttention Layer, Tensor[] Inputs) Setup(MultiHeadAttention layer, int seed)
    {
        var q = Random(seed, -1, 1, Batch, Tq, Dq);
        var v = Random(seed + 1, -1, 1, Batch, Tv, Dvi);
        var k = Random(seed + 2, -1, 1, Batch, Tv, Dki);
        layer.Build([[Tq, Dq], [Tv, Dvi], [Tv, Dki]]);
        int p = 0;
        foreach (var w in layer.Parameters)
        {
            // Random biases too (Keras starts them at zero), so a misplaced one shows.
            var r = Random(seed + 10 + p++, -0.8f, 0.8f, w.Value.ShapeArray);
            r.Span.CopyTo(w.Value.Span);
        }

        return (layer, [q, v, k, .. layer.Parameters.Select(w => w.Value)]);
    }

    [Fact]
    public void MatchesTheReferenceAndFiniteDifferencesOfInputsAndAllEightWeights()
    {
        var (layer, inputs) = Setup(new MultiHeadAttention(Heads, Key, Val), 3);
        Assert.Equal(
            ["query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel", "value/bias", "attention_output/kernel", "attention_output/bias"],
            layer.Parameters.Select(p => p.Name));
        CheckAgainstReference(
            "multi-head attention [q, v, k]",
            t => layer.Apply([t[0], t[1], t[2]], null, false, out _)[0],
            x => Reference(x, Dq, null, null, false),
            inputs);
    }

    [Fact]
    public void ValueMaskAndTheCausalMaskMatchTheReferenceAndReturnTheWeights()
    {
        var (layer, inputs) = Setup(new MultiHeadAttention(Heads, Key, Val, outputShape: 4, useCausalMask: true, returnAttentionScores: true), 5);
        var valueMask = new Tensor(new float[] { 1, 0, 1, 1, 1, 1, 1, 0 }, Batch, Tv);
        double[] vm = [.. valueMask.ToArray().Select(f => (double)f)];
        CheckAgainstReference(
            "multi-head attention, value mask + causal, output 4",
            t => layer.Apply([t[0], t[1], t[2]], [null, valueMask, null], false, out _)[0],
            x => Reference(x, 4, null, vm, true),
            inputs);

        var outs = layer.Apply([inputs[0], inputs[1], inputs[2]], [null, valueMask, null], false, out _);
        Assert.Equal([Batch, Heads, Tq, Tv], outs[1].ShapeArray);
        var expected = Reference([.. inputs.Select(t => t.ToArray().Select(f => (double)f).ToArray())], 4, null, vm, true, withWeights: true);
        var weights = outs[1].ToArray();
        for (int i = 0; i < weights.Length; i++)
        {
            Assert.Equal(expected[(Batch * Tq * 4) + i], weights[i], 1e-6);
        }

        Assert.Equal(0f, weights[(((0 * Heads) + 1) * Tq * Tv) + (0 * Tv) + 1]); // causal: step 0 never sees step 1
        Assert.Equal(0f, weights[(((1 * Heads) + 0) * Tq * Tv) + (2 * Tv) + 3]); // sample 1's value step 3 is masked
    }

    [Fact]
    public void AMaskedQueryStepMasksItsWholeRowAsKerasDoesAndTheOutputKeepsTheQueryMask()
    {
        // Keras ANDs the query mask into the attention mask: a masked query step's scores all get −1e9,
        // which in float32 leaves equal scores, so its weights are uniform; other rows are unaffected.
        var (layer, inputs) = Setup(new MultiHeadAttention(Heads, Key, Val, returnAttentionScores: true), 6);
        var queryMask = new Tensor(new float[] { 1, 1, 0, 1, 1, 1 }, Batch, Tq);
        var x = new[] { inputs[0], inputs[1], inputs[2] };
        var masked = layer.Apply(x, [queryMask, null, null], false, out var masks);
        var plain = layer.Apply(x, null, false, out _);
        Assert.Same(queryMask, masks[0]);
        var w = masked[1].ToArray();
        var wPlain = plain[1].ToArray();
        for (int b = 0; b < Batch; b++)
        {
            for (int h = 0; h < Heads; h++)
            {
                for (int i = 0; i < Tq; i++)
                {
                    for (int j = 0; j < Tv; j++)
                    {
                        int at = (((((b * Heads) + h) * Tq) + i) * Tv) + j;
                        Assert.Equal(queryMask[b, i] == 0f ? 1f / Tv : wPlain[at], w[at], 6);
                    }
                }
            }
        }

        var y = masked[0].ToArray();
        var yPlain = plain[0].ToArray();
        Assert.Equal(yPlain[..(2 * Dq)], y[..(2 * Dq)]); // sample 0, steps 0 and 1
        Assert.NotEqual(yPlain[(2 * Dq)..(3 * Dq)], y[(2 * Dq)..(3 * Dq)]);
    }

    [Fact]
    public void KerasParameterCountsAndDropoutOnlyInTraining()
    {
        // keras.layers.MultiHeadAttention(num_heads=2, key_dim=2) on query [8, 16], value [4, 16]:
        // query/key/value 3 × (16·2·2 + 2·2) = 204, output 2·2·16 + 16 = 80.
        var q = Input.Create([8, 16], name: "q");
        var v = Input.Create([4, 16], name: "v");
        var mha = new MultiHeadAttention(2, 2);
        var model = new Functional([q, v], [mha.Apply(q, v)]);
        Assert.Equal(284, model.CountParams());
        // num_heads=4, key_dim=8, value_dim=3, output_shape=10, no bias on query [5, 6], value [7, 9]:
        // 6·4·8 + 9·4·8 + 9·4·3 + 4·3·10 = 192 + 288 + 108 + 120.
        var mha2 = new MultiHeadAttention(4, 8, valueDim: 3, useBias: false, outputShape: 10);
        mha2.Build([[5, 6], [7, 9]]);
        Assert.Equal(708, mha2.Parameters.Sum(p => p.Value.Length));

        var (layer, inputs) = Setup(new MultiHeadAttention(Heads, Key, Val, dropout: 0.5f, seed: 4), 7);
        var x = new[] { inputs[0], inputs[1], inputs[2] };
        var inference = layer.Apply(x, null, false, out _)[0].ToArray();
        Assert.Equal(inference, layer.Apply(x, null, false, out _)[0].ToArray());
        Assert.NotEqual(inference, layer.Apply(x, null, true, out _)[0].ToArray());
    }

    [Fact]
    public void AFunctionalModelWithMultiHeadAttentionSavesAndLoadsAndTrains()
    {
        Layer.SetRandomSeed(9);
        var tokens = Input.Create([6], name: "tokens");
        var embedded = new Embedding(12, 8, maskZero: true).Apply(tokens);
        var attended = new MultiHeadAttention(2, 4, useCausalMask: true).Apply(embedded, embedded);
        var output = new Dense(1, activation: "sigmoid").Apply(new GlobalAveragePooling1D().Apply(attended));
        var model = new Functional([tokens], [output]);
        model.Compile(new LstmSharp.Training.Adam(0.01), "binary_crossentropy");
        var x = new Tensor(16, 6);
        var y = new Tensor(16, 1);
        var rng = new Rng(3);
        for (int i = 0; i < 16; i++)
        {
            int first = 1 + rng.NextInt(11);
            for (int t = 0; t < 6; t++)
            {
                x[i, t] = t == 0 ? first : t < 4 ? 1 + rng.NextInt(11) : 0;
            }

            y[i, 0] = first > 6 ? 1 : 0;
        }

        var history = model.Fit(x, y, batchSize: 8, epochs: 30, verbose: 0);
        Assert.True(history["loss"][^1] < history["loss"][0] * 0.8, $"loss {history["loss"][0]} -> {history["loss"][^1]}");

        string dir = Path.Combine(Path.GetTempPath(), "mha-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "mha.lstm");
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
            var layer = Assert.IsType<MultiHeadAttention>(loaded.Layers.Single(l => l is MultiHeadAttention));
            Assert.True(layer.UseCausalMask);
            Assert.Equal(4, layer.KeyDim);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BadArgumentsAndShapesNameTheLayerTheArgumentAndTheShapes()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new MultiHeadAttention(0, 4, name: "mha"));
        Assert.Contains("'mha'", e.Message);
        Assert.Contains("numHeads", e.Message);
        Assert.Contains("got 0", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultiHeadAttention(2, 4, dropout: 1f));

        var layer = new MultiHeadAttention(2, 3, name: "m2");
        var q = Random(1, -1, 1, 2, 3, 5);
        var v = Random(2, -1, 1, 2, 4, 5);
        var k = Random(3, -1, 1, 2, 3, 5);
        var shape = Assert.ThrowsAny<ArgumentException>(() => layer.Apply([q, v, k], null, false, out _));
        Assert.Contains("'m2'", shape.Message);
        Assert.Contains("key (input 2)", shape.Message);
        Assert.Contains("3, 5]", shape.Message);
        var mask = Assert.ThrowsAny<ArgumentException>(() => layer.Apply([q, v], [new Tensor(2, 5), null], false, out _));
        Assert.Contains("query mask", mask.Message);
        Assert.Contains("[2, 3]", mask.Message);
        Assert.Contains("[2, 5]", mask.Message);
        var count = Assert.ThrowsAny<ArgumentException>(() => layer.Apply([q], null, false, out _));
        Assert.Contains("[query, value]", count.Message);
    }
}
