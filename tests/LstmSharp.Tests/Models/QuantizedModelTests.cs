using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;
using LstmSharp.Tests.Recurrent;
using LstmSharp.Tests.Recurrent.Reference;
using LstmSharp.Training;

namespace LstmSharp.Tests.Models;

/// <summary>
/// <see cref="Model.Quantize"/>: Predict runs the quantized maths (held to the double reference on
/// the dequantized weights), the file keeps int8 + scales or bf16 and loads back to the same
/// bits, a float model's file is unchanged, and what a quantized model cannot do is refused clearly.
/// </summary>
public sealed class QuantizedModelTests : IDisposable
{
    private const int Time = 6, Features = 5, Units = 24;
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "quant-" + Guid.NewGuid().ToString("N"));

    public QuantizedModelTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    [Theory]
    [InlineData(QuantizationMode.Int8)]
    [InlineData(QuantizationMode.BFloat16)]
    public void PredictRunsTheQuantizedMaths(QuantizationMode mode)
    {
        var (model, lstm) = NewModel(1, dense: false);
        var x = Inputs(4, 2);
        var before = model.Predict(x).ToArray();
        var floatWeights = lstm.Kernel!.Value.ToArray();

        Assert.Same(model, model.Quantize(new QuantizationOptions { Mode = mode }));
        Assert.Equal(mode, lstm.Quantization);
        Assert.Equal([mode], model.QuantizationModes);
        var q = lstm.Kernel.Quantized!;
        var deq = new float[floatWeights.Length];
        q.Dequantize(deq);
        Assert.Equal(deq, lstm.Kernel.Value.ToArray());
        Assert.NotEqual(floatWeights, deq);

        var after = model.Predict(x).ToArray();
        var expected = Reference(lstm, x);
        Close.Check($"{mode} Predict vs the quantized reference", after, expected.Sequence);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Close.Check("float32 Predict vs the quantized reference", before, expected.Sequence));
    }

    /// <summary>LSTMP: W and U (U is [P, 4u]) quantized, the projection kernel float32; the reference applies it exactly.</summary>
    [Theory]
    [InlineData(QuantizationMode.Int8)]
    [InlineData(QuantizationMode.BFloat16)]
    public void AProjectedLstmRunsTheQuantizedMaths(QuantizationMode mode)
    {
        var lstm = new LSTM(12, returnSequences: true, projSize: 5, name: "q_lstmp", inputShape: [Time, Features]);
        var model = new Sequential([lstm]);
        Randomize(model, 6, 0.5);
        model.Quantize(new QuantizationOptions { Mode = mode });
        Assert.Equal([5, 48], lstm.RecurrentKernel!.Quantized is { } u ? new[] { u.Rows, u.Columns } : []);
        Assert.Null(lstm.ProjectionKernel!.Quantized);
        var x = Inputs(3, 8);
        var expected = Reference(lstm, x, p => lstm.ProjectionKernel.Value.ToArray().Select(v => (double)v).ToArray().CopyTo(p.Wp, 0));
        Close.Check($"{mode} LSTMP Predict vs the quantized reference", model.Predict(x).ToArray(), expected.Sequence);
    }

    /// <summary>Quantize reaches the LSTMs inside a wrapper; they run what a float model with the dequantized weights runs (to float32 rounding), and load back to the same bits.</summary>
    [Fact]
    public void BidirectionalLayersAreQuantizedInBothDirections()
    {
        Sequential Make(string name) => new([new Bidirectional(new LSTM(8, returnSequences: true, name: name + "_lstm"), name: name, inputShape: [Time, Features])]);
        var model = Make("q_bi");
        Randomize(model, 7, 0.6);
        model.Quantize();
        var directions = model.Layers[0].Sublayers.OfType<LSTM>().ToArray();
        Assert.Equal(2, directions.Length);
        Assert.All(directions, d => Assert.Equal(QuantizationMode.Int8, d.Quantization));

        var twin = Make("f_bi");
        twin.SetWeights(model.GetWeights());
        var x = Inputs(2, 9);
        var actual = model.Predict(x).ToArray();
        Close.Check("quantized Bidirectional vs float32 on the dequantized weights", actual, twin.Predict(x).ToArray().Select(v => (double)v).ToArray());

        string path = Path.Combine(dir, "bi.lstm");
        model.Save(path);
        Check.Identical("Predict before save (expected) vs after load (actual)", actual, Model.Load(path).Predict(x).ToArray());
    }

    [Theory]
    [InlineData(QuantizationMode.Int8, SafeTensorDType.I8)]
    [InlineData(QuantizationMode.BFloat16, SafeTensorDType.BF16)]
    public void SaveAndLoadKeepTheQuantizedWeights(QuantizationMode mode, SafeTensorDType dtype)
    {
        var (model, _) = NewModel(2);
        model.Quantize(new QuantizationOptions { Mode = mode });
        var x = Inputs(3, 5);
        var expected = model.Predict(x).ToArray();
        string path = Path.Combine(dir, "q.lstm");
        model.Save(path);

        var file = SafeTensors.Load(path);
        Assert.Equal(dtype, file.Get("q_lstm/kernel").DType);
        Assert.Equal(dtype, file.Get("q_lstm/recurrent_kernel").DType);
        Assert.Equal(SafeTensorDType.F32, file.Get("q_lstm/bias").DType);
        Assert.Equal(mode == QuantizationMode.Int8, file.Contains("q_lstm/kernel.scale"));
        Assert.Contains($"\"quantization\":\"{mode.ToName()}\"", file.Metadata["config"]);

        var loaded = Model.Load(path);
        Assert.Equal([mode], loaded.QuantizationModes);
        Check.Identical("Predict before save (expected) vs after load (actual)", expected, loaded.Predict(x).ToArray());
    }

    [Fact]
    public void AFloatModelsFileIsUnchanged()
    {
        var (model, _) = NewModel(3);
        string path = Path.Combine(dir, "f.lstm");
        model.Save(path);
        var file = SafeTensors.Load(path);
        Assert.All(file.Tensors, t => Assert.Equal(SafeTensorDType.F32, t.DType));
        Assert.Equal(["q_dense/bias", "q_dense/kernel", "q_lstm/bias", "q_lstm/kernel", "q_lstm/recurrent_kernel"], file.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("quantization", file.Metadata["config"]);
        Assert.Empty(Model.Load(path).QuantizationModes);
    }

    [Fact]
    public void TrainingAndChangingWeightsOfAQuantizedModelAreRefused()
    {
        var (model, lstm) = NewModel(4);
        model.Compile(new Adam(0.01), "mse");
        model.Quantize();
        var x = Inputs(2, 6);
        var y = new Tensor(2, 3);
        var e = Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, epochs: 1, verbose: 0));
        Assert.Contains("quantized", e.Message);
        Assert.Contains("LSTM 'q_lstm'", e.Message);

        // Differentiating through the layer (a custom loop) names the layer.
        var e2 = Assert.Throws<InvalidOperationException>(() =>
        {
            using var tape = Tape.Record();
            model.Call(x, training: true);
        });
        Assert.Contains("LSTM 'q_lstm'", e2.Message);
        Assert.Contains("inference only", e2.Message);

        Assert.Throws<InvalidOperationException>(() => model.SetWeights(model.GetWeights()));
        Assert.Throws<InvalidOperationException>(() => lstm.SetWeights(lstm.GetWeights()));
        string weights = Path.Combine(dir, "w.safetensors");
        model.SaveWeights(weights);
        Assert.Throws<InvalidOperationException>(() => model.LoadWeights(weights));
        Assert.Contains("already quantized", Assert.Throws<InvalidOperationException>(() => model.Quantize()).Message);
    }

    [Fact]
    public void ARefusedWeightLeavesEveryLayerFloat()
    {
        var first = new LSTM(4, returnSequences: true, name: "q_first", inputShape: [Time, Features]);
        var second = new LSTM(3, name: "q_second");
        var model = new Sequential([first, second]);
        _ = model.Parameters; // builds both layers
        var w = second.RecurrentKernel!.Value;
        w.Span[5] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => model.Quantize());
        Assert.Contains("LSTM 'q_second' weight 'recurrent_kernel'", e.Message);
        Assert.Null(first.Quantization);
        Assert.Null(first.Kernel!.Quantized);
        Assert.Empty(model.QuantizationModes);

        var dense = new Sequential([new Dense(2, name: "q_only_dense", inputShape: [3])]);
        Assert.Contains("no layer supports quantization", Assert.Throws<InvalidOperationException>(() => dense.Quantize()).Message);
    }

    [Fact]
    public void DamagedQuantizedFilesAreRefusedNamingTheTensor()
    {
        var (model, _) = NewModel(5);
        model.Quantize();
        string path = Path.Combine(dir, "q.lstm");
        model.Save(path);
        var file = SafeTensors.Load(path);

        var e = Damaged(file, ts => ts.Where(t => t.Name != "q_lstm/kernel.scale"));
        Assert.Equal("q_lstm/kernel.scale", e.TensorName);
        Assert.Contains("missing", e.Problem);

        e = Damaged(file, ts => ts.Select(t => t.Name == "q_lstm/recurrent_kernel" ? WithByte(t, 7, 0x80) : t));
        Assert.Equal("q_lstm/recurrent_kernel", e.TensorName);
        Assert.Contains("-128", e.Problem);

        e = Damaged(file, ts => ts.Select(t => t.Name == "q_lstm/kernel.scale" ? SafeTensor.FromSingles(t.Name, [.. t.ToSingleArray()[..^1], -1f], t.Shape) : t));
        Assert.Contains("scale", e.Problem);
        Assert.Contains("-1", e.Problem);

        e = Damaged(file, ts => ts.Select(t => t.Name == "q_lstm/kernel" ? SafeTensor.FromSingles(t.Name, new float[t.ElementCount], t.Shape) : t));
        Assert.Equal("q_lstm/kernel", e.TensorName);
        Assert.Contains("expected I8", e.Problem);

        e = Damaged(file, ts => ts, config => config.Replace("\"quantization\":\"int8\"", "\"quantization\":\"int4\""));
        Assert.Contains("int4", e.Problem);
    }

    private ModelFormatException Damaged(SafeTensorsFile file, Func<IEnumerable<SafeTensor>, IEnumerable<SafeTensor>> change, Func<string, string>? config = null)
    {
        string path = Path.Combine(dir, "damaged-" + Guid.NewGuid().ToString("N") + ".lstm");
        var meta = file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Key == "config" && config is not null ? config(kv.Value) : kv.Value);
        SafeTensors.Save(path, change(file.Tensors).ToList(), meta);
        return Assert.Throws<ModelFormatException>(() => Model.Load(path));
    }

    private static SafeTensor WithByte(SafeTensor t, int at, byte value)
    {
        var bytes = t.Data.ToArray();
        bytes[at] = value;
        return new SafeTensor(t.Name, t.DType, t.Shape, bytes);
    }

    /// <summary>LSTM(24) → Dense(3), or LSTM(24, return_sequences) alone, with weights drawn from a seeded generator (no global state).</summary>
    private static (Sequential Model, LSTM Lstm) NewModel(int seed, bool dense = true)
    {
        var lstm = new LSTM(Units, returnSequences: !dense, name: "q_lstm", inputShape: [Time, Features]);
        var model = dense ? new Sequential([lstm, new Dense(3, name: "q_dense")]) : new Sequential([lstm]);
        Randomize(model, seed, 0.6 * Math.Sqrt(16.0 / Units));
        return (model, lstm);
    }

    private static void Randomize(Model model, int seed, double recurrentScale)
    {
        var rng = new Random(seed);
        foreach (var p in model.Parameters)
        {
            var s = p.Value.Span;
            double scale = p.Name == "recurrent_kernel" ? recurrentScale : 0.6;
            for (int i = 0; i < s.Length; i++)
            {
                s[i] = (float)(((rng.NextDouble() * 2) - 1) * scale);
            }
        }
    }

    private static Tensor Inputs(int batch, int seed)
    {
        var rng = new Random(seed);
        var v = new float[batch * Time * Features];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return Tensor.FromArray(v, batch, Time, Features);
    }

    /// <summary>The LSTM by the double reference, W and U exactly as quantized.</summary>
    private static LstmResult Reference(LSTM lstm, Tensor x, Action<LstmParams>? more = null)
    {
        var p = new LstmParams(lstm.Layout!);
        more?.Invoke(p);
        LstmQuantizedTests.Exact(lstm.Kernel!.Quantized!, p.W);
        LstmQuantizedTests.Exact(lstm.RecurrentKernel!.Quantized!, p.U);
        for (int i = 0; i < p.B.Length; i++)
        {
            p.B[i] = lstm.Bias!.Value.Span[i];
        }

        return LstmReference.Forward(p, new LstmProblem { Batch = x.Dim(0), Time = Time, InputSize = Features, X = x.ToArray().Select(v => (double)v).ToArray() });
    }
}
