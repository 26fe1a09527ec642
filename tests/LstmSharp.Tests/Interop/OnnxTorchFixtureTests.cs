using LstmSharp.Data;
using LstmSharp.Interop.Onnx;
using LstmSharp.Models;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// Models exported by the real torch.onnx (Fixtures/onnx/make_fixtures.py: LSTM, GRU, RNN,
/// 1–2 layers, bidirectional, batch_first true and false, Embedding + LSTM + Linear heads,
/// opsets 9–17) import and reproduce PyTorch's own outputs within 1e-5 relative; the attr_* folders
/// (make_attribute_fixtures.py: onnx.helper graphs with clip, exotic activations and run-time
/// sequence_lens) reproduce that script's float64 numpy reference the same way.
/// </summary>
public class OnnxTorchFixtureTests
{
    private static string[] Names => Directory.GetDirectories(OnnxTestFiles.FixturesRoot).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal).ToArray();

    public static TheoryData<string> Fixtures() => new(Names);

    [Fact]
    public void EveryKindOfFixtureIsThere()
    {
        var names = Names;
        Assert.True(names.Length >= 16, $"expected the 16 fixtures of make_fixtures.py, found {names.Length}");
        foreach (string part in new[] { "lstm", "gru", "rnn", "bidir", "2layer", "batchfirst", "seqfirst", "embedding", "op9", "op17" })
        {
            Assert.Contains(names, n => n.Contains(part, StringComparison.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void ImportsAndMatchesPyTorch(string name)
    {
        string dir = Path.Combine(OnnxTestFiles.FixturesRoot, name);
        var model = Model.LoadOnnx(Path.Combine(dir, "model.onnx"));
        var inputs = Directory.GetFiles(dir, "input_*.npy").Order(StringComparer.Ordinal).Select(ArrayFiles.LoadNpy).ToArray();
        var expected = Directory.GetFiles(dir, "output_*.npy").Order(StringComparer.Ordinal).Select(ArrayFiles.LoadNpy).ToArray();
        Assert.Equal(inputs.Length, model.InputCount);

        var outputs = model.Call(inputs);
        Assert.Equal(expected.Length, outputs.Count);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k].ShapeArray, outputs[k].ShapeArray);
            Check.Close($"{name} output {k}", expected[k].ToArray().Select(v => (double)v).ToArray(), outputs[k].Span, rel: 1e-5, abs: 1e-6);
        }

        // Predict splits the batch along the graph's own batch axis and gives the same values.
        var predicted = model.PredictAll(inputs, batchSize: 2);
        for (int k = 0; k < expected.Length; k++)
        {
            Check.Close($"{name} predict output {k}", expected[k].ToArray().Select(v => (double)v).ToArray(), predicted[k].Span, rel: 1e-5, abs: 1e-6);
        }
    }
}
