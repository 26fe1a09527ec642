using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;
using LstmSharp.Training;

namespace LstmSharp.Tests.Recurrent;

[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class BidirectionalTests
{
    private const int Batch = 2, Time = 4, Features = 3, Units = 3;

    public static TheoryData<string?, bool> Modes => new()
    {
        { "concat", true }, { "sum", true }, { "mul", true }, { "ave", true }, { null, true },
        { "concat", false }, { "sum", false }, { "mul", false }, { "ave", false }, { null, false },
    };

    [Theory]
    [MemberData(nameof(Modes))]
    public void MergesTheForwardAndTheReversedBackwardOutputs(string? mode, bool returnSequences)
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(1);
        var bi = new Bidirectional(new LSTM(Units, returnSequences: returnSequences), mode);
        bi.Build([Time, Features]);
        var (fwd, back) = ManualDirections(bi, returnSequences);
        var x = GradientChecker.Random(2, -1, 1, Batch, Time, Features);

        var yf = fwd.Apply(x);
        var yb = back.Apply(x);
        if (returnSequences)
        {
            yb = LstmLayerTests.Reversed(yb);
        }

        var outputs = bi.Apply([x], null, false, out var masks);
        Assert.Equal(mode is null ? 2 : 1, outputs.Count);
        Assert.Equal(outputs.Count, masks.Count);
        var expectedShape = bi.ComputeOutputShapes([[Time, Features]]);
        for (int i = 0; i < outputs.Count; i++)
        {
            Assert.Equal([Batch, .. expectedShape[i]], outputs[i].ShapeArray);
        }

        if (mode is null)
        {
            Assert.Equal(yf.ToArray(), outputs[0].ToArray());
            Assert.Equal(yb.ToArray(), outputs[1].ToArray());
            return;
        }

        var f = yf.ToArray();
        var b = yb.ToArray();
        float[] expected = mode switch
        {
            "sum" => f.Zip(b, (p, q) => p + q).ToArray(),
            "mul" => f.Zip(b, (p, q) => p * q).ToArray(),
            "ave" => f.Zip(b, (p, q) => (p + q) * 0.5f).ToArray(),
            _ => Enumerable.Range(0, f.Length / Units).SelectMany(r => f.Skip(r * Units).Take(Units).Concat(b.Skip(r * Units).Take(Units))).ToArray(),
        };
        Assert.Equal(expected, outputs[0].ToArray());
    }

    [Fact]
    public void ReturnStateAndInitialStateAreSplitBetweenTheDirections()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(3);
        var bi = new Bidirectional(new LSTM(Units, returnSequences: true, returnState: true), "concat");
        bi.Build([Time, Features]);
        var (fwd, back) = ManualDirections(bi, true, returnState: true);
        var x = GradientChecker.Random(4, -1, 1, Batch, Time, Features);
        var s = Enumerable.Range(0, 4).Select(i => GradientChecker.Random(10 + i, -0.5f, 0.5f, Batch, Units)).ToArray();

        var outs = bi.Apply([x, .. s], null, false, out _);
        Assert.Equal(5, outs.Count);
        var f = fwd.Apply([x, s[0], s[1]], null, false, out _);
        var b = back.Apply([x, s[2], s[3]], null, false, out _);
        Assert.Equal(f[1].ToArray(), outs[1].ToArray());
        Assert.Equal(f[2].ToArray(), outs[2].ToArray());
        Assert.Equal(b[1].ToArray(), outs[3].ToArray());
        Assert.Equal(b[2].ToArray(), outs[4].ToArray());

        var e = Assert.Throws<ArgumentException>(() => bi.Apply([x, s[0], s[1]], null, false, out _));
        Assert.Contains("Bidirectional 'bidirectional'", e.Message);
        Assert.Contains("initial_state must hold 4", e.Message);
    }

    [Fact]
    public void GradientMatchesFiniteDifferencesWithInitialStatesAndAMask()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(5);
        var bi = new Bidirectional(new LSTM(Units, returnSequences: true, returnState: true), "concat");
        bi.Build([Time, Features]);
        var x = GradientChecker.Random(6, -1, 1, Batch, Time, Features);
        var s = Enumerable.Range(0, 4).Select(i => GradientChecker.Random(20 + i, -0.5f, 0.5f, Batch, Units)).ToArray();

        // Sample 1 is padded at its end: the backward direction must skip those steps first.
        var mask = Tensor.FromArray([1, 1, 1, 1, 1, 1, 0, 0], Batch, Time);
        GradientChecker.CheckFloat(
            "Bidirectional(LSTM) concat + states + mask",
            t =>
            {
                var outs = bi.Apply([t[0], t[1], t[2], t[3], t[4]], [mask, null, null, null, null], false, out _);
                return Ops.Concatenate([Ops.Reshape(outs[0], Batch, -1), outs[1], outs[2], outs[3], outs[4]], -1);
            },
            [x, .. s, .. bi.Parameters.Select(p => p.Value)]);
    }

    [Theory]
    [InlineData("GRU")]
    [InlineData("SimpleRNN")]
    public void WrapsEveryRecurrentLayerWithItsOwnStateCount(string className)
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(8);
        RecurrentLayer Make(bool goBackwards) => className == "GRU"
            ? new GRU(Units, returnSequences: true, returnState: true, goBackwards: goBackwards)
            : new SimpleRNN(Units, returnSequences: true, returnState: true, goBackwards: goBackwards);
        var bi = new Bidirectional(Make(false), "concat");
        bi.Build([Time, Features]);
        Assert.Equal([[Time, 2 * Units], [Units], [Units]], bi.ComputeOutputShapes([[Time, Features]]));
        Assert.StartsWith($"bidirectional/forward_{LayerNames.ToSnakeCase(className)}/", bi.Parameters[0].Path);

        var fwd = Make(false);
        var back = Make(true);
        fwd.Build([Time, Features]);
        back.Build([Time, Features]);
        fwd.SetWeights(bi.Forward.GetWeights());
        back.SetWeights(bi.Backward.GetWeights());
        var x = GradientChecker.Random(30, -1, 1, Batch, Time, Features);
        var h = GradientChecker.Random(31, -0.5f, 0.5f, Batch, Units);
        var hb = GradientChecker.Random(32, -0.5f, 0.5f, Batch, Units);
        var outs = bi.Apply([x, h, hb], null, false, out _);
        var f = fwd.Apply([x, h], null, false, out _);
        var b = back.Apply([x, hb], null, false, out _);
        Assert.Equal(Ops.Concatenate([f[0], LstmLayerTests.Reversed(b[0])], -1).ToArray(), outs[0].ToArray());
        Assert.Equal(f[1].ToArray(), outs[1].ToArray());
        Assert.Equal(b[1].ToArray(), outs[2].ToArray());

        GradientChecker.CheckFloat(
            $"Bidirectional({className})",
            t =>
            {
                var o = bi.Apply([t[0], t[1], t[2]], null, false, out _);
                return Ops.Concatenate([Ops.Reshape(o[0], Batch, -1), o[1], o[2]], -1);
            },
            [x, h, hb, .. bi.Parameters.Select(p => p.Value)]);
    }

    [Fact]
    public void ParameterCountAndWeightNamesFollowKeras()
    {
        Layer.ClearSession();
        var bi = new Bidirectional(new LSTM(64), inputShape: [10, 128]);
        Assert.Equal(98_816, bi.CountParams());
        Assert.Equal(
            ["bidirectional/forward_lstm/kernel", "bidirectional/forward_lstm/recurrent_kernel", "bidirectional/forward_lstm/bias",
             "bidirectional/backward_lstm/kernel", "bidirectional/backward_lstm/recurrent_kernel", "bidirectional/backward_lstm/bias"],
            bi.Parameters.Select(p => p.Path).ToArray());
        Assert.False(bi.Forward.GoBackwards);
        Assert.True(bi.Backward.GoBackwards);

        var model = new Sequential([bi, new Dense(1)]);
        string summary = model.SummaryText();
        Assert.Contains("(None, 128)", summary);
        Assert.Contains("98816", summary);
        Assert.Contains("Total params: 98,945", summary);
    }

    [Fact]
    public void ConfigRoundTripsAndBadArgumentsAreRejected()
    {
        Layer.ClearSession();
        var bi = new Bidirectional(new LSTM(5, returnSequences: true, goBackwards: true, name: "enc"), "ave");
        var copy = (Bidirectional)LayerRegistry.FromConfig("Bidirectional", bi.GetConfig());
        Assert.Equal("forward_enc", copy.Forward.Name);
        Assert.Equal("backward_enc", copy.Backward.Name);
        Assert.True(copy.Forward.GoBackwards);
        Assert.False(copy.Backward.GoBackwards);
        Assert.Equal("ave", copy.MergeMode);
        Assert.Equal(bi.GetConfig().ToJsonString(), copy.GetConfig().ToJsonString());

        Assert.Contains("mergeMode", Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), "max")).Message);
        Assert.Contains("recurrent layer", Assert.Throws<ArgumentException>(() => new Bidirectional(new Dense(2))).Message);
        var sameDirection = Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), backwardLayer: new LSTM(2)));
        Assert.Contains("go_backwards", sameDirection.Message);
        var seqMismatch = Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), backwardLayer: new LSTM(2, goBackwards: true, returnSequences: true)));
        Assert.Contains("return_sequences", seqMismatch.Message);
        var explicitBack = new Bidirectional(new LSTM(2), backwardLayer: new LSTM(2, goBackwards: true, name: "mine"));
        Assert.Equal("mine", explicitBack.Backward.Name);
    }

    [Fact]
    public void TaggingFromALaterStepNeedsBothDirections()
    {
        // Coin flips x_t ∈ {0, 1}, y_t = [x_{t+2} > 0.5]: a forward-only LSTM must guess (it has not yet seen x_{t+2}).
        const int n = 256, epochs = 10, time = 10, units = 8;
        var (x, y) = LookAheadTask(n, time, seed: 3);
        var (xTest, yTest) = LookAheadTask(200, time, seed: 4);

        Sequential Make(bool bidirectional)
        {
            Layer.ClearSession();
            Layer.SetRandomSeed(7);
            Rng.SetGlobalSeed(7);
            Layer recurrent = bidirectional
                ? new Bidirectional(new LSTM(units, returnSequences: true), inputShape: [time, 1])
                : new LSTM(2 * units, returnSequences: true, inputShape: [time, 1]);
            var m = new Sequential([recurrent, new TimeDistributed(new Dense(1, activation: "sigmoid"))]);
            m.Compile(new Adam(0.03), "binary_crossentropy");
            m.Fit(x, y, batchSize: 32, epochs: epochs, verbose: 0, seed: 5);
            return m;
        }

        double biAcc = StepAccuracy(Make(true).Predict(xTest), yTest);
        double uniAcc = StepAccuracy(Make(false).Predict(xTest), yTest);

        // Chance on the 8 steps that look ahead, near-certain on the 2 final steps (label 0): about 0.6 for the unidirectional one.
        Assert.True(biAcc > 0.95, $"bidirectional per-step accuracy {biAcc:F3}");
        Assert.True(uniAcc < 0.75, $"unidirectional per-step accuracy {uniAcc:F3}");
    }

    internal static (Tensor X, Tensor Y) LookAheadTask(int n, int time, long seed)
    {
        var rng = new Rng(seed);
        var x = new Tensor(n, time, 1);
        var y = new Tensor(n, time, 1);
        for (int i = 0; i < n; i++)
        {
            for (int t = 0; t < time; t++)
            {
                x[i, t, 0] = rng.NextInt(2);
            }

            for (int t = 0; t + 2 < time; t++)
            {
                y[i, t, 0] = x[i, t + 2, 0] > 0.5f ? 1 : 0;
            }
        }

        return (x, y);
    }

    private static double StepAccuracy(Tensor pred, Tensor y)
    {
        int hits = 0;
        for (int i = 0; i < y.Length; i++)
        {
            hits += (pred.Span[i] > 0.5f) == (y.Span[i] > 0.5f) ? 1 : 0;
        }

        return (double)hits / y.Length;
    }

    /// <summary>Separate LSTMs with the directions' weights, run by hand.</summary>
    private static (LSTM Forward, LSTM Backward) ManualDirections(Bidirectional bi, bool returnSequences, bool returnState = false)
    {
        var fwd = new LSTM(Units, returnSequences: returnSequences, returnState: returnState);
        var back = new LSTM(Units, returnSequences: returnSequences, returnState: returnState, goBackwards: true);
        fwd.Build([Time, Features]);
        back.Build([Time, Features]);
        fwd.SetWeights(bi.Forward.GetWeights());
        back.SetWeights(bi.Backward.GetWeights());
        return (fwd, back);
    }
}
