using LstmSharp.Interop.Onnx;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// ONNX recurrent nodes whose <c>sequence_lens</c> is a graph input: the imported model takes
/// the lengths as a second input (SequenceLengthMask before the recurrent layer). Held to ONNX
/// Runtime with varied lengths (full, partial, one step, none), through the fused layers and the
/// ONNX cells, then exported again (the lengths become a float graph input) and run in ONNX Runtime.
/// </summary>
public class OnnxSequenceLengthsTests
{
    private const int Time = 5;
    private const int Batch = 4;

    private static readonly Dictionary<string, RecurrentNodeSpec> CaseTable = new()
    {
        ["lstm_forward_fused"] = new("LSTM") { LengthsInput = true, Seed = 41 },
        ["lstm_bidirectional_fused"] = new("LSTM", "bidirectional") { LengthsInput = true, Seed = 42 },
        ["lstm_reverse_peepholes_fused"] = new("LSTM", "reverse") { LengthsInput = true, Peepholes = true, Seed = 43 },
        ["gru_reverse_fused"] = new("GRU", "reverse") { LengthsInput = true, LinearBeforeReset = true, Seed = 44 },
        ["gru_bidirectional_initial_states_fused"] = new("GRU", "bidirectional") { LengthsInput = true, InitialStates = true, Seed = 45 },
        ["rnn_forward_fused"] = new("RNN") { LengthsInput = true, Seed = 46 },
        ["lstm_bidirectional_clip_cells"] = new("LSTM", "bidirectional") { LengthsInput = true, Clip = 1f, Seed = 47 },
        ["gru_reverse_softsign_cells"] = new("GRU", "reverse") { LengthsInput = true, Activations = ["Sigmoid", "Softsign"], Seed = 48 },
        ["rnn_leakyrelu_initial_state_cells"] = new("RNN") { LengthsInput = true, Activations = ["LeakyRelu"], Alphas = [0.2f], InitialStates = true, Seed = 49 },
    };

    public static TheoryData<string> Cases() => new(CaseTable.Keys.ToArray());

    [Theory]
    [MemberData(nameof(Cases))]
    public void RunTimeLengthsMatchOnnxRuntime(string name)
    {
        var spec = CaseTable[name];
        var onnx = spec.Build();
        var model = OnnxImport.Load(onnx, name: name);
        Assert.Single(model.Layers.OfType<SequenceLengthMask>());

        // ONNX Runtime gives a zero-length row zeros for Y_h even with an initial state; LstmSharp
        // keeps the initial state there, so rows of length 0 are tested without initial states.
        int[][] lengthSets = spec.InitialStates ? [[5, 3, 1, 2], [1, 1, 5, 4]] : [[5, 3, 1, 0], [2, 5, 4, 1], [5, 5, 5, 5]];
        foreach (var lengths in lengthSets)
        {
            var x = OnnxRuntimeCheck.RandomInput(spec.Seed + lengths.Sum(), Time, Batch, spec.Features);
            var states = Enumerable.Range(0, spec.InitialStates ? spec.StateCount : 0).Select(s => OnnxRuntimeCheck.RandomInput(spec.Seed + 300 + s, spec.Dirs, Batch, spec.Hidden)).ToArray();
            var expected = RecurrentNodeSpec.RunOrt(onnx, [x, .. states], lengths);
            var lens = new Tensor(lengths.Select(v => (float)v).ToArray(), Batch);
            string label = $"{name} lengths [{string.Join(", ", lengths)}]";

            var actual = model.Call([x, lens, .. states]);
            Assert.Equal(expected.Count, actual.Count);
            for (int k = 0; k < expected.Count; k++)
            {
                OnnxRuntimeCheck.AssertClose($"{label} {expected[k].Name}", actual[k], expected[k].Values, expected[k].Shape);
            }

            var exported = model.ToOnnxBytes(new OnnxExportOptions { Opset = 17 });
            var rerun = RecurrentNodeSpec.RunOrt(exported, [x, lens, .. states]);
            for (int k = 0; k < actual.Count; k++)
            {
                OnnxRuntimeCheck.AssertClose($"{label} re-exported {rerun[k].Name}", actual[k], rerun[k].Values, rerun[k].Shape);
            }
        }
    }

