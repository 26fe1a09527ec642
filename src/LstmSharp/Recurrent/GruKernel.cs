using System.Runtime.CompilerServices;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The GRU (Cho et al. 2014) over a whole sequence, forward and backward (BPTT), with Keras's
/// weight layout and conventions. The layer (options, initializers, autograd) sits on top.
/// </summary>
/// <remarks>
/// <para><b>Equations</b>, forward and backward: <see cref="GruCell"/>, which also holds the
/// fused row kernels; this class walks time and batch, does the matrix products and keeps the
/// buffers.</para>
/// <para><b>Layout</b> (<see cref="GruLayout"/>): kernel W [input, 3·units] and recurrent kernel
/// U [units, 3·units] hold the column blocks z, r, h in that order. Bias: [3·units] when
/// resetAfter = false; [2, 3·units] when resetAfter = true (row 0 the input bias b_in, row 1 the
/// recurrent bias b_rec, each z, r, h); empty without bias. GRU(128) on 28 inputs: 60,288
/// parameters (resetAfter = false), 60,672 (true).</para>
/// <para><b>Shapes</b>: x [batch, time, input]; initial state h0 [batch, units] (empty = zeros);
/// sequence output [batch, time, units] in processing order; last output and final state
/// [batch, units]. The last output differs from the final state only under masks: it is zero
/// before a row's first valid step (and at masked steps with zero_output_for_mask).</para>
/// <para><b>Speed</b> (the cuDNN recipe): the input projection of all steps is one GEMM before
/// the loop, over a time-major copy of x; each step then does its recurrent GEMM(s) and one fused
/// vectorised pass over the gates (two for resetAfter = false, whose h-block product needs r
/// first). Backward: per step one fused gate-gradient pass and the GEMM(s) for dh_{t-1} (against
/// Uᵀ, transposed once per call); then dW,
/// dU and dx are single large GEMMs over all steps, as the saved buffers are time-major.</para>
/// <para><b>Threading</b>: rows never meet inside the recurrence, so the batch is cut into row
/// chunks (<see cref="BatchChunks"/>, from the batch size only, hence the same bits for any
/// thread count) and each <see cref="WorkerPool"/> index runs the whole forward or backward time
/// loop for its rows — recurrent GEMMs (inline on that thread) and step passes — with no
/// synchronisation per step. Each chunk writes only its rows of the time-major step slices and
/// of the [batch, …] scratch (rec, carry, dhd) and reads the shared weights and Uᵀ. With one
/// thread or a busy pool the chunks run one after another; a batch too small to split runs the
/// same loop on the calling thread, where the step GEMMs thread themselves. The whole-sequence
/// GEMMs thread internally.</para>
/// <para><b>Saved for BPTT</b> in a caller-owned <see cref="GruCache"/> (time-major, reused across
/// calls): the dropped input, h_0..h_T, h ⊙ m_h (only with recurrent dropout), the gates z, r, h~,
/// and q = hd Uh + bh_rec (resetAfter = true) or r ⊙ hd (false). An inference forward
/// (cache = null) keeps only one step of scratch. An instance is not thread-safe: a layer owns
/// one per direction.</para>
/// </remarks>
internal sealed class GruKernel : SingleStateKernel<GruLayout, GruCache>
{
    private readonly int n;
    private readonly int u;
    private readonly int g;

    private float[] rec = [];
    private float[] biasQ = [];
    private float[] dRec = [];
    private float[] dAh = [];

    public GruKernel(GruLayout layout, string name = "gru", LaneWidth width = LaneWidth.Auto)
        : base(NotNull(layout), "GRU", name, layout.Activation, layout.RecurrentActivation, width)
    {
        n = layout.InputSize;
        u = layout.Units;
        g = layout.GateWidth;
        RnnRun.Ensure(ref biasQ, u);
    }

    private bool ResetAfter => Layout.ResetAfter;

    private bool UseBias => Layout.UseBias;

    /// <summary>The driver's checks, the reset_after bias named by its shape [2, 3·units].</summary>
    private protected override void CheckWeights(string owner, in RnnWeights weights)
    {
        if (ResetAfter && UseBias)
        {
            SequenceRun.CheckLength(owner, "bias", weights.Bias.Length, false, 2, g);
        }

        base.CheckWeights(owner, weights);
    }

