using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using LstmSharp.Training;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// The generic <see cref="RNN"/> layer: the built-in autograd cells against the fused layers on
/// the same weights (outputs and every gradient), finite differences of RNN(cell), a custom
/// cell written here that trains, save/load, and the errors a wrong cell produces.
/// </summary>
public class RnnCellTests
{
    private const int Batch = 3, Time = 5, Features = 4, Units = 5;

    public static readonly string[] CellNames = ["lstm", "lstm-nobias-hard-relu", "lstm-proj", "lstm-proj-wide", "lnlstm", "gru", "gru-reset-before", "gru-nobias", "simplernn", "simplernn-relu-nobias"];

    public static readonly string[] OptionNames = ["plain", "sequences", "state", "backwards", "mask", "mask-zero-output", "initial-state", "dropout", "all", "wide"];

    public static TheoryData<string, string> ParityCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var cell in CellNames)
        {
            foreach (var option in OptionNames)
            {
                data.Add(cell, option);
            }
        }

        return data;
    }

    /// <summary>
    /// RNN(autograd cell) and the fused layer, given the same weights, inputs, mask, initial
    /// states and (seeded, hence identical) dropout masks, agree to 1e-5 (relative to each
    /// tensor's largest value) on every output and on the gradients of the weights, the input
    /// and the initial states.
    /// </summary>
    [Theory]
    [MemberData(nameof(ParityCases))]
    public void AutogradCellMatchesTheFusedLayer(string cellName, string options)
    {
        var o = Options.Parse(options);
        Layer.SetRandomSeed(17);
        var (fused, cell) = MakePair(cellName, o);
        var rnn = new RNN(cell, o.Sequences, o.State, o.Backwards, zeroOutputForMask: o.ZeroOutput);
        var data = new Problem(o, cell.StateSizes.ToArray(), seed: StableSeed(cellName, options));
        fused.Build([Time, Features]);
        rnn.Build([Time, Features]);
        Assert.Equal(fused.CountParams(), rnn.CountParams());
        rnn.SetWeights(fused.GetWeights());

        var expected = data.Run(fused);
        var actual = data.Run(rnn);
        Assert.Equal(expected.Outputs.Length, actual.Outputs.Length);
        for (int k = 0; k < expected.Outputs.Length; k++)
        {
            AssertClose($"{cellName}/{options} output {k}", actual.Outputs[k], expected.Outputs[k]);
        }

        var fp = fused.Parameters;
        var rp = rnn.Parameters;
        for (int k = 0; k < fp.Count; k++)
        {
            AssertClose($"{cellName}/{options} d {fp[k].Name}", rp[k].Value.Grad!.ToArray(), fp[k].Value.Grad!.ToArray());
        }

        AssertClose($"{cellName}/{options} dx", actual.Dx, expected.Dx);
        for (int s = 0; s < expected.DInitial.Length; s++)
        {
            AssertClose($"{cellName}/{options} d initial state {s}", actual.DInitial[s], expected.DInitial[s]);
        }
    }

    public static TheoryData<string> FiniteDifferenceCells() => new() { "lstm", "gru", "gru-reset-before", "simplernn", "minimal-gated" };

    /// <summary>
    /// The tape's gradients through RNN(cell) — weights, input and initial states — against
    /// Richardson-extrapolated central differences of the same float32 computation, with a
    /// mask that has holes, go_backwards and return_state.
    /// </summary>
    [Theory]
    [MemberData(nameof(FiniteDifferenceCells))]
    public void GradientsMatchFiniteDifferences(string cellName)
    {
        Layer.SetRandomSeed(5);
        RecurrentCell cell = cellName == "minimal-gated" ? new MinimalGatedCell(3) : MakePair(cellName, Options.Parse("plain"), units: 3).Cell;
        var rnn = new RNN(cell, returnSequences: true, returnState: true, goBackwards: true);
        rnn.Build([4, 2]);
        var mask = Tensor.FromArray([1, 1, 0, 1, 0, 1, 1, 1], 2, 4);
        var x = Random(11, -1, 1, 2, 4, 2);
        var initial = cell.StateSizes.Select((size, i) => Random(20 + i, -0.5f, 0.5f, 2, size)).ToArray();
        var weights = rnn.Parameters.Select(p => p.Value).ToArray();
        CheckFloat(
            $"RNN({cellName})",
            t =>
            {
                var outputs = rnn.Apply([t[0], .. t[1..(1 + initial.Length)]], [mask, .. initial.Select(_ => (Tensor?)null)], training: false, out _);

                // One scalar-valued view of every output: the sequence, then each final state.
                return Ops.Concatenate(outputs.Select(y => Ops.Reshape(y, -1)).ToArray(), 0);
            },
            [x, .. initial, .. weights]);
    }

    /// <summary>
    /// A cell written in this test from Ops alone learns: RNN(MinimalGatedCell(8)) + Dense(1)
    /// on "the mean of a sequence of 10 uniform values" brings the MSE from the constant
    /// predictor's level (the targets' variance, ~0.033) to under a fifth of it in 30 epochs.
    /// </summary>
    [Fact]
    public void CustomCellTrains()
    {
        Layer.SetRandomSeed(3);
        var rng = new Random(4);
        const int n = 256, t = 10;
        var x = new Tensor(n, t, 1);
        var y = new Tensor(n, 1);
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int s = 0; s < t; s++)
            {
                float v = (float)((rng.NextDouble() * 2) - 1);
                x[i, s, 0] = v;
                sum += v;
            }

            y[i, 0] = (float)(sum / t);
        }

        double mean = y.ToArray().Average();
        double variance = y.ToArray().Select(v => (v - mean) * (v - mean)).Average();
        var model = new Sequential();
        model.Add(new RNN(new MinimalGatedCell(8), inputShape: [t, 1]));
        model.Add(new Dense(1));
        model.Compile(new Adam(0.01), "mse");
        double before = model.Evaluate(x, y).Loss;
        model.Fit(x, y, batchSize: 32, epochs: 30, verbose: 0, seed: 1);
        double after = model.Evaluate(x, y).Loss;
        Assert.True(after < 0.2 * variance, $"MSE {before:G4} → {after:G4}; the constant predictor's is {variance:G4}, the goal under {0.2 * variance:G4}.");
        Assert.True(after < 0.2 * before, $"MSE {before:G4} → {after:G4}");
    }

    public static TheoryData<string> SavableCells() => new() { "lstm", "gru", "gru-reset-before", "simplernn", "lnlstm", "lstm-proj" };

    /// <summary>A model holding RNN(built-in cell) saves and loads: same config, same weights, bit-identical predictions.</summary>
    [Theory]
    [MemberData(nameof(SavableCells))]
    public void SaveAndLoadRoundTrip(string cellName)
    {
        Layer.SetRandomSeed(8);
        var cell = MakePair(cellName, Options.Parse("plain")).Cell;
        var model = new Sequential();
        model.Add(new RNN(cell, returnSequences: true, goBackwards: true, inputShape: [Time, Features]));
        model.Add(new Dense(2));
        var x = Random(3, -1, 1, Batch, Time, Features);
        var before = model.Predict(x);
        var path = Path.Combine(Path.GetTempPath(), $"rnncell-{cellName}-{Guid.NewGuid():N}.lstm");
        try
        {
            model.Save(path);
            var loaded = Model.Load(path);
            var rnn = Assert.IsType<RNN>(loaded.Layers[0]);
            Assert.Equal(cell.GetType(), rnn.Cell.GetType());
            Assert.True(rnn.GoBackwards && rnn.ReturnSequences);
            Assert.Equal(cell.GetConfig().ToJsonString(), rnn.Cell.GetConfig().ToJsonString());
            Assert.Equal(before.ToArray(), loaded.Predict(x).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A custom cell saves once its factory is registered; the error without one names the class.</summary>
    [Fact]
    public void CustomCellSavesOnceRegistered()
    {
        Layer.SetRandomSeed(9);
        var entry = LayerRegistry.ToEntry(new RNN(new UnregisteredCell(2), inputShape: [3, 2]));
        var e = Assert.Throws<ArgumentException>(() => LayerRegistry.FromEntry(entry));
        Assert.Contains("UnregisteredCell", e.Message);

        LayerRegistry.Register(nameof(MinimalGatedCell), MinimalGatedCell.FromConfig);
        var model = new Sequential();
        model.Add(new RNN(new MinimalGatedCell(4), inputShape: [Time, Features]));
        var x = Random(4, -1, 1, Batch, Time, Features);
        var path = Path.Combine(Path.GetTempPath(), $"rnncell-custom-{Guid.NewGuid():N}.lstm");
        try
        {
            model.Save(path);
            Assert.Equal(model.Predict(x).ToArray(), Model.Load(path).Predict(x).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A model file whose RNN config was tampered with (no cell, a cell that is not one, a huge
    /// or negative units, a wrong type) is refused with one <see cref="ModelFormatException"/>
    /// naming the file and the layer, before any weight is allocated.
    /// </summary>
    [Fact]
    public void ATamperedRnnConfigIsRefusedByName()
    {
        Layer.SetRandomSeed(12);
        var dir = Path.Combine(Path.GetTempPath(), $"rnncell-bad-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var model = new Sequential();
            model.Add(new RNN(new GruAutogradCell(3, name: "gru_cell"), name: "rnn", inputShape: [4, 2]));
            string good = Path.Combine(dir, "good.lstm");
            model.Save(good);

            ModelFormatException Refused(Action<JsonObject> changeRnnConfig)
            {
                var bytes = File.ReadAllBytes(good);
                int n = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes);
                var header = JsonNode.Parse(System.Text.Encoding.UTF8.GetString(bytes, 8, n))!.AsObject();
                var metadata = (JsonObject)header[LstmSharp.Serialization.SafeTensors.MetadataKey]!;
                var config = JsonNode.Parse(metadata["config"]!.GetValue<string>())!.AsObject();
                changeRnnConfig((JsonObject)config["config"]!["layers"]![0]!["config"]!);
                metadata["config"] = config.ToJsonString();
                var text = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
                int padded = (text.Length + 7) / 8 * 8;
                var result = new byte[8 + padded + (bytes.Length - 8 - n)];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)padded);
                result.AsSpan(8, padded).Fill((byte)' ');
                text.CopyTo(result, 8);
                bytes.AsSpan(8 + n).CopyTo(result.AsSpan(8 + padded));
                string bad = Path.Combine(dir, "bad.lstm");
                File.WriteAllBytes(bad, result);
                var e = Assert.Throws<ModelFormatException>(() => Model.Load(bad));
                Assert.Contains("bad.lstm", e.Message);
                return e;
            }

            Assert.Contains("lacks 'cell'", Refused(c => c.Remove("cell")).Message);
            Assert.Contains("must be a recurrent cell", Refused(c => c["cell"] = new JsonObject { ["class_name"] = "Dense", ["config"] = new JsonObject { ["units"] = 3 } }).Message);
            var huge = Refused(c => c["cell"]!["config"]!["units"] = 2_000_000_000);
            Assert.Contains("GRUCell 'gru_cell'", huge.Message);
            Assert.Contains("units=2000000000", huge.Message);
            var big = Refused(c => c["cell"]!["config"]!["units"] = 5_000).Message;
            Assert.True(big.Contains("more than the", StringComparison.Ordinal), big);
            Assert.Contains("units must be a positive integer, got -3", Refused(c => c["cell"]!["config"]!["units"] = -3).Message);
            Refused(c => c["return_sequences"] = "yes");
            Assert.Contains("unknown layer class 'NoSuchCell'", Refused(c => c["cell"]!["class_name"] = "NoSuchCell").Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void StatefulCarriesTheStatesAcrossBatches()
    {
        Layer.SetRandomSeed(10);
        var x = Random(5, -1, 1, 2, 6, 3);
        var whole = new RNN(new LstmAutogradCell(4));
        var stateful = new RNN(new LstmAutogradCell(4), stateful: true);
        whole.Build([6, 3]);
        stateful.Build([3, 3]);
        stateful.SetWeights(whole.GetWeights());
        var expected = whole.Apply(x);
        var first = new Tensor(2, 3, 3);
        var second = new Tensor(2, 3, 3);
        for (int b = 0; b < 2; b++)
        {
            x.Span.Slice(b * 18, 9).CopyTo(first.Span.Slice(b * 9, 9));
            x.Span.Slice((b * 18) + 9, 9).CopyTo(second.Span.Slice(b * 9, 9));
        }

        stateful.Apply(first);
        AssertClose("stateful second half", stateful.Apply(second).ToArray(), expected.ToArray());
        stateful.ResetStates();
        Assert.All(stateful.States!, s => Assert.All(s.ToArray(), v => Assert.Equal(0f, v)));
        var e = Assert.Throws<ArgumentException>(() => stateful.Apply(new Tensor(3, 3, 3)));
        Assert.Contains("batch size 2", e.Message);
    }

    [Fact]
    public void AWrongCellOrWrongStatesGiveClearErrors()
    {
        var rnn = new RNN(new UnregisteredCell(2, wrongOutput: true), name: "rnn_bad");
        var e = Assert.Throws<InvalidOperationException>(() => rnn.Apply(new Tensor(2, 3, 2)));
        Assert.Contains("RNN 'rnn_bad'", e.Message);
        Assert.Contains("expected [2, 2]", e.Message);

        var lstm = new RNN(new LstmAutogradCell(3), name: "rnn_lstm");
        var e2 = Assert.Throws<ArgumentException>(() => lstm.Apply([new Tensor(2, 3, 2), new Tensor(2, 3)], null, false, out _));
        Assert.Contains("initial_state must hold 2 tensors, got 1", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => lstm.Apply([new Tensor(2, 3, 2), new Tensor(2, 3), new Tensor(2, 4)], null, false, out _));
        Assert.Contains("initial state [2, 3]", e3.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GruAutogradCell(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimpleRnnAutogradCell(3, dropout: 1f));
    }

    [Fact]
    public void ShapesAndParameterCountsAreKeras()
    {
        var rnn = new RNN(new LstmAutogradCell(128), returnSequences: true, returnState: true, inputShape: [28, 28]);
        Assert.Equal(80_384, rnn.CountParams());
        var shapes = rnn.ComputeOutputShapes([[28, 28]]);
        Assert.Equal(new[] { 28, 128 }, shapes[0]);
        Assert.Equal(3, shapes.Count);
        Assert.Equal(60_672, new RNN(new GruAutogradCell(128), inputShape: [28, 28]).CountParams());
        Assert.Equal(60_288, new RNN(new GruAutogradCell(128, resetAfter: false), inputShape: [28, 28]).CountParams());
        Assert.Equal(20_096, new RNN(new SimpleRnnAutogradCell(128), inputShape: [28, 28]).CountParams());
        Assert.Equal($"{rnn.Name}/{rnn.Cell.Name}/kernel", rnn.Parameters[0].Path);
        Assert.StartsWith("lstm_cell", rnn.Cell.Name, StringComparison.Ordinal);
    }

    /// <summary>A fused layer and the autograd cell of the same kind and options (units, activations, bias, dropout with one seed).</summary>
    internal static (Layer Fused, DenseRecurrentCell Cell) MakePair(string cellName, Options o, int units = Units)
    {
        if (o.Wide)
        {
            units = 19;
        }

        float dropout = o.Dropout ? 0.3f : 0f, recurrentDropout = o.Dropout ? 0.25f : 0f;
        const int seed = 7;
        return cellName switch
        {
            "lstm" => (
                new LSTM(units, returnSequences: o.Sequences, returnState: o.State, goBackwards: o.Backwards, zeroOutputForMask: o.ZeroOutput, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed),
                new LstmAutogradCell(units, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed)),
            "lstm-proj" or "lstm-proj-wide" => (
                new LSTM(units, returnSequences: o.Sequences, returnState: o.State, goBackwards: o.Backwards, zeroOutputForMask: o.ZeroOutput, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed, projSize: cellName == "lstm-proj" ? units - 2 : units + 3),
                new LstmAutogradCell(units, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed, projSize: cellName == "lstm-proj" ? units - 2 : units + 3)),
            "lnlstm" => (
                new LayerNormLSTM(units, returnSequences: o.Sequences, returnState: o.State, goBackwards: o.Backwards, zeroOutputForMask: o.ZeroOutput, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed),
                new LayerNormLstmAutogradCell(units, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed)),
            "lstm-nobias-hard-relu" => (
                new LSTM(units, "relu", "hard_sigmoid", useBias: false, returnSequences: o.Sequences, returnState: o.State, goBackwards: o.Backwards, zeroOutputForMask: o.ZeroOutput, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed),
                new LstmAutogradCell(units, "relu", "hard_sigmoid", useBias: false, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed)),
            "gru" or "gru-reset-before" or "gru-nobias" => (
                new GRU(units, useBias: cellName != "gru-nobias", resetAfter: cellName != "gru-reset-before", returnSequences: o.Sequences, returnState: o.State, goBackwards: o.Backwards, zeroOutputForMask: o.ZeroOutput, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed),
                new GruAutogradCell(units, useBias: cellName != "gru-nobias", resetAfter: cellName != "gru-reset-before", dropout: dropout, recurrentDropout: recurrentDropout, seed: seed)),
            "simplernn" => (
                new SimpleRNN(units, returnSequences: o.Sequences, returnState: o.State, goBackwards: o.Backwards, zeroOutputForMask: o.ZeroOutput, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed),
                new SimpleRnnAutogradCell(units, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed)),
            "simplernn-relu-nobias" => (
                new SimpleRNN(units, "relu", useBias: false, returnSequences: o.Sequences, returnState: o.State, goBackwards: o.Backwards, zeroOutputForMask: o.ZeroOutput, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed),
                new SimpleRnnAutogradCell(units, "relu", useBias: false, dropout: dropout, recurrentDropout: recurrentDropout, seed: seed)),
            _ => throw new ArgumentException(cellName),
        };
    }

    /// <summary>max |actual − expected| ≤ 1e-5 · max(1, max |expected|), naming the worst element.</summary>
    internal static void AssertClose(string label, float[] actual, float[] expected, double tolerance = 1e-5)
    {
        Assert.True(actual.Length == expected.Length, $"{label}: {actual.Length} values, expected {expected.Length}");
        double scale = Math.Max(1, expected.Length == 0 ? 0 : expected.Max(v => Math.Abs((double)v)));
        int worst = -1;
        double worstDiff = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            if (!(d <= worstDiff))
            {
                worstDiff = d;
                worst = i;
            }
        }

        Assert.True(worstDiff <= tolerance * scale, $"{label}: worst [{worst}] {(worst >= 0 ? actual[worst] : 0):G9} vs {(worst >= 0 ? expected[worst] : 0):G9}, |diff| {worstDiff:E2} > {tolerance * scale:E2}");
    }

    private static int StableSeed(string a, string b)
    {
        uint h = 2166136261;
        foreach (char ch in $"{a}|{b}")
        {
            h = (h ^ ch) * 16777619;
        }

        return (int)(h & 0x7FFFFFFF);
    }

    internal sealed record Options(bool Sequences, bool State, bool Backwards, bool Mask, bool ZeroOutput, bool Initial, bool Dropout, bool Wide)
    {
        public static Options Parse(string name) => name switch
        {
            "plain" => new(false, false, false, false, false, false, false, false),
            "sequences" => new(true, false, false, false, false, false, false, false),
            "state" => new(false, true, false, false, false, false, false, false),
            "backwards" => new(true, false, true, false, false, false, false, false),
            "mask" => new(true, true, false, true, false, false, false, false),
            "mask-zero-output" => new(true, false, false, true, true, false, false, false),
            "initial-state" => new(false, true, false, false, false, true, false, false),
            "dropout" => new(true, false, false, false, false, false, true, false),
            "all" => new(true, true, true, true, false, true, true, false),
            "wide" => new(true, true, true, true, false, true, false, true),
            _ => throw new ArgumentException(name),
        };
    }

    /// <summary>Inputs, mask, initial states and output weights for one case; runs a layer and keeps outputs and gradients.</summary>
    private sealed class Problem
    {
        private readonly Options o;
        private readonly int[] stateSizes;
        private readonly int seed;

        public Problem(Options o, int[] stateSizes, int seed)
        {
            this.o = o;
            this.stateSizes = stateSizes;
            this.seed = seed;
        }

        public (float[][] Outputs, float[] Dx, float[][] DInitial) Run(Layer layer)
        {
            var x = Random(seed, -1, 1, Batch, Time, Features);
            x.RequiresGrad = true;
            var inputs = new List<Tensor> { x };
            var initial = new List<Tensor>();
            if (o.Initial)
            {
                for (int s = 0; s < stateSizes.Length; s++)
                {
                    var h = Random(seed + 1 + s, -0.8f, 0.8f, Batch, stateSizes[s]);
                    h.RequiresGrad = true;
                    initial.Add(h);
                }
            }

            inputs.AddRange(initial);
            Tensor? mask = null;
            if (o.Mask)
            {
                // Row 0 full, row 1 padded at the end, row 2 padded at the start and with a hole.
                mask = Tensor.FromArray([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1], Batch, Time);
            }

            var masks = new Tensor?[inputs.Count];
            masks[0] = mask;
            foreach (var p in layer.Parameters)
            {
                p.Value.Grad = null;
            }

            using var tape = Tape.Record();
            var outputs = layer.Apply(inputs, masks, training: true, out _);
            Tensor? loss = null;
            for (int k = 0; k < outputs.Count; k++)
            {
                var w = Random(seed + 100 + k, -1, 1, outputs[k].ShapeArray);
                var term = Ops.Sum(Ops.Mul(outputs[k], w));
                loss = loss is null ? term : Ops.Add(loss, term);
            }

            tape.Backward(loss!);
            return (
                outputs.Select(t => t.ToArray()).ToArray(),
                x.Grad!.ToArray(),
                initial.Select(h => h.Grad!.ToArray()).ToArray());
        }
    }
}

/// <summary>
/// A minimal gated cell, written here from Ops alone as a user would:
/// z = σ(x V + b_z), h~ = tanh(x W + h U + b), h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h~.
/// </summary>
internal sealed class MinimalGatedCell(int units, string? name = null) : RecurrentCell(name)
{
    public Parameter? W { get; private set; }

    public Parameter? U { get; private set; }

    public Parameter? V { get; private set; }

    public Parameter? B { get; private set; }

    public Parameter? Bz { get; private set; }

    public override IReadOnlyList<int> StateSizes => [units];

    public override int OutputSize => units;

    public static MinimalGatedCell FromConfig(JsonObject c) => new(c.GetInt("units"), c.GetBase().Name);

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["units"] = units;
        return c;
    }

    public override CellOutput Call(Tensor input, IReadOnlyList<Tensor> states, bool training)
    {
        var h = states[0];
        var z = Ops.Sigmoid(Ops.Add(Ops.MatMul(input, V!.Value), Bz!.Value));
        var candidate = Ops.Tanh(Ops.Add(Ops.Add(Ops.MatMul(input, W!.Value), Ops.MatMul(h, U!.Value)), B!.Value));
        var hNew = Ops.Add(candidate, Ops.Mul(z, Ops.Subtract(h, candidate)));
        return new CellOutput(hNew, [hNew]);
    }

    protected override void OnBuild(int[] inputShape)
    {
        W = AddWeight("kernel", [inputShape[0], units], "glorot_uniform");
        U = AddWeight("recurrent_kernel", [units, units], "orthogonal");
        V = AddWeight("gate_kernel", [inputShape[0], units], "glorot_uniform");
        B = AddWeight("bias", [units], "zeros");
        Bz = AddWeight("gate_bias", [units], "zeros");
    }
}

/// <summary>A cell with no registered factory; optionally returns an output of the wrong size.</summary>
internal sealed class UnregisteredCell(int units, bool wrongOutput = false) : RecurrentCell
{
    public override IReadOnlyList<int> StateSizes => [units];

    public override int OutputSize => units;

    public override CellOutput Call(Tensor input, IReadOnlyList<Tensor> states, bool training) =>
        new(wrongOutput ? new Tensor(input.Dim(0), units + 1) : states[0], states);
}
