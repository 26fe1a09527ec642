using LstmSharp.Distributed;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Distributed;

/// <summary>
/// Data-parallel training on the in-process communicator: the final weights are the same bits
/// for 1, 2 and 3 ranks (dropout included), the step is the batch's mean gradient, and a run
/// resumed from a mid-epoch checkpoint (on another rank count) ends where the uninterrupted one does.
/// </summary>
public sealed class DistributedTrainerTests
{
    private const int Samples = 45, Time = 6, Features = 3;

    /// <summary>LSTM with input and recurrent dropout, a Dropout layer, Dense; or GRU likewise.</summary>
    internal static Model Build(string kind, int seed)
    {
        Layer.SetRandomSeed(seed);
        var m = new Sequential();
        m.Add(kind == "gru"
            ? new GRU(8, dropout: 0.2f, recurrentDropout: 0.1f, inputShape: [Time, Features])
            : new LSTM(8, dropout: 0.2f, recurrentDropout: 0.2f, inputShape: [Time, Features]));
        m.Add(new Dropout(0.3f));
        m.Add(new Dense(2));
        m.Compile(new Adam(0.01), "mse");
        return m;
    }

    internal static (Tensor X, Tensor Y) Data()
    {
        var rng = new Rng(7);
        var x = new Tensor(Samples, Time, Features);
        var y = new Tensor(Samples, 2);
        rng.FillUniform(x.Span, -1, 1);
        for (int i = 0; i < Samples; i++)
        {
            float s = 0;
            for (int t = 0; t < Time; t++)
            {
                s += x[i, t, 0] - 0.5f * x[i, t, 2];
            }

            y[i, 0] = s / Time;
            y[i, 1] = x[i, Time - 1, 1];
        }

        return (x, y);
    }

    private static float[][] Train(string kind, int ranks, DistributedOptions options, out History history)
    {
        var (x, y) = Data();
        var runs = InProcessCommunicator.Run(ranks, comm =>
        {
            // Each rank starts from different weights: rank 0's broadcast must make them equal.
            var model = Build(kind, 100 + comm.Rank);
            var h = new DistributedTrainer(model, comm).Fit([x], y, options);
            return (model.GetWeights(), h);
        }, TimeSpan.FromSeconds(120));
        for (int r = 1; r < ranks; r++)
        {
            AssertSameBits(runs[0].Item1, runs[r].Item1, $"rank {r} of {ranks}");
        }

        history = runs[0].h;
        return runs[0].Item1;
    }

