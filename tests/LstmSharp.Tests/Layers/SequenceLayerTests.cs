using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Layers;

/// <summary>Concatenate, Add, RepeatVector, TimeDistributed and Masking: values, gradients, masks, shapes, configs.</summary>
public class SequenceLayerTests
{
    [Fact]
    public void ConcatenateJoinsFeaturesOrTimeAndItsGradientChecks()
    {
        var a = GradientChecker.Random(1, -1, 1, 2, 3, 2);
        var b = GradientChecker.Random(2, -1, 1, 2, 3, 4);
        var features = new Concatenate();
        var y = features.Apply([a, b], null, false, out _)[0];
        Assert.Equal([2, 3, 6], y.ShapeArray);
        Assert.Equal(b[1, 2, 3], y[1, 2, 5]);
        Assert.Equal(a[1, 2, 1], y[1, 2, 1]);
        Assert.Equal([3, 6], features.ComputeOutputShapes([[3, 2], [3, 4]])[0]);
        Assert.Equal([-1, 6], features.ComputeOutputShapes([[-1, 2], [-1, 4]])[0]);
        GradientChecker.CheckFloat("Concatenate features", t => new Concatenate().Apply([t[0], t[1]], null, false, out _)[0], [a, b]);

        var c = GradientChecker.Random(3, -1, 1, 2, 5, 2);
        var time = new Concatenate(axis: 1);
        Assert.Equal([2, 8, 2], time.Apply([a, c], null, false, out _)[0].ShapeArray);
        GradientChecker.CheckFloat("Concatenate time", t => new Concatenate(axis: 1).Apply([t[0], t[1]], null, false, out _)[0], [a, c]);

        var e = Assert.Throws<ArgumentException>(() => new Concatenate(name: "cat").Apply([a, c], null, false, out _));
        Assert.Contains("Concatenate 'cat'", e.Message);
        Assert.Contains("5, 2]", e.Message);
        Assert.Contains("batch axis", Assert.Throws<ArgumentException>(() => new Concatenate(axis: 0).Apply([a, a], null, false, out _)).Message);
    }

    [Fact]
    public void ConcatenateMasksFollowKeras()
    {
        var a = new Tensor(1, 3, 2);
        var b = new Tensor(1, 3, 1);
        var ma = Tensor.FromArray([1, 0, 0], 1, 3);
        var mb = Tensor.FromArray([0, 1, 0], 1, 3);

        // Features: a step is valid when either input is valid there.
        new Concatenate().Apply([a, b], [ma, mb], false, out var union);
        Assert.Equal([1f, 1f, 0f], union[0]!.ToArray());

        // An input without a mask counts as all valid.
        new Concatenate().Apply([a, b], [ma, null], false, out var withOnes);
        Assert.Equal([1f, 1f, 1f], withOnes[0]!.ToArray());

        // Time: the masks one after the other.
        new Concatenate(axis: 1).Apply([a, a], [ma, mb], false, out var joined);
        Assert.Equal([1f, 0f, 0f, 0f, 1f, 0f], joined[0]!.ToArray());

        new Concatenate().Apply([a, b], null, false, out var none);
        Assert.Null(none[0]);
    }

    [Fact]
    public void AddSumsInputsAndAndsTheirMasks()
    {
        var a = GradientChecker.Random(4, -1, 1, 2, 3, 4);
        var b = GradientChecker.Random(5, -1, 1, 2, 3, 4);
        var c = GradientChecker.Random(6, -1, 1, 2, 3, 4);
        var y = new Add().Apply([a, b, c], null, false, out _)[0];
        Assert.Equal(a[1, 2, 3] + b[1, 2, 3] + c[1, 2, 3], y[1, 2, 3], 1e-6);
        GradientChecker.CheckFloat("Add", t => new Add().Apply([t[0], t[1], t[2]], null, false, out _)[0], [a, b, c]);

        var ma = Tensor.FromArray([1, 1, 0, 1, 0, 1], 2, 3);
        var mb = Tensor.FromArray([1, 0, 0, 1, 1, 1], 2, 3);
        new Add().Apply([a, b], [ma, mb], false, out var masks);
        Assert.Equal([1f, 0f, 0f, 1f, 0f, 1f], masks[0]!.ToArray());
        new Add().Apply([a, b], [null, mb], false, out var one);
        Assert.Equal(mb.ToArray(), one[0]!.ToArray());

        var e = Assert.Throws<ArgumentException>(() => new Add(name: "plus").Apply([a, new Tensor(2, 3, 5)], null, false, out _));
        Assert.Contains("Add 'plus'", e.Message);
        Assert.Contains("3, 5]", e.Message);
    }

    [Fact]
    public void RepeatVectorCopiesAlongTimeAndSumsTheGradient()
    {
        var x = GradientChecker.Random(7, -1, 1, 2, 3);
        var layer = new RepeatVector(4);
        var y = layer.Apply(x);
        Assert.Equal([2, 4, 3], y.ShapeArray);
        for (int t = 0; t < 4; t++)
        {
            Assert.Equal(x[1, 2], y[1, t, 2]);
        }

        Assert.Equal([4, 3], layer.ComputeOutputShape([3]));
        GradientChecker.CheckFloat("RepeatVector", t => layer.Apply(t[0]), [x]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RepeatVector(0));
        Assert.Contains("RepeatVector 'rv'", Assert.Throws<ArgumentException>(() => new RepeatVector(2, name: "rv").Apply(new Tensor(2, 3, 4))).Message);
    }

