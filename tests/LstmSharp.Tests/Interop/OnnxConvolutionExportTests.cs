using LstmSharp.Interop.Onnx;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using static LstmSharp.Tests.Interop.OnnxRuntimeCheck;

namespace LstmSharp.Tests.Interop;

/// <summary>Conv1D, the poolings and the normalization layers exported to ONNX give LstmSharp's outputs in ONNX Runtime (≤ 1e-5).</summary>
public sealed class OnnxConvolutionExportTests
{
    private const int Batch = 3, Steps = 9, Channels = 4;

    private static readonly Dictionary<string, Func<Layer[]>> Cases = new()
    {
        ["conv valid relu"] = () => [new Conv1D(5, 3, activation: "relu")],
        ["conv same stride 2"] = () => [new Conv1D(5, 4, strides: 2, padding: "same", activation: "tanh")],
        ["conv causal dilation 2, no bias"] = () => [new Conv1D(3, 3, padding: "causal", dilationRate: 2, useBias: false)],
        ["conv same dilation 3"] = () => [new Conv1D(2, 2, padding: "same", dilationRate: 3)],
        ["conv valid stride 3"] = () => [new Conv1D(2, 2, strides: 3, activation: "sigmoid")],
        ["max pool 2"] = () => [new MaxPooling1D(2)],
        ["max pool same 3/2"] = () => [new MaxPooling1D(3, 2, "same")],
        ["average pool 3/1"] = () => [new AveragePooling1D(3, 1)],
        ["average pool same 4/3"] = () => [new AveragePooling1D(4, 3, "same")],
        ["global max"] = () => [new GlobalMaxPooling1D()],
        ["global average keepdims"] = () => [new GlobalAveragePooling1D(keepDims: true)],
        ["spatial dropout + layer norm"] = () => [new SpatialDropout1D(0.5f), new LayerNormalization()],
        ["layer norm over steps and channels, no center"] = () => [new LayerNormalization([1, 2], center: false)],
        ["layer norm no scale"] = () => [new LayerNormalization(scale: false, epsilon: 1e-5f)],
        ["batch norm"] = () => [new BatchNormalization()],
        ["batch norm no center, no scale"] = () => [new BatchNormalization(center: false, scale: false, epsilon: 0.1f)],
        ["cnn stack"] = () => [new Conv1D(6, 3, padding: "same", activation: "relu"), new BatchNormalization(), new MaxPooling1D(2), new Conv1D(4, 2), new GlobalAveragePooling1D(), new Dense(2, "softmax")],
    };

    public static TheoryData<string, int> CaseNames()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in Cases.Keys)
        {
            foreach (int opset in new[] { 14, 17, 21 })
            {
                data.Add(name, opset);
            }
        }

        return data;
    }

    private static Sequential Build(Layer[] layers, int[] inputShape, int seed)
    {
        Layer.SetRandomSeed(seed);
        var model = new Sequential([new InputLayer(inputShape), .. layers]);
        RandomizeWeights(model, seed);
        foreach (var bn in layers.OfType<BatchNormalization>())
        {
            // Variances must be positive; the other statistics stay random.
            var v = bn.MovingVariance!.Value.Span;
            for (int i = 0; i < v.Length; i++)
            {
                v[i] = 0.2f + Math.Abs(v[i]);
            }
        }

        return model;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void LayerMatchesOnnxRuntime(string name, int opset)
    {
        var model = Build(Cases[name](), [Steps, Channels], 3);
        AssertMatches(model, [RandomInput(5, Batch, Steps, Channels)], opset);
    }

    [Theory]
    [InlineData(14)]
    [InlineData(17)]
    public void UnknownStepsUseSameUpperPaddingAndRunOnAnyLength(int opset)
    {
        var model = Build([new Conv1D(3, 4, padding: "same"), new MaxPooling1D(2, padding: "same"), new AveragePooling1D(3, 2, "same"), new Conv1D(2, 3, padding: "causal")], [-1, Channels], 7);
        var onnx = model.ToOnnxBytes(new OnnxExportOptions { Opset = opset });
        foreach (int steps in new[] { 7, 12, 1 })
        {
            var x = RandomInput(steps, 2, steps, Channels);
            var actual = Run(onnx, [x]);
            AssertClose($"{steps} steps", model.Call([x], training: false)[0], actual[0].Values, actual[0].Shape);
        }
    }

    [Fact]
    public void MaskedGlobalAverageCountsOnlyUnmaskedSteps()
    {
        Layer.SetRandomSeed(2);
        var model = new Sequential([
            new Embedding(10, Channels, maskZero: true, inputShape: [Steps]),
            new LayerNormalization(),
            new GlobalAveragePooling1D(),
            new Dense(2),
        ]);
        RandomizeWeights(model, 2);
        var ids = new Tensor(3, Steps);
        ids.Span.Fill(4f);
        ids[1, 6] = ids[1, 7] = ids[1, 8] = 0f;
        ids[2, 0] = ids[2, 3] = 0f;
        foreach (int opset in new[] { 14, 17 })
        {
            AssertMatches(model, [ids], opset);
        }
    }

    [Fact]
    public void TheKerasIoCnnLstmMatchesOnnxRuntime()
    {
        Layer.SetRandomSeed(4);
        var model = new Sequential([
            new Embedding(50, 8, inputShape: [20]),
            new Dropout(0.25f),
            new Conv1D(6, 5, activation: "relu"),
            new MaxPooling1D(4),
            new LSTM(7),
            new Dense(1, "sigmoid"),
        ]);
        RandomizeWeights(model, 4);
        var ids = new Tensor(4, 20);
        var rng = new Rng(1);
        for (int i = 0; i < ids.Length; i++)
        {
            ids.Span[i] = 1 + (int)(rng.NextFloat() * 49);
        }

        AssertMatches(model, [ids]);
        var ops = LstmSharp.Interop.Onnx.Proto.ModelProto.Parser.ParseFrom(model.ToOnnxBytes()).Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.Superset(new HashSet<string> { "Gather", "Conv", "Relu", "MaxPool", "LSTM", "Sigmoid" }, ops);
    }

    [Fact]
    public void LayerNormalizationIsOneOpFromOpset17AndDecomposedBelow()
    {
        var model = Build([new LayerNormalization(), new BatchNormalization(), new GlobalMaxPooling1D()], [Steps, Channels], 1);
        string[] Ops(int opset) => LstmSharp.Interop.Onnx.Proto.ModelProto.Parser.ParseFrom(model.ToOnnxBytes(new OnnxExportOptions { Opset = opset })).Graph.Node.Select(n => n.OpType).ToArray();
        Assert.Contains("LayerNormalization", Ops(17));
        Assert.DoesNotContain("LayerNormalization", Ops(16));
        Assert.Contains("ReduceMean", Ops(16));
        Assert.Contains("BatchNormalization", Ops(14));
        Assert.Contains("GlobalMaxPool", Ops(14));
    }
}