    internal static void AssertSameBits(float[][] expected, float[][] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int p = 0; p < expected.Length; p++)
        {
            int differ = expected[p].Zip(actual[p]).Count(t => BitConverter.SingleToInt32Bits(t.First) != BitConverter.SingleToInt32Bits(t.Second));
            Assert.True(differ == 0, $"{what}: parameter {p} differs in {differ} of {expected[p].Length} values (first: {expected[p][0]:R} vs {actual[p][0]:R})");
        }
    }

    private static readonly DistributedOptions TwoEpochs = new() { BatchSize = 16, Epochs = 2, Seed = 5, VirtualShards = 6, Verbose = 0 };

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void OneTwoAndThreeRanksGiveTheSameBits(string kind)
    {
        var one = Train(kind, 1, TwoEpochs, out var h1);
        var two = Train(kind, 2, TwoEpochs, out var h2);
        var three = Train(kind, 3, TwoEpochs, out var h3);
        AssertSameBits(one, two, $"{kind}: 2 ranks vs 1");
        AssertSameBits(one, three, $"{kind}: 3 ranks vs 1");
        Assert.Equal(h1["loss"], h2["loss"]);
        Assert.Equal(h1["loss"], h3["loss"]);

        // It trained, and the dropout masks are in play: another seed gives other weights.
        Assert.True(h1["loss"][1] < h1["loss"][0], $"loss {h1["loss"][0]} -> {h1["loss"][1]}");
        var otherSeed = Train(kind, 1, TwoEpochs with { Seed = 6 }, out _);
        Assert.NotEqual(one[0], otherSeed[0]);

        // The bits depend on the order of the shards' sum (so their equality above is not a given): other shards, other bits.
        var otherShards = Train(kind, 1, TwoEpochs with { VirtualShards = 4 }, out _);
        Assert.NotEqual(one[0], otherShards[0]);
    }

    [Fact]
    public void DropoutMasksFollowTheSampleNotItsPositionInTheBatch()
    {
        float[] Mask(int[] samples)
        {
            using var scope = SampleRandom.Enter(11, 2, samples);
            return SampleRandom.DropoutMask("lstm/dropout", null, samples.Length * 50, 0.5f);
        }

        var pair = Mask([5, 9]);
        var alone = Mask([9]);
        Assert.Equal(pair[50..], alone);
        Assert.NotEqual(pair[..50], alone);
        Assert.Contains(0f, alone);
        Assert.Contains(2f, alone);
        Assert.False(SampleRandom.Active);
    }

    [Fact]
    public void WithoutDropoutAStepIsTheBatchMeanGradientAsInFit()
    {
        // The same model and order as Model.Fit without shuffling: equal up to float rounding (shards sum in another order than one GEMM).
        var (x, y) = Data();
        Model Plain(int seed)
        {
            Layer.SetRandomSeed(seed);
            var m = new Sequential();
            m.Add(new LSTM(8, inputShape: [Time, Features]));
            m.Add(new Dense(2));
            m.Compile(new Adam(0.01), "mse");
            return m;
        }

        var reference = Plain(3);
        reference.Fit(x, y, new FitOptions { BatchSize = 16, Epochs = 2, Shuffle = false, Verbose = 0 });
        var distributed = InProcessCommunicator.Run(2, comm =>
        {
            var m = Plain(3);
            new DistributedTrainer(m, comm).Fit([x], y, TwoEpochs with { Shuffle = false });
            return m.GetWeights();
        })[0];
        var expected = reference.GetWeights();
        for (int p = 0; p < expected.Length; p++)
        {
            for (int i = 0; i < expected[p].Length; i++)
            {
                Assert.True(Math.Abs(expected[p][i] - distributed[p][i]) <= 1e-4f, $"parameter {p}[{i}]: Fit {expected[p][i]}, distributed {distributed[p][i]}");
            }
        }
    }

    [Fact]
    public void ResumingFromAMidEpochCheckpointEqualsTheUninterruptedRun()
    {
        string dir = LstmSharp.Tests.Data.TestData.NewTempFolder("dist-resume");
        try
        {
            string checkpoint = Path.Combine(dir, "run.ckpt");
            var uninterrupted = Train("lstm", 2, TwoEpochs, out var full);

            // 3 steps per epoch: stop after 4 (inside epoch 2), then resume on another rank count.
            Train("lstm", 2, TwoEpochs with { CheckpointPath = checkpoint, MaxSteps = 4 }, out _);
            Assert.True(File.Exists(DistributedTrainer.ProgressPath(checkpoint)));
            Assert.Contains("\"step\": 1", File.ReadAllText(DistributedTrainer.ProgressPath(checkpoint)));

            // Killed after the progress file, before the rename: the model is still only in ".next".
            File.Move(checkpoint, checkpoint + ".next");
            File.WriteAllText(checkpoint, "an older checkpoint");
            var resumed = Train("lstm", 3, TwoEpochs with { CheckpointPath = checkpoint, Resume = true }, out var rest);
            AssertSameBits(uninterrupted, resumed, "resumed vs uninterrupted");
            Assert.Equal([1], rest.Epochs);

            // A checkpoint of another run is refused with the reason.
            var e = Assert.Throws<AggregateException>(() => Train("lstm", 1, TwoEpochs with { CheckpointPath = checkpoint, Resume = true, BatchSize = 8 }, out _));
            Assert.Contains("batch_size 16, this run has 8", e.InnerException!.Message);
        }
        finally
        {
            LstmSharp.Tests.Data.TestData.DeleteFolder(dir);
        }
    }

    [Fact]
    public void MoreRanksThanShardsIsRefused()
    {
        var e = Assert.Throws<AggregateException>(() => Train("lstm", 3, TwoEpochs with { VirtualShards = 2 }, out _));
        Assert.Contains("virtualShards must be at least the number of ranks (3), got 2", e.InnerException!.Message);
    }
}