    [Fact]
    public void TimeDistributedDenseAppliesTheSameWeightsAtEveryStep()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(3);
        var dense = new Dense(2, activation: "tanh");
        var td = new TimeDistributed(dense);
        var x = GradientChecker.Random(8, -1, 1, 2, 5, 3);
        var y = td.Apply(x, null, false, out _);
        Assert.Equal([2, 5, 2], y.ShapeArray);
        Assert.Equal(["time_distributed/dense/kernel", "time_distributed/dense/bias"], td.Parameters.Select(p => p.Path).ToArray());
        Assert.Equal(3 * 2 + 2, td.CountParams());
        Assert.Equal([-1, 2], td.ComputeOutputShape([-1, 3]));

        for (int t = 0; t < 5; t++)
        {
            var step = dense.Apply(Ops.TimeStep(x, t));
            for (int b = 0; b < 2; b++)
            {
                Assert.Equal(step[b, 0], y[b, t, 0], 1e-6);
                Assert.Equal(step[b, 1], y[b, t, 1], 1e-6);
            }
        }

        GradientChecker.CheckFloat("TimeDistributed(Dense)", t => td.Apply(t[0]), [x, dense.Kernel!.Value, dense.Bias!.Value]);

        // The mask passes through.
        var mask = Tensor.FromArray([1, 1, 0, 0, 0, 1, 1, 1, 1, 1], 2, 5);
        td.Apply(x, mask, false, out var outMask);
        Assert.Same(mask, outMask);
        Assert.Contains("TimeDistributed", Assert.Throws<ArgumentException>(() => td.Apply(new Tensor(2, 3))).Message);
        Assert.Throws<ArgumentException>(() => new TimeDistributed(new LSTM(2, stateful: true)));
    }

    [Fact]
    public void MaskingMasksStepsWhoseFeaturesAllEqualTheValueAndZeroesThem()
    {
        var x = Tensor.FromArray(
            [
                -1, -1, 2, 3, -1, 0,
                -1, -1, -1, -1, 5, -1,
            ],
            2,
            3,
            2);
        var masking = new Masking(-1f);
        var y = masking.Apply(x, null, false, out var mask);
        Assert.Equal([0f, 1f, 1f, 0f, 0f, 1f], mask!.ToArray());
        Assert.Equal([0f, 0f, 2f, 3f, -1f, 0f, 0f, 0f, 0f, 0f, 5f, -1f], y.ToArray());
        GradientChecker.CheckFloat("Masking", t => new Masking(-1f).Apply(t[0]), [GradientChecker.Random(9, -2, 2, 2, 3, 2)]);
        var grad = new Tensor(x.ShapeArray);
        x.RequiresGrad = true;
        using (var tape = Tape.Record())
        {
            var z = masking.Apply(x);
            tape.Backward(z, Tensor.Full(1f, 2, 3, 2));
        }

        Assert.Equal([0f, 0f, 1f, 1f, 1f, 1f, 0f, 0f, 0f, 0f, 1f, 1f], x.Grad!.ToArray());
        Assert.Throws<ArgumentException>(() => new Masking(float.NaN));
    }

    [Fact]
    public void MaskingBeforeAnLstmSkipsThePaddedSteps()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(4);
        var lstm = new LSTM(3);
        var padded = GradientChecker.Random(10, 0.1f, 1, 1, 5, 2);
        for (int f = 0; f < 2; f++)
        {
            padded[0, 0, f] = 0;
            padded[0, 4, f] = 0;
        }

        var y = new Masking().Apply(padded, null, false, out var mask);
        var masked = lstm.Apply(y, mask, false, out _);
        var plain = lstm.Apply(Recurrent.LstmLayerTests.Steps(padded, 1, 3));
        Assert.Equal(plain.ToArray().Select(v => (double)v), masked.ToArray().Select(v => (double)v), (p, q) => Math.Abs(p - q) < 1e-6);
    }

    [Fact]
    public void ConfigsRoundTripThroughTheRegistry()
    {
        Layer.ClearSession();
        Layer[] layers =
        [
            new Concatenate(axis: 1, name: "c"),
            new Add(name: "a"),
            new RepeatVector(7, name: "r", inputShape: [3]),
            new TimeDistributed(new Dense(4, activation: "relu", name: "inner"), name: "td"),
            new Masking(-2.5f, name: "m", inputShape: [-1, 3]),
        ];
        foreach (var layer in layers)
        {
            var copy = LayerRegistry.FromConfig(layer.ClassName, layer.GetConfig());
            Assert.Equal(layer.GetType(), copy.GetType());
            Assert.Equal(layer.GetConfig().ToJsonString(), copy.GetConfig().ToJsonString());
        }

        Assert.Equal(-2.5f, ((Masking)LayerRegistry.FromConfig("Masking", layers[4].GetConfig())).MaskValue);
        Assert.Equal("inner", ((TimeDistributed)LayerRegistry.FromConfig("TimeDistributed", layers[3].GetConfig())).Inner.Name);
    }
}
