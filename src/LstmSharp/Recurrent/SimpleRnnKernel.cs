using System.Runtime.CompilerServices;
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
internal sealed class SimpleRnnKernel : SingleStateKernel<SimpleRnnLayout, SimpleRnnCache>
{
    private readonly int n;
    private readonly int u;

    private float[] dA = [];

    public SimpleRnnKernel(SimpleRnnLayout layout, string name = "simple_rnn", LaneWidth width = LaneWidth.Auto)
        : base(NotNull(layout), "SimpleRNN", name, layout.Activation, layout.Activation, width)
    {
        n = layout.InputSize;
        u = layout.Units;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private protected override void ForwardStep(in SequenceRun run, in RnnWeights weights, SequenceCache c, in StepStates states, int s, int b0, int b1)
    {
        int bt = run.Batch, rows = b1 - b0;

        // The recurrent product lands on top of this step's input projection.
        var aS = Xp.AsSpan(s * bt * u, bt * u);
        Gemm.Sgemm(false, false, rows, u, u, 1f, states.Hd[(b0 * u)..], u, weights.RecurrentKernel, u, 1f, aS[(b0 * u)..], u);
        Step(b0, b1, aS, states.HPrev, c.Keep.AsSpan(s * bt, bt), states.HCur);
    }

    private protected override void PrepareBackward(int rows) => RnnRun.Ensure(ref dA, rows * u);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private protected override void BackwardStep(in SequenceRun run, in RnnWeights weights, in RnnOutputGradients dOut, SequenceCache cache, int s, int b0, int b1)
    {
        int bt = run.Batch, tt = run.Time, rows = b1 - b0;
        var dAS = dA.AsSpan(s * bt * u, bt * u);
        BackStep(b0, b1, tt, s, cache.States.AsSpan((s + 1) * bt * u, bt * u), cache.Keep.AsSpan(s * bt, bt), cache.Emit.AsSpan(s * bt, bt), run.RecurrentDropoutMask, dOut.Sequence, dAS);
        Gemm.Sgemm(false, false, rows, u, u, 1f, dAS[(b0 * u)..], u, UT.AsSpan(0, u * u), u, 0f, DhRec.AsSpan(b0 * u, rows * u), u);
    }

    private protected override void ParameterGradients(in SequenceRun run, in RnnWeights weights, SequenceCache cache, ReadOnlySpan<float> hdAll, ReadOnlySpan<float> xmAll, in RnnGradients grads, Span<float> dxm)
    {
        int rows = run.Batch * run.Time;
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

    /// <summary>h_t = act(a + b) on kept rows [b0, b1) (a = xd W + hd U already), h_{t-1} on masked rows.</summary>
    private void Step(int b0, int b1, Span<float> aS, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> keepS, Span<float> hCur)
    {
        var row = Row;
        ref float bx = ref BiasX[0];
        for (int b = b0; b < b1; b++)
        {
            if (CarriedOver(keepS, b, hPrev, hCur))
            {
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
