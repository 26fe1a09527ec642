using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;
using LstmSharp.Training;

namespace LstmSharp.Tests.Recurrent;

/// <summary>The LSTM through the Layer API: gradients, states, masks, statefulness, dropout, options.</summary>
public class LstmLayerTests
{
    private const int Batch = 2, Time = 4, Features = 3, Units = 3;

    [Fact]
    public void GradientOfTheLastOutputMatchesFiniteDifferences()
    {
        var lstm = Built(new LSTM(Units));
        var x = GradientChecker.Random(1, -1, 1, Batch, Time, Features);
        GradientChecker.CheckFloat("LSTM last output", t => lstm.Apply(t[0]), [x, .. Weights(lstm)]);
    }

    [Fact]
    public void GradientOfTheSequenceMatchesFiniteDifferences()
    {
        var lstm = Built(new LSTM(Units, returnSequences: true));
        var x = GradientChecker.Random(2, -1, 1, Batch, Time, Features);
        GradientChecker.CheckFloat("LSTM return_sequences", t => lstm.Apply(t[0]), [x, .. Weights(lstm)]);
    }

    [Fact]
    public void GradientFlowsIntoTheInitialStatesAndFromTheReturnedStates()
    {
        var lstm = Built(new LSTM(Units, returnSequences: true, returnState: true));
        var x = GradientChecker.Random(3, -1, 1, Batch, Time, Features);
        var h0 = GradientChecker.Random(4, -0.5f, 0.5f, Batch, Units);
        var c0 = GradientChecker.Random(5, -0.5f, 0.5f, Batch, Units);
        GradientChecker.CheckFloat(
            "LSTM initial_state + return_state",
            t =>
            {
                var outs = lstm.Apply([t[0], t[1], t[2]], null, false, out _);
                Assert.Equal(3, outs.Count);
                var seq = Ops.Reshape(outs[0], Batch, Time * Units);
                return Ops.Concatenate([seq, outs[1], outs[2]], -1);
            },
            [x, h0, c0, .. Weights(lstm)]);
        Assert.True(h0.Grad!.ToArray().Any(v => v != 0) && c0.Grad!.ToArray().Any(v => v != 0), "initial states got no gradient");
    }

    [Fact]
    public void GoBackwardsEqualsTheForwardLayerOnTheReversedSequenceAndItsGradientChecks()
    {
        var back = Built(new LSTM(Units, returnSequences: true, goBackwards: true));
        var fwd = Built(new LSTM(Units, returnSequences: true));
        fwd.SetWeights(back.GetWeights());
        var x = GradientChecker.Random(6, -1, 1, Batch, Time, Features);
        var yBack = back.Apply(x);
        var yFwd = fwd.Apply(Reversed(x));

        // Outputs come in processing order, so step s of both read x[T-1-s].
        Assert.Equal(yFwd.ToArray(), yBack.ToArray());
        GradientChecker.CheckFloat("LSTM go_backwards", t => back.Apply(t[0]), [x, .. Weights(back)]);
    }

    [Fact]
    public void PaddingOnBothSidesIsSkippedAndMatchesTheUnpaddedSequence()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(3);
        var embedding = new Embedding(10, Features, maskZero: true);
        var lstm = new LSTM(Units, returnSequences: true);
        var padded = Tensor.FromArray([0, 0, 3, 5, 2, 0, 7, 1, 4, 9, 8, 0], 2, 6);
        var plain = Tensor.FromArray([3, 5, 2], 1, 3);

        Tensor Run(Tensor ids)
        {
            var e = embedding.Apply(ids, null, false, out var mask);
            Assert.NotNull(mask);
            return lstm.Apply(e, mask, false, out _);
        }

        var yPadded = Run(padded);
        var yPlain = Run(plain);

        // Sample 0: steps 0-1 before the first valid step output 0; steps 2-4 equal the unpadded run; step 5 repeats step 4.
        for (int u = 0; u < Units; u++)
        {
            Assert.Equal(0f, yPadded[0, 0, u]);
            Assert.Equal(0f, yPadded[0, 1, u]);
            for (int t = 0; t < 3; t++)
            {
                Assert.Equal(yPlain[0, t, u], yPadded[0, t + 2, u], 1e-6);
            }

            Assert.Equal(yPadded[0, 4, u], yPadded[0, 5, u]);
        }

