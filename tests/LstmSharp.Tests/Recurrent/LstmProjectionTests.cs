using System.Text.Json.Nodes;
using LstmSharp.Interop.Keras;
using LstmSharp.Interop.Onnx;
using LstmSharp.Interop.Torch;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;
using LstmSharp.Tests.Interop;
using LstmSharp.Tests.Kernels;
using LstmSharp.Tests.Recurrent.Harness;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// LSTM with projection (LSTMP, PyTorch <c>proj_size</c>) as a layer: shapes, states, config and
/// save/load, Bidirectional, PyTorch's own outputs and parameter counts (fixtures written by
/// <c>make_proj_fixtures.py</c> with torch 1.13), the same bits for any thread count, every SIMD
/// path against the double reference, and the errors of the exporters that cannot hold it.
/// The equations are checked against the double reference in <see cref="LstmReferenceTests"/>
/// (registry entries <c>lstm/*+proj</c>, fused kernel and RNN(LstmAutogradCell)).
/// </summary>
[Collection(WorkerPoolCollection.Name)]
public class LstmProjectionTests
{
    [Fact]
    public void OutputsAndStatesHaveTheProjectedAndTheCellSizes()
    {
        var lstm = new LSTM(6, returnSequences: true, returnState: true, projSize: 3, inputShape: [7, 5]);
        var shapes = lstm.ComputeOutputShapes([[7, 5]]);
        Assert.Equal([7, 3], shapes[0]);
        Assert.Equal([3], shapes[1]);
        Assert.Equal([6], shapes[2]);
        var outs = lstm.Apply([Random(1, 2, 7, 5)], [null], training: false, out _);
        Assert.Equal([2, 7, 3], outs[0].ShapeArray);
        Assert.Equal([2, 3], outs[1].ShapeArray);
        Assert.Equal([2, 6], outs[2].ShapeArray);
        Assert.Equal(["kernel", "recurrent_kernel", "bias", "projection_kernel"], lstm.Parameters.Select(p => p.Name));
        Assert.Equal([6, 3], lstm.ProjectionKernel!.Value.ShapeArray);
        Assert.Equal([3, 24], lstm.RecurrentKernel!.Value.ShapeArray);

        // Initial states [h: P, c: units]; the wrong size is named.
        var h0 = Random(2, 2, 3);
        var c0 = Random(3, 2, 6);
        var withState = lstm.Apply([Random(1, 2, 7, 5), h0, c0], [null, null, null], training: false, out _);
        Assert.NotEqual(outs[0].ToArray(), withState[0].ToArray());
        var e = Assert.Throws<ArgumentException>(() => lstm.Apply([Random(1, 2, 7, 5), c0, c0], [null, null, null], training: false, out _));
        Assert.Contains("initial state [2, 3]", e.Message);
        var neg = Assert.Throws<ArgumentOutOfRangeException>(() => new LSTM(4, projSize: -1));
        Assert.Contains("projSize", neg.Message);
    }

    /// <summary>PyTorch counts W_ih, W_hh, b_ih, b_hh and W_hr: with bias=False the counts are equal; with biases LstmSharp holds their sum (one 4·units bias fewer).</summary>
    [Theory]
    [InlineData("lstm_proj", 5, 6, 3, true)]
    [InlineData("lstm_proj_nobias", 4, 7, 2, false)]
    public void ParameterCountIsPyTorchsLessTheDuplicateBias(string name, int input, int units, int proj, bool bias)
    {
        var counts = JsonNode.Parse(File.ReadAllText(FrameworkFixtures.Torch("proj_counts.json")))!.AsObject();
        long torch = counts[name]!.GetValue<long>();
        var lstm = new LSTM(units, useBias: bias, projSize: proj, inputShape: [-1, input]);
        Assert.Equal(torch - (bias ? 4 * units : 0), lstm.CountParams());
        Assert.Equal(lstm.CountParams(), new LstmLayout(LstmVariant.Standard, input, units, bias, proj).ParameterCount);
        var cell = new RNN(new LstmAutogradCell(units, useBias: bias, projSize: proj), inputShape: [-1, input]);
        Assert.Equal(lstm.CountParams(), cell.CountParams());
    }

