using LstmSharp.Interop.Onnx;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;
using static LstmSharp.Tests.Interop.OnnxRuntimeCheck;

namespace LstmSharp.Tests.Interop;

/// <summary>Attention and AdditiveAttention exported to ONNX give LstmSharp's outputs and attention weights in ONNX Runtime (≤ 1e-5).</summary>
public sealed class OnnxAttentionExportTests
{
    private const int Batch = 3, Tq = 5, Tv = 7, Depth = 4, ValueDepth = 6;

    private static readonly Dictionary<string, Func<AttentionBase>> Layers = new()
    {
        ["dot"] = () => new Attention(),
        ["dot scaled"] = () => new Attention(useScale: true),
        ["dot causal"] = () => new Attention(useCausalMask: true),
        ["dot dropout (identity at inference)"] = () => new Attention(dropout: 0.4f, seed: 3),
        ["concat"] = () => new Attention(scoreMode: "concat"),
        ["concat scaled causal"] = () => new Attention(useScale: true, scoreMode: "concat", useCausalMask: true),
        ["additive"] = () => new AdditiveAttention(),
        ["additive unscaled"] = () => new AdditiveAttention(useScale: false),
        ["additive causal"] = () => new AdditiveAttention(useCausalMask: true),
    };

    public static TheoryData<string, bool, bool, int> CaseNames()
    {
        var data = new TheoryData<string, bool, bool, int>();
        foreach (var name in Layers.Keys)
        {
            foreach (var (key, masks) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                data.Add(name, key, masks, key && masks ? 14 : 17);
            }
        }

        return data;
    }

    /// <summary>query [Tq, Depth], value [Tv, ValueDepth] (key [Tv, Depth] when given); with masks, Masking(0) on query and value.</summary>
    private static Functional Build(AttentionBase attention, bool withKey, bool masks, int seed, int tq = Tq, int tv = Tv)
    {
        Layer.SetRandomSeed(seed);
        var q = Input.Create([tq, Depth], name: "query");
        var v = Input.Create([tv, withKey ? ValueDepth : Depth], name: "value");
        var inputs = new List<SymbolicTensor> { q, v };
        SymbolicTensor qm = q, vm = v;
        if (masks)
        {
            qm = new Masking(name: "query_mask").Apply(q);
            vm = new Masking(name: "value_mask").Apply(v);
        }

        var args = new List<SymbolicTensor> { qm, vm };
        if (withKey)
        {
            var k = Input.Create([tv, Depth], name: "key");
            inputs.Add(k);
            args.Add(k);
        }

        var outs = attention.ApplyAll([.. args]);
        var model = new Functional(inputs, [.. outs]);
        RandomizeWeights(model, seed);
        return model;
    }

    /// <summary>Random inputs; with masks, some query and value steps are all zeros (holes and trailing padding), row 0 unmasked.</summary>
    private static Tensor[] Inputs(bool withKey, bool masks, int seed, int tq = Tq, int tv = Tv)
    {
        var q = RandomInput(seed, Batch, tq, Depth);
        var v = RandomInput(seed + 1, Batch, tv, withKey ? ValueDepth : Depth);
        if (masks)
        {
            ZeroStep(q, 1, tq - 1);
            ZeroStep(q, 2, 1);
            ZeroStep(v, 1, tv - 1);
            ZeroStep(v, 1, tv - 2);
            ZeroStep(v, 2, 0);
            ZeroStep(v, 2, 3);
        }

        return withKey ? [q, v, RandomInput(seed + 2, Batch, tv, Depth)] : [q, v];
    }