        // Gradients with the mask: the embedding table and the LSTM weights (indices are constants).
        var lastOnly = new LSTM(Units, name: "masked_last");
        lastOnly.Build([6, Features]);
        GradientChecker.CheckFloat(
            "LSTM with an Embedding(maskZero) mask",
            t =>
            {
                var e = embedding.Apply(t[0], null, false, out var mask);
                return lastOnly.Apply(e, mask, false, out _);
            },
            [padded, embedding.Embeddings.Value, .. Weights(lastOnly)],
            constant: [0]);
    }

    [Fact]
    public void StatefulLayerCarriesStateAcrossCallsAndResets()
    {
        var stateful = Built(new LSTM(Units, returnSequences: true, stateful: true));
        var once = Built(new LSTM(Units, returnSequences: true));
        once.SetWeights(stateful.GetWeights());
        var x = GradientChecker.Random(7, -1, 1, Batch, 2 * Time, Features);
        var first = Steps(x, 0, Time);
        var second = Steps(x, Time, Time);

        var whole = once.Apply(x);
        var a = stateful.Apply(first);
        var b = stateful.Apply(second);
        Assert.Equal(Steps(whole, 0, Time).ToArray(), a.ToArray());
        Assert.Equal(Steps(whole, Time, Time).ToArray(), b.ToArray());

        // ResetStates: the next call starts from zeros again.
        stateful.ResetStates();
        Assert.Equal(a.ToArray(), stateful.Apply(first).ToArray());

        // ResetStates(samples): only sample 1 restarts; sample 0 continues.
        stateful.ResetStates([1]);
        var mixed = stateful.Apply(second);
        var fresh = once.Apply(second);
        for (int t = 0; t < Time; t++)
        {
            for (int u = 0; u < Units; u++)
            {
                Assert.Equal(b[0, t, u], mixed[0, t, u]);
                Assert.Equal(fresh[1, t, u], mixed[1, t, u]);
            }
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => stateful.ResetStates([Batch]));
        var wrongBatch = GradientChecker.Random(8, -1, 1, Batch + 1, Time, Features);
        var e = Assert.Throws<ArgumentException>(() => stateful.Apply(wrongBatch));
        Assert.Contains("batch size", e.Message);
        Assert.Contains(stateful.Name, e.Message);
    }

    [Fact]
    public void DropoutVariesInTrainingAndIsTheIdentityInInference()
    {
        var dropped = Built(new LSTM(Units, dropout: 0.5f, recurrentDropout: 0.5f, returnSequences: true, seed: 5));
        var plain = Built(new LSTM(Units, returnSequences: true));
        plain.SetWeights(dropped.GetWeights());
        var x = GradientChecker.Random(9, -1, 1, 4, Time, Features);

        var t1 = dropped.Apply(x, training: true).ToArray();
        var t2 = dropped.Apply(x, training: true).ToArray();
        Assert.NotEqual(t1, t2);

        var i1 = dropped.Apply(x).ToArray();
        Assert.Equal(i1, dropped.Apply(x).ToArray());
        Assert.Equal(plain.Apply(x).ToArray(), i1);
        Assert.NotEqual(t1, i1);

        // One mask per sequence: the training gradient is still exact for that mask.
        var fixedMasks = Built(new LSTM(Units, dropout: 0.3f, recurrentDropout: 0.3f, seed: 11));
        GradientChecker.CheckFloat(
            "LSTM with dropout masks",
            t =>
            {
                // A fresh generator per call, so every finite-difference evaluation draws the same masks.
                var layer = Built(new LSTM(Units, dropout: 0.3f, recurrentDropout: 0.3f, seed: 11));
                layer.SetWeights(fixedMasks.GetWeights());
                return layer.Apply(t[0], training: true);
            },
            [x]);
    }

    [Fact]
    public void UnitForgetBiasSetsTheForgetBlockToOne()
    {
        var on = Built(new LSTM(4));
        var bias = on.Bias!.Value.ToArray();
        Assert.Equal(new float[4], bias[0..4]);
        Assert.All(bias[4..8], v => Assert.Equal(1f, v));
        Assert.Equal(new float[8], bias[8..16]);
        var off = Built(new LSTM(4, unitForgetBias: false));
        Assert.All(off.Bias!.Value.ToArray(), v => Assert.Equal(0f, v));
    }

    public static TheoryData<string> Variants => new() { "standard", "vanilla", "original1997", "NIG", "NFG", "NOG", "NIAF", "NOAF", "CIFG", "FGR" };

    [Theory]
    [MemberData(nameof(Variants))]
    public void EveryVariantBuildsAndTrainsOneStepWithoutNaN(string variant)
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(21);
        var (x, y) = Models.SequentialTests.MarkedComparison(16, 5, seed: 4);
        var model = new Sequential([new LSTM(4, variant: LstmVariant.FromName(variant), inputShape: [5, 2]), new Dense(1, activation: "sigmoid")]);
        model.Compile(new Adam(0.01), "binary_crossentropy");
        var before = model.GetWeights();
        var history = model.Fit(x, y, batchSize: 16, epochs: 1, verbose: 0, shuffle: false);
        Assert.True(double.IsFinite(history["loss"][0]), $"{variant}: loss {history["loss"][0]}");
        var after = model.GetWeights();
        Assert.All(after.SelectMany(w => w), v => Assert.True(float.IsFinite(v)));
        Assert.NotEqual(before[0], after[0]);
        Assert.All(model.Predict(x).ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void ConstraintsProjectTheWeightsAfterEachStep()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(5);
        var (x, y) = Models.SequentialTests.MarkedComparison(32, 5, seed: 6);
        var lstm = new LSTM(4, kernelConstraint: new MaxNorm(0.3), recurrentConstraint: new NonNeg(), inputShape: [5, 2]);
        var model = new Sequential([lstm, new Dense(1, activation: "sigmoid")]);
        model.Compile(new Sgd(0.5), "binary_crossentropy");
        _ = model.CountParams();
        Assert.True(ColumnNorms(lstm.Kernel!.Value).Max() > 0.3, "the initial kernel should violate the constraint for the test to mean anything");
        model.Fit(x, y, batchSize: 32, epochs: 1, verbose: 0);
        Assert.All(ColumnNorms(lstm.Kernel!.Value), n => Assert.True(n <= 0.3 + 1e-5, $"column norm {n}"));
        Assert.All(lstm.RecurrentKernel!.Value.ToArray(), v => Assert.True(v >= 0));
    }

    [Fact]
    public void RegularizersAddTheirPenaltyToTheLoss()
    {
        var (x, y) = Models.SequentialTests.MarkedComparison(16, 5, seed: 8);
        (Sequential Model, LSTM Lstm) Make(IRegularizer? kernel, IRegularizer? recurrent)
        {
            Layer.ClearSession();
            Layer.SetRandomSeed(9);
            var lstm = new LSTM(4, kernelRegularizer: kernel, recurrentRegularizer: recurrent, inputShape: [5, 2]);
            var m = new Sequential([lstm, new Dense(1, activation: "sigmoid")]);
            m.Compile(new Sgd(0.0), "binary_crossentropy");
            _ = m.CountParams();
            return (m, lstm);
        }

        var (plain, _) = Make(null, null);
        var (regular, lstm) = Make(new L2(0.05), new L1(0.02));
        double expected = (0.05 * lstm.Kernel!.Value.ToArray().Sum(v => (double)v * v)) + (0.02 * lstm.RecurrentKernel!.Value.ToArray().Sum(v => Math.Abs((double)v)));
        double lossPlain = plain.TrainOnBatch(x, y);
        double lossRegular = regular.TrainOnBatch(x, y);
        Assert.True(expected > 0.01);
        Assert.Equal(lossPlain + expected, lossRegular, 1e-4);
    }

    [Fact]
    public void ConstructorAndCallErrorsNameTheLayer()
    {
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => new LSTM(0, name: "bad"));
        Assert.Contains("'bad'", e1.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LSTM(3, dropout: 1f));
        var lstm = Built(new LSTM(Units, name: "shapes"));
        var e2 = Assert.Throws<ArgumentException>(() => lstm.Apply(new Tensor(2, 4, Features + 1)));
        Assert.Contains("LSTM 'shapes'", e2.Message);
        Assert.Contains($"[2, 4, {Features + 1}]", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => lstm.Apply([new Tensor(2, 4, Features), new Tensor(2, Units)], null, false, out _));
        Assert.Contains("initial_state", e3.Message);
    }

    internal static LSTM Built(LSTM layer)
    {
        layer.Build([-1, Features]);
        return layer;
    }

    internal static Tensor[] Weights(Layer layer) => layer.Parameters.Select(p => p.Value).ToArray();

    /// <summary>x[:, T-1-t] at step t.</summary>
    internal static Tensor Reversed(Tensor x)
    {
        int b = x.Dim(0), t = x.Dim(1), f = x.Dim(2);
        var y = new Tensor(b, t, f);
        for (int i = 0; i < b; i++)
        {
            for (int s = 0; s < t; s++)
            {
                x.Span.Slice(((i * t) + s) * f, f).CopyTo(y.Span.Slice(((i * t) + (t - 1 - s)) * f, f));
            }
        }

        return y;
    }

    /// <summary>Steps [start, start + count) of a [batch, time, features] tensor, copied.</summary>
    internal static Tensor Steps(Tensor x, int start, int count)
    {
        int b = x.Dim(0), t = x.Dim(1), f = x.Dim(2);
        var y = new Tensor(b, count, f);
        for (int i = 0; i < b; i++)
        {
            x.Span.Slice(((i * t) + start) * f, count * f).CopyTo(y.Span.Slice(i * count * f, count * f));
        }

        return y;
    }

    private static double[] ColumnNorms(Tensor w)
    {
        int rows = w.Dim(0), cols = w.Dim(1);
        return Enumerable.Range(0, cols).Select(c => Math.Sqrt(Enumerable.Range(0, rows).Sum(r => (double)w[r, c] * w[r, c]))).ToArray();
    }
}
