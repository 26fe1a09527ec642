using LstmSharp.Interop.Onnx;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tests.Infrastructure;
using static LstmSharp.Tests.Interop.OnnxRuntimeCheck;

namespace LstmSharp.Tests.Interop;

/// <summary>LstmSharp → ExportOnnx → LoadOnnx gives every weight back in order, bit for bit, in the same parameter shapes, and the same outputs (14 layer kinds and an embedding model).</summary>
public sealed class OnnxImportRoundTripTests : IDisposable
{
    private const int Batch = 3, Time = 5, Features = 4, Units = 6;

    private static readonly Dictionary<string, Func<Layer>> Cases = new()
    {
        ["lstm last"] = () => new LSTM(Units),
        ["lstm sequence"] = () => new LSTM(Units, returnSequences: true),
        ["lstm relu / hard_sigmoid"] = () => new LSTM(Units, activation: "relu", recurrentActivation: "hard_sigmoid", returnSequences: true),
        ["lstm peephole"] = () => new LSTM(Units, variant: LstmVariant.Peephole, returnSequences: true),
        ["lstm CIFG"] = () => new LSTM(Units, variant: LstmVariant.Cifg, returnSequences: true),
        ["lstm NIAF"] = () => new LSTM(Units, variant: LstmVariant.Niaf, returnSequences: true),
        ["lstm NOAF"] = () => new LSTM(Units, variant: LstmVariant.Noaf, returnSequences: true),
        ["gru reset_after"] = () => new GRU(Units, returnSequences: true),
        ["gru reset_before"] = () => new GRU(Units, resetAfter: false, returnSequences: true),
        ["gru last, relu / hard_sigmoid"] = () => new GRU(Units, activation: "relu", recurrentActivation: "hard_sigmoid"),
        ["simple_rnn relu last"] = () => new SimpleRNN(Units, activation: "relu"),
        ["simple_rnn sequence"] = () => new SimpleRNN(Units, returnSequences: true),
        ["bidirectional lstm concat"] = () => new Bidirectional(new LSTM(Units, returnSequences: true)),
        ["bidirectional peephole concat last"] = () => new Bidirectional(new LSTM(Units, variant: LstmVariant.Peephole)),
    };

    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "onnx-rt-" + Guid.NewGuid().ToString("N"));

    public OnnxImportRoundTripTests() => Directory.CreateDirectory(dir);

    public static TheoryData<string> Names() => new(Cases.Keys);

    public void Dispose() => Directory.Delete(dir, true);

    [Theory]
    [MemberData(nameof(Names))]
    public void ExportThenImportKeepsWeightsAndOutputs(string name)
    {
        Layer.SetRandomSeed(1);
        var model = new Sequential([new InputLayer([-1, Features]), Cases[name](), new Dense(3, "softmax")]);
        _ = model.Call(RandomInput(2, Batch, Time, Features));
        RandomizeWeights(model, 3);
        AssertRoundTrip(model, RandomInput(4, Batch, Time, Features), name);
    }

    [Fact]
    public void EmbeddingLstmDenseRoundTrips()
    {
        Layer.SetRandomSeed(1);
        var model = new Sequential([new InputLayer([-1]), new Embedding(20, 5), new LSTM(Units), new Dense(2, "sigmoid")]);
        var ids = new LstmSharp.Tensors.Tensor(Batch, Time);
        for (int i = 0; i < ids.Length; i++)
        {
            ids.Span[i] = (i * 7) % 20;
        }

        _ = model.Call(ids);
        RandomizeWeights(model, 5);
        AssertRoundTrip(model, ids, "embedding");
    }

    private void AssertRoundTrip(Model model, LstmSharp.Tensors.Tensor x, string name)
    {
        string path = Path.Combine(dir, "m.onnx");
        model.ExportOnnx(path);
        var imported = Model.LoadOnnx(path);
        var before = model.Parameters;
        var after = imported.Parameters;
        Assert.Equal(before.Select(p => p.Value.ShapeArray), after.Select(p => p.Value.ShapeArray));
        for (int i = 0; i < before.Count; i++)
        {
            Check.Identical($"{name} {before[i].Path} -> {after[i].Path}", before[i].Value.Span, after[i].Value.Span);
        }

        var expected = model.Call(x);
        var actual = imported.Call(x);
        Check.Close($"{name} output", expected.ToArray().Select(v => (double)v).ToArray(), actual.Span, rel: 1e-6, abs: 1e-7);
    }
}
