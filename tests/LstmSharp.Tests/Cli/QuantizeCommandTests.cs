using LstmSharp.Data;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Cli;

/// <summary><c>lstmsharp quantize</c>: writes the quantized model (same predictions as <see cref="Model.Quantize"/> in process) and refuses a bad mode in one line.</summary>
public sealed class QuantizeCommandTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "quantize-cli-" + Guid.NewGuid().ToString("N"));

    public QuantizeCommandTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    [Theory]
    [InlineData("int8", QuantizationMode.Int8)]
    [InlineData("bf16", QuantizationMode.BFloat16)]
    public void WritesTheQuantizedModelAndEvaluatesBoth(string name, QuantizationMode mode)
    {
        var rng = new Random(9);
        var model = new Sequential([new LSTM(8, name: "cli_q_lstm", inputShape: [5, 1]), new Dense(1, name: "cli_q_dense")]);
        foreach (var p in model.Parameters)
        {
            var s = p.Value.Span;
            for (int i = 0; i < s.Length; i++)
            {
                s[i] = (float)((rng.NextDouble() * 2) - 1) * 0.5f;
            }
        }

        model.Compile("adam", "mse");
        string source = Path.Combine(dir, "m.lstm"), output = Path.Combine(dir, "q.lstm");
        model.Save(source);
        var x = new Tensor(16, 5, 1);
        var y = new Tensor(16, 1);
        for (int i = 0; i < x.Length; i++)
        {
            x.Span[i] = (float)rng.NextDouble();
        }

        ArrayFiles.SaveNpy(Path.Combine(dir, "x.npy"), x);
        ArrayFiles.SaveCsv(Path.Combine(dir, "y.csv"), y, header: "target");

        int rc = LstmSharp.Cli.Program.Run(["quantize", source, output, "--mode", name, "--input", Path.Combine(dir, "x.npy"), "--targets", Path.Combine(dir, "y.csv")]);
        Assert.Equal(0, rc);
        var loaded = Model.Load(output);
        Assert.Equal([mode], loaded.QuantizationModes);
        var expected = Model.Load(source).Quantize(new QuantizationOptions { Mode = mode }).Predict(x);
        Check.Identical("in-process Quantize (expected) vs the command's file (actual)", expected.ToArray(), loaded.Predict(x).ToArray());
    }

    [Fact]
    public void ABadModeIsOneLineNamingTheOption()
    {
        var model = new Sequential([new LSTM(2, name: "cli_q_bad", inputShape: [3, 1])]);
        string source = Path.Combine(dir, "m.lstm"), output = Path.Combine(dir, "q.lstm");
        model.Save(source);
        var error = new StringWriter();
        Assert.Equal(1, LstmSharp.Cli.Program.Run(["quantize", source, output, "--mode", "int4"], null, error));
        string text = error.ToString();
        Assert.Contains("--mode", text);
        Assert.Contains("int4", text);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(output));
    }
}