    [Fact]
    public void LengthsTakePartInPredictAndSaveLoad()
    {
        var spec = CaseTable["lstm_bidirectional_clip_cells"];
        var model = OnnxImport.Load(spec.Build());
        Assert.Equal(2, model.InputCount);
        var x = OnnxRuntimeCheck.RandomInput(7, Time, Batch, spec.Features);
        var lens = new Tensor([5f, 2f, 4f, 1f], Batch);
        var called = model.Call([x, lens]);
        var predicted = model.PredictAll([x, lens], batchSize: 1);
        for (int k = 0; k < called.Count; k++)
        {
            Check.Close($"predict output {k}", called[k].ToArray().Select(v => (double)v).ToArray(), predicted[k].Span, rel: 1e-6, abs: 1e-7);
        }

        string path = Path.Combine(Path.GetTempPath(), $"lstmsharp-onnx-lengths-{Guid.NewGuid():N}.lstm");
        try
        {
            model.Save(path);
            var again = Model.Load(path).Call([x, lens]);
            for (int k = 0; k < called.Count; k++)
            {
                Check.Identical($"reloaded output {k}", called[k].Span, again[k].Span);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A user-built model: Masking then RNN(OnnxRecurrentCell) (clip, parameterised activations), exported: the mask becomes sequence_lens in the graph.</summary>
    [Theory]
    [InlineData("LSTM", false, false)]
    [InlineData("GRU", true, false)]
    [InlineData("RNN", false, true)]
    public void MaskedOnnxCellModelExportsToOnnxRuntime(string op, bool zeroOutputForMask, bool goBackwards)
    {
        var acts = op switch
        {
            "LSTM" => new[] { ActivationFunction.Create("HardSigmoid", 0.3f, 0.4f), ActivationFunction.Create("Softsign"), ActivationFunction.Create("Elu", 0.7f) },
            "GRU" => [ActivationFunction.Create("Sigmoid"), ActivationFunction.Create("LeakyRelu", 0.2f)],
            _ => [ActivationFunction.Create("ScaledTanh", 1.2f, 0.8f)],
        };
        var model = new Sequential(
        [
            new Masking(0f, inputShape: [Time, 3]),
            new RNN(new OnnxRecurrentCell(op, 4, acts, clip: 1.2f), returnSequences: true, goBackwards: goBackwards, zeroOutputForMask: zeroOutputForMask),
        ]);
        OnnxRuntimeCheck.RandomizeWeights(model, 9);
        var x = OnnxRuntimeCheck.RandomInput(10, Batch, Time, 3);
        int[] lengths = [5, 3, 1, 4];
        for (int b = 0; b < Batch; b++)
        {
            x.Span.Slice((b * Time * 3) + (lengths[b] * 3), (Time - lengths[b]) * 3).Clear();
        }

        OnnxRuntimeCheck.AssertMatches(model, [x]);
    }

    [Theory]
    [InlineData(6f, "lengths[1] must be a whole number in 0..5 (the time steps of x), got 6")]
    [InlineData(-1f, "lengths[1] must be a whole number in 0..5 (the time steps of x), got -1")]
    [InlineData(2.5f, "lengths[1] must be a whole number in 0..5 (the time steps of x), got 2.5")]
    public void BadLengthIsOneClearError(float bad, string expected)
    {
        var model = OnnxImport.Load(CaseTable["lstm_forward_fused"].Build());
        var x = OnnxRuntimeCheck.RandomInput(8, Time, Batch, 3);
        var e = Assert.ThrowsAny<ArgumentException>(() => model.Call([x, new Tensor([5f, bad, 1f, 1f], Batch)]));
        Assert.Contains("SequenceLengthMask", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