    /// <summary>BiasX = b, or with reset_after b_in + b_rec on z, r and b_in on h; biasQ = bh_rec (reset_after), else zeros.</summary>
    private protected override void PrepareForward(ReadOnlySpan<float> bias, int batch)
    {
        RnnRun.Ensure(ref rec, batch * g);
        var bq = biasQ.AsSpan(0, u);
        if (!ResetAfter || !UseBias)
        {
            base.PrepareForward(bias, batch);
            bq.Clear();
            return;
        }

        var bx = BiasX.AsSpan(0, g);
        System.Numerics.Tensors.TensorPrimitives.Add(bias[..(2 * u)], bias.Slice(g, 2 * u), bx[..(2 * u)]);
        bias.Slice(2 * u, u).CopyTo(bx[(2 * u)..]);
        bias.Slice(g + (2 * u), u).CopyTo(bq);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private protected override void ForwardStep(in SequenceRun run, in RnnWeights weights, SequenceCache cache, in StepStates states, int s, int b0, int b1)
    {
        var c = (GruCache)cache;
        int bt = run.Batch, rows = b1 - b0;
        var recurrentKernel = weights.RecurrentKernel;
        var recRows = rec.AsSpan(b0 * g, rows * g);
        var hdS = states.Hd;
        var xpS = Xp.AsSpan(s * bt * g, bt * g);
        var gS = c.Gates.AsSpan(states.Slot * bt * g, bt * g);
        var auxS = c.Aux.AsSpan(states.Slot * bt * u, bt * u);
        var keepS = c.Keep.AsSpan(s * bt, bt);
        if (ResetAfter)
        {
            // One recurrent product over all three blocks; r applies to its h block afterwards.
            Gemm.Sgemm(false, false, rows, g, u, 1f, hdS[(b0 * u)..], u, recurrentKernel, g, 0f, recRows, g);
            StepResetAfter(b0, b1, xpS, states.HPrev, keepS, gS, auxS, states.HCur);
        }
        else
        {
            // r must exist before the h-block product (r ⊙ hd) Uh: two products and two passes.
            Gemm.Sgemm(false, false, rows, 2 * u, u, 1f, hdS[(b0 * u)..], u, recurrentKernel, g, 0f, recRows, g);
            StepGates(b0, b1, xpS, hdS, gS, auxS);
            Gemm.Sgemm(false, false, rows, u, u, 1f, auxS[(b0 * u)..], u, recurrentKernel[(2 * u)..], g, 0f, recRows[(2 * u)..], g);
            StepCandidate(b0, b1, xpS, states.HPrev, keepS, gS, states.HCur);
        }
    }

    private protected override void PrepareBackward(int rows)
    {
        RnnRun.Ensure(ref dRec, rows * g);
        RnnRun.Ensure(ref dAh, ResetAfter ? rows * u : 0);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private protected override void BackwardStep(in SequenceRun run, in RnnWeights weights, in RnnOutputGradients dOut, SequenceCache state, int s, int b0, int b1)
    {
        var cache = (GruCache)state;
        int bt = run.Batch, tt = run.Time, rows = b1 - b0;
        var recT = UT.AsSpan(0, g * u);
        var dhr = DhRec.AsSpan(b0 * u, rows * u);
        var dSequence = dOut.Sequence;
        var mh = run.RecurrentDropoutMask;
        var hPrev = cache.States.AsSpan(s * bt * u, bt * u);
        var hdS = mh.IsEmpty ? hPrev : cache.HDropped.AsSpan(s * bt * u, bt * u);
        var gS = cache.Gates.AsSpan(s * bt * g, bt * g);
        var auxS = cache.Aux.AsSpan(s * bt * u, bt * u);
        var dRecS = dRec.AsSpan(s * bt * g, bt * g);
        var keepS = cache.Keep.AsSpan(s * bt, bt);
        var emitS = cache.Emit.AsSpan(s * bt, bt);
        if (ResetAfter)
        {
            BackStepResetAfter(b0, b1, tt, s, hPrev, gS, auxS, keepS, emitS, mh, dSequence, dRecS, dAh.AsSpan(s * bt * u, bt * u));

            // dhd = [dz~, dr~, dq] Uᵀ, all three blocks in one product.
            Gemm.Sgemm(false, false, rows, u, g, 1f, dRecS[(b0 * g)..], g, recT, u, 0f, dhr, u);
        }
        else
        {
            BackStepCandidate(b0, b1, tt, s, hPrev, gS, keepS, emitS, mh, dSequence, dRecS);

            // d(r ⊙ hd) = dh~ Uhᵀ, then r's gradient and the r-path into dh_{t-1}, then the z, r blocks.
            Gemm.Sgemm(false, false, rows, u, u, 1f, dRecS[((b0 * g) + (2 * u))..], g, recT[(2 * u * u)..], u, 0f, dhr, u);
            BackStepReset(b0, b1, hdS, gS, mh, dRecS);
            Gemm.Sgemm(false, false, rows, u, 2 * u, 1f, dRecS[(b0 * g)..], g, recT, u, 0f, dhr, u);
        }
    }

    private protected override void ParameterGradients(in SequenceRun run, in RnnWeights weights, SequenceCache cache, ReadOnlySpan<float> hdAll, ReadOnlySpan<float> xmAll, in RnnGradients grads, Span<float> dxm)
    {
        int rows = run.Batch * run.Time;
        var dRecAll = dRec.AsSpan(0, rows * g);
        var dKernel = grads.Kernel;
        var dRecurrentKernel = grads.RecurrentKernel;
        var dBias = grads.Bias;
        if (ResetAfter)
        {
            // dRec = [dz~, dr~, dq] feeds U and the recurrent bias; [dz~, dr~, dAh] feeds W and the input bias.
            var dAhAll = dAh.AsSpan(0, rows * u);
            Gemm.Sgemm(true, false, u, g, rows, 1f, hdAll, u, dRecAll, g, 1f, dRecurrentKernel, g);
            Gemm.Sgemm(true, false, n, 2 * u, rows, 1f, xmAll, n, dRecAll, g, 1f, dKernel, g);
            Gemm.Sgemm(true, false, n, u, rows, 1f, xmAll, n, dAhAll, u, 1f, dKernel[(2 * u)..], g);
            if (UseBias)
            {
                RnnRun.AddColumnSums(dRecAll, rows, g, 0, dBias.Slice(0, 2 * u));
                RnnRun.AddColumnSums(dAhAll, rows, u, 0, dBias.Slice(2 * u, u));
                RnnRun.AddColumnSums(dRecAll, rows, g, 0, dBias.Slice(g, g));
            }

            if (!dxm.IsEmpty)
            {
                Gemm.Sgemm(false, true, rows, n, 2 * u, 1f, dRecAll, g, weights.Kernel, g, 0f, dxm, n);
                Gemm.Sgemm(false, true, rows, n, u, 1f, dAhAll, u, weights.Kernel[(2 * u)..], g, 1f, dxm, n);
            }
        }
        else
        {
            // Here dRec holds [dz~, dr~, dh~], the gradients of all three pre-activations.
            var rhAll = ((GruCache)cache).Aux.AsSpan(0, rows * u);
            Gemm.Sgemm(true, false, u, 2 * u, rows, 1f, hdAll, u, dRecAll, g, 1f, dRecurrentKernel, g);
            Gemm.Sgemm(true, false, u, u, rows, 1f, rhAll, u, dRecAll[(2 * u)..], g, 1f, dRecurrentKernel[(2 * u)..], g);
            Gemm.Sgemm(true, false, n, g, rows, 1f, xmAll, n, dRecAll, g, 1f, dKernel, g);
            if (UseBias)
            {
                RnnRun.AddColumnSums(dRecAll, rows, g, 0, dBias);
            }

            if (!dxm.IsEmpty)
            {
                Gemm.Sgemm(false, true, rows, n, g, 1f, dRecAll, g, weights.Kernel, g, 0f, dxm, n);
            }
        }
    }

    // ------------------------------------------------------------------ per-step row loops
    // One row's math is GruCell's; these loops find each row's buffers and handle masked rows.

    /// <summary>reset_after = true: z, r, q, h~ and h_t of rows [b0, b1) (masked rows keep h_{t−1}).</summary>
    private void StepResetAfter(int b0, int b1, Span<float> xpS, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> keepS, Span<float> gS, Span<float> qS, Span<float> hCur)
    {
        var row = Row;
        ref float bx = ref BiasX[0];
        ref float bq = ref biasQ[0];
        for (int b = b0; b < b1; b++)
        {
            if (CarriedOver(keepS, b, hPrev, hCur))
            {
                continue;
            }

            GruCell.ForwardResetAfter(row, ref RnnRun.At(xpS, b * g), ref RnnRun.At(rec, b * g), ref bx, ref bq, ref RnnRun.At(hPrev, b * u), ref RnnRun.At(gS, b * g), ref RnnRun.At(qS, b * u), ref RnnRun.At(hCur, b * u));
        }
    }

    /// <summary>reset_after = false, first pass over rows [b0, b1): z, r and r ⊙ hd.</summary>
    private void StepGates(int b0, int b1, Span<float> xpS, ReadOnlySpan<float> hdS, Span<float> gS, Span<float> rhS)
    {
        var row = Row;
        ref float bx = ref BiasX[0];
        for (int b = b0; b < b1; b++)
        {
            GruCell.ForwardGates(row, ref RnnRun.At(xpS, b * g), ref RnnRun.At(rec, b * g), ref bx, ref RnnRun.At(hdS, b * u), ref RnnRun.At(gS, b * g), ref RnnRun.At(rhS, b * u));
        }
    }

    /// <summary>reset_after = false, second pass over rows [b0, b1): h~ and h_t (masked rows keep h_{t−1}).</summary>
    private void StepCandidate(int b0, int b1, Span<float> xpS, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> keepS, Span<float> gS, Span<float> hCur)
    {
        var row = Row;
        ref float bx = ref BiasX[0];
        for (int b = b0; b < b1; b++)
        {
            if (CarriedOver(keepS, b, hPrev, hCur))
            {
                continue;
            }

            GruCell.ForwardCandidate(row, ref RnnRun.At(xpS, b * g), ref RnnRun.At(rec, b * g), ref bx, ref RnnRun.At(hPrev, b * u), ref RnnRun.At(gS, b * g), ref RnnRun.At(hCur, b * u));
        }
    }

    // Each backward loop starts a row from dh_t = carry + dhd ⊙ m_h + emit ⊙ dY_t (carry = the direct
    // path dh ⊙ z of the step after, dhd = its recurrent product) and leaves the new carry in dhCarry.

    /// <summary>reset_after = true over rows [b0, b1): dRec = [dz~, dr~, dq], dAh = da_h, carry = dh ⊙ z.</summary>
    private void BackStepResetAfter(
        int b0, int b1, int tt, int s, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> gS, ReadOnlySpan<float> qS,
        ReadOnlySpan<float> keepS, ReadOnlySpan<float> emitS, ReadOnlySpan<float> mh, ReadOnlySpan<float> dSeq,
        Span<float> dRecS, Span<float> dAhS)
    {
        var row = Row;
        for (int b = b0; b < b1; b++)
        {
            if (CarriedBack(keepS, mh, dSeq, emitS, b, tt, s))
            {
                dRecS.Slice(b * g, g).Clear();
                dAhS.Slice(b * u, u).Clear();
                continue;
            }

            GruCell.BackwardResetAfter(row, ref DhCarry[b * u], ref DhRec[b * u], ref RecurrentMask(mh, b), ref OutputGradient(dSeq, emitS, b, tt, s), ref RnnRun.At(hPrev, b * u), ref RnnRun.At(gS, b * g), ref RnnRun.At(qS, b * u), ref RnnRun.At(dRecS, b * g), ref RnnRun.At(dAhS, b * u));
        }
    }

    /// <summary>reset_after = false, first pass over rows [b0, b1): dRec's z and h blocks = dz~, da_h; carry = dh ⊙ z.</summary>
    private void BackStepCandidate(
        int b0, int b1, int tt, int s, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> gS,
        ReadOnlySpan<float> keepS, ReadOnlySpan<float> emitS, ReadOnlySpan<float> mh, ReadOnlySpan<float> dSeq, Span<float> dRecS)
    {
        var row = Row;
        for (int b = b0; b < b1; b++)
        {
            if (CarriedBack(keepS, mh, dSeq, emitS, b, tt, s))
            {
                // Zero z and h blocks make the r pass and both products add nothing for this row.
                dRecS.Slice(b * g, g).Clear();
                continue;
            }

            GruCell.BackwardCandidate(row, ref DhCarry[b * u], ref DhRec[b * u], ref RecurrentMask(mh, b), ref OutputGradient(dSeq, emitS, b, tt, s), ref RnnRun.At(hPrev, b * u), ref RnnRun.At(gS, b * g), ref RnnRun.At(dRecS, b * g));
        }
    }

    /// <summary>reset_after = false, second pass over rows [b0, b1), from drh = d(r ⊙ hd) in dhRec.</summary>
    private void BackStepReset(int b0, int b1, ReadOnlySpan<float> hdS, ReadOnlySpan<float> gS, ReadOnlySpan<float> mh, Span<float> dRecS)
    {
        var row = Row;
        for (int b = b0; b < b1; b++)
        {
            GruCell.BackwardReset(row, ref DhCarry[b * u], ref DhRec[b * u], ref RecurrentMask(mh, b), ref RnnRun.At(hdS, b * u), ref RnnRun.At(gS, b * g), ref RnnRun.At(dRecS, b * g));
        }
    }
}
