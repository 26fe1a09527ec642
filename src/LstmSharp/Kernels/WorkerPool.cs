using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace LstmSharp.Kernels;

/// <summary>
/// One unit of parallel work: <see cref="Execute"/> is called once for every index in
/// [0, count) of a <see cref="WorkerPool.For{TJob}(int, in TJob)"/> call, on some thread,
/// in no particular order. Implement it on a struct holding the job's inputs (pointers,
/// sizes, or spans when the struct is a <c>ref struct</c>); the pool never boxes or copies
/// it to the heap.
/// </summary>
/// <remarks>
/// For results that do not depend on the thread count, make each index own a fixed slice of
/// the output (e.g. a block of rows) and never reduce across indices in arrival order.
/// </remarks>
public interface IParallelJob
{
    /// <summary>Does the work of one index; must be safe to run concurrently with other indices.</summary>
    void Execute(int index);
}

/// <summary>
/// A persistent pool of worker threads for the kernels' fork-join loops (GEMM blocks, the
/// recurrent kernels' per-row work). A call costs a few hundred nanoseconds when the workers
/// are awake: they spin briefly after each job, because a recurrent layer issues thousands of
/// small parallel loops per second, then sleep so an idle process costs no CPU.
/// </summary>
/// <remarks>
/// The calling thread works too, so <see cref="ThreadCount"/> = N means N − 1 workers.
/// Calls made from inside a job, or while another thread holds the pool, run inline on the
/// calling thread: always correct, never a deadlock.
/// </remarks>
public sealed unsafe class WorkerPool
{
    private const string ThreadsVariable = "LSTMSHARP_THREADS";

    /// <summary>How long an idle worker polls for the next job before it blocks.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

    [ThreadStatic]
    private static bool t_insideJob;

    private readonly Lock _dispatch = new();
    private readonly List<Worker> _workers = [];
    private int _threadCount;

    // The job being run; written by the dispatching thread before it publishes _generation.
    private delegate*<void*, int, void> _invoke;
    private void* _job;
    private int _count;
    private int _next;
    private int _participants;

    // _generation announces a job; _openGeneration is that number while workers may still
    // join it and 0 once the dispatcher has closed it, so a late worker never runs a stale job.
    private int _generation;
    private int _openGeneration;
    private int _inFlight;

    private WorkerPool(int threadCount) => _threadCount = threadCount;

    /// <summary>
    /// The pool every kernel uses. Its size is <see cref="Environment.ProcessorCount"/>, or the
    /// value of the environment variable <c>LSTMSHARP_THREADS</c> when set to a positive integer.
    /// </summary>
    public static WorkerPool Shared { get; } = new(DefaultThreadCount());

