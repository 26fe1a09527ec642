using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

// How LstmKernel's work is cut for the worker pool: whole time loops per batch chunk
// (ForwardSequenceJob, BackwardSequenceJob) or, for a batch too small to split, the row work of
// one step (ForwardRowsJob, BackwardRowsJob) once a step is large enough to pay for a fork-join.
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
    private static int RowChunks(int batch, int gateWidth)
    {
        int threads = WorkerPool.Shared.ThreadCount;
        return threads > 1 && (long)batch * gateWidth >= ParallelRowMinFloats ? Math.Min(batch, threads) : 1;
    }

    /// <summary>Index i runs <see cref="ForwardSteps"/> over the rows of chunk i.</summary>
    private ref struct ForwardSequenceJob(LstmKernel kernel, SequenceRun run, LstmWeights weights, RnnOutputs outputs, LstmCache? cache, int chunks) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LstmWeights weights = weights;
        private readonly RnnOutputs outputs = outputs;

        public readonly void Execute(int index) =>
            kernel.ForwardSteps(run, weights, outputs, cache, BatchChunks.Start(run.Batch, chunks, index), BatchChunks.Start(run.Batch, chunks, index + 1));
    }

    /// <summary>Index i runs <see cref="BackwardSteps"/> over the rows of chunk i.</summary>
    private ref struct BackwardSequenceJob(LstmKernel kernel, SequenceRun run, LstmWeights weights, RnnOutputGradients dOut, LstmCache cache, int chunks) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LstmWeights weights = weights;
        private readonly RnnOutputGradients dOut = dOut;

        public readonly void Execute(int index) =>
            kernel.BackwardSteps(run, weights, dOut, cache, BatchChunks.Start(run.Batch, chunks, index), BatchChunks.Start(run.Batch, chunks, index + 1));
    }

    private ref struct ForwardRowsJob(LstmKernel kernel, SequenceRun run, LstmWeights weights, RnnOutputs outputs, LstmCache? cache, int chunk) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LstmWeights weights = weights;
        private readonly RnnOutputs outputs = outputs;

        public int Step;

        public readonly void Execute(int index) =>
            kernel.ForwardRows(run, weights, outputs, cache, Step, index * chunk, Math.Min(run.Batch, (index + 1) * chunk));
    }

    private ref struct BackwardRowsJob(LstmKernel kernel, SequenceRun run, LstmWeights weights, RnnOutputGradients dOut, LstmCache cache, int chunk) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly LstmWeights weights = weights;
        private readonly RnnOutputGradients dOut = dOut;

        public int Step;

        public readonly void Execute(int index) =>
            kernel.BackwardRows(run, weights, dOut, cache, Step, index * chunk, Math.Min(run.Batch, (index + 1) * chunk));
    }
}
