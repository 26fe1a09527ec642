using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The fully connected (Elman) recurrent layer over a whole sequence, forward and backward
/// (BPTT), with Keras's weight layout. The layer (options, initializers, autograd) sits on top.
/// </summary>
/// <remarks>
/// <para><b>Equations</b>, forward and backward: <see cref="SimpleRnnCell"/>, which also holds
/// the fused row kernels; this class walks time and batch and does the matrix products.</para>
/// <para><b>Layout</b> (<see cref="SimpleRnnLayout"/>): kernel W [input, units], recurrent kernel
/// U [units, units], bias b [units] (empty without bias). SimpleRNN(128) on 28 inputs: 20,096
/// parameters.</para>
/// <para><b>Shapes</b>, masks, dropout masks and go_backwards: as <see cref="GruKernel"/>.</para>
/// <para><b>Speed</b>: x W for all steps is one GEMM before the loop, into a time-major buffer;
/// each step's recurrent GEMM accumulates straight into its slice (beta = 1), then one fused pass
/// adds b and applies act. Backward: per step one fused pass (dh → da = dh ⊙ act'(h_t)) and one
/// GEMM (dhd = da Uᵀ); dW, dU and dx are single GEMMs over all steps.</para>
/// <para><b>Threading</b>: as <see cref="GruKernel"/>, each row chunk (<see cref="BatchChunks"/>)
/// runs the whole time loop for its rows on one pool thread, with no synchronisation per step;
/// the chunks depend on the batch size only, so results are the same bits for any thread count.</para>
/// <para><b>Saved for BPTT</b> in a caller-owned <see cref="SimpleRnnCache"/>: the dropped input,
/// h_0..h_T (act' is taken from h_t itself) and h ⊙ m_h (only with recurrent dropout).</para>
/// </remarks>
public sealed class SimpleRnnKernel : ISingleStateKernel<SimpleRnnCache>
{
    private readonly int n;
    private readonly int u;
    private readonly CellRow cellRow;
    private readonly string ownerForward;
    private readonly string ownerBackward;
    private readonly SimpleRnnCache scratch = new();

    private float[] xp = [];
    private float[] biasX = [];
    private float[] ones = [];
    private float[] zeros = [];
    private float[] dA = [];
    private float[] dhCarry = [];
    private float[] dhRec = [];
    private float[] dxm = [];
    private float[] uT = [];

    public SimpleRnnKernel(SimpleRnnLayout layout, string name = "simple_rnn")
        : this(layout, name, LaneWidth.Auto)
    {
    }

