using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The time-loop driver of the single-state cells (<see cref="GruKernel"/>,
/// <see cref="SimpleRnnKernel"/>): argument checks, the per-step keep/output masks, the
/// time-major copy of the dropped-out input and its projection x·W, the initial state, the
/// batch chunks and their pool jobs, the final outputs; in the backward the output-gradient
/// carry, Uᵀ, dh_0 and the scatter of dx. A cell supplies only its per-step products and row
/// passes and its whole-sequence parameter products.
/// </summary>
/// <remarks>
/// Buffers are time-major in processing order (row s·B + b is step s of sequence b), so every
/// step's rows are contiguous for its products and dW, dU, dx are each one product over all T·B
/// rows. Each chunk (<see cref="BatchChunks"/>, from the batch size only) runs the whole time
/// loop for its rows on one pool thread, so the bits do not depend on the thread count.
/// </remarks>
/// <remarks>Not generic over the cache type, so its pool jobs need no runtime generic lookups
/// (which allocate when tiered compilation re-JITs a shared generic method).</remarks>
internal abstract class SingleStateKernel
{
    private readonly string ownerForward;
    private readonly string ownerBackward;

    // An inference forward runs in this private cache's buffers (one step of them), so the
    // caller's caches are untouched and no activations are kept.
    private readonly SingleStateCache scratch;

    private float[] dxm = [];

    private protected SingleStateKernel(SingleStateCache scratch, string kind, string name, int inputSize, int units, int gateWidth, ActivationKind activation, ActivationKind recurrentActivation, LaneWidth width)
    {
        this.scratch = scratch;
        Name = name;
        ownerForward = $"{kind} '{name}'";
        ownerBackward = $"{kind} '{name}' backward";
        InputSize = inputSize;
        Units = units;
        GateWidth = gateWidth;
        Row = new CellRow(units, activation, recurrentActivation, LaneWidths.Resolve(width));
        RnnRun.Ensure(ref Ones, units);
        RnnRun.Ensure(ref Zeros, units);
        Ones.AsSpan().Fill(1f);
    }

    /// <summary>Used in error messages, e.g. the layer's name.</summary>
    public string Name { get; }

    /// <summary>A new, empty BPTT cache of this cell's kind.</summary>
    internal abstract SingleStateCache NewCache();

    private protected int InputSize { get; }

    private protected int Units { get; }

    /// <summary>Columns of W and U (G·units).</summary>
    private protected int GateWidth { get; }

    private protected CellRow Row { get; }

    /// <summary>The cell's layout: what a cache remembers to refuse a backward with another one.</summary>
    private protected abstract object LayoutKey { get; }

    private protected abstract int BiasLength { get; }

    /// <summary>[T·B, G·units]: xd·W of every step (biases join in the step passes).</summary>
    private protected float[] Xp = [];

    /// <summary>[B, units] each: dh ⊙ z-style direct carry into h_{t−1}, and the step's recurrent product dhd.</summary>
    private protected float[] DhCarry = [];

    private protected float[] DhRec = [];

    /// <summary>Uᵀ [G·units, units], made once per backward so each step's dhd product reads B row-major.</summary>
    private protected float[] UT = [];

    /// <summary>[units] of ones (m_h without recurrent dropout) and of zeros (dy where no output gradient flows).</summary>
    private protected float[] Ones = [];

    private protected float[] Zeros = [];

    /// <summary>
    /// Runs the cell over <paramref name="run"/>. <paramref name="h0"/> [batch, units] is the
    /// initial state (empty = zeros). With a <paramref name="cache"/> (training) it saves what
    /// <see cref="Backward"/> needs (a cache from <see cref="NewCache"/>); with null (inference) it keeps nothing.
    /// </summary>
    internal void Forward(in SequenceRun run, in RnnWeights weights, ReadOnlySpan<float> h0, in RnnOutputs outputs, SingleStateCache? cache)
    {
        string owner = ownerForward;
        int n = InputSize, u = Units, g = GateWidth;
        run.Validate(owner, n, u);
        int bt = run.Batch, tt = run.Time;
        CheckWeights(owner, weights);
        SequenceRun.CheckLength(owner, "initial h", h0.Length, true, bt, u);
        SequenceRun.CheckLength(owner, "output sequence", outputs.Sequence.Length, true, bt, tt, u);
        SequenceRun.CheckLength(owner, "last output", outputs.Last.Length, true, bt, u);
        SequenceRun.CheckLength(owner, "final h", outputs.H.Length, true, bt, u);

        bool training = cache is not null;
        var c = cache ?? scratch;
        c.Prepare(LayoutKey, run, n, u, g, training);
        int rows = bt * tt;
        RnnRun.Ensure(ref Xp, rows * g);

        RnnRun.BuildStepMasks(run.Mask, bt, tt, run.GoBackwards, run.ZeroOutputForMask, c.Keep, c.Emit);
        RnnRun.GatherInput(run.X, run.InputDropoutMask, bt, tt, n, run.GoBackwards, c.XDropped);

        // Input projection of every step at once (biases are added in the step passes).
        Gemm.Sgemm(false, false, rows, g, n, 1f, c.XDropped, n, weights.Kernel, g, 0f, Xp, g);
        PrepareForward(weights.Bias, bt);

        var hStart = c.States.AsSpan(0, bt * u);
        if (h0.IsEmpty)
        {
            hStart.Clear();
        }
        else
        {
            h0.CopyTo(hStart);
        }

        int chunks = BatchChunks.Count(bt);
        if (chunks == 1)
        {
            ForwardSteps(run, weights, outputs, c, training, 0, bt);
        }
        else
        {
            WorkerPool.Shared.For(chunks, new ForwardJob(this, run, weights, outputs, c, training, chunks));
        }

        var hT = c.States.AsSpan((training ? tt : tt & 1) * bt * u, bt * u);
        RnnRun.WriteFinal(hT, c.Emit.AsSpan((tt - 1) * bt, bt), outputs.Last, outputs.H, bt, u);
        if (training)
        {
            cache!.IsReady = true;
        }
    }

    /// <summary>
    /// Backpropagates <paramref name="dOut"/> through the forward saved in <paramref name="cache"/>
    /// (called with the same <paramref name="run"/> and <paramref name="weights"/>), accumulating
    /// the parameter gradients and writing dx and dh_0. Consumes the cache.
    /// </summary>
    internal void Backward(in SequenceRun run, in RnnWeights weights, SingleStateCache cache, in RnnOutputGradients dOut, in RnnGradients grads)
    {
        ArgumentNullException.ThrowIfNull(cache);
        string owner = ownerBackward;
        int n = InputSize, u = Units, g = GateWidth;
        run.Validate(owner, n, u);
        CheckWeights(owner, weights);
        cache.Signature.CheckMatches(owner, cache.IsReady, LayoutKey, run);
        int bt = run.Batch, tt = run.Time;
        RnnRun.CheckBackward(owner, run, dOut, grads, n, u, g, BiasLength);
        cache.IsReady = false;

        int rows = bt * tt;
        PrepareBackward(rows);
        RnnRun.Ensure(ref DhCarry, bt * u);
        RnnRun.Ensure(ref DhRec, bt * u);
        RnnRun.Ensure(ref dxm, grads.Input.IsEmpty ? 0 : rows * n);
        RnnRun.Ensure(ref UT, g * u);
        RnnRun.Transpose(weights.RecurrentKernel, u, g, UT);

        // dh_T = d(final h) + emit_{T-1} ⊙ d(last); the per-step d(sequence) terms join in the loop.
        var carry = DhCarry.AsSpan(0, bt * u);
        var dhr = DhRec.AsSpan(0, bt * u);
        dhr.Clear();
        RnnRun.StartCarry(dOut.H, dOut.Last, cache.Emit.AsSpan((tt - 1) * bt, bt), carry, bt, u);

        int chunks = BatchChunks.Count(bt);
        if (chunks == 1)
        {
            BackwardSteps(run, dOut, cache, 0, bt);
        }
        else
        {
            WorkerPool.Shared.For(chunks, new BackwardJob(this, run, dOut, cache, chunks));
        }

        var mh = run.RecurrentDropoutMask;
        if (!grads.InitialH.IsEmpty)
        {
            // dh_0 = carry + dhd ⊙ m_h, the same combination the step passes make.
            RnnRun.FinishCarry(carry, dhr, mh, grads.InitialH);
        }

        var hdAll = mh.IsEmpty ? cache.States.AsSpan(0, rows * u) : cache.HDropped.AsSpan(0, rows * u);
        var dxAll = grads.Input.IsEmpty ? Span<float>.Empty : dxm.AsSpan(0, rows * n);
        ParameterGradients(rows, weights.Kernel, cache, hdAll, cache.XDropped.AsSpan(0, rows * n), grads, dxAll);
        if (!grads.Input.IsEmpty)
        {
            RnnRun.ScatterInputGrad(dxm, run.InputDropoutMask, bt, tt, n, run.GoBackwards, grads.Input);
        }
    }

    /// <summary>Checks W, U and b against the layout (the bias's shape is the cell's).</summary>
    private protected virtual void CheckWeights(string owner, in RnnWeights weights)
    {
        SequenceRun.CheckLength(owner, "kernel", weights.Kernel.Length, false, InputSize, GateWidth);
        SequenceRun.CheckLength(owner, "recurrent_kernel", weights.RecurrentKernel.Length, false, Units, GateWidth);
        SequenceRun.CheckLength(owner, "bias", weights.Bias.Length, false, BiasLength);
    }

    /// <summary>Before the forward's time loop: the cell's bias rows and per-step scratch for <paramref name="batch"/> rows.</summary>
    private protected abstract void PrepareForward(ReadOnlySpan<float> bias, int batch);

    /// <summary>
    /// The forward time loop for rows [b0, b1): per step the recurrent product(s) of these rows,
    /// their fused row passes and the output rows. Inside a pool job it runs on one thread, its
    /// products inline; for the whole batch (one chunk) the products thread themselves.
    /// </summary>
    private protected abstract void ForwardSteps(in SequenceRun run, in RnnWeights weights, in RnnOutputs outputs, SingleStateCache c, bool training, int b0, int b1);

    /// <summary>Before the backward's time loop: the cell's gradient buffers for <paramref name="rows"/> = T·B rows.</summary>
    private protected abstract void PrepareBackward(int rows);

    /// <summary>The backward time loop for rows [b0, b1): per step their fused row passes and the dhd products.</summary>
    private protected abstract void BackwardSteps(in SequenceRun run, in RnnOutputGradients dOut, SingleStateCache cache, int b0, int b1);

    /// <summary>
    /// After the time loop: dW, dU, db accumulated from the saved buffers (<paramref name="hdAll"/>
    /// = h ⊙ m_h of every step, <paramref name="xmAll"/> = x ⊙ m_x), and, when
    /// <paramref name="dxm"/> is not empty, the time-major input gradient written into it.
    /// </summary>
    private protected abstract void ParameterGradients(int rows, ReadOnlySpan<float> kernel, SingleStateCache cache, ReadOnlySpan<float> hdAll, ReadOnlySpan<float> xmAll, in RnnGradients grads, Span<float> dxm);

    /// <summary>dy for row b of step s: its d(sequence) row where the step emits, else zeros.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private protected ref float OutputGradient(ReadOnlySpan<float> dSeq, ReadOnlySpan<float> emitS, int b, int tt, int s) =>
        ref !dSeq.IsEmpty && emitS[b] != 0f ? ref RnnRun.At(dSeq, ((b * tt) + s) * Units) : ref Zeros[0];

    /// <summary>m_h's row b, or ones without recurrent dropout.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private protected ref float RecurrentMask(ReadOnlySpan<float> mh, int b) =>
        ref mh.IsEmpty ? ref Ones[0] : ref RnnRun.At(mh, b * Units);

    /// <summary>Index i runs <see cref="ForwardSteps"/> over the rows of chunk i (<see cref="BatchChunks"/>).</summary>
    private readonly ref struct ForwardJob(SingleStateKernel kernel, SequenceRun run, RnnWeights weights, RnnOutputs outputs, SingleStateCache c, bool training, int chunks) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly RnnWeights weights = weights;
        private readonly RnnOutputs outputs = outputs;

        public void Execute(int index) =>
            kernel.ForwardSteps(run, weights, outputs, c, training, BatchChunks.Start(run.Batch, chunks, index), BatchChunks.Start(run.Batch, chunks, index + 1));
    }

    /// <summary>Index i runs <see cref="BackwardSteps"/> over the rows of chunk i.</summary>
    private readonly ref struct BackwardJob(SingleStateKernel kernel, SequenceRun run, RnnOutputGradients dOut, SingleStateCache cache, int chunks) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly RnnOutputGradients dOut = dOut;

        public void Execute(int index) =>
            kernel.BackwardSteps(run, dOut, cache, BatchChunks.Start(run.Batch, chunks, index), BatchChunks.Start(run.Batch, chunks, index + 1));
    }
}

