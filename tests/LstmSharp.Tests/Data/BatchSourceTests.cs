using LstmSharp.Data.Batches;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Data;

[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class BatchSourceTests
{
    [Fact]
    public void TensorSourceCoversEveryRowOnceAndShufflesPerEpochFromTheSeed()
    {
        var x = new Tensor(Enumerable.Range(0, 10).Select(i => (float)i).ToArray(), 10, 1);
        var plain = new TensorBatchSource(x, null, batchSize: 4);
        Assert.Equal(3, plain.BatchCount);
        Assert.Equal([4, 4, 2], plain.ReadEpoch(0).Select(b => b.Count));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), plain.ReadEpoch(0).SelectMany(b => b.Inputs[0].ToArray()));

        var a = new TensorBatchSource(x, null, batchSize: 4, shuffle: true, seed: 5);
        var b = new TensorBatchSource(x, null, batchSize: 4, shuffle: true, seed: 5);
        float[] Rows(TensorBatchSource s, int epoch) => s.ReadEpoch(epoch).SelectMany(t => t.Inputs[0].ToArray()).ToArray();
        var e0 = Rows(a, 0);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), e0.Order());
        Assert.Equal(e0, Rows(b, 0));
        Assert.Equal(Rows(a, 3), Rows(b, 3)); // epoch 3 without reading 1 and 2 first: same order
        Assert.NotEqual(e0, Rows(a, 1));
    }

    [Fact]
    public void PrefetchKeepsOrderAndBuildsOnAnotherThread()
    {
        var source = new RecordingSource(6);
        int consumer = Environment.CurrentManagedThreadId;
        var seen = BatchPrefetcher.ReadEpoch(source, 0, depth: 2).Select(b => b.Inputs[0].Span[0]).ToArray();
        Assert.Equal([0f, 1, 2, 3, 4, 5], seen);
        Assert.All(source.Threads, t => Assert.NotEqual(consumer, t));
        Assert.True(source.Finished);

        var inline = new RecordingSource(3);
        Assert.Equal(3, BatchPrefetcher.ReadEpoch(inline, 0, depth: 0).Count());
        Assert.All(inline.Threads, t => Assert.Equal(consumer, t));
    }

    [Fact]
    public void PrefetchRethrowsTheSourcesErrorAndStopsTheReaderWhenTheConsumerStops()
    {
        var failing = new RecordingSource(10, failAt: 3);
        var got = new List<float>();
        var ex = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (var b in BatchPrefetcher.ReadEpoch(failing, 0))
            {
                got.Add(b.Inputs[0].Span[0]);
            }
        });
        Assert.Equal("bad record 3", ex.Message);
        Assert.Equal([0f, 1, 2], got);

        var endless = new RecordingSource(int.MaxValue);
        Assert.Equal(5, BatchPrefetcher.ReadEpoch(endless, 0, depth: 3).Take(5).Count());
        Assert.True(endless.Finished, "the reader's enumerator was not disposed when the consumer stopped");
        Assert.True(endless.Produced <= 5 + 3 + 1, $"the reader ran {endless.Produced} batches ahead of 5 taken with depth 3");
    }

    [Fact]
    public void FitEvaluateAndPredictOnASourceEqualTheInMemoryCalls()
    {
        var (x, y) = Data(96, seed: 3);
        Model Make()
        {
            Layer.ClearSession();
            Rng.SetGlobalSeed(11);
            var m = new Sequential();
            m.Add(new LSTM(6, inputShape: [5, 2]));
            m.Add(new Dense(1));
            m.Compile(new Adam(0.01), "mse", ["mae"]);
            return m;
        }

        var inMemory = Make();
        var h1 = inMemory.Fit(x, y, batchSize: 16, epochs: 3, verbose: 0, shuffle: false);
        var streamed = Make();
        var h2 = streamed.Fit(new TensorBatchSource(x, y, batchSize: 16), epochs: 3, verbose: 0);
        Assert.Equal(h1["loss"], h2["loss"]);
        var w1 = inMemory.GetWeights();
        var w2 = streamed.GetWeights();
        for (int i = 0; i < w1.Length; i++)
        {
            Assert.Equal(w1[i], w2[i]);
        }

        var (xt, yt) = Data(40, seed: 4);
        var e1 = inMemory.Evaluate(xt, yt, batchSize: 16);
        var e2 = streamed.Evaluate(new TensorBatchSource(xt, yt, batchSize: 16));
        Assert.Equal(e1.Loss, e2.Loss, 1e-12);
        Assert.Equal(e1["mae"], e2["mae"], 1e-12);
        Assert.Equal(inMemory.Predict(xt, batchSize: 7).ToArray(), streamed.Predict(new TensorBatchSource(xt, null, batchSize: 7)).ToArray());

        var val = streamed.Fit(new TensorBatchSource(x, y, batchSize: 16, shuffle: true, seed: 2), epochs: 1, verbose: 0, validationData: new TensorBatchSource(xt, yt, 16));
        Assert.True(val["val_loss"].Count == 1 && double.IsFinite(val["val_loss"][0]));
        var noTargets = Assert.Throws<ArgumentException>(() => streamed.Fit(new TensorBatchSource(x, null, 16), verbose: 0));
        Assert.Contains("without targets", noTargets.Message);
    }

    [Fact]
    public void StreamingAFileTenTimesTheBudgetKeepsTheSourcesMemoryFlat()
    {
        const long budget = 1 << 20;
        const int steps = 16, features = 4, batchSize = 64, depth = 2;
        int records = (int)(10 * budget / ((steps * features + 1) * sizeof(float))) + 1000;
        string path = Path.Combine(Path.GetTempPath(), $"lstmsharp-records-{Guid.NewGuid():N}.f32");
        try
        {
            using (var w = new BinaryWriter(File.Create(path)))
            {
                for (int r = 0; r < records; r++)
                {
                    for (int i = 0; i < steps * features; i++)
                    {
                        w.Write((float)(r % 1000) + (i * 1e-3f));
                    }

                    w.Write((float)r);
                }
            }

            var source = new RecordFileSource(path, [steps, features], [1], batchSize);
            Assert.Equal(records, source.RecordCount);
            Assert.True(new FileInfo(path).Length >= 10 * budget);
            var alive = new List<(WeakReference<Batch> Ref, long Bytes)>();
            long streamed = 0, peak = 0;
            int expected = 0;
            foreach (var batch in BatchPrefetcher.ReadEpoch(source, 0, depth))
            {
                // Every record arrives, in order, with its own values.
                Assert.Equal(expected, (int)batch.Targets!.Span[0]);
                Assert.Equal((float)(expected % 1000) + 2e-3f, batch.Inputs[0].Span[2], 1e-3);
                expected += batch.Count;
                streamed += batch.SizeInBytes;
                alive.Add((new WeakReference<Batch>(batch), batch.SizeInBytes));
                if (alive.Count % 64 == 0)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    alive.RemoveAll(a => !a.Ref.TryGetTarget(out _));
                    Assert.True(alive.Count <= depth + 2 + 1, $"{alive.Count} batches still alive: the source or the prefetcher keeps batches it handed over");
                    peak = Math.Max(peak, source.BufferBytes + alive.Sum(a => a.Bytes));
                }
            }

            Assert.Equal(records, expected);
            Assert.True(streamed >= 10 * budget, $"streamed only {streamed} bytes");
            Assert.True(peak <= budget, $"the source held up to {peak} bytes; budget {budget}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void RecordFileOfTheWrongSizeIsRejectedNamingTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"lstmsharp-records-{Guid.NewGuid():N}.f32");
        try
        {
            File.WriteAllBytes(path, new byte[4 * 7]);
            var ex = Assert.Throws<InvalidDataException>(() => new RecordFileSource(path, [2, 2], [1]));
            Assert.Contains(path, ex.Message);
            Assert.Contains("28 bytes", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static (Tensor X, Tensor Y) Data(int n, int seed)
    {
        var rng = new Rng(seed);
        var x = new Tensor(n, 5, 2);
        rng.FillUniform(x.Span, -1, 1);
        var y = new Tensor(n, 1);
        for (int i = 0; i < n; i++)
        {
            y[i, 0] = x[i, 0, 0] - x[i, 4, 1];
        }

        return (x, y);
    }

    private sealed class RecordingSource(int count, int failAt = -1) : IBatchSource
    {
        public List<int> Threads { get; } = [];

        public bool Finished { get; private set; }

        public int Produced { get; private set; }

        public int? BatchCount => count;

        public IEnumerable<Batch> ReadEpoch(int epoch)
        {
            try
            {
                for (int i = 0; i < count; i++)
                {
                    if (i == failAt)
                    {
                        throw new InvalidDataException($"bad record {i}");
                    }

                    lock (Threads)
                    {
                        Threads.Add(Environment.CurrentManagedThreadId);
                    }

                    Produced++;
                    yield return new Batch(Tensor.Full(i, 1, 1));
                }
            }
            finally
            {
                Finished = true;
            }
        }
    }
}
