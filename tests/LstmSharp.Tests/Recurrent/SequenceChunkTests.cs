using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;
using LstmSharp.Tests.Kernels;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// The recurrent kernels split the batch into row chunks that each run the whole time loop on
/// one thread. The chunks depend on the batch size only, so results must be the same bits for
/// every <see cref="WorkerPool.ThreadCount"/>; and the split path must match the references.
/// </summary>
[Collection(WorkerPoolCollection.Name)]
public class SequenceChunkTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(127, 1)]
    [InlineData(128, 2)]
    [InlineData(255, 2)]
    [InlineData(256, 4)]
    [InlineData(100000, 64)]
    public void ChunkCountDependsOnTheBatchOnly(int batch, int expected)
    {
        Assert.Equal(64, BatchChunks.MinRows);
        Assert.Equal(expected, BatchChunks.Count(batch));
        int chunks = BatchChunks.Count(batch);
        for (int i = 0; i < chunks; i++)
        {
            int rows = BatchChunks.Start(batch, chunks, i + 1) - BatchChunks.Start(batch, chunks, i);
            Assert.True(rows >= Math.Min(batch, BatchChunks.MinRows), $"batch {batch}: chunk {i} of {chunks} has {rows} rows");
        }

        Assert.Equal(batch, BatchChunks.Start(batch, chunks, chunks));
    }

    [Theory]
    [InlineData("standard", "plain")]
    [InlineData("standard", "mask-holes")]
    [InlineData("vanilla", "all")]
    [InlineData("FGR", "all")]
    [InlineData("original1997", "go-backwards")]
    [InlineData("CIFG", "dropout")]
    public void LstmChunksMatchTheDoubleReference(string variant, string options)
    {
        // One-row chunks too: batch 5 in 4 chunks takes the GEMV path for the single rows.
        WithChunkRows(1, () => LstmKernelTests.CheckAgainstReference(variant, options, batch: 5, time: 4, inputSize: 3, units: 5));
        WithChunkRows(2, () => LstmKernelTests.CheckAgainstReference(variant, options, batch: 5, time: 3, inputSize: 2, units: 17));
    }

    [Theory]
    [InlineData("standard", "all", 130, 64)]
    [InlineData("FGR", "mask-holes", 9, 2)]
    [InlineData("original1997", "dropout", 7, 1)]
    [InlineData("vanilla", "initial-state", 40, 1000)]
    public void LstmIsBitIdenticalForAnyThreadCount(string variantName, string options, int batch, int chunkRows)
    {
        WithChunkRows(chunkRows, () =>
        {
            var (variant, useBias) = LstmKernelTests.Variant(variantName);
            var layout = new LstmLayout(variant, 3, 20, useBias);
            var rng = new Random(11);
            var p = LstmKernelTests.RandomParams(layout, rng);
            var q = LstmKernelTests.Problem(options, rng, batch, time: 6, inputSize: 3, units: 20);
            var dSeq = LstmKernelTests.RandomArray(rng, batch * q.Time * 20, 1.0);
            var dLast = LstmKernelTests.RandomArray(rng, batch * 20, 1.0);
            var dH = LstmKernelTests.RandomArray(rng, batch * 20, 1.0);
            var dC = LstmKernelTests.RandomArray(rng, batch * 20, 1.0);

            float[][] RunAll()
            {
                var k = new KernelRun(layout, p, q);
                k.Forward(training: false);
                var inference = (float[])k.Sequence.Clone();
                k.Forward(training: true);
                Assert.Equal(inference, k.Sequence);
                k.Backward(dSeq, dLast, dH, dC);
                return [inference, k.Sequence, k.Last, k.H, k.C, k.DW, k.DU, k.DB, k.DP, k.DR, k.DX, k.DH0, k.DC0];
            }

            AssertSameBitsForThreadCounts(RunAll);
        });
    }

    public static TheoryData<string, int> SingleStateCases()
    {
        var data = new TheoryData<string, int>();
        int count = SeqCheck.OptionMatrix().Count();
        foreach (string cell in new[] { "gru-reset-after", "gru-reset-before", "simple-rnn" })
        {
            for (int i = 0; i < count; i++)
            {
                data.Add(cell, i);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SingleStateCases))]
    public void GruAndSimpleRnnChunksMatchTheReference(string cell, int optionIndex)
    {
        // Batch 5 in 4 chunks (one of them a single row), every option set of the kernels' own tests.
        var o = SeqCheck.OptionMatrix().ElementAt(optionIndex) with { Batch = 5 };
        WithChunkRows(1, () =>
        {
            SeqCheck.ForwardAndGradients(Make(cell, o), o);
            SeqContract.InferenceEqualsTraining(Make(cell, o), o, cell.StartsWith("gru", StringComparison.Ordinal) ? "GRU" : "SimpleRNN");
        });
    }

    [Theory]
    [InlineData("gru-reset-after", 130, 64)]
    [InlineData("gru-reset-before", 130, 64)]
    [InlineData("simple-rnn", 130, 64)]
    [InlineData("gru-reset-after", 9, 2)]
    [InlineData("gru-reset-before", 7, 1)]
    [InlineData("simple-rnn", 9, 2)]
    [InlineData("gru-reset-before", 40, 1000)]
    public void GruAndSimpleRnnAreBitIdenticalForAnyThreadCount(string cell, int batch, int chunkRows)
    {
        var o = new SeqOptions { Batch = batch, Time = 6, Input = 3, Units = 20, InitialState = true, Mask = "middle", InputDropout = true, RecurrentDropout = true, LastGrad = true, Seed = 5 };
        WithChunkRows(chunkRows, () => AssertSameBitsForThreadCounts(() => SeqContract.RunAll(Make(cell, o), o)));
    }

    [Theory]
    [InlineData("gru-reset-after")]
    [InlineData("gru-reset-before")]
    [InlineData("simple-rnn")]
    public void SplitWarmCallsDoNotAllocate(string cell)
    {
        var o = new SeqOptions { Batch = 130, Time = 5, Input = 3, Units = 12, InitialState = true, Mask = "middle", RecurrentDropout = true, LastGrad = true };
        Assert.Equal(2, BatchChunks.Count(o.Batch));
        SeqContract.WarmCallsDoNotAllocate(Make(cell, o), o);
    }

    [Theory]
    [InlineData("gru-reset-after")]
    [InlineData("gru-reset-before")]
    [InlineData("simple-rnn")]
    public void SplitWarmCallsDoNotAllocateWhileABackgroundGcEndsAndThePoolIsBusy(string cell)
    {
        // Issue 19, defect 9: a gen-2 background GC (started by any thread's allocations) that ended
        // inside the measured window was counted as 0-8 KB "allocated" by these calls. Here one is
        // started just before the window, a fresh allocation gives this thread a live allocation
        // context to lose, and the window lasts until that GC has ended; meanwhile another thread
        // holds the pool at times, so chunks also run inline on this thread (its fallback path).
        var o = new SeqOptions { Batch = 130, Time = 5, Input = 3, Units = 12, InitialState = true, Mask = "middle", RecurrentDropout = true, LastGrad = true };
        long lastBackgroundGc = GC.GetGCMemoryInfo(GCKind.Background).Index;
        bool gcEnded = false;
        using var stop = new CancellationTokenSource();
        var busy = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                WorkerPool.Shared.For(2, new SpinJob());
                if (GC.GetGCMemoryInfo(GCKind.Background).Index > lastBackgroundGc)
                {
                    Volatile.Write(ref gcEnded, true);
                }
            }
        }) { IsBackground = true };
        busy.Start();
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            SeqContract.WarmCallsDoNotAllocate(
                Make(cell, o),
                o,
                beforeWindow: () =>
                {
                    GC.Collect(2, GCCollectionMode.Forced, blocking: false);
                    GC.KeepAlive(new byte[64]);
                },
                keepGoing: () => !Volatile.Read(ref gcEnded) && System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds < 3);
        }
        finally
        {
            stop.Cancel();
            busy.Join();
        }
    }

    private struct SpinJob : IParallelJob
    {
        public readonly void Execute(int index) => Thread.SpinWait(2000);
    }

    private static ISeqKernelUnderTest Make(string cell, SeqOptions o) => cell switch
    {
        "gru-reset-after" => new GruUnderTest(new GruKernel(new GruLayout(o.Input, o.Units, resetAfter: true))),
        "gru-reset-before" => new GruUnderTest(new GruKernel(new GruLayout(o.Input, o.Units, resetAfter: false))),
        _ => new SimpleRnnUnderTest(new SimpleRnnKernel(new SimpleRnnLayout(o.Input, o.Units))),
    };

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    [InlineData("simplernn")]
    public void LayersAreBitIdenticalForAnyThreadCount(string cell)
    {
        // Batch 130 splits into 2 chunks with the default policy; outputs, dx and every parameter gradient.
        Layer layer = cell switch
        {
            "lstm" => new LSTM(12, returnSequences: true, inputShape: [5, 3]),
            "gru" => new GRU(12, returnSequences: true, inputShape: [5, 3]),
            _ => new SimpleRNN(12, returnSequences: true, inputShape: [5, 3]),
        };
        var x = GradientChecker.Random(21, -1, 1, 130, 5, 3);
        var dy = GradientChecker.Random(22, -1, 1, 130, 5, 12);
        Assert.Equal(2, BatchChunks.Count(130));

        float[][] Run()
        {
            layer.ZeroGrad();
            x.Grad = null;
            x.RequiresGrad = true;
            using var tape = Tape.Record();
            var y = layer.Apply(x);
            tape.Backward(Ops.Sum(Ops.Mul(y, dy)));
            return [y.ToArray(), x.Grad!.ToArray(), .. layer.Parameters.Select(p => p.Value.Grad!.ToArray())];
        }

        AssertSameBitsForThreadCounts(Run);
    }

    internal static void AssertSameBitsForThreadCounts(Func<float[][]> run)
    {
        var pool = WorkerPool.Shared;
        int saved = pool.ThreadCount;
        try
        {
            pool.ThreadCount = 1;
            var expected = run();
            foreach (int threads in new[] { 2, 3 })
            {
                pool.ThreadCount = threads;
                var actual = run();
                Assert.Equal(expected.Length, actual.Length);
                for (int i = 0; i < expected.Length; i++)
                {
                    Check.Identical($"result {i}, 1 thread (expected) vs {threads} threads (actual)", expected[i], actual[i]);
                }
            }
        }
        finally
        {
            pool.ThreadCount = saved;
        }
    }

    internal static void WithChunkRows(int rows, Action body)
    {
        int saved = BatchChunks.MinRows;
        BatchChunks.MinRows = rows;
        try
        {
            body();
        }
        finally
        {
            BatchChunks.MinRows = saved;
        }
    }
}