/// <summary>
/// The buffers a training-mode single-state forward saves for its backward, owned by the caller
/// (one per forward whose gradient is still pending) and reused: the arrays only grow, so a warm
/// cache allocates nothing. Each forward can be differentiated once (the backward consumes it).
/// All buffers are time-major in processing order (row s·B + b is step s of sequence b).
/// </summary>
internal abstract class SingleStateCache
{
    /// <summary>[T·B, inputSize]: x ⊙ m_x, the left operand of dW.</summary>
    internal float[] XDropped = [];

    /// <summary>[(T+1)·B, units]: h_0 … h_T (carried over masked steps).</summary>
    internal float[] States = [];

    /// <summary>[T·B, units]: h_{t−1} ⊙ m_h (only with a recurrent dropout mask; else States is it).</summary>
    internal float[] HDropped = [];

    /// <summary>[T·B]: 1 where the step updates the state / where the output is h_t (see <see cref="RnnRun.BuildStepMasks"/>).</summary>
    internal float[] Keep = [];

    internal float[] Emit = [];

    internal RnnRunSignature Signature;

    /// <summary>True between a training forward and the backward that consumes it.</summary>
    public bool IsReady { get; internal set; }

    /// <summary>Floats currently held (capacity), for memory accounting.</summary>
    public virtual long CapacityFloats => (long)XDropped.Length + States.Length + HDropped.Length + Keep.Length + Emit.Length;

    /// <summary>Grows the buffers for a run; <paramref name="training"/> false = inference (one step of scratch).</summary>
    internal void Prepare(object layout, in SequenceRun run, int inputSize, int units, int gateWidth, bool training)
    {
        int bt = run.Batch, tt = run.Time;
        RnnRun.Ensure(ref XDropped, tt * bt * inputSize);
        RnnRun.Ensure(ref States, (training ? tt + 1 : 2) * bt * units);
        RnnRun.Ensure(ref HDropped, run.RecurrentDropoutMask.IsEmpty ? 0 : (training ? tt : 1) * bt * units);
        RnnRun.Ensure(ref Keep, tt * bt);
        RnnRun.Ensure(ref Emit, tt * bt);
        PrepareCell(training ? tt * bt : bt, units, gateWidth);
        Signature = RnnRunSignature.Of(layout, run);
        IsReady = false;
    }

    /// <summary>The cell's own saved buffers for <paramref name="rows"/> rows (T·B when training, B for one inference step).</summary>
    private protected virtual void PrepareCell(int rows, int units, int gateWidth)
    {
    }
}