    /// <summary>PyTorch's nn.LSTM(proj_size) outputs and final states, from its state dict, to 1e-5.</summary>
    [Theory]
    [InlineData("lstm_proj")]
    [InlineData("lstm_proj_nobias")]
    [InlineData("lstm_proj2_bi")]
    public void ReproducesPyTorch(string name)
    {
        var sd = TorchStateDict.Load(FrameworkFixtures.Torch(name + ".pt"));
        var model = TorchImport.BuildSequential(sd);
        var x = FrameworkFixtures.Npy(FrameworkFixtures.Torch(name + "_x.npy"));
        FrameworkFixtures.AssertClose(name, FrameworkFixtures.Npy(FrameworkFixtures.Torch(name + "_y.npy")), model.Predict(x));

        if (name != "lstm_proj2_bi")
        {
            // Final states of a one-layer module: h_n [1, B, P], c_n [1, B, units].
            var src = (LSTM)model.Layers[0];
            var lstm = new LSTM(src.Units, useBias: src.UseBias, returnState: true, projSize: src.ProjSize);
            lstm.Build([-1, x.Dim(2)]);
            lstm.SetWeights(src.GetWeights());
            var outs = lstm.Apply([x], [null], training: false, out _);
            var hn = FrameworkFixtures.Npy(FrameworkFixtures.Torch(name + "_hn.npy"));
            var cn = FrameworkFixtures.Npy(FrameworkFixtures.Torch(name + "_cn.npy"));
            FrameworkFixtures.AssertClose(name + " h_n", Tensor.FromArray(hn.ToArray(), hn.Dim(1), hn.Dim(2)), outs[1]);
            FrameworkFixtures.AssertClose(name + " c_n", Tensor.FromArray(cn.ToArray(), cn.Dim(1), cn.Dim(2)), outs[2]);
        }
    }

    [Fact]
    public void TheImporterMapsWeightHrAndRefusesAMismatchedProjection()
    {
        var model = new Sequential([new LSTM(6, returnSequences: true, projSize: 3, inputShape: [-1, 5], name: "p")]);
        var log = model.LoadTorchStateDict(FrameworkFixtures.Torch("lstm_proj.pt"));
        Assert.Contains(log, m => m.TorchName == "weight_hr_l0" && m.ParameterPath == "p/projection_kernel");

        var plain = new Sequential([new LSTM(6, returnSequences: true, inputShape: [-1, 5], name: "plain")]);
        var e = Assert.Throws<TorchFormatException>(() => plain.LoadTorchStateDict(FrameworkFixtures.Torch("lstm_proj.pt")));
        FrameworkFixtures.AssertMentions(e, "proj_size=3");
        FrameworkFixtures.AssertMentions(e, "LSTM 'plain'");

        var other = new Sequential([new LSTM(6, returnSequences: true, projSize: 2, inputShape: [-1, 5], name: "two")]);
        e = Assert.Throws<TorchFormatException>(() => other.LoadTorchStateDict(FrameworkFixtures.Torch("lstm_proj.pt")));
        FrameworkFixtures.AssertMentions(e, "projSize=2");

        // A projection-less state dict into an LSTM with projection: the extra weight is named.
        var extra = new Sequential([new LSTM(5, returnSequences: true, projSize: 2, inputShape: [-1, 3], name: "e1"), new LSTM(5, returnSequences: true, name: "e2")]);
        e = Assert.Throws<TorchFormatException>(() => extra.LoadTorchStateDict(FrameworkFixtures.Torch("lstm2.pt")));
        FrameworkFixtures.AssertMentions(e, "e1");
    }

    [Fact]
    public void SavesLoadsAndRebuildsFromItsConfigAlsoInsideBidirectional()
    {
        Layer.SetRandomSeed(31);
        var model = new Sequential(
        [
            new Bidirectional(new LSTM(6, returnSequences: true, projSize: 4, name: "enc"), inputShape: [5, 3]),
            new LSTM(7, projSize: 2, goBackwards: true, name: "top"),
            new Dense(2),
        ]);
        Assert.Equal([2, 5, 8], model.Layers[0].ComputeOutputShapes([[5, 3]])[0].Prepend(2).ToArray());
        var x = Random(4, 3, 5, 3);
        var before = model.Predict(x);
        Assert.Equal([3, 2], before.ShapeArray);
        string path = Path.Combine(Path.GetTempPath(), $"lstm-proj-{Guid.NewGuid():N}.lstm");
        try
        {
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(before.ToArray(), loaded.Predict(x).ToArray());
            var top = Assert.IsType<LSTM>(loaded.Layers[1]);
            Assert.Equal(2, top.ProjSize);
            Assert.Equal(2, top.GetConfig()["proj_size"]!.GetValue<int>());
            Assert.Equal(4, ((Bidirectional)loaded.Layers[0]).Backward.GetConfig()["proj_size"]!.GetValue<int>());
        }
        finally
        {
            File.Delete(path);
        }

        // No proj_size key without a projection (configs of existing models are unchanged).
        Assert.Null(new LSTM(3).GetConfig()["proj_size"]);
    }