    internal SimpleRnnKernel(SimpleRnnLayout layout, string name, LaneWidth width)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Layout = layout;
        Name = name;
        ownerForward = $"SimpleRNN '{name}'";
        ownerBackward = $"SimpleRNN '{name}' backward";
        n = layout.InputSize;
        u = layout.Units;
        cellRow = new CellRow(u, layout.Activation, layout.Activation, RnnRun.Resolve(width));
        RnnRun.Ensure(ref biasX, u);
        RnnRun.Ensure(ref ones, u);
        RnnRun.Ensure(ref zeros, u);
        ones.AsSpan().Fill(1f);
    }

    public SimpleRnnLayout Layout { get; }

    /// <summary>Used in error messages, e.g. the layer's name.</summary>
    public string Name { get; }

    /// <summary>Runs the SimpleRNN over <paramref name="run"/>; arguments as <see cref="GruKernel.Forward"/>.</summary>
    public void Forward(in SequenceRun run, in RnnWeights weights, ReadOnlySpan<float> h0, in RnnOutputs outputs, SimpleRnnCache? cache)
    {
        string owner = ownerForward;
        run.Validate(owner, n, u);
        int bt = run.Batch, tt = run.Time;
        CheckWeights(owner, weights);
        SequenceRun.CheckLength(owner, "initial h", h0.Length, true, bt, u);
        SequenceRun.CheckLength(owner, "output sequence", outputs.Sequence.Length, true, bt, tt, u);
        SequenceRun.CheckLength(owner, "last output", outputs.Last.Length, true, bt, u);
        SequenceRun.CheckLength(owner, "final h", outputs.H.Length, true, bt, u);

        bool training = cache is not null;
        var c = cache ?? scratch;
        c.Prepare(Layout, run, training);
        int rows = bt * tt;
        RnnRun.Ensure(ref xp, rows * u);

        RnnRun.BuildStepMasks(run.Mask, bt, tt, run.GoBackwards, run.ZeroOutputForMask, c.Keep, c.Emit);
        RnnRun.GatherInput(run.X, run.InputDropoutMask, bt, tt, n, run.GoBackwards, c.XDropped);
        Gemm.Sgemm(false, false, rows, u, n, 1f, c.XDropped, n, weights.Kernel, u, 0f, xp, u);
        if (Layout.UseBias)
        {
            weights.Bias.CopyTo(biasX);
        }
        else
        {
            biasX.AsSpan().Clear();
        }

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

    /// <summary>BPTT through the forward saved in <paramref name="cache"/>; arguments as <see cref="GruKernel.Backward"/>.</summary>
    public void Backward(in SequenceRun run, in RnnWeights weights, SimpleRnnCache cache, in RnnOutputGradients dOut, in RnnGradients grads)
    {
        ArgumentNullException.ThrowIfNull(cache);
        string owner = ownerBackward;
        run.Validate(owner, n, u);
        CheckWeights(owner, weights);
        cache.Signature.CheckMatches(owner, cache.IsReady, Layout, run);
        int bt = run.Batch, tt = run.Time;
        RnnRun.CheckBackward(owner, run, dOut, grads, n, u, u, Layout.BiasLength);
        cache.IsReady = false;

        int rows = bt * tt;
        RnnRun.Ensure(ref dA, rows * u);
        RnnRun.Ensure(ref dhCarry, bt * u);
        RnnRun.Ensure(ref dhRec, bt * u);
        RnnRun.Ensure(ref dxm, grads.Input.IsEmpty ? 0 : rows * n);

        var carry = dhCarry.AsSpan(0, bt * u);
        var dhr = dhRec.AsSpan(0, bt * u);
        dhr.Clear();
        RnnRun.StartCarry(dOut.H, dOut.Last, cache.Emit.AsSpan((tt - 1) * bt, bt), carry, bt, u);

        // Uᵀ once, so each step's dhd product reads B row-major (no transB packing).
        RnnRun.Ensure(ref uT, u * u);
        RnnRun.Transpose(weights.RecurrentKernel, u, u, uT);

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
            RnnRun.FinishCarry(carry, dhr, mh, grads.InitialH);
        }

        var hdAll = mh.IsEmpty ? cache.States.AsSpan(0, rows * u) : cache.HDropped.AsSpan(0, rows * u);
        var dAAll = dA.AsSpan(0, rows * u);
        Gemm.Sgemm(true, false, u, u, rows, 1f, hdAll, u, dAAll, u, 1f, grads.RecurrentKernel, u);
        Gemm.Sgemm(true, false, n, u, rows, 1f, cache.XDropped, n, dAAll, u, 1f, grads.Kernel, u);
        if (Layout.UseBias)
        {
            RnnRun.AddColumnSums(dAAll, rows, u, 0, grads.Bias);
        }

        if (!grads.Input.IsEmpty)
        {
            Gemm.Sgemm(false, true, rows, n, u, 1f, dAAll, u, weights.Kernel, u, 0f, dxm, n);
            RnnRun.ScatterInputGrad(dxm, run.InputDropoutMask, bt, tt, n, run.GoBackwards, grads.Input);
        }
    }

    /// <summary>
    /// The forward time loop for rows [b0, b1): per step the recurrent GEMM of these rows and
    /// their fused pass. Inside a <see cref="ForwardJob"/> it runs on one pool thread, its GEMMs
    /// inline; for the whole batch (one chunk) the GEMMs thread themselves.
    /// </summary>
    private void ForwardSteps(in SequenceRun run, in RnnWeights weights, in RnnOutputs outputs, SimpleRnnCache c, bool training, int b0, int b1)
    {
        int bt = run.Batch, tt = run.Time, rows = b1 - b0;
        var mh = run.RecurrentDropoutMask;
        for (int s = 0; s < tt; s++)
        {
            int prevSlot = training ? s : s & 1;
            int curSlot = training ? s + 1 : (s + 1) & 1;
            var hPrev = c.States.AsSpan(prevSlot * bt * u, bt * u);
            var hCur = c.States.AsSpan(curSlot * bt * u, bt * u);
            var hdS = hPrev;
            if (!mh.IsEmpty)
            {
                hdS = c.HDropped.AsSpan((training ? s : 0) * bt * u, bt * u);
                RnnRun.MultiplyRows(hPrev[(b0 * u)..], mh[(b0 * u)..], hdS[(b0 * u)..], rows * u);
            }

            // The recurrent product lands on top of this step's input projection.
            var aS = xp.AsSpan(s * bt * u, bt * u);
            Gemm.Sgemm(false, false, rows, u, u, 1f, hdS[(b0 * u)..], u, weights.RecurrentKernel, u, 1f, aS[(b0 * u)..], u);
            Step(b0, b1, aS, hPrev, c.Keep.AsSpan(s * bt, bt), hCur);
            if (!outputs.Sequence.IsEmpty)
            {
                RnnRun.WriteOutput(hCur, c.Emit.AsSpan(s * bt, bt), outputs.Sequence, b0, b1, tt, u, s);
            }
        }
    }

    /// <summary>The backward time loop for rows [b0, b1): per step their fused pass and dhd = da·Uᵀ; threading as <see cref="ForwardSteps"/>.</summary>
    private void BackwardSteps(in SequenceRun run, in RnnOutputGradients dOut, SimpleRnnCache cache, int b0, int b1)
    {
        int bt = run.Batch, tt = run.Time, rows = b1 - b0;
        var recT = uT.AsSpan(0, u * u);
        var dhr = dhRec.AsSpan(b0 * u, rows * u);
        var mh = run.RecurrentDropoutMask;
        for (int s = tt - 1; s >= 0; s--)
        {
            var dAS = dA.AsSpan(s * bt * u, bt * u);
            BackStep(b0, b1, tt, s, cache.States.AsSpan((s + 1) * bt * u, bt * u), cache.Keep.AsSpan(s * bt, bt), cache.Emit.AsSpan(s * bt, bt), mh, dOut.Sequence, dAS);
            Gemm.Sgemm(false, false, rows, u, u, 1f, dAS[(b0 * u)..], u, recT, u, 0f, dhr, u);
        }
    }

    /// <summary>Index i runs <see cref="ForwardSteps"/> over the rows of chunk i (<see cref="BatchChunks"/>).</summary>
    private readonly ref struct ForwardJob(SimpleRnnKernel kernel, SequenceRun run, RnnWeights weights, RnnOutputs outputs, SimpleRnnCache c, bool training, int chunks) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly RnnWeights weights = weights;
        private readonly RnnOutputs outputs = outputs;

        public void Execute(int index) =>
            kernel.ForwardSteps(run, weights, outputs, c, training, BatchChunks.Start(run.Batch, chunks, index), BatchChunks.Start(run.Batch, chunks, index + 1));
    }

    /// <summary>Index i runs <see cref="BackwardSteps"/> over the rows of chunk i.</summary>
    private readonly ref struct BackwardJob(SimpleRnnKernel kernel, SequenceRun run, RnnOutputGradients dOut, SimpleRnnCache cache, int chunks) : IParallelJob
    {
        private readonly SequenceRun run = run;
        private readonly RnnOutputGradients dOut = dOut;

        public void Execute(int index) =>
            kernel.BackwardSteps(run, dOut, cache, BatchChunks.Start(run.Batch, chunks, index), BatchChunks.Start(run.Batch, chunks, index + 1));
    }

    private void CheckWeights(string owner, in RnnWeights weights)
    {
        SequenceRun.CheckLength(owner, "kernel", weights.Kernel.Length, false, n, u);
        SequenceRun.CheckLength(owner, "recurrent_kernel", weights.RecurrentKernel.Length, false, u, u);
        SequenceRun.CheckLength(owner, "bias", weights.Bias.Length, false, Layout.BiasLength);
    }

    /// <summary>h_t = act(a + b) on kept rows [b0, b1) (a = xd W + hd U already), h_{t-1} on masked rows.</summary>
    private void Step(int b0, int b1, Span<float> aS, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> keepS, Span<float> hCur)
    {
        var row = cellRow;
        ref float bx = ref biasX[0];
        for (int b = b0; b < b1; b++)
        {
            if (keepS[b] == 0f)
            {
                hPrev.Slice(b * u, u).CopyTo(hCur.Slice(b * u, u));
                continue;
            }

            SimpleRnnCell.Forward(row, ref RnnRun.At(aS, b * u), ref bx, ref RnnRun.At(hCur, b * u));
        }
    }

    /// <summary>The backward row pass of rows [b0, b1) (<see cref="SimpleRnnCell.Backward"/>), with dy = emit ⊙ dY_t.</summary>
    private void BackStep(int b0, int b1, int tt, int s, ReadOnlySpan<float> hCur, ReadOnlySpan<float> keepS, ReadOnlySpan<float> emitS, ReadOnlySpan<float> mh, ReadOnlySpan<float> dSeq, Span<float> dAS)
    {
        var row = cellRow;
        for (int b = b0; b < b1; b++)
        {
            ref float mhr = ref mh.IsEmpty ? ref ones[0] : ref RnnRun.At(mh, b * u);
            bool useDy = !dSeq.IsEmpty && emitS[b] != 0f;
            ref float dy = ref useDy ? ref RnnRun.At(dSeq, ((b * tt) + s) * u) : ref zeros[0];
            SimpleRnnCell.Backward(row, keepS[b] != 0f, ref dhCarry[b * u], ref dhRec[b * u], ref mhr, ref dy, ref RnnRun.At(hCur, b * u), ref RnnRun.At(dAS, b * u));
        }
    }
}