    /// <summary>
    /// Threads that take part in a <see cref="For{TJob}(int, in TJob)"/> call, the caller
    /// included (≥ 1). Set it to 1 to run everything on the calling thread. Results of the
    /// library's kernels do not depend on it.
    /// </summary>
    public int ThreadCount
    {
        get => Volatile.Read(ref _threadCount);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(ThreadCount));
            lock (_dispatch)
            {
                _threadCount = value;
            }
        }
    }

    /// <summary>
    /// Runs <c>job.Execute(i)</c> for every i in [0, count) on up to <see cref="ThreadCount"/>
    /// threads and returns when all are done. Indices are handed out dynamically, so give each
    /// a similar amount of work and a count of a few per thread for balance. An exception in a
    /// job is rethrown here after the others finish (the first one wins).
    /// </summary>
    public void For<TJob>(int count, in TJob job)
        where TJob : struct, IParallelJob, allows ref struct
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0)
        {
            return;
        }

        int threads = ThreadCount;
        if (count == 1 || threads == 1 || t_insideJob || !_dispatch.TryEnter())
        {
            RunInline(count, job);
            return;
        }

        try
        {
            // The copy lives in this frame until every worker has left the job.
            TJob local = job;
            int participants = Math.Min(threads, count);
            EnsureWorkers(participants - 1);
            _invoke = &Invoke<TJob>;
            _job = Unsafe.AsPointer(ref local);
            _count = count;

            // Index 0 is the caller's, always: which thread runs which index must not depend on
            // scheduling for the caller, or its lazily sized thread-local scratch (GEMM packing)
            // could first be needed in a warm call that happened to get another index.
            _next = 1;
            _participants = participants;
            _jobError = null;
            int generation = _generation + 1;
            if (generation == 0)
            {
                generation = 1;
            }

            Volatile.Write(ref _openGeneration, generation);
            Volatile.Write(ref _generation, generation);
            for (int w = 0; w < participants - 1; w++)
            {
                _workers[w].Wake();
            }

            t_insideJob = true;
            try
            {
                try
                {
                    _invoke(_job, 0);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _jobError, e, null);
                }

                RunClaims();
            }
            finally
            {
                t_insideJob = false;
            }

            Volatile.Write(ref _openGeneration, 0);
            Interlocked.MemoryBarrier();
            SpinWait spin = default;
            while (Volatile.Read(ref _inFlight) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            _job = null;
            if (_jobError is { } error)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }
        }
        finally
        {
            _dispatch.Exit();
        }
    }

    private Exception? _jobError;

    private static int DefaultThreadCount()
    {
        string? text = Environment.GetEnvironmentVariable(ThreadsVariable);
        if (text is not null && int.TryParse(text, out int n) && n >= 1)
        {
            return n;
        }

        return Math.Max(1, Environment.ProcessorCount);
    }

    private static void Invoke<TJob>(void* job, int index)
        where TJob : struct, IParallelJob, allows ref struct
        => Unsafe.AsRef<TJob>(job).Execute(index);

    private static void RunInline<TJob>(int count, in TJob job)
        where TJob : struct, IParallelJob, allows ref struct
    {
        TJob local = job;
        for (int i = 0; i < count; i++)
        {
            local.Execute(i);
        }
    }

    private void RunClaims()
    {
        int count = _count;
        delegate*<void*, int, void> invoke = _invoke;
        void* job = _job;
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < count)
        {
            try
            {
                invoke(job, i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _jobError, e, null);
            }
        }
    }

    private void EnsureWorkers(int needed)
    {
        while (_workers.Count < needed)
        {
            _workers.Add(new Worker(this, _workers.Count));
        }
    }

    private sealed class Worker
    {
        private readonly WorkerPool _pool;
        private readonly int _id;
        private readonly SemaphoreSlim _signal = new(0);
        private int _sleeping;

        public Worker(WorkerPool pool, int id)
        {
            _pool = pool;
            _id = id;
            var thread = new Thread(Loop, maxStackSize: 1 << 20)
            {
                IsBackground = true,
                Name = $"LstmSharp worker {id + 1}",
            };
            thread.Start();
        }

        public void Wake()
        {
            if (Volatile.Read(ref _sleeping) == 1 && Interlocked.Exchange(ref _sleeping, 0) == 1)
            {
                _signal.Release();
            }
        }

        private void Loop()
        {
            t_insideJob = true;
            WorkerPool pool = _pool;
            int seen = Volatile.Read(ref pool._generation);
            while (true)
            {
                seen = WaitForNext(seen);
                Interlocked.Increment(ref pool._inFlight);
                if (Volatile.Read(ref pool._openGeneration) == seen && _id < pool._participants - 1)
                {
                    pool.RunClaims();
                }

                Interlocked.Decrement(ref pool._inFlight);
            }
        }

        private int WaitForNext(int seen)
        {
            WorkerPool pool = _pool;
            long start = Stopwatch.GetTimestamp();
            int polls = 0;
            while (true)
            {
                int g = Volatile.Read(ref pool._generation);
                if (g != seen)
                {
                    return g;
                }

                if ((++polls & 63) != 0)
                {
                    Thread.SpinWait(8);
                    continue;
                }

                if (Stopwatch.GetTimestamp() - start < SpinTicks)
                {
                    // Give the core away now and then: on a busy machine the thread we wait for
                    // may need it; on an idle one this returns at once.
                    Thread.Yield();
                    continue;
                }

                // Announce the sleep, then look again: a dispatcher that published before seeing
                // the flag is caught by the second look, one that published after will signal.
                Volatile.Write(ref _sleeping, 1);
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref pool._generation) != seen)
                {
                    if (Interlocked.Exchange(ref _sleeping, 0) == 0)
                    {
                        _signal.Wait(); // the dispatcher already released: consume it
                    }

                    continue;
                }

                _signal.Wait();
                start = Stopwatch.GetTimestamp();
                polls = 0;
            }
        }
    }
}
