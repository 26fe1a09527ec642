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
internal sealed class SimpleRnnKernel : SingleStateKernel
{
    private readonly int n;
    private readonly int u;

    private float[] biasX = [];
    private float[] dA = [];

    public SimpleRnnKernel(SimpleRnnLayout layout, string name = "simple_rnn")
        : this(layout, name, LaneWidth.Auto)
    {
    }

    internal SimpleRnnKernel(SimpleRnnLayout layout, string name, LaneWidth width)
        : base(new SimpleRnnCache(), "SimpleRNN", name, NotNull(layout).InputSize, layout.Units, layout.Units, layout.Activation, layout.Activation, width)
    {
        Layout = layout;
        n = layout.InputSize;
        u = layout.Units;
        RnnRun.Ensure(ref biasX, u);
    }

    public SimpleRnnLayout Layout { get; }

    internal override SingleStateCache NewCache() => new SimpleRnnCache();

    private protected override object LayoutKey => Layout;

    private protected override int BiasLength => Layout.BiasLength;

    private protected override void PrepareForward(ReadOnlySpan<float> bias, int batch)
    {
        if (Layout.UseBias)
        {
            bias.CopyTo(biasX);
        }
        else
        {
            biasX.AsSpan().Clear();
        }
    }

    private protected override void ForwardSteps(in SequenceRun run, in RnnWeights weights, in RnnOutputs outputs, SequenceCache cache, bool training, int b0, int b1)
    {
        var c = (SimpleRnnCache)cache;
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
            var aS = Xp.AsSpan(s * bt * u, bt * u);
            Gemm.Sgemm(false, false, rows, u, u, 1f, hdS[(b0 * u)..], u, weights.RecurrentKernel, u, 1f, aS[(b0 * u)..], u);
            Step(b0, b1, aS, hPrev, c.Keep.AsSpan(s * bt, bt), hCur);
            if (!outputs.Sequence.IsEmpty)
            {
                RnnRun.WriteOutput(hCur, c.Emit.AsSpan(s * bt, bt), outputs.Sequence, b0, b1, tt, u, s);
            }
        }
    }

    private protected override void PrepareBackward(int rows) => RnnRun.Ensure(ref dA, rows * u);

    private protected override void BackwardSteps(in SequenceRun run, in RnnWeights weights, in RnnOutputGradients dOut, SequenceCache state, int b0, int b1)
    {
        var cache = (SimpleRnnCache)state;
        int bt = run.Batch, tt = run.Time, rows = b1 - b0;
        var recT = UT.AsSpan(0, u * u);
        var dhr = DhRec.AsSpan(b0 * u, rows * u);
        var mh = run.RecurrentDropoutMask;
        for (int s = tt - 1; s >= 0; s--)
        {
            var dAS = dA.AsSpan(s * bt * u, bt * u);
            BackStep(b0, b1, tt, s, cache.States.AsSpan((s + 1) * bt * u, bt * u), cache.Keep.AsSpan(s * bt, bt), cache.Emit.AsSpan(s * bt, bt), mh, dOut.Sequence, dAS);
            Gemm.Sgemm(false, false, rows, u, u, 1f, dAS[(b0 * u)..], u, recT, u, 0f, dhr, u);
        }
    }

    private protected override void ParameterGradients(int rows, in RnnWeights weights, SequenceCache cache, ReadOnlySpan<float> hdAll, ReadOnlySpan<float> xmAll, in RnnGradients grads, Span<float> dxm)
    {
        var dAAll = dA.AsSpan(0, rows * u);
        Gemm.Sgemm(true, false, u, u, rows, 1f, hdAll, u, dAAll, u, 1f, grads.RecurrentKernel, u);
        Gemm.Sgemm(true, false, n, u, rows, 1f, xmAll, n, dAAll, u, 1f, grads.Kernel, u);
        if (Layout.UseBias)
        {
            RnnRun.AddColumnSums(dAAll, rows, u, 0, grads.Bias);
        }

        if (!dxm.IsEmpty)
        {
            Gemm.Sgemm(false, true, rows, n, u, 1f, dAAll, u, weights.Kernel, u, 0f, dxm, n);
        }
    }

    private static SimpleRnnLayout NotNull(SimpleRnnLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return layout;
    }

    /// <summary>h_t = act(a + b) on kept rows [b0, b1) (a = xd W + hd U already), h_{t-1} on masked rows.</summary>
    private void Step(int b0, int b1, Span<float> aS, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> keepS, Span<float> hCur)
    {
        var row = Row;
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
        var row = Row;
        for (int b = b0; b < b1; b++)
        {
            SimpleRnnCell.Backward(row, keepS[b] != 0f, ref DhCarry[b * u], ref DhRec[b * u], ref RecurrentMask(mh, b), ref OutputGradient(dSeq, emitS, b, tt, s), ref RnnRun.At(hCur, b * u), ref RnnRun.At(dAS, b * u));
        }
    }
}