    [Fact]
    public void StatefulCarriesHAndCOfTheirOwnSizes()
    {
        Layer.SetRandomSeed(5);
        var lstm = new LSTM(5, stateful: true, projSize: 2, inputShape: [4, 3]);
        var x = Random(9, 3, 4, 3);
        var first = lstm.Apply([x], [null], training: false, out _)[0];
        Assert.Equal([3, 2], lstm.States![0].ShapeArray);
        Assert.Equal([3, 5], lstm.States[1].ShapeArray);
        var second = lstm.Apply([x], [null], training: false, out _)[0];
        Assert.NotEqual(first.ToArray(), second.ToArray());
        lstm.ResetStates([1]);
        Assert.All(lstm.States[0].ToArray().Skip(2).Take(2), v => Assert.Equal(0f, v));
        Assert.All(lstm.States[1].ToArray().Skip(5).Take(5), v => Assert.Equal(0f, v));
        lstm.ResetStates();
        Assert.Equal(first.ToArray(), lstm.Apply([x], [null], training: false, out _)[0].ToArray());
    }

    [Fact]
    public void OnnxAndKerasExportRefuseItByName()
    {
        var model = new Sequential([new LSTM(4, projSize: 2, name: "lstmp", inputShape: [3, 2])]);
        var e = Assert.Throws<NotSupportedException>(() => model.ToOnnxBytes());
        Assert.Contains("LSTM 'lstmp'", e.Message);
        Assert.Contains("proj_size=2", e.Message);
        var k = Assert.Throws<NotSupportedException>(() => model.SaveKeras(Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}.keras")));
        Assert.Contains("'lstmp'", k.Message);
        Assert.Contains("projection", k.Message);
        var r = Assert.Throws<NotSupportedException>(() => LstmGateRecorder.Record((LSTM)model.Layers[0], Random(1, 3, 2)));
        Assert.Contains("'lstmp'", r.Message);
    }

    /// <summary>Batch chunks of one row (the GEMV path of the per-step products), two chunks of 65, and the per-step row fork: the same bits for 1, 2 and 3 threads.</summary>
    [Theory]
    [InlineData("standard+proj", "all", 9, 1, false)]
    [InlineData("vanilla+proj", "mask-holes", 130, 64, false)]
    [InlineData("standard+projwide", "dropout", 40, 1000, true)]
    public void IsBitIdenticalForAnyThreadCount(string entry, string option, int batch, int chunkRows, bool forkRows)
    {
        int savedFork = LstmKernel.ParallelRowMinFloats;
        try
        {
            if (forkRows)
            {
                LstmKernel.ParallelRowMinFloats = 0;
            }

            var o = ReferenceHarness.Options[option] with { Batch = batch, Units = 20, Input = 3, Time = 6 };
            var e = CellRegistry.Get("lstm/" + entry);
            SequenceChunkTests.WithChunkRows(chunkRows, () => SequenceChunkTests.AssertSameBitsForThreadCounts(() =>
            {
                var c = new HarnessCase(o, 2, e.OutputSize!(o.Units));
                var reference = e.Reference(o.Input, o.Units);
                var rng = new Random(3);
                var parameters = reference.Parameters.Select(p => (p.Name, Values: SeqCase.Uniform(rng, p.Values.Length, 0.5f))).ToList();
                var gradients = parameters.Select(p => new float[p.Values.Length]).ToList();
                var r = e.Kernel(o.Input, o.Units).Run(c, parameters, gradients);
                return [r.Sequence, r.Last, .. r.Finals, r.Dx, .. r.DInitial.Select(d => d ?? []), .. gradients];
            }));
        }
        finally
        {
            LstmKernel.ParallelRowMinFloats = savedFork;
        }
    }

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void EverySimdPathMatchesTheDoubleReference(SimdPath path) =>
        SimdChildProcess.Run(path, typeof(LstmProjectionTests), nameof(ReferenceOnThisPath));

    internal static void ReferenceOnThisPath()
    {
        foreach (var entry in new[] { "lstm/standard+proj", "lstm/vanilla+proj", "lstm/standard+projwide" })
        {
            ReferenceHarness.Check(entry, "wide-u19", Implementation.Kernel);
            ReferenceHarness.Check(entry, "all", Implementation.Kernel);
        }
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
