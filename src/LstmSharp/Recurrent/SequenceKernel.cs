using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The time-loop driver shared by the fused cells (<see cref="GruKernel"/>,
/// <see cref="SimpleRnnKernel"/>, <see cref="LayerNormLstmKernel"/>, <see cref="LstmKernel"/>):
/// argument checks, the per-step keep/output masks, the time-major copy of the dropped-out input
/// and its projection x·W (a cell may project its own way: <c>ProjectInput</c>), the initial state(s), the batch chunks and their pool jobs, the final outputs; in the
/// backward the output-gradient carry (and the cell-state carry of a two-state cell), Uᵀ,
/// dh_0 / dc_0 and the scatter of dx. It owns the time loop: per step the state rows
/// (<see cref="StepStates"/>, with h ⊙ m_h) and the output rows. A cell supplies only its step
/// (products and row passes, <see cref="SequenceKernel{TWeights, TGradients}"/>.ForwardStep /
/// BackwardStep) and its whole-sequence parameter products. The names, sizes and argument checks
/// are <see cref="RecurrentKernel"/>'s. h is H wide
/// (<see cref="RecurrentKernel.OutputSize"/>: units, or P for a cell that projects it), c units wide.
/// </summary>
/// <remarks>
/// <para>Buffers are time-major in processing order (row s·B + b is step s of sequence b), so every
/// step's rows are contiguous for its products and dW, dU, dx are each one product over all T·B
/// rows. Each chunk (<see cref="BatchChunks"/>, from the batch size only) runs the whole time
/// loop for its rows on one pool thread, so the bits do not depend on the thread count.</para>
/// <para>A two-state cell (<c>cellState</c>: LSTM-like, c beside h) gets c_0 … c_T in
/// <see cref="SequenceCache.Cells"/> and a backward carry ∂L/∂c in <see cref="DcCarry"/>; its rows
/// copy both states over masked steps, as they copy h.</para>
/// <para>Two classes: this one holds the buffers and row helpers the cells' steps use
/// (not generic, so those loops inline them as before), and
/// <see cref="SequenceKernel{TWeights, TGradients}"/> the forward and backward over the cell's span
/// bundles (ref structs, so each cell's instantiation is compiled for it: no shared generic code
/// and no runtime generic lookups in the pool jobs).</para>
/// </remarks>
internal abstract class SequenceKernel : RecurrentKernel
{
    private protected SequenceKernel(string kind, string name, int inputSize, int units, int gateWidth, ActivationKind activation, ActivationKind recurrentActivation, LaneWidth width, bool cellState, int outputSize)
        : base(kind, name, inputSize, units, outputSize > 0 ? outputSize : units, gateWidth, cellState)
    {
        Row = new CellRow(units, activation, recurrentActivation, LaneWidths.Resolve(width));
        StateRow = Row with { Units = OutputSize };
        RnnRun.Ensure(ref Ones, Math.Max(units, OutputSize));
        RnnRun.Ensure(ref Zeros, Math.Max(units, OutputSize));
        Ones.AsSpan().Fill(1f);
    }

    /// <summary>A new, empty BPTT cache of this cell's kind.</summary>
    internal abstract SequenceCache NewCache();

    private protected CellRow Row { get; }

    /// <summary><see cref="Row"/> over h's H values (the carries of dh): the same unless the cell projects h (H ≠ units).</summary>
    private protected CellRow StateRow { get; }

    /// <summary>[T·B, G·units]: xd·W of every step (biases join in the step passes), unless the cell keeps it in its cache (<c>ProjectionBuffer</c>).</summary>
    private protected float[] Xp = [];

    /// <summary>[B, units] each: dh ⊙ z-style direct carry into h_{t−1}, and the step's recurrent product dhd.</summary>
    private protected float[] DhCarry = [];

    private protected float[] DhRec = [];

    /// <summary>[B, units]: ∂L/∂c_t of a two-state cell, which its backward rows turn into ∂L/∂c_{t−1} in place.</summary>
    private protected float[] DcCarry = [];

    /// <summary>Uᵀ [G·units, units], made once per backward so each step's dhd product reads B row-major.</summary>
    private protected float[] UT = [];

    /// <summary>[units] of ones (m_h without recurrent dropout) and of zeros (dy where no output gradient flows).</summary>
    private protected float[] Ones = [];

    private protected float[] Zeros = [];

    /// <summary>dy for row b of step s: its d(sequence) row where the step emits, else zeros.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private protected ref float OutputGradient(ReadOnlySpan<float> dSeq, ReadOnlySpan<float> emitS, int b, int tt, int s) =>
        ref !dSeq.IsEmpty && emitS[b] != 0f ? ref RnnRun.At(dSeq, ((b * tt) + s) * OutputSize) : ref Zeros[0];

    /// <summary>m_h's row b, or ones without recurrent dropout.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private protected ref float RecurrentMask(ReadOnlySpan<float> mh, int b) =>
        ref mh.IsEmpty ? ref Ones[0] : ref RnnRun.At(mh, b * OutputSize);

    /// <summary>
    /// The state rows of forward step <paramref name="s"/> (see <see cref="StepStates"/>); under
    /// recurrent dropout it also writes h_{s−1} ⊙ m_h of rows [b0, b1), the step's left operand.
    /// </summary>
    private protected StepStates ForwardStates(SequenceCache c, in SequenceRun run, bool training, int s, int b0, int b1)
    {
        int bu = run.Batch * Units, bh = run.Batch * OutputSize;
        int prevSlot = training ? s : s & 1;
        int curSlot = training ? s + 1 : (s + 1) & 1;
        int stepSlot = training ? s : 0;
        var hPrev = c.States.AsSpan(prevSlot * bh, bh);
        var hd = hPrev;
        var mh = run.RecurrentDropoutMask;
        if (!mh.IsEmpty)
        {
            hd = c.HDropped.AsSpan(stepSlot * bh, bh);
            int r0 = b0 * OutputSize;
            RnnRun.MultiplyRows(hPrev[r0..], mh[r0..], hd[r0..], (b1 - b0) * OutputSize);
        }

        return HasCellState
            ? new StepStates(stepSlot, hPrev, c.States.AsSpan(curSlot * bh, bh), hd, c.Cells.AsSpan(prevSlot * bu, bu), c.Cells.AsSpan(curSlot * bu, bu))
            : new StepStates(stepSlot, hPrev, c.States.AsSpan(curSlot * bh, bh), hd, default, default);
    }

    /// <summary>
    /// Whether row <paramref name="b"/> is masked at this step (<paramref name="keepS"/> = the step's keep row):
    /// then its state carries over, h_s = h_{s−1}, and the cell's pass skips the row.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private protected bool CarriedOver(ReadOnlySpan<float> keepS, int b, ReadOnlySpan<float> hPrev, Span<float> hCur)
    {
        if (keepS[b] != 0f)
        {
            return false;
        }

        int h = OutputSize;
        hPrev.Slice(b * h, h).CopyTo(hCur.Slice(b * h, h));
        return true;
    }

    /// <summary>
    /// Whether row <paramref name="b"/> is masked at backward step <paramref name="s"/>; then its
    /// gradient passes through to h_{s−1} unchanged (<see cref="RnnRun.CarryMasked"/>: the carry
    /// takes dhd ⊙ m_h and the output gradient) and the cell's backward pass skips the row.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private protected bool CarriedBack(ReadOnlySpan<float> keepS, ReadOnlySpan<float> mh, ReadOnlySpan<float> dSeq, ReadOnlySpan<float> emitS, int b, int tt, int s)
    {
        if (keepS[b] != 0f)
        {
            return false;
        }

        RnnRun.CarryMasked(StateRow, ref DhCarry[b * OutputSize], ref DhRec[b * OutputSize], ref RecurrentMask(mh, b), ref OutputGradient(dSeq, emitS, b, tt, s));
        return true;
    }

    /// <summary>dst = src, or zeros when src is empty (an initial state or gradient not given).</summary>
    private protected static void Start(Span<float> dst, ReadOnlySpan<float> src)
    {
        if (src.IsEmpty)
        {
            dst.Clear();
        }
        else
        {
            src.CopyTo(dst);
        }
    }
}

/// <summary>The driver for a cell whose parameter and gradient spans are <typeparamref name="TWeights"/> and <typeparamref name="TGradients"/>.</summary>
/// <typeparam name="TWeights">The cell's parameter spans: W, U, b and whatever else its rows read.</typeparam>
/// <typeparam name="TGradients">The cell's gradient spans: dW, dU, db, dx, dh_0, dc_0 and its own.</typeparam>
internal abstract class SequenceKernel<TWeights, TGradients> : SequenceKernel
    where TWeights : IRnnWeights, allows ref struct
    where TGradients : IRnnGradients, allows ref struct
{
    // An inference forward runs in this private cache's buffers (one step of them), so the
    // caller's caches are untouched and no activations are kept.
    private readonly SequenceCache scratch;

    private float[] dxm = [];

    private protected SequenceKernel(SequenceCache scratch, string kind, string name, int inputSize, int units, int gateWidth, ActivationKind activation, ActivationKind recurrentActivation, LaneWidth width, bool cellState = false, int outputSize = 0)
        : base(kind, name, inputSize, units, gateWidth, activation, recurrentActivation, width, cellState, outputSize)
    {
        this.scratch = scratch;
    }

    /// <summary>As <see cref="Forward(in SequenceRun, in TWeights, ReadOnlySpan{float}, ReadOnlySpan{float}, in RnnOutputs, SequenceCache?)"/> for a one-state cell.</summary>
    internal void Forward(in SequenceRun run, in TWeights weights, ReadOnlySpan<float> h0, in RnnOutputs outputs, SequenceCache? cache) =>
        Forward(run, weights, h0, default, outputs, cache);

    /// <summary>
    /// Runs the cell over <paramref name="run"/>. <paramref name="h0"/> (and <paramref name="c0"/>
    /// of a two-state cell) [batch, units] are the initial states (empty = zeros). With a
    /// <paramref name="cache"/> (training) it saves what <see cref="Backward"/> needs (a cache
    /// from <see cref="SequenceKernel.NewCache"/>); with null (inference) it keeps nothing.
    /// </summary>
    internal void Forward(in SequenceRun run, in TWeights weights, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, in RnnOutputs outputs, SequenceCache? cache)
    {
        string owner = OwnerForward;
        int n = InputSize, u = Units, h = OutputSize, g = GateWidth;
        CheckRun(owner, run, h0, c0, outputs);
        CheckWeights(owner, weights);
        int bt = run.Batch, tt = run.Time;

        bool training = cache is not null;
        var c = cache ?? scratch;
        c.Prepare(LayoutKey, run, n, u, h, g, training, HasCellState);
        int rows = bt * tt;

        RnnRun.BuildStepMasks(run.Mask, bt, tt, run.GoBackwards, run.ZeroOutputForMask, c.Keep, c.Emit);
        ProjectInput(run, weights, c, ProjectionBuffer(c, rows * g).AsSpan(0, rows * g));
        PrepareForward(weights.Bias, bt);

        Start(c.States.AsSpan(0, bt * h), h0);
        if (HasCellState)
        {
            Start(c.Cells.AsSpan(0, bt * u), c0);
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

        int final = (training ? tt : tt & 1) * bt;
        var hT = c.States.AsSpan(final * h, bt * h);
        RnnRun.WriteFinal(hT, c.Emit.AsSpan((tt - 1) * bt, bt), outputs.Last, outputs.H, bt, h);
        if (HasCellState && !outputs.C.IsEmpty)
        {
            c.Cells.AsSpan(final * u, bt * u).CopyTo(outputs.C);
        }

        if (training)
        {
            cache!.IsReady = true;
        }
    }

    /// <summary>
    /// Backpropagates <paramref name="dOut"/> through the forward saved in <paramref name="cache"/>
    /// (called with the same <paramref name="run"/> and <paramref name="weights"/>), accumulating
    /// the parameter gradients and writing dx, dh_0 (and dc_0). Consumes the cache.
    /// </summary>
    internal void Backward(in SequenceRun run, in TWeights weights, SequenceCache cache, in RnnOutputGradients dOut, in TGradients grads)
    {
        ArgumentNullException.ThrowIfNull(cache);
        string owner = OwnerBackward;
        int n = InputSize, u = Units, h = OutputSize, g = GateWidth;
        run.Validate(owner, n, h);
        CheckWeights(owner, weights);
        cache.CheckMatches(owner, LayoutKey, run);
        int bt = run.Batch, tt = run.Time;
        CheckGradients(owner, run, dOut, grads);
        cache.IsReady = false;

        int rows = bt * tt;
        PrepareBackward(rows);
        RnnRun.Ensure(ref DhCarry, bt * h);
        RnnRun.Ensure(ref DhRec, bt * h);
        RnnRun.Ensure(ref dxm, grads.Input.IsEmpty ? 0 : rows * n);
        RnnRun.Ensure(ref UT, g * h);
        RnnRun.Transpose(weights.RecurrentKernel, h, g, UT);

        // dh_T = d(final h) + emit_{T-1} ⊙ d(last); the per-step d(sequence) terms join in the loop.
        var carry = DhCarry.AsSpan(0, bt * h);
        var dhr = DhRec.AsSpan(0, bt * h);
        dhr.Clear();
        RnnRun.StartCarry(dOut.H, dOut.Last, cache.Emit.AsSpan((tt - 1) * bt, bt), carry, bt, h);
        if (HasCellState)
        {
            RnnRun.Ensure(ref DcCarry, bt * u);
            Start(DcCarry.AsSpan(0, bt * u), dOut.C);
        }

        int chunks = BatchChunks.Count(bt);
        if (chunks == 1)
        {
            BackwardSteps(run, weights, dOut, cache, 0, bt);
        }
        else
        {
            WorkerPool.Shared.For(chunks, new BackwardJob(this, run, weights, dOut, cache, chunks));
        }

        var mh = run.RecurrentDropoutMask;
        if (!grads.InitialH.IsEmpty)
        {
            // dh_0 = carry + dhd ⊙ m_h, the same combination the step passes make.
            RnnRun.FinishCarry(carry, dhr, mh, grads.InitialH);
        }

        if (HasCellState && !grads.InitialC.IsEmpty)
        {
            DcCarry.AsSpan(0, bt * u).CopyTo(grads.InitialC);
        }

        var hdAll = mh.IsEmpty ? cache.States.AsSpan(0, rows * h) : cache.HDropped.AsSpan(0, rows * h);
        var dxAll = grads.Input.IsEmpty ? Span<float>.Empty : dxm.AsSpan(0, rows * n);
        ParameterGradients(run, weights, cache, hdAll, cache.XDropped.AsSpan(0, rows * n), grads, dxAll);
        if (!grads.Input.IsEmpty)
        {
            RnnRun.ScatterInputGrad(dxm, run.InputDropoutMask, bt, tt, n, run.GoBackwards, grads.Input);
        }
    }

    /// <summary>Checks W, U and b against the layout (the bias's shape is the cell's); a cell with more parameters checks them too.</summary>
    private protected virtual void CheckWeights(string owner, in TWeights weights) => CheckKernels(owner, weights);

    /// <summary>The backward's checks: output gradients and gradient buffers against the run's shapes; a cell with more parameters checks them too.</summary>
    private protected virtual void CheckGradients(string owner, in SequenceRun run, in RnnOutputGradients dOut, in TGradients grads) =>
        CheckKernelGradients(owner, run, dOut, grads);

    /// <summary>
    /// Where the forward writes x·W of every step ([T·B, G·units], <paramref name="length"/> floats):
    /// the kernel's <see cref="SequenceKernel.Xp"/>, or, for a cell whose backward reads it, a buffer of <paramref name="cache"/>.
    /// </summary>
    private protected virtual float[] ProjectionBuffer(SequenceCache cache, int length)
    {
        RnnRun.Ensure(ref Xp, length);
        return Xp;
    }

    /// <summary>
    /// The input projection of every step at once, time-major into <paramref name="z"/> [T·B, G·units]
    /// (biases join in the step passes): x ⊙ m_x gathered into the cache's
    /// <see cref="RecurrentCache.XDropped"/> (dW's left operand), then one product by W. A cell
    /// whose W is stored otherwise, or that reads x through a token table, projects its own way.
    /// </summary>
    private protected virtual void ProjectInput(in SequenceRun run, in TWeights weights, SequenceCache c, Span<float> z)
    {
        int n = InputSize, g = GateWidth;
        RnnRun.GatherInput(run.X, run.InputDropoutMask, run.Batch, run.Time, n, run.GoBackwards, c.XDropped);
        Gemm.Sgemm(false, false, run.Batch * run.Time, g, n, 1f, c.XDropped, n, weights.Kernel, g, 0f, z, g);
    }

    /// <summary>Before the forward's time loop: the cell's bias rows and per-step scratch for <paramref name="batch"/> rows.</summary>
    private protected abstract void PrepareForward(ReadOnlySpan<float> bias, int batch);

    /// <summary>
    /// The forward time loop for rows [b0, b1): per step their state rows, the cell's step
    /// (<see cref="ForwardStep"/>) and their output rows. Inside a pool job it runs on one thread,
    /// its products inline; for the whole batch (one chunk) the products thread themselves.
    /// </summary>
    private void ForwardSteps(in SequenceRun run, in TWeights weights, in RnnOutputs outputs, SequenceCache c, bool training, int b0, int b1)
    {
        int bt = run.Batch, tt = run.Time;
        for (int s = 0; s < tt; s++)
        {
            var states = ForwardStates(c, run, training, s, b0, b1);
            ForwardStep(run, weights, c, states, s, b0, b1);
            if (!outputs.Sequence.IsEmpty)
            {
                RnnRun.WriteOutput(states.HCur, c.Emit.AsSpan(s * bt, bt), outputs.Sequence, b0, b1, tt, OutputSize, s);
            }
        }
    }

    /// <summary>
    /// Forward step <paramref name="s"/> of rows [b0, b1): the recurrent product(s) of these rows
    /// (left operand <see cref="StepStates.Hd"/>) and their fused row passes, which write h_s (and
    /// c_s) and what the backward reads; a masked row carries its state over (<see cref="SequenceKernel.CarriedOver"/>).
    /// Cells that share one instantiation of this class (GRU and SimpleRNN, both over
    /// <see cref="RnnWeights"/>) mark their overrides <c>[MethodImpl(MethodImplOptions.NoInlining)]</c>,
    /// as their <see cref="BackwardStep"/>: each step is then compiled on its own, with its row
    /// pass and products inlined into it, and the loop calls it once per step. Without it,
    /// dynamic PGO inlines into the shared loop the step of whichever cell it profiled, and the
    /// row kernels lose part of their inlining there (bench/README.md, "Driver step"). A cell
    /// with span bundles of its own has the loop to itself and leaves the choice to the JIT.
    /// </summary>
    private protected abstract void ForwardStep(in SequenceRun run, in TWeights weights, SequenceCache c, in StepStates states, int s, int b0, int b1);

    /// <summary>Before the backward's time loop: the cell's gradient buffers for <paramref name="rows"/> = T·B rows.</summary>
    private protected abstract void PrepareBackward(int rows);

    /// <summary>The backward time loop for rows [b0, b1), last step first.</summary>
    private void BackwardSteps(in SequenceRun run, in TWeights weights, in RnnOutputGradients dOut, SequenceCache cache, int b0, int b1)
    {
        for (int s = run.Time - 1; s >= 0; s--)
        {
            BackwardStep(run, weights, dOut, cache, s, b0, b1);
        }
    }

    /// <summary>
    /// Backward step <paramref name="s"/> of rows [b0, b1): their fused row passes, which take
    /// dh_s from <see cref="SequenceKernel.DhCarry"/>, <see cref="SequenceKernel.DhRec"/> and the
    /// output gradient, then the product(s) that leave the next dhd in DhRec. (NoInlining: as
    /// <see cref="ForwardStep"/>.)
    /// </summary>
    private protected abstract void BackwardStep(in SequenceRun run, in TWeights weights, in RnnOutputGradients dOut, SequenceCache cache, int s, int b0, int b1);

    /// <summary>
    /// After the time loop: the parameter gradients accumulated from the saved buffers
    /// (<paramref name="hdAll"/> = h ⊙ m_h of every step, <paramref name="xmAll"/> = x ⊙ m_x, both
    /// over the run's T·B rows), and, when <paramref name="dxm"/> is not empty, the time-major input
    /// gradient written into it.
    /// </summary>
    private protected abstract void ParameterGradients(in SequenceRun run, in TWeights weights, SequenceCache cache, ReadOnlySpan<float> hdAll, ReadOnlySpan<float> xmAll, in TGradients grads, Span<float> dxm);

    /// <summary>Index i runs <see cref="ForwardSteps"/> over the rows of chunk i (<see cref="BatchChunks"/>).</summary>
    private readonly ref struct ForwardJob(SequenceKernel<TWeights, TGradients> kernel, SequenceRun run, TWeights weights, RnnOutputs outputs, SequenceCache c, bool training, int chunks) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly TWeights weights = weights;
        private readonly RnnOutputs outputs = outputs;

        public void Execute(int index) =>
            kernel.ForwardSteps(run, weights, outputs, c, training, BatchChunks.Start(run.Batch, chunks, index), BatchChunks.Start(run.Batch, chunks, index + 1));
    }

    /// <summary>Index i runs <see cref="BackwardSteps"/> over the rows of chunk i.</summary>
    private readonly ref struct BackwardJob(SequenceKernel<TWeights, TGradients> kernel, SequenceRun run, TWeights weights, RnnOutputGradients dOut, SequenceCache cache, int chunks) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly TWeights weights = weights;
        private readonly RnnOutputGradients dOut = dOut;

        public void Execute(int index) =>
            kernel.BackwardSteps(run, weights, dOut, cache, BatchChunks.Start(run.Batch, chunks, index), BatchChunks.Start(run.Batch, chunks, index + 1));
    }
}

/// <summary>
/// The [batch, H] (h) and [batch, units] (c) state rows of one forward step s, all batch rows (a chunk uses its own):
/// h_{s−1}, h_s, the recurrent product's left operand h_{s−1} ⊙ m_h (h_{s−1} itself without
/// recurrent dropout) and, for a two-state cell, c_{s−1} and c_s. A training forward keeps every
/// step's states (slot s and s + 1), an inference forward two alternating slots;
/// <see cref="Slot"/> is the step's row block in the per-step buffers (s, or 0 for inference).
/// </summary>
internal readonly ref struct StepStates(int slot, Span<float> hPrev, Span<float> hCur, Span<float> hd, Span<float> cPrev, Span<float> cCur)
{
    public int Slot { get; } = slot;

    public Span<float> HPrev { get; } = hPrev;

    public Span<float> HCur { get; } = hCur;

    public Span<float> Hd { get; } = hd;

    public Span<float> CPrev { get; } = cPrev;

    public Span<float> CCur { get; } = cCur;
}
