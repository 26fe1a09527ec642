using LstmSharp.Cli;
using LstmSharp.Data;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Interop;

/// <summary><c>import-onnx</c> then <c>predict</c> from the command line, on a seq-first torch export fed int64 token ids.</summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public sealed class OnnxImportCliTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "onnx-cli-" + Guid.NewGuid().ToString("N"));

    public OnnxImportCliTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void ImportThenPredictGivesPyTorchsOutputs()
    {
        string fixture = Path.Combine(OnnxTestFiles.FixturesRoot, "embedding_lstm_2layer_seqfirst_op11");
        string model = Path.Combine(dir, "m.lstm"), predictions = Path.Combine(dir, "p.npy");
        Assert.Equal(0, Program.Run(["import-onnx", Path.Combine(fixture, "model.onnx"), model]));
        Assert.Equal(0, Program.Run(["predict", model, "--input", Path.Combine(fixture, "input_0.npy"), "--out", predictions, "--batch", "2"]));
        var expected = ArrayFiles.LoadNpy(Path.Combine(fixture, "output_0.npy"));
        var actual = ArrayFiles.LoadNpy(predictions);
        Assert.Equal(expected.ShapeArray, actual.ShapeArray);
        Check.Close("cli predict", expected.ToArray().Select(v => (double)v).ToArray(), actual.Span, rel: 1e-5, abs: 1e-6);
    }

    [Fact]
    public void BrokenFileIsOneLineError()
    {
        string bad = Path.Combine(dir, "bad.onnx");
        File.WriteAllBytes(bad, [8, 7, 0x3a, 0xff, 0xff]);
        var err = new StringWriter();
        int rc = Program.Run(["import-onnx", bad, Path.Combine(dir, "out.lstm")], new StringWriter(), err);
        Assert.Equal(1, rc);
        Assert.Contains("bad.onnx", err.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "out.lstm")));
    }
}
