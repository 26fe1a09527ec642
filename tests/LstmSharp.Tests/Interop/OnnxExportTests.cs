using LstmSharp.Interop.Onnx;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using Microsoft.ML.OnnxRuntime;
using static LstmSharp.Tests.Interop.OnnxRuntimeCheck;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// Every exported model runs in ONNX Runtime and gives LstmSharp's outputs (≤ 1e-5 relative):
/// every layer kind, LSTM variant, direction, merge mode, mask, state option and opset.
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    private const int Batch = 3, Time = 5, Features = 4, Units = 6;

    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "onnx-" + Guid.NewGuid().ToString("N"));

    public OnnxExportTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    /// <summary>Recurrent layers over a [batch, time, features] input, one per option; each case is a Sequential model.</summary>
    public static TheoryData<string> SequenceCases() => new(RecurrentCases.Keys);

    private static readonly Dictionary<string, Func<Layer>> RecurrentCases = new()
    {
        ["lstm last"] = () => new LSTM(Units),
        ["lstm sequence"] = () => new LSTM(Units, returnSequences: true),
        ["lstm no bias"] = () => new LSTM(Units, useBias: false, returnSequences: true),
        ["lstm relu / hard_sigmoid"] = () => new LSTM(Units, activation: "relu", recurrentActivation: "hard_sigmoid", returnSequences: true),
        ["lstm linear activation"] = () => new LSTM(Units, activation: "linear"),
        ["lstm go_backwards sequence"] = () => new LSTM(Units, returnSequences: true, goBackwards: true),
        ["lstm go_backwards last"] = () => new LSTM(Units, goBackwards: true),
        ["lstm peephole"] = () => new LSTM(Units, variant: LstmVariant.Peephole, returnSequences: true),
        ["lstm CIFG"] = () => new LSTM(Units, variant: LstmVariant.Cifg, returnSequences: true),
        ["lstm coupled, no peepholes"] = () => new LSTM(Units, variant: LstmVariant.Standard with { CoupledInputForget = true }),
        ["lstm NIAF"] = () => new LSTM(Units, variant: LstmVariant.Niaf, returnSequences: true),
        ["lstm NOAF"] = () => new LSTM(Units, variant: LstmVariant.Noaf, returnSequences: true),
        ["gru reset_after"] = () => new GRU(Units, returnSequences: true),
        ["gru reset_before"] = () => new GRU(Units, resetAfter: false, returnSequences: true),
        ["gru last, relu / hard_sigmoid"] = () => new GRU(Units, activation: "relu", recurrentActivation: "hard_sigmoid"),
        ["gru go_backwards"] = () => new GRU(Units, resetAfter: false, returnSequences: true, goBackwards: true),
        ["gru no bias"] = () => new GRU(Units, useBias: false),
        ["simple_rnn sequence"] = () => new SimpleRNN(Units, returnSequences: true),
        ["simple_rnn relu last"] = () => new SimpleRNN(Units, activation: "relu"),
        ["simple_rnn go_backwards"] = () => new SimpleRNN(Units, returnSequences: true, goBackwards: true),
        ["bidirectional lstm concat"] = () => new Bidirectional(new LSTM(Units, returnSequences: true)),
        ["bidirectional lstm sum last"] = () => new Bidirectional(new LSTM(Units), mergeMode: "sum"),
        ["bidirectional gru mul"] = () => new Bidirectional(new GRU(Units, returnSequences: true), mergeMode: "mul"),
        ["bidirectional simple_rnn ave"] = () => new Bidirectional(new SimpleRNN(Units, returnSequences: true), mergeMode: "ave"),
        ["bidirectional peephole concat last"] = () => new Bidirectional(new LSTM(Units, variant: LstmVariant.Peephole)),
        ["bidirectional other backward layer"] = () => new Bidirectional(new LSTM(Units, returnSequences: true), backwardLayer: new LSTM(Units + 1, returnSequences: true, goBackwards: true)),
        ["bidirectional of a go_backwards layer"] = () => new Bidirectional(new GRU(Units, returnSequences: true, goBackwards: true)),
    };

    [Theory]
    [MemberData(nameof(SequenceCases))]
    public void RecurrentLayerMatchesOnnxRuntime(string name)
    {
        Layer.SetRandomSeed(1);
        var layer = RecurrentCases[name]();
        var model = new Sequential([new InputLayer([-1, Features]), layer]);
        _ = model.Call(RandomInput(2, Batch, Time, Features));
        RandomizeWeights(model, 3);
        AssertMatches(model, [RandomInput(4, Batch, Time, Features)]);
    }

    [Fact]
    public void DenseLayersMatchOnnxRuntime()
    {
        Layer.SetRandomSeed(1);
        var twoD = new Sequential([new Dense(7, "relu", inputShape: [Features]), new Dense(5, "hard_sigmoid"), new Dense(3, "softmax")]);
        RandomizeWeights(twoD, 5);
        AssertMatches(twoD, [RandomInput(6, Batch, Features)]);

        var threeD = new Sequential([
            new Dense(7, "tanh", inputShape: [Time, Features]), new Activation("sigmoid"), new Dropout(0.4f),
            new TimeDistributed(new Dense(5, useBias: false)), new Flatten(), new Dense(2, "sigmoid")]);
        RandomizeWeights(threeD, 7);
        AssertMatches(threeD, [RandomInput(8, Batch, Time, Features)]);
    }

    [Fact]
    public void ShapeLayersAndMergesMatchOnnxRuntime()
    {
        Layer.SetRandomSeed(1);
        var x = Input.Create([Features], name: "x");
        var repeated = new RepeatVector(Time).Apply(new Dense(Units, "tanh").Apply(x));
        var seq = new LSTM(Units, returnSequences: true).Apply(repeated);
        var other = new TimeDistributed(new Dense(Units)).Apply(repeated);
        var joined = new Concatenate().Apply(seq, other);
        var summed = new Add().Apply(seq, other, new GRU(Units, returnSequences: true).Apply(repeated));
        var reshaped = new Reshape([Time * 2, Units]).Apply(joined);
        var flat = new Flatten().Apply(new Concatenate(axis: 1).Apply(reshaped, summed));
        var model = new Functional([x], [flat, new Dense(2).Apply(summed)]);
        RandomizeWeights(model, 9);
        AssertMatches(model, [RandomInput(10, Batch, Features)]);
    }

    [Fact]
    public void EncoderStatesAsDecoderInitialStatesAndReturnedStatesMatchOnnxRuntime()
    {
        Layer.SetRandomSeed(1);
        var source = Input.Create([-1, Features], name: "source");
        var target = Input.Create([-1, Features], name: "target");
        var encoder = new LSTM(Units, returnState: true).ApplyAll(source);
        var decoded = new LSTM(Units, returnSequences: true, returnState: true).ApplyAll(target, encoder[1], encoder[2]);
        var gruStates = new GRU(Units, returnState: true, goBackwards: true).ApplyAll(source);
        var rnn = new SimpleRNN(Units).Apply(target, gruStates[1]);
        var bi = new Bidirectional(new LSTM(Units, returnSequences: true, returnState: true), mergeMode: null).ApplyAll(target, encoder[1], encoder[2], decoded[1], decoded[2]);
        var probs = new TimeDistributed(new Dense(3, "softmax")).Apply(decoded[0]);
        var model = new Functional([source, target], [probs, decoded[1], decoded[2], rnn, bi[0], bi[1], bi[2], bi[5]]);
        RandomizeWeights(model, 11);
        AssertMatches(model, [RandomInput(12, Batch, Time + 2, Features), RandomInput(13, Batch, Time, Features)]);
    }

    [Fact]
    public void ForeignLayoutsAxisSliceReverseTimeAndFoldedTimeDistributedMatchOnnxRuntime()
    {
        // A seq-first model (as an imported graph keeps it): [time, batch, features] in, [time, batch, units] out.
        Layer.SetRandomSeed(1);
        var x = Input.Create([-1, 2, 3], name: "x");
        var flat = new TimeDistributed(new Flatten()).Apply(x);
        var seq = new GRU(Units, returnSequences: true).Apply(flat);
        var reversed = new ReverseTime().Apply(seq);
        var lastStep = new AxisSlice(1, -1, int.MaxValue, keepAxis: false).Apply(reversed);
        var middle = new AxisSlice(1, 1, 3).Apply(seq);
        var model = new Functional([x], [new Dense(2).Apply(lastStep), reversed, middle]).WithBatchAxes([1], [0, 1, 0]);
        RandomizeWeights(model, 3);
        AssertMatches(model, [RandomInput(4, Time, Batch, 2, 3)]);
    }

    public static TheoryData<string> MaskCases() => new(MaskedCases.Keys);

    private static readonly Dictionary<string, Func<Layer>> MaskedCases = new()
    {
        ["lstm sequence"] = () => new LSTM(Units, returnSequences: true),
        ["lstm sequence zero_output_for_mask"] = () => new LSTM(Units, returnSequences: true, zeroOutputForMask: true),
        ["lstm last"] = () => new LSTM(Units),
        ["lstm last zero_output_for_mask"] = () => new LSTM(Units, zeroOutputForMask: true),
        ["lstm go_backwards sequence"] = () => new LSTM(Units, returnSequences: true, goBackwards: true),
        ["lstm go_backwards last"] = () => new LSTM(Units, goBackwards: true),
        ["gru sequence"] = () => new GRU(Units, returnSequences: true),
        ["simple_rnn last zero_output_for_mask"] = () => new SimpleRNN(Units, zeroOutputForMask: true),
        ["bidirectional lstm concat"] = () => new Bidirectional(new LSTM(Units, returnSequences: true)),
        ["bidirectional gru last"] = () => new Bidirectional(new GRU(Units), mergeMode: "ave"),
    };

    [Theory]
    [MemberData(nameof(MaskCases))]
    public void RightPaddedMasksBecomeSequenceLens(string name)
    {
        Layer.SetRandomSeed(1);

        // Token ids, 0 = padding at the end of rows 1 and 2; a second recurrent layer reads the passed-on mask.
        var ids = new Tensor(Batch, Time);
        int[] lengths = [Time, 3, 1];
        for (int b = 0; b < Batch; b++)
        {
            for (int t = 0; t < lengths[b]; t++)
            {
                ids[b, t] = 1 + ((b * 7) + (t * 3)) % 9;
            }
        }

        var model = new Sequential([new Embedding(10, Features, maskZero: true, inputShape: [-1]), new LSTM(Units, returnSequences: true), MaskedCases[name]()]);
        _ = model.Call(ids);
        RandomizeWeights(model, 3);
        AssertMatches(model, [ids]);

        // The same through a Masking layer on float input.
        Layer.SetRandomSeed(1);
        var x = RandomInput(5, Batch, Time, Features);
        for (int b = 0; b < Batch; b++)
        {
            x.Span.Slice(((b * Time) + lengths[b]) * Features, (Time - lengths[b]) * Features).Fill(-1f);
        }

        var masked = new Sequential([new Masking(-1f, inputShape: [Time, Features]), MaskedCases[name]()]);
        RandomizeWeights(masked, 6);
        AssertMatches(masked, [x]);
    }

    [Fact]
    public void LeftPaddedMaskFailsInOnnxRuntimeNamingTheCheck()
    {
        Layer.SetRandomSeed(1);
        var model = new Sequential([new Embedding(10, Features, maskZero: true, inputShape: [-1]), new LSTM(Units)]);
        var ids = new Tensor(2, Time);
        ids.Span.Fill(3f);
        ids[1, 0] = 0f; // a pad before tokens
        var e = Assert.Throws<OnnxRuntimeException>(() => Run(model.ToOnnxBytes(), [ids]));
        Assert.Contains("mask_must_be_right_padded", e.Message);
    }

    [Fact]
    public void StatefulLayersTakeAndReturnTheirStatesAsGraphInputsAndOutputs()
    {
        Layer.SetRandomSeed(1);
        var x = Input.Create([-1, Features], name: "x", batchSize: Batch);
        var lstm = new LSTM(Units, returnSequences: true, stateful: true, name: "carry");
        var gru = new Bidirectional(new GRU(Units, stateful: true, name: "g"), name: "bigru");
        var model = new Functional([x], [gru.Apply(lstm.Apply(x))]);
        RandomizeWeights(model, 2);
        var onnx = model.ToOnnxBytes();

        var first = RandomInput(3, Batch, Time, Features);
        var second = RandomInput(4, Batch, Time, Features);
        _ = model.Call(first);
        var expected = model.Call(second);

        var zeros = new Tensor(Batch, Units);
        var stateNames = new[] { "carry/state_h", "carry/state_c", "forward_g/state_h", "backward_g/state_h" };
        var run1 = Run(onnx, [first], stateNames.ToDictionary(n => n, _ => zeros));
        var carried = stateNames.ToDictionary(n => n, n =>
        {
            var o = run1.Single(r => r.Name == n + "_out");
            return new Tensor(o.Values, o.Shape);
        });
        var run2 = Run(onnx, [second], carried);
        AssertClose("second batch after carried states", expected, run2[0].Values, run2[0].Shape);
        AssertClose("carried h", lstm.States![0], run2.Single(r => r.Name == "carry/state_h_out").Values, [Batch, Units]);
    }

    [Theory]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(18)]
    [InlineData(19)]
    [InlineData(20)]
    [InlineData(21)]
    public void EverySupportedOpsetRunsInOnnxRuntime(int opset)
    {
        Layer.SetRandomSeed(1);
        var model = new Sequential([
            new Embedding(10, Features, maskZero: true, inputShape: [-1]),
            new Bidirectional(new LSTM(Units, returnSequences: true, goBackwards: false)),
            new GRU(Units, goBackwards: true), new Dense(2, "softmax")]);
        RandomizeWeights(model, 1);
        var ids = new Tensor(2, Time);
        ids.Span.Fill(2f);
        ids[1, Time - 1] = 0f;
        AssertMatches(model, [ids], opset);
    }

    [Theory]
    [InlineData(13)]
    [InlineData(22)]
    public void AnOpsetOutsideTheRangeIsRefused(int opset)
    {
        var model = new Sequential([new Dense(2, inputShape: [3])]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.ToOnnxBytes(new OnnxExportOptions { Opset = opset }));
        Assert.Contains($"got {opset}", e.Message);
        Assert.Contains("14..21", e.Message);
    }

    [Theory]
    [InlineData("NFG", "no forget gate")]
    [InlineData("original1997", "no forget gate")]
    [InlineData("NIG", "no input gate")]
    [InlineData("NOG", "no output gate")]
    [InlineData("FGR", "full gate recurrence")]
    public void LstmVariantsOnnxCannotExpressAreRefusedByName(string variant, string reason)
    {
        var model = new Sequential([new LSTM(Units, variant: LstmVariant.FromName(variant), name: "odd_cell", inputShape: [Time, Features])]);
        string path = Path.Combine(dir, "odd.onnx");
        var e = Assert.Throws<NotSupportedException>(() => model.ExportOnnx(path));
        Assert.Contains("LSTM 'odd_cell'", e.Message);
        Assert.Contains(variant.StartsWith("orig", StringComparison.Ordinal) ? "original1997" : variant, e.Message);
        Assert.Contains(reason, e.Message);
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void AnUnknownLayerIsRefusedByNameAndAnExistingFileIsLeftWhole()
    {
        string path = Path.Combine(dir, "model.onnx");
        var good = new Sequential([new LSTM(Units, inputShape: [Time, Features])]);
        good.ExportOnnx(path);
        byte[] before = File.ReadAllBytes(path);
        Assert.Single(Run(before, [RandomInput(1, 2, Time, Features)]));

        var bad = new Sequential([new Doubler("twice", [Features]), new Dense(2)]);
        var e = Assert.Throws<NotSupportedException>(() => bad.ExportOnnx(path));
        Assert.Contains("Doubler 'twice'", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(dir));
    }

    [Fact]
    public void CliExportsASavedModel()
    {
        Layer.SetRandomSeed(1);
        var model = new Sequential([new Embedding(10, Features, inputShape: [-1]), new GRU(Units), new Dense(1, "sigmoid")]);
        RandomizeWeights(model, 4);
        string saved = Path.Combine(dir, "m.lstm"), onnx = Path.Combine(dir, "m.onnx");
        model.Save(saved);
        Assert.Equal(0, LstmSharp.Cli.Program.Run(["export-onnx", saved, onnx, "--opset", "15"]));
        var ids = new Tensor(2, Time);
        ids.Span.Fill(4f);
        var expected = model.Call(ids);
        var actual = Run(File.ReadAllBytes(onnx), [ids]);
        AssertClose("cli export", expected, actual[0].Values, actual[0].Shape);
        Assert.Equal(1, LstmSharp.Cli.Program.Run(["export-onnx", saved, onnx, "--opset", "9"]));
    }

    /// <summary>A user-defined layer the exporter cannot know.</summary>
    private sealed class Doubler(string name, int[] inputShape) : Layer(name, inputShape)
    {
        protected override Tensor Call(Tensor input, Tensor? mask, bool training) => LstmSharp.Autograd.Ops.Scale(input, 2f);
    }
}