    private static void ZeroStep(Tensor x, int b, int t)
    {
        int width = x.Dim(2);
        x.Span.Slice(((b * x.Dim(1)) + t) * width, width).Clear();
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void AttentionMatchesOnnxRuntime(string name, bool withKey, bool masks, int opset)
    {
        var model = Build(Layers[name](), withKey, masks, 11);
        AssertMatches(model, Inputs(withKey, masks, 5), opset);
    }

    [Theory]
    [InlineData("dot")]
    [InlineData("concat scaled causal")]
    [InlineData("additive causal")]
    public void AttentionWeightsAreASecondOutputThatMatchesOnnxRuntime(string name)
    {
        var layer = Layers[name]();
        var withScores = layer switch
        {
            Attention a => (AttentionBase)new Attention(a.UseScale, a.ScoreMode, a.Dropout, a.Seed, a.UseCausalMask, returnAttentionScores: true),
            AdditiveAttention a => new AdditiveAttention(a.UseScale, a.Dropout, a.Seed, a.UseCausalMask, returnAttentionScores: true),
            _ => throw new InvalidOperationException(),
        };
        var model = Build(withScores, withKey: false, masks: true, 8);
        Assert.Equal(2, model.OutputTensors.Count);
        AssertMatches(model, Inputs(false, true, 9));
    }

    [Fact]
    public void UnknownStepCountsRunOnAnyLengthWithTheCausalMaskBuiltAtRunTime()
    {
        var model = Build(new AdditiveAttention(useCausalMask: true), withKey: false, masks: true, 4, tq: -1, tv: -1);
        var onnx = model.ToOnnxBytes();
        foreach (var (tq, tv) in new[] { (3, 8), (6, 2), (1, 1), (9, 9) })
        {
            var x = Inputs(false, false, tq * 10 + tv, tq, tv);
            var expected = model.Call(x, training: false);
            var actual = Run(onnx, x);
            AssertClose($"Tq {tq}, Tv {tv}", expected[0], actual[0].Values, actual[0].Shape);
        }
    }

    [Fact]
    public void AnEncoderDecoderWithAttentionMatchesOnnxRuntime()
    {
        Layer.SetRandomSeed(6);
        const int vocab = 9, steps = 6, units = 5;
        var encIn = Input.Create([steps], name: "encoder_tokens");
        var decIn = Input.Create([steps], name: "decoder_tokens");
        var encoder = new LstmSharp.Recurrent.LSTM(units, returnSequences: true, returnState: true).ApplyAll(new Embedding(vocab, 4, maskZero: true).Apply(encIn));
        var decoded = new LstmSharp.Recurrent.LSTM(units, returnSequences: true).ApplyAll(new Embedding(vocab, 4).Apply(decIn), encoder[1], encoder[2])[0];
        var attended = new Attention(useScale: true).Apply(decoded, encoder[0]);
        var features = new Concatenate().Apply(decoded, attended);
        var probs = new TimeDistributed(new Dense(vocab, activation: "softmax")).Apply(features);
        var model = new Functional([encIn, decIn], [probs]);
        RandomizeWeights(model, 6);
        var enc = new Tensor(2, steps);
        var dec = new Tensor(2, steps);
        for (int i = 0; i < enc.Length; i++)
        {
            enc.Span[i] = 1 + (i * 5 % (vocab - 1));
            dec.Span[i] = 1 + (i * 3 % (vocab - 1));
        }

        enc[1, steps - 1] = enc[1, steps - 2] = 0f; // right padding: the encoder's mask becomes sequence_lens
        AssertMatches(model, [enc, dec]);
        var ops = LstmSharp.Interop.Onnx.Proto.ModelProto.Parser.ParseFrom(model.ToOnnxBytes()).Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.Superset(new HashSet<string> { "LSTM", "MatMul", "Softmax", "Where" }, ops);
    }

    public static TheoryData<string, bool, bool, int> MultiHeadCases()
    {
        var data = new TheoryData<string, bool, bool, int>();
        foreach (var name in new[] { "mha", "mha causal", "mha value dim 3, output 5, no bias", "mha weights" })
        {
            foreach (var (key, masks) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                data.Add(name, key, masks, key ? 14 : 17);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MultiHeadCases))]
    public void MultiHeadAttentionMatchesOnnxRuntime(string name, bool withKey, bool masks, int opset)
    {
        MultiHeadAttention layer = name switch
        {
            "mha" => new MultiHeadAttention(2, 3),
            "mha causal" => new MultiHeadAttention(3, 2, useCausalMask: true),
            "mha value dim 3, output 5, no bias" => new MultiHeadAttention(2, 4, valueDim: 3, useBias: false, outputShape: 5),
            _ => new MultiHeadAttention(2, 3, returnAttentionScores: true),
        };
        Layer.SetRandomSeed(13);
        var q = Input.Create([Tq, Depth], name: "query");
        var v = Input.Create([Tv, withKey ? ValueDepth : Depth], name: "value");
        var inputs = new List<SymbolicTensor> { q, v };
        var args = new List<SymbolicTensor>
        {
            masks ? new Masking(name: "query_mask").Apply(q) : q,
            masks ? new Masking(name: "value_mask").Apply(v) : v,
        };
        if (withKey)
        {
            var k = Input.Create([Tv, Depth], name: "key");
            inputs.Add(k);
            args.Add(masks ? new Masking(name: "key_mask").Apply(k) : k);
        }

        var model = new Functional(inputs, [.. layer.ApplyAll([.. args])]);
        RandomizeWeights(model, 13);
        var x = Inputs(withKey, masks, 21);
        if (masks && withKey)
        {
            ZeroStep(x[2], 0, 2); // a key-masked step
        }

        AssertMatches(model, x, opset);
    }
}
