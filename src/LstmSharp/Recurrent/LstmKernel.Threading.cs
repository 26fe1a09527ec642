using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

// How LstmKernel's work is cut for the worker pool: whole time loops per batch chunk or, for a
// batch too small to split, the row work of one step once a step is large enough to pay for a
// fork-join (ChunkJob).
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

    /// <summary>
    /// Index i runs the rows of batch chunk i (<see cref="BatchChunks"/>), forward or (with
    /// <c>backward</c>) backward: their whole time loop (<see cref="ForwardSteps"/>,
    /// <see cref="BackwardSteps"/>) or, with <see cref="Step"/> set, that step's cells
    /// (<see cref="ForwardRows"/>, <see cref="BackwardRows"/>).
    /// </summary>
    private ref struct ChunkJob(LstmKernel kernel, SequenceRun run, LstmWeights weights, RnnOutputs outputs, RnnOutputGradients dOut, LstmCache? cache, int chunks, bool backward) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LstmWeights weights = weights;
        private readonly RnnOutputs outputs = outputs;
        private readonly RnnOutputGradients dOut = dOut;

        /// <summary>The processing step whose rows each index runs; −1 = whole time loops.</summary>
        public int Step = -1;

        public readonly void Execute(int index)
        {
            int b0 = BatchChunks.Start(run.Batch, chunks, index), b1 = BatchChunks.Start(run.Batch, chunks, index + 1);
            if (backward && Step < 0)
            {
                kernel.BackwardSteps(run, weights, dOut, cache!, b0, b1);
            }
            else if (backward)
            {
                kernel.BackwardRows(run, weights, dOut, cache!, Step, b0, b1);
            }
            else if (Step < 0)
            {
                kernel.ForwardSteps(run, weights, outputs, cache, b0, b1);
            }
            else
            {
                kernel.ForwardRows(run, weights, outputs, cache, Step, b0, b1);
            }
        }
    }
}
