using LstmSharp.Kernels;

namespace LstmSharp.Tests.Kernels;

[Collection(WorkerPoolCollection.Name)]
public class WorkerPoolTests
{
    private struct MarkJob : IParallelJob
    {
        public int[] Hits;

        public readonly void Execute(int index) => Interlocked.Increment(ref Hits[index]);
    }

    private struct ThreadOfIndexJob : IParallelJob
    {
        public int[] Threads;

        public readonly void Execute(int index)
        {
            Threads[index] = Environment.CurrentManagedThreadId;
            Thread.SpinWait(200);
        }
    }

    [Fact]
    public void TheCallingThreadAlwaysRunsIndexZero()
    {
        // So the caller's thread-local scratch is warmed by the same index in every call,
        // whatever the scheduling (issue 19, defect 9: allocation in some "warm" calls).
        var pool = WorkerPool.Shared;
        int saved = pool.ThreadCount;
        try
        {
            pool.ThreadCount = 2;
            for (int call = 0; call < 300; call++)
            {
                var job = new ThreadOfIndexJob { Threads = new int[2 + (call % 3)] };
                pool.For(job.Threads.Length, job);
                Assert.Equal(Environment.CurrentManagedThreadId, job.Threads[0]);
            }
        }
        finally
        {
            pool.ThreadCount = saved;
        }
    }

    private ref struct SpanJob : IParallelJob
    {
        public Span<int> Output;

        public readonly void Execute(int index) => Output[index] = index * index;
    }

    private struct NestedJob : IParallelJob
    {
        public int[] Hits;

        public readonly void Execute(int index)
        {
            var inner = new MarkJob { Hits = Hits };
            WorkerPool.Shared.For(Hits.Length, inner);
        }
    }

    private struct ThrowingJob : IParallelJob
    {
        public readonly void Execute(int index)
        {
            if (index == 37)
            {
                throw new InvalidOperationException("job 37 failed");
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(1000)]
    public void EveryIndexRunsExactlyOnce(int count)
    {
        for (int round = 0; round < 50; round++)
        {
            var job = new MarkJob { Hits = new int[count] };
            WorkerPool.Shared.For(count, job);
            Assert.All(job.Hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void RefStructJobsCanWriteThroughSpans()
    {
        Span<int> output = stackalloc int[100];
        WorkerPool.Shared.For(output.Length, new SpanJob { Output = output });
        for (int i = 0; i < output.Length; i++)
        {
            Assert.Equal(i * i, output[i]);
        }
    }

    [Fact]
    public void NestedAndConcurrentCallsComplete()
    {
        var nested = new NestedJob { Hits = new int[64] };
        WorkerPool.Shared.For(8, nested);
        Assert.All(nested.Hits, h => Assert.Equal(8, h));

        var counts = new int[4][];
        Parallel.For(0, 4, t =>
        {
            counts[t] = new int[500];
            for (int round = 0; round < 20; round++)
            {
                WorkerPool.Shared.For(500, new MarkJob { Hits = counts[t] });
            }
        });
        Assert.All(counts, hits => Assert.All(hits, h => Assert.Equal(20, h)));
    }

    [Fact]
    public void ExceptionsReachTheCaller()
    {
        var e = Assert.Throws<InvalidOperationException>(() => WorkerPool.Shared.For(100, new ThrowingJob()));
        Assert.Equal("job 37 failed", e.Message);

        // The pool still works afterwards.
        var job = new MarkJob { Hits = new int[10] };
        WorkerPool.Shared.For(10, job);
        Assert.All(job.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void ThreadCountRejectsLessThanOne()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => WorkerPool.Shared.ThreadCount = 0);
        Assert.True(WorkerPool.Shared.ThreadCount >= 1);
    }
}
