using LstmSharp.Interop.Keras;
using LstmSharp.Interop.Onnx;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Kernels;
using LstmSharp.Tests.Recurrent.Harness;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// <see cref="LayerNormLSTM"/> as a layer: weights, parameter count, shapes, config and
/// save/load (also inside Bidirectional), stateful states, the same bits for any thread count,
/// training that moves the loss, and the exporters' refusal by name. Its equations are checked
/// against the double reference and finite differences in <see cref="LayerNormLstmReferenceTests"/>
/// and against RNN(LayerNormLstmAutogradCell) to 1e-5 in <see cref="RnnCellTests"/>.
/// </summary>
[Collection(WorkerPoolCollection.Name)]
public class LayerNormLstmTests
{
    [Fact]
    public void WeightsCountsAndShapes()
    {
        var layer = new LayerNormLSTM(128, returnSequences: true, returnState: true, inputShape: [28, 28]);
        Assert.Equal(80_384 + (10 * 128), layer.CountParams());
        Assert.Equal(["kernel", "recurrent_kernel", "bias", "input_gamma", "recurrent_gamma", "cell_gamma", "cell_beta"], layer.Parameters.Select(p => p.Name));
        Assert.All(layer.InputGamma!.Value.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(layer.CellBeta!.Value.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(layer.Bias!.Value.ToArray().Skip(128).Take(128), v => Assert.Equal(1f, v));
        var shapes = layer.ComputeOutputShapes([[28, 28]]);
        Assert.Equal([28, 128], shapes[0]);
        Assert.Equal([128], shapes[2]);
        Assert.Equal(new LayerNormLSTM(4, useBias: false, inputShape: [3, 2]).CountParams(), new RNN(new LayerNormLstmAutogradCell(4, useBias: false), inputShape: [3, 2]).CountParams());
    }

    [Fact]
    public void SavesLoadsAndRebuildsInsideBidirectional()
    {
        Layer.SetRandomSeed(12);
        var model = new Sequential(
        [
            new Bidirectional(new LayerNormLSTM(5, returnSequences: true, name: "ln"), inputShape: [6, 3]),
            new LayerNormLSTM(4, goBackwards: true, useBias: false, activation: "relu", name: "top"),
            new Dense(2),
        ]);
        var x = Random(1, 3, 6, 3);
        var mask = Tensor.FromArray([.. Enumerable.Repeat(1f, 6), 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1], 3, 6);
        var before = model.Predict(x);
        string path = Path.Combine(Path.GetTempPath(), $"lnlstm-{Guid.NewGuid():N}.lstm");
        try
        {
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(before.ToArray(), loaded.Predict(x).ToArray());
            var top = Assert.IsType<LayerNormLSTM>(loaded.Layers[1]);
            Assert.True(top.GoBackwards && !top.UseBias);
            Assert.Equal(model.Layers[1].GetConfig().ToJsonString(), top.GetConfig().ToJsonString());
        }
        finally
        {
            File.Delete(path);
        }

        // A mask changes the masked rows only.
        var layer = new LayerNormLSTM(3, returnSequences: true);
        var full = layer.Apply([x], [null], training: false, out _)[0].ToArray();
        var masked = layer.Apply([x], [mask], training: false, out _)[0].ToArray();
        Assert.Equal(full.AsSpan(0, 18).ToArray(), masked.AsSpan(0, 18).ToArray());
        Assert.NotEqual(full.AsSpan(18).ToArray(), masked.AsSpan(18).ToArray());
    }

    [Fact]
    public void StatefulCarriesBothStates()
    {
        Layer.SetRandomSeed(2);
        var layer = new LayerNormLSTM(4, stateful: true, inputShape: [5, 2]);
        var x = Random(3, 2, 5, 2);
        var first = layer.Apply([x], [null], training: false, out _)[0].ToArray();
        var second = layer.Apply([x], [null], training: false, out _)[0].ToArray();
        Assert.NotEqual(first, second);
        layer.ResetStates();
        Assert.Equal(first, layer.Apply([x], [null], training: false, out _)[0].ToArray());
    }

    [Theory]
    [InlineData("all", 9, 1)]
    [InlineData("mask-holes", 130, 64)]
    public void IsBitIdenticalForAnyThreadCount(string option, int batch, int chunkRows)
    {
        var o = ReferenceHarness.Options[option] with { Batch = batch, Units = 20, Input = 3, Time = 6 };
        var e = CellRegistry.Get("lnlstm/standard");
        SequenceChunkTests.WithChunkRows(chunkRows, () => SequenceChunkTests.AssertSameBitsForThreadCounts(() =>
        {
            var c = new HarnessCase(o, 2);
            var rng = new Random(3);
            var parameters = e.Reference(o.Input, o.Units).Parameters.Select(p => (p.Name, Values: SeqCase.Uniform(rng, p.Values.Length, 0.5f))).ToList();
            var gradients = parameters.Select(p => new float[p.Values.Length]).ToList();
            var r = e.Kernel(o.Input, o.Units).Run(c, parameters, gradients);
            return [r.Sequence, r.Last, .. r.Finals, r.Dx, .. r.DInitial.Select(d => d ?? []), .. gradients];
        }));
    }

    [Fact]
    public void OnnxAndKerasExportRefuseItByName()
    {
        var model = new Sequential([new LayerNormLSTM(4, name: "lnl", inputShape: [3, 2])]);
        var e = Assert.Throws<NotSupportedException>(() => model.ToOnnxBytes());
        Assert.Contains("'lnl'", e.Message);
        var k = Assert.Throws<NotSupportedException>(() => model.SaveKeras(Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}.keras")));
        Assert.Contains("'lnl'", k.Message);
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        Assert.Contains("units", Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNormLSTM(0)).Message);
        Assert.Contains("dropout", Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNormLSTM(3, dropout: 1f)).Message);
        var layer = new LayerNormLSTM(3, inputShape: [4, 2], name: "ln_args");
        var e = Assert.Throws<ArgumentException>(() => layer.Apply([Random(1, 2, 4, 5)], [null], training: false, out _));
        Assert.Contains("ln_args", e.Message);
    }

    /// <summary>
    /// Sequences that open with blank steps (as MNIST's top rows) give LN of constant vectors,
    /// whose gradient is ×1/√ε per step: with the default ε training stays finite (with 1e-5 the
    /// first MNIST epoch of the experiment overflowed to NaN); ε round-trips through the config.
    /// </summary>
    [Fact]
    public void BlankLeadingStepsTrainToFiniteWeights()
    {
        Layer.SetRandomSeed(4);
        var x = Random(7, 64, 28, 28);
        var xs = x.Span;
        for (int b = 0; b < 64; b++)
        {
            xs.Slice(b * 28 * 28, 8 * 28).Clear(); // 8 blank rows first
        }

        var y = new Tensor(64, 10);
        for (int b = 0; b < 64; b++)
        {
            y[b, b % 10] = 1f;
        }

        var model = new Sequential([new LayerNormLSTM(32, inputShape: [28, 28]), new Dense(10), new Activation("softmax")]);
        model.Compile(new LstmSharp.Training.Adam(0.001), "categorical_crossentropy");
        for (int step = 0; step < 5; step++)
        {
            Assert.True(double.IsFinite(model.TrainOnBatch(x, y)), $"loss at step {step}");
        }

        Assert.All(model.Parameters, p => Assert.True(p.Value.ToArray().All(float.IsFinite), $"{p.Path} has a non-finite value"));
        var layer = new LayerNormLSTM(3, normEpsilon: 1e-4f);
        Assert.Equal(1e-4f, LayerNormLSTM.FromConfig(layer.GetConfig()).NormEpsilon);
        Assert.Contains("normEpsilon", Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNormLSTM(3, normEpsilon: 0f)).Message);
    }

    private static Tensor Random(int seed, params int[] shape)
    {
        var rng = new Random(seed);
        var t = new Tensor(shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return t;
    }
}
