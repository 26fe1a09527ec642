using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

// How the LSTM's row work of a batch too small to split into chunks (BatchChunks) is cut for
// the worker pool: each step's row passes fork once a step is large enough to pay for a
// fork-join (LstmKernel.Steps.cs; the step's products stay whole and thread themselves).
internal sealed partial class LstmKernel
{
    /// <summary>
    /// Below this many gate values per step (batch · G·units) the row work of a one-chunk batch
    /// stays on the calling thread: a smaller step does not pay for a fork-join.
    /// </summary>
    internal const int DefaultParallelRowMinFloats = 8192;

    // A test's override, for the thread that sets it only (read on the calling thread, like
    // BatchChunks.MinRows), so tests running in parallel never see each other's value.
    [ThreadStatic]
    private static int? t_parallelRowMinFloats;

    /// <summary><see cref="DefaultParallelRowMinFloats"/>, or what the calling thread set (tests set 0 to split every step).</summary>
    internal static int ParallelRowMinFloats
    {
        get => t_parallelRowMinFloats ?? DefaultParallelRowMinFloats;
        set => t_parallelRowMinFloats = value;
    }

    /// <summary>How many pieces the per-step row work is cut into: one per thread once a step has enough work to pay for the fork-join.</summary>
    internal static int RowChunks(int batch, int gateWidth)
    {
        int threads = WorkerPool.Shared.ThreadCount;
        return threads > 1 && (long)batch * gateWidth >= ParallelRowMinFloats ? Math.Min(batch, threads) : 1;
    }
}
