using LstmSharp.Cli;
using LstmSharp.Data;
using LstmSharp.Interop.Onnx;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;
using static LstmSharp.Tests.Interop.OnnxRuntimeCheck;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// Masked models (Masking, Embedding mask_zero) exported — the mask becomes Equal/Not/ReduceSum →
/// sequence_lens in the graph — and imported back: the importer rebuilds the Masking layer or
/// mask_zero, every weight comes back bit for bit, and the imported model, the original and ONNX
/// Runtime (on the exported file and on the imported model exported again) agree on right-padded
/// rows of every length, padded steps included.
/// </summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public sealed class OnnxMaskedRoundTripTests : IDisposable
{
    private const int Time = 5, Features = 4, Units = 6;
    private static readonly int[] Lengths = [Time, 3, 1, 0];

    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "onnx-masked-" + Guid.NewGuid().ToString("N"));

    public OnnxMaskedRoundTripTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    private static readonly Dictionary<string, Func<Layer[]>> FloatCases = new()
    {
        ["masking + lstm"] = () => [new Masking(0f), new LSTM(Units), new Dense(3, "softmax")],
        ["masking(-1) + lstm sequence"] = () => [new Masking(-1f), new LSTM(Units, returnSequences: true)],
        ["masking + lstm sequence zero_output_for_mask"] = () => [new Masking(-1f), new LSTM(Units, returnSequences: true, zeroOutputForMask: true)],
        ["masking + bidirectional lstm"] = () => [new Masking(-1f), new Bidirectional(new LSTM(Units))],
        ["masking + bidirectional lstm sequence"] = () => [new Masking(-1f), new Bidirectional(new LSTM(Units, returnSequences: true))],
        ["masking + simple_rnn sequence"] = () => [new Masking(-1f), new SimpleRNN(Units, returnSequences: true)],
        ["masking + gru reset_before sequence + dense"] = () => [new Masking(-1f), new GRU(Units, resetAfter: false, returnSequences: true), new TimeDistributed(new Dense(2))],
        ["masking + lstm last zero_output_for_mask"] = () => [new Masking(-1f), new LSTM(Units, zeroOutputForMask: true), new Dense(2)],
        ["masking + bidirectional gru last zero_output_for_mask"] = () => [new Masking(-1f), new Bidirectional(new GRU(Units, zeroOutputForMask: true), mergeMode: "sum")],
        ["masking + RNN(OnnxRecurrentCell lstm, clip) sequence"] = () => [new Masking(-1f), new RNN(new OnnxRecurrentCell("LSTM", Units, [ActivationFunction.Create("HardSigmoid", 0.3f, 0.4f), ActivationFunction.Create("Softsign"), ActivationFunction.Create("Elu", 0.7f)], clip: 1.2f), returnSequences: true)],
        ["masking + RNN(OnnxRecurrentCell gru) last zero_output_for_mask"] = () => [new Masking(-1f), new RNN(new OnnxRecurrentCell("GRU", Units, [ActivationFunction.Create("Sigmoid"), ActivationFunction.Create("LeakyRelu", 0.2f)]), zeroOutputForMask: true)],
        ["masking + stacked bidirectional lstm sequence + gru"] = () => [new Masking(-1f), new Bidirectional(new LSTM(Units, returnSequences: true)), new GRU(Units)],
        ["masking + stacked lstm"] = () => [new Masking(-1f), new LSTM(Units, returnSequences: true), new GRU(Units)],
    };

    public static TheoryData<string> FloatNames() => new(FloatCases.Keys);

    [Theory]
    [MemberData(nameof(FloatNames))]
    public void MaskingModelsRoundTrip(string name)
    {
        Layer.SetRandomSeed(1);
        var layers = FloatCases[name]();
        float maskValue = ((Masking)layers[0]).MaskValue;
        var model = new Sequential([new InputLayer([-1, Features]), .. layers]);
        var x = PaddedInput(maskValue);
        _ = model.Call(x);
        RandomizeWeights(model, 3);
        var imported = AssertRoundTrip(model, [x], name);
        var masking = Assert.Single(imported.Layers.OfType<Masking>());
        Assert.Equal(maskValue, masking.MaskValue);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EmbeddingMaskZeroGruRoundTrips(bool sequences)
    {
        Layer.SetRandomSeed(1);
        var model = new Sequential([new InputLayer([-1]), new Embedding(20, 5, maskZero: true), new GRU(Units, returnSequences: sequences), new Dense(2, "sigmoid")]);
        var ids = PaddedIds();
        _ = model.Call(ids);
        RandomizeWeights(model, 5);
        var imported = AssertRoundTrip(model, [ids], "embedding mask_zero + gru");
        Assert.True(Assert.Single(imported.Layers.OfType<Embedding>()).MaskZero);
    }

    [Fact]
    public void CliExportImportPredictOfAMaskedModel()
    {
        Layer.SetRandomSeed(1);
        var model = new Sequential([new InputLayer([-1, Features]), new Masking(-1f), new LSTM(Units, returnSequences: true), new Dense(2)]);
        var x = PaddedInput(-1f);
        _ = model.Call(x);
        RandomizeWeights(model, 7);
        string saved = Path.Combine(dir, "m.lstm"), onnx = Path.Combine(dir, "m.onnx"), back = Path.Combine(dir, "back.lstm");
        string input = Path.Combine(dir, "x.npy"), output = Path.Combine(dir, "y.npy");
        model.Save(saved);
        ArrayFiles.SaveNpy(input, x);
        Assert.Equal(0, Program.Run(["export-onnx", saved, onnx]));
        Assert.Equal(0, Program.Run(["import-onnx", onnx, back]));
        Assert.Equal(0, Program.Run(["predict", back, "--input", input, "--out", output]));
        var expected = model.Call(x);
        var actual = ArrayFiles.LoadNpy(output);
        Assert.Equal(expected.ShapeArray, actual.ShapeArray);
        Check.Close("cli masked round trip", expected.ToArray().Select(v => (double)v).ToArray(), actual.Span, rel: 1e-6, abs: 1e-7);
    }

    [Fact]
    public void LengthsThatAreNotTheMasksRowSumsAreOneErrorNamingTheNode()
    {
        // sequence_lens rewired to the per-step count of differing features ([batch, time]): the
        // padding pattern no longer maps, and the error names the recurrent node, not a wrong model.
        Layer.SetRandomSeed(1);
        var model = new Sequential([new InputLayer([-1, Features]), new Masking(-1f), new LSTM(Units)]);
        var proto = LstmSharp.Interop.Onnx.Proto.ModelProto.Parser.ParseFrom(model.ToOnnxBytes());
        var count = proto.Graph.Node.Single(n => n.Name.EndsWith("/CountDiffering", StringComparison.Ordinal));
        var lstm = proto.Graph.Node.Single(n => n.OpType == "LSTM");
        lstm.Input[4] = count.Output[0];
        var e = Assert.Throws<OnnxUnsupportedException>(() => OnnxImport.Load(Google.Protobuf.MessageExtensions.ToByteArray(proto), name: "rewired.onnx"));
        Assert.Contains("rewired.onnx", e.Message, StringComparison.Ordinal);
        Assert.Contains(lstm.Name, e.Message, StringComparison.Ordinal);
        Assert.Contains("sequence_lens", e.Message, StringComparison.Ordinal);
    }

    private Model AssertRoundTrip(Model model, Tensor[] inputs, string name)
    {
        byte[] onnx = model.ToOnnxBytes();
        var imported = OnnxImport.Load(onnx);
        var before = model.Parameters;
        var after = imported.Parameters;
        Assert.Equal(before.Select(p => p.Value.ShapeArray), after.Select(p => p.Value.ShapeArray));
        for (int i = 0; i < before.Count; i++)
        {
            Check.Identical($"{name} {before[i].Path} -> {after[i].Path}", before[i].Value.Span, after[i].Value.Span);
        }

        // The same outputs as the original, every row and step (padded ones too).
        var expected = model.Call(inputs, training: false);
        var actual = imported.Call(inputs, training: false);
        Assert.Equal(expected.Count, actual.Count);
        for (int k = 0; k < expected.Count; k++)
        {
            Assert.Equal(expected[k].ShapeArray, actual[k].ShapeArray);
            Check.Close($"{name} output {k}", expected[k].ToArray().Select(v => (double)v).ToArray(), actual[k].Span, rel: 1e-6, abs: 1e-7);
        }

        // ONNX Runtime on the exported file, and on the imported model exported again.
        foreach (var (what, bytes) in new[] { ("export", onnx), ("import, re-export", imported.ToOnnxBytes()) })
        {
            var ort = Run(bytes, inputs);
            for (int k = 0; k < actual.Count; k++)
            {
                AssertClose($"{name}: ONNX Runtime on the {what}, output {k}", actual[k], ort[k].Values, ort[k].Shape);
            }
        }

        return imported;
    }

    /// <summary>Rows of lengths 5, 3, 1 and 0, padded on the right with <paramref name="maskValue"/>.</summary>
    private static Tensor PaddedInput(float maskValue)
    {
        var x = RandomInput(5, Lengths.Length, Time, Features);
        for (int b = 0; b < Lengths.Length; b++)
        {
            x.Span.Slice(((b * Time) + Lengths[b]) * Features, (Time - Lengths[b]) * Features).Fill(maskValue);
        }

        return x;
    }

    private static Tensor PaddedIds()
    {
        var ids = new Tensor(Lengths.Length, Time);
        for (int b = 0; b < Lengths.Length; b++)
        {
            for (int t = 0; t < Lengths[b]; t++)
            {
                ids[b, t] = 1 + (((b * 7) + (t * 3)) % 19);
            }
        }

        return ids;
    }
}
