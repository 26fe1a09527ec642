using System.Runtime.CompilerServices;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The GRU (Cho et al. 2014) over a whole sequence, forward and backward (BPTT), with Keras's
/// weight layout and conventions. The layer (options, initializers, autograd) sits on top.
/// </summary>
/// <remarks>
/// <para><b>Equations</b> (per step, σ = recurrent activation, default sigmoid; act = activation,
/// default tanh; xd = x_t ∘ m_x and hd = h_{t-1} ∘ m_h with the fixed dropout masks, or x_t and
/// h_{t-1} without):</para>
/// <code>
/// z  = σ(xd Wz + hd Uz + bz)                 update gate
/// r  = σ(xd Wr + hd Ur + br)                 reset gate
/// resetAfter = false (Keras 2 default, the papers' form):
///     h~ = act(xd Wh + (r ∘ hd) Uh + bh)
/// resetAfter = true  (Keras 3 default, cuDNN / PyTorch form):
///     h~ = act(xd Wh + bh_in + r ∘ (hd Uh + bh_rec))
/// h_t = z ∘ h_{t-1} + (1 − z) ∘ h~           Keras convention: z gates the OLD state
/// </code>
/// <para><b>Layout</b>: kernel W [input, 3·units] and recurrent kernel U [units, 3·units] hold the
/// column blocks z, r, h in that order. Bias: [3·units] when resetAfter = false; [2, 3·units] when
/// resetAfter = true (row 0 the input bias b_in, row 1 the recurrent bias b_rec, each z, r, h);
/// empty when the layer has no bias. GRU(128) on 28 inputs: 60,288 parameters (resetAfter = false),
/// 60,672 (true).</para>
/// <para><b>Shapes</b>: x [batch, time, input]; initial state h0 [batch, units] (empty = zeros);
/// sequence output [batch, time, units] in processing order; last output and final state
/// [batch, units]. The last output differs from the final state only under masks: it is zero
/// before a row's first valid step (and at masked steps with zero_output_for_mask).</para>
/// <para><b>Speed</b> (the cuDNN recipe): the input projection of all steps is one GEMM before
/// the loop, over a time-major copy of x; each step then does its recurrent GEMM(s) and one fused
/// vectorised pass over the gates (two for resetAfter = false, whose h-block product needs r
/// first). Backward: per step one fused gate-gradient pass and the GEMM(s) for dh_{t-1}; then dW,
/// dU and dx are single large GEMMs over all steps, as the saved buffers are time-major.</para>
/// <para><b>Saved for BPTT</b> (training forward, time-major, reused across calls): xm (the
/// dropped input), hs (h_0..h_T), hd (h ∘ m_h, only with recurrent dropout), gates (z, r, h~),
/// aux (q = hd Uh + bh_rec for resetAfter = true; r ∘ hd for false), keep/emit step masks.
/// An inference forward keeps only per-step scratch and invalidates them.</para>
/// </remarks>
public sealed class GruKernel
{
    private const string Owner = "GruKernel";

    private readonly int n;
    private readonly int u;
    private readonly int g;
    private readonly LaneWidth width;

    // Saved by a training forward (see remarks); sizes grow, never shrink.
    private float[] xm = [];
    private float[] xp = [];
    private float[] hs = [];
    private float[] hd = [];
    private float[] gates = [];
    private float[] aux = [];
    private float[] keep = [];
    private float[] emit = [];

    // Scratch.
    private float[] rec = [];
    private float[] biasX = [];
    private float[] biasQ = [];
    private float[] ones = [];
    private float[] zeros = [];
    private float[] dRec = [];
    private float[] dAh = [];
    private float[] dhCarry = [];
    private float[] dhRec = [];
    private float[] dxm = [];

    private int savedBatch = -1;
    private int savedTime = -1;

    /// <param name="inputSize">Features per step of x.</param>
    /// <param name="units">State size.</param>
    /// <param name="resetAfter">Where r applies (see remarks); Keras 3 default true.</param>
    /// <param name="activation">act of h~ (Keras <c>activation</c>).</param>
    /// <param name="recurrentActivation">σ of z and r (Keras <c>recurrent_activation</c>).</param>
    /// <param name="useBias">Whether a bias is given to <see cref="Forward"/>.</param>
    public GruKernel(int inputSize, int units, bool resetAfter = true, ActivationKind activation = ActivationKind.Tanh, ActivationKind recurrentActivation = ActivationKind.Sigmoid, bool useBias = true)
        : this(inputSize, units, resetAfter, activation, recurrentActivation, useBias, LaneWidth.Auto)
    {
    }

    internal GruKernel(int inputSize, int units, bool resetAfter, ActivationKind activation, ActivationKind recurrentActivation, bool useBias, LaneWidth width)
    {
        if (inputSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSize), $"{Owner}: inputSize must be a positive integer, got {inputSize}.");
        }

        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), $"{Owner}: units must be a positive integer, got {units}.");
        }

        if (!Enum.IsDefined(activation) || !Enum.IsDefined(recurrentActivation))
        {
            throw new ArgumentException($"{Owner}: activation={(int)activation}, recurrentActivation={(int)recurrentActivation}: not an ActivationKind.");
        }

        n = inputSize;
        u = units;
        g = 3 * units;
        ResetAfter = resetAfter;
        Activation = activation;
        RecurrentActivation = recurrentActivation;
        UseBias = useBias;
        this.width = RnnRun.Resolve(width);
        RnnRun.Ensure(ref biasX, g);
        RnnRun.Ensure(ref biasQ, u);
        RnnRun.Ensure(ref ones, u);
        RnnRun.Ensure(ref zeros, u);
        ones.AsSpan().Fill(1f);
    }

    public int InputSize => n;

    public int Units => u;

    public bool ResetAfter { get; }

    public ActivationKind Activation { get; }

    public ActivationKind RecurrentActivation { get; }

    public bool UseBias { get; }

    /// <summary>[input, 3·units].</summary>
    public int[] KernelShape => [n, g];

    /// <summary>[units, 3·units].</summary>
    public int[] RecurrentKernelShape => [u, g];

    /// <summary>[3·units], [2, 3·units] (resetAfter) or [] without bias.</summary>
    public int[] BiasShape => !UseBias ? [] : ResetAfter ? [2, g] : [g];

    /// <summary>Weights of a GRU: 3u(input + units) + 3u bias (6u with resetAfter).</summary>
    public static long ParameterCount(int inputSize, int units, bool resetAfter = true, bool useBias = true) =>
        (3L * units * (inputSize + units)) + (useBias ? (resetAfter ? 6L : 3L) * units : 0);

    /// <summary>
    /// Runs the sequence. <paramref name="sequence"/> [batch, time, units] and
    /// <paramref name="lastOutput"/> [batch, units] may be empty (not wanted);
    /// <paramref name="finalState"/> [batch, units] may be empty too.
    /// With <paramref name="training"/>, keeps what <see cref="Backward"/> needs.
    /// </summary>
    public void Forward(
        in SequenceRun run, ReadOnlySpan<float> kernel, ReadOnlySpan<float> recurrentKernel, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> initialState, bool training,
        Span<float> sequence, Span<float> lastOutput, Span<float> finalState)
    {
        run.Validate(Owner, n, u);
        int bt = run.Batch, tt = run.Time;
        CheckWeights(kernel, recurrentKernel, bias);
        SequenceRun.CheckLength(Owner, "initialState", initialState.Length, true, bt, u);
        SequenceRun.CheckLength(Owner, "sequence", sequence.Length, true, bt, tt, u);
        SequenceRun.CheckLength(Owner, "lastOutput", lastOutput.Length, true, bt, u);
        SequenceRun.CheckLength(Owner, "finalState", finalState.Length, true, bt, u);

        int rows = bt * tt;
        int stateSlots = training ? tt + 1 : 2;
        int stepSlots = training ? tt : 1;
        bool recDrop = !run.RecurrentDropoutMask.IsEmpty;
        RnnRun.Ensure(ref xm, rows * n);
        RnnRun.Ensure(ref xp, rows * g);
        RnnRun.Ensure(ref hs, stateSlots * bt * u);
        RnnRun.Ensure(ref hd, recDrop ? stepSlots * bt * u : 0);
        RnnRun.Ensure(ref gates, stepSlots * bt * g);
        RnnRun.Ensure(ref aux, stepSlots * bt * u);
        RnnRun.Ensure(ref keep, rows);
        RnnRun.Ensure(ref emit, rows);
        RnnRun.Ensure(ref rec, bt * g);
        savedBatch = -1;

        RnnRun.BuildStepMasks(run.Mask, bt, tt, run.GoBackwards, run.ZeroOutputForMask, keep, emit);
        RnnRun.GatherInput(run.X, run.InputDropoutMask, bt, tt, n, run.GoBackwards, xm);
        Gemm.Sgemm(false, false, rows, g, n, 1f, xm, n, kernel, g, 0f, xp, g);
        PrepareBias(bias);

        var h0 = hs.AsSpan(0, bt * u);
        if (initialState.IsEmpty)
        {
            h0.Clear();
        }
        else
        {
            initialState.CopyTo(h0);
        }

        var mh = run.RecurrentDropoutMask;
        for (int s = 0; s < tt; s++)
        {
            int prevSlot = training ? s : s & 1;
            int curSlot = training ? s + 1 : (s + 1) & 1;
            int stepSlot = training ? s : 0;
            var hPrev = hs.AsSpan(prevSlot * bt * u, bt * u);
            var hCur = hs.AsSpan(curSlot * bt * u, bt * u);
            var hdS = hPrev;
            if (recDrop)
            {
                hdS = hd.AsSpan(stepSlot * bt * u, bt * u);
                RnnRun.MultiplyRows(hPrev, mh, hdS, bt * u);
            }

            var xpS = xp.AsSpan(s * bt * g, bt * g);
            var gS = gates.AsSpan(stepSlot * bt * g, bt * g);
            var auxS = aux.AsSpan(stepSlot * bt * u, bt * u);
            var keepS = keep.AsSpan(s * bt, bt);
            if (ResetAfter)
            {
                // One recurrent GEMM over all three blocks; r applies to its h block afterwards.
                Gemm.Sgemm(false, false, bt, g, u, 1f, hdS, u, recurrentKernel, g, 0f, rec, g);
                StepResetAfter(bt, xpS, hPrev, keepS, gS, auxS, hCur);
            }
            else
            {
                // r must exist before the h-block product (r ∘ hd) Uh: two GEMMs and two passes.
                Gemm.Sgemm(false, false, bt, 2 * u, u, 1f, hdS, u, recurrentKernel, g, 0f, rec, g);
                StepGates(bt, xpS, hdS, gS, auxS);
                Gemm.Sgemm(false, false, bt, u, u, 1f, auxS, u, recurrentKernel[(2 * u)..], g, 0f, rec.AsSpan(2 * u), g);
                StepCandidate(bt, xpS, hPrev, keepS, gS, hCur);
            }

            if (!sequence.IsEmpty)
            {
                WriteOutput(hCur, emit.AsSpan(s * bt, bt), sequence, bt, tt, s);
            }
        }

        var hT = hs.AsSpan((training ? tt : tt & 1) * bt * u, bt * u);
        if (!finalState.IsEmpty)
        {
            hT.CopyTo(finalState);
        }

        if (!lastOutput.IsEmpty)
        {
            var emitLast = emit.AsSpan((tt - 1) * bt, bt);
            for (int b = 0; b < bt; b++)
            {
                var dst = lastOutput.Slice(b * u, u);
                if (emitLast[b] != 0f)
                {
                    hT.Slice(b * u, u).CopyTo(dst);
                }
                else
                {
                    dst.Clear();
                }
            }
        }

        if (training)
        {
            savedBatch = bt;
            savedTime = tt;
        }
    }

    /// <summary>
    /// BPTT through the last training <see cref="Forward"/>, which must have had the same
    /// <paramref name="run"/> and weights. Incoming gradients (each may be empty = zero):
    /// <paramref name="dSequence"/> [batch, time, units], <paramref name="dLastOutput"/> and
    /// <paramref name="dFinalState"/> [batch, units]. Writes <paramref name="dx"/> [batch, time, input]
    /// and <paramref name="dInitialState"/> [batch, units] (each may be empty = not wanted) and
    /// ADDS into <paramref name="dKernel"/>, <paramref name="dRecurrentKernel"/> and <paramref name="dBias"/>.
    /// </summary>
    public void Backward(
        in SequenceRun run, ReadOnlySpan<float> kernel, ReadOnlySpan<float> recurrentKernel,
        ReadOnlySpan<float> dSequence, ReadOnlySpan<float> dLastOutput, ReadOnlySpan<float> dFinalState,
        Span<float> dx, Span<float> dKernel, Span<float> dRecurrentKernel, Span<float> dBias, Span<float> dInitialState)
    {
        run.Validate(Owner, n, u);
        int bt = run.Batch, tt = run.Time;
        if (savedBatch != bt || savedTime != tt)
        {
            throw new InvalidOperationException(savedBatch < 0
                ? $"{Owner}.Backward: no training forward to differentiate (call Forward with training: true first)."
                : $"{Owner}.Backward: the last training forward had batch={savedBatch}, time={savedTime}, got batch={bt}, time={tt}.");
        }

        SequenceRun.CheckLength(Owner, "kernel", kernel.Length, false, n, g);
        SequenceRun.CheckLength(Owner, "recurrentKernel", recurrentKernel.Length, false, u, g);
        SequenceRun.CheckLength(Owner, "dSequence", dSequence.Length, true, bt, tt, u);
        SequenceRun.CheckLength(Owner, "dLastOutput", dLastOutput.Length, true, bt, u);
        SequenceRun.CheckLength(Owner, "dFinalState", dFinalState.Length, true, bt, u);
        SequenceRun.CheckLength(Owner, "dx", dx.Length, true, bt, tt, n);
        SequenceRun.CheckLength(Owner, "dKernel", dKernel.Length, false, n, g);
        SequenceRun.CheckLength(Owner, "dRecurrentKernel", dRecurrentKernel.Length, false, u, g);
        CheckBias("dBias", dBias);
        SequenceRun.CheckLength(Owner, "dInitialState", dInitialState.Length, true, bt, u);

        int rows = bt * tt;
        RnnRun.Ensure(ref dRec, rows * g);
        RnnRun.Ensure(ref dAh, ResetAfter ? rows * u : 0);
        RnnRun.Ensure(ref dhCarry, bt * u);
        RnnRun.Ensure(ref dhRec, bt * u);
        RnnRun.Ensure(ref dxm, dx.IsEmpty ? 0 : rows * n);

        // dh_T = dFinal + emit_{T-1} ∘ dLast; the per-step dSequence terms are added in the loop.
        var carry = dhCarry.AsSpan(0, bt * u);
        var dhr = dhRec.AsSpan(0, bt * u);
        carry.Clear();
        dhr.Clear();
        if (!dFinalState.IsEmpty)
        {
            dFinalState.CopyTo(carry);
        }

        if (!dLastOutput.IsEmpty)
        {
            for (int b = 0; b < bt; b++)
            {
                if (emit[((tt - 1) * bt) + b] != 0f)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(carry.Slice(b * u, u), dLastOutput.Slice(b * u, u), carry.Slice(b * u, u));
                }
            }
        }

        var mh = run.RecurrentDropoutMask;
        bool recDrop = !mh.IsEmpty;
        for (int s = tt - 1; s >= 0; s--)
        {
            var hPrev = hs.AsSpan(s * bt * u, bt * u);
            var hdS = recDrop ? hd.AsSpan(s * bt * u, bt * u) : hPrev;
            var gS = gates.AsSpan(s * bt * g, bt * g);
            var auxS = aux.AsSpan(s * bt * u, bt * u);
            var dRecS = dRec.AsSpan(s * bt * g, bt * g);
            var keepS = keep.AsSpan(s * bt, bt);
            var emitS = emit.AsSpan(s * bt, bt);
            if (ResetAfter)
            {
                BackStepResetAfter(bt, tt, s, hPrev, gS, auxS, keepS, emitS, mh, dSequence, dRecS, dAh.AsSpan(s * bt * u, bt * u));

                // dhd = [dz~, dr~, dq] Uᵀ, all three blocks in one GEMM.
                Gemm.Sgemm(false, true, bt, u, g, 1f, dRecS, g, recurrentKernel, g, 0f, dhr, u);
            }
            else
            {
                BackStepCandidate(bt, tt, s, hPrev, gS, keepS, emitS, mh, dSequence, dRecS);

                // d(r ∘ hd) = dh~ Uhᵀ, then r's gradient and the r-path into dh_{t-1}, then the z, r blocks.
                Gemm.Sgemm(false, true, bt, u, u, 1f, dRecS[(2 * u)..], g, recurrentKernel[(2 * u)..], g, 0f, dhr, u);
                BackStepReset(bt, hdS, gS, mh, dRecS);
                Gemm.Sgemm(false, true, bt, u, 2 * u, 1f, dRecS, g, recurrentKernel, g, 0f, dhr, u);
            }
        }

        if (!dInitialState.IsEmpty)
        {
            // dh_0 = carry + dhd ∘ m_h, the same combination the step kernels make.
            if (recDrop)
            {
                System.Numerics.Tensors.TensorPrimitives.FusedMultiplyAdd(dhr, mh, carry, dInitialState);
            }
            else
            {
                System.Numerics.Tensors.TensorPrimitives.Add(dhr, carry, dInitialState);
            }
        }

        // Whole-sequence GEMMs over the time-major buffers.
        var hdAll = recDrop ? hd.AsSpan(0, rows * u) : hs.AsSpan(0, rows * u);
        var xmAll = xm.AsSpan(0, rows * n);
        var dRecAll = dRec.AsSpan(0, rows * g);
        if (ResetAfter)
        {
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

            if (!dx.IsEmpty)
            {
                Gemm.Sgemm(false, true, rows, n, 2 * u, 1f, dRecAll, g, kernel, g, 0f, dxm, n);
                Gemm.Sgemm(false, true, rows, n, u, 1f, dAhAll, u, kernel[(2 * u)..], g, 1f, dxm, n);
            }
        }
        else
        {
            // Here dRec holds [dz~, dr~, dh~], the gradients of all three pre-activations.
            var rhAll = aux.AsSpan(0, rows * u);
            Gemm.Sgemm(true, false, u, 2 * u, rows, 1f, hdAll, u, dRecAll, g, 1f, dRecurrentKernel, g);
            Gemm.Sgemm(true, false, u, u, rows, 1f, rhAll, u, dRecAll[(2 * u)..], g, 1f, dRecurrentKernel[(2 * u)..], g);
            Gemm.Sgemm(true, false, n, g, rows, 1f, xmAll, n, dRecAll, g, 1f, dKernel, g);
            if (UseBias)
            {
                RnnRun.AddColumnSums(dRecAll, rows, g, 0, dBias);
            }

            if (!dx.IsEmpty)
            {
                Gemm.Sgemm(false, true, rows, n, g, 1f, dRecAll, g, kernel, g, 0f, dxm, n);
            }
        }

        if (!dx.IsEmpty)
        {
            RnnRun.ScatterInputGrad(dxm, run.InputDropoutMask, bt, tt, n, run.GoBackwards, dx);
        }
    }

    private void CheckWeights(ReadOnlySpan<float> kernel, ReadOnlySpan<float> recurrentKernel, ReadOnlySpan<float> bias)
    {
        SequenceRun.CheckLength(Owner, "kernel", kernel.Length, false, n, g);
        SequenceRun.CheckLength(Owner, "recurrentKernel", recurrentKernel.Length, false, u, g);
        CheckBias("bias", bias);
    }

    private void CheckBias(string name, ReadOnlySpan<float> bias)
    {
        if (!UseBias)
        {
            SequenceRun.CheckLength(Owner, name + " (useBias: false)", bias.Length, false, 0);
        }
        else if (ResetAfter)
        {
            SequenceRun.CheckLength(Owner, name, bias.Length, false, 2, g);
        }
        else
        {
            SequenceRun.CheckLength(Owner, name, bias.Length, false, g);
        }
    }

    /// <summary>biasX = what adds to xp per column (b, or b_in + b_rec on z, r and b_in on h); biasQ = bh_rec.</summary>
    private void PrepareBias(ReadOnlySpan<float> bias)
    {
        var bx = biasX.AsSpan(0, g);
        var bq = biasQ.AsSpan(0, u);
        if (!UseBias)
        {
            bx.Clear();
            bq.Clear();
        }
        else if (!ResetAfter)
        {
            bias.CopyTo(bx);
            bq.Clear();
        }
        else
        {
            System.Numerics.Tensors.TensorPrimitives.Add(bias[..(2 * u)], bias.Slice(g, 2 * u), bx[..(2 * u)]);
            bias.Slice(2 * u, u).CopyTo(bx[(2 * u)..]);
            bias.Slice(g + (2 * u), u).CopyTo(bq);
        }
    }

    private void WriteOutput(ReadOnlySpan<float> h, ReadOnlySpan<float> emitS, Span<float> sequence, int bt, int tt, int s)
    {
        for (int b = 0; b < bt; b++)
        {
            var dst = sequence.Slice(((b * tt) + s) * u, u);
            if (emitS[b] != 0f)
            {
                h.Slice(b * u, u).CopyTo(dst);
            }
            else
            {
                dst.Clear();
            }
        }
    }

    // ------------------------------------------------------------------ forward step kernels

    /// <summary>resetAfter = true: z, r, q = hd Uh + bh_rec, h~, h_t from xp and rec = hd U.</summary>
    private void StepResetAfter(int bt, Span<float> xpS, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> keepS, Span<float> gS, Span<float> qS, Span<float> hCur)
    {
        for (int b = 0; b < bt; b++)
        {
            if (keepS[b] == 0f)
            {
                hPrev.Slice(b * u, u).CopyTo(hCur.Slice(b * u, u));
                continue;
            }

            ref float xr = ref RnnRun.At(xpS, b * g);
            ref float rr = ref RnnRun.At(rec, b * g);
            ref float hp = ref RnnRun.At(hPrev, b * u);
            ref float gr = ref RnnRun.At(gS, b * g);
            ref float qr = ref RnnRun.At(qS, b * u);
            ref float hr = ref RnnRun.At(hCur, b * u);
            int j = width switch
            {
                LaneWidth.Vector512 => ResetAfterCols<Lanes512>(0, ref xr, ref rr, ref hp, ref gr, ref qr, ref hr),
                LaneWidth.Vector256 => ResetAfterCols<Lanes256>(0, ref xr, ref rr, ref hp, ref gr, ref qr, ref hr),
                _ => 0,
            };
            ResetAfterCols<Lanes1>(j, ref xr, ref rr, ref hp, ref gr, ref qr, ref hr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ResetAfterCols<TL>(int j, ref float xr, ref float rr, ref float hp, ref float gr, ref float qr, ref float hr)
        where TL : struct, ILanes<TL>
    {
        ref float bx = ref biasX[0];
        ref float bq = ref biasQ[0];
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jr = u + j, jh = (2 * u) + j;
            var z = TL.Activate(RecurrentActivation, TL.Add(TL.Add(TL.Load(ref Unsafe.Add(ref xr, j)), TL.Load(ref Unsafe.Add(ref rr, j))), TL.Load(ref Unsafe.Add(ref bx, j))));
            var r = TL.Activate(RecurrentActivation, TL.Add(TL.Add(TL.Load(ref Unsafe.Add(ref xr, jr)), TL.Load(ref Unsafe.Add(ref rr, jr))), TL.Load(ref Unsafe.Add(ref bx, jr))));
            var q = TL.Add(TL.Load(ref Unsafe.Add(ref rr, jh)), TL.Load(ref Unsafe.Add(ref bq, j)));
            var c = TL.Activate(Activation, TL.Fma(r, q, TL.Add(TL.Load(ref Unsafe.Add(ref xr, jh)), TL.Load(ref Unsafe.Add(ref bx, jh)))));
            var hPrev = TL.Load(ref Unsafe.Add(ref hp, j));

            // z ∘ h_{t-1} + (1 − z) ∘ h~ = h~ + z ∘ (h_{t-1} − h~)
            var h = TL.Fma(z, TL.Sub(hPrev, c), c);
            TL.Store(z, ref Unsafe.Add(ref gr, j));
            TL.Store(r, ref Unsafe.Add(ref gr, jr));
            TL.Store(c, ref Unsafe.Add(ref gr, jh));
            TL.Store(q, ref Unsafe.Add(ref qr, j));
            TL.Store(h, ref Unsafe.Add(ref hr, j));
        }

        return j;
    }

    /// <summary>resetAfter = false, first pass: z, r and r ∘ hd (the h-block GEMM's input) for every row.</summary>
    private void StepGates(int bt, Span<float> xpS, ReadOnlySpan<float> hdS, Span<float> gS, Span<float> rhS)
    {
        for (int b = 0; b < bt; b++)
        {
            ref float xr = ref RnnRun.At(xpS, b * g);
            ref float rr = ref RnnRun.At(rec, b * g);
            ref float hdr = ref RnnRun.At(hdS, b * u);
            ref float gr = ref RnnRun.At(gS, b * g);
            ref float rhr = ref RnnRun.At(rhS, b * u);
            int j = width switch
            {
                LaneWidth.Vector512 => GatesCols<Lanes512>(0, ref xr, ref rr, ref hdr, ref gr, ref rhr),
                LaneWidth.Vector256 => GatesCols<Lanes256>(0, ref xr, ref rr, ref hdr, ref gr, ref rhr),
                _ => 0,
            };
            GatesCols<Lanes1>(j, ref xr, ref rr, ref hdr, ref gr, ref rhr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int GatesCols<TL>(int j, ref float xr, ref float rr, ref float hdr, ref float gr, ref float rhr)
        where TL : struct, ILanes<TL>
    {
        ref float bx = ref biasX[0];
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jr = u + j;
            var z = TL.Activate(RecurrentActivation, TL.Add(TL.Add(TL.Load(ref Unsafe.Add(ref xr, j)), TL.Load(ref Unsafe.Add(ref rr, j))), TL.Load(ref Unsafe.Add(ref bx, j))));
            var r = TL.Activate(RecurrentActivation, TL.Add(TL.Add(TL.Load(ref Unsafe.Add(ref xr, jr)), TL.Load(ref Unsafe.Add(ref rr, jr))), TL.Load(ref Unsafe.Add(ref bx, jr))));
            TL.Store(z, ref Unsafe.Add(ref gr, j));
            TL.Store(r, ref Unsafe.Add(ref gr, jr));
            TL.Store(TL.Mul(r, TL.Load(ref Unsafe.Add(ref hdr, j))), ref Unsafe.Add(ref rhr, j));
        }

        return j;
    }

    /// <summary>resetAfter = false, second pass: h~ = act(xp_h + bh + rec_h) and h_t.</summary>
    private void StepCandidate(int bt, Span<float> xpS, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> keepS, Span<float> gS, Span<float> hCur)
    {
        for (int b = 0; b < bt; b++)
        {
            if (keepS[b] == 0f)
            {
                hPrev.Slice(b * u, u).CopyTo(hCur.Slice(b * u, u));
                continue;
            }

            ref float xr = ref RnnRun.At(xpS, b * g);
            ref float rr = ref RnnRun.At(rec, b * g);
            ref float hp = ref RnnRun.At(hPrev, b * u);
            ref float gr = ref RnnRun.At(gS, b * g);
            ref float hr = ref RnnRun.At(hCur, b * u);
            int j = width switch
            {
                LaneWidth.Vector512 => CandidateCols<Lanes512>(0, ref xr, ref rr, ref hp, ref gr, ref hr),
                LaneWidth.Vector256 => CandidateCols<Lanes256>(0, ref xr, ref rr, ref hp, ref gr, ref hr),
                _ => 0,
            };
            CandidateCols<Lanes1>(j, ref xr, ref rr, ref hp, ref gr, ref hr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int CandidateCols<TL>(int j, ref float xr, ref float rr, ref float hp, ref float gr, ref float hr)
        where TL : struct, ILanes<TL>
    {
        ref float bx = ref biasX[0];
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jh = (2 * u) + j;
            var z = TL.Load(ref Unsafe.Add(ref gr, j));
            var c = TL.Activate(Activation, TL.Add(TL.Add(TL.Load(ref Unsafe.Add(ref xr, jh)), TL.Load(ref Unsafe.Add(ref rr, jh))), TL.Load(ref Unsafe.Add(ref bx, jh))));
            var h = TL.Fma(z, TL.Sub(TL.Load(ref Unsafe.Add(ref hp, j)), c), c);
            TL.Store(c, ref Unsafe.Add(ref gr, jh));
            TL.Store(h, ref Unsafe.Add(ref hr, j));
        }

        return j;
    }

    // ------------------------------------------------------------------ backward step kernels
    // Each starts from dh_t = carry + dhd ∘ m_h + emit ∘ dY_t (carry = the direct path dh ∘ z of the
    // step after, dhd = its recurrent GEMM output) and leaves the new carry in dhCarry.

    /// <summary>resetAfter = true: dRec = [dz~, dr~, dq], dAh = dh~ (pre-activation), carry = dh ∘ z.</summary>
    private void BackStepResetAfter(
        int bt, int tt, int s, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> gS, ReadOnlySpan<float> qS,
        ReadOnlySpan<float> keepS, ReadOnlySpan<float> emitS, ReadOnlySpan<float> mh, ReadOnlySpan<float> dSeq,
        Span<float> dRecS, Span<float> dAhS)
    {
        for (int b = 0; b < bt; b++)
        {
            ref float carry = ref dhCarry[b * u];
            ref float dhd = ref dhRec[b * u];
            ref float mhr = ref mh.IsEmpty ? ref ones[0] : ref RnnRun.At(mh, b * u);
            bool useDy = !dSeq.IsEmpty && emitS[b] != 0f;
            ref float dy = ref useDy ? ref RnnRun.At(dSeq, ((b * tt) + s) * u) : ref zeros[0];
            if (keepS[b] == 0f)
            {
                int k = width == LaneWidth.Scalar ? 0 : width == LaneWidth.Vector512 ? PassCols<Lanes512>(0, ref carry, ref dhd, ref mhr, ref dy) : PassCols<Lanes256>(0, ref carry, ref dhd, ref mhr, ref dy);
                PassCols<Lanes1>(k, ref carry, ref dhd, ref mhr, ref dy);
                dRecS.Slice(b * g, g).Clear();
                dAhS.Slice(b * u, u).Clear();
                continue;
            }

            ref float hp = ref RnnRun.At(hPrev, b * u);
            ref float gr = ref RnnRun.At(gS, b * g);
            ref float qr = ref RnnRun.At(qS, b * u);
            ref float dr = ref RnnRun.At(dRecS, b * g);
            ref float dah = ref RnnRun.At(dAhS, b * u);
            int j = width switch
            {
                LaneWidth.Vector512 => BackResetAfterCols<Lanes512>(0, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref qr, ref dr, ref dah),
                LaneWidth.Vector256 => BackResetAfterCols<Lanes256>(0, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref qr, ref dr, ref dah),
                _ => 0,
            };
            BackResetAfterCols<Lanes1>(j, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref qr, ref dr, ref dah);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int BackResetAfterCols<TL>(int j, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float hp, ref float gr, ref float qr, ref float dr, ref float dah)
        where TL : struct, ILanes<TL>
    {
        var one = TL.Broadcast(1f);
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jr = u + j, jh = (2 * u) + j;
            var dh = TL.Add(TL.Fma(TL.Load(ref Unsafe.Add(ref dhd, j)), TL.Load(ref Unsafe.Add(ref mhr, j)), TL.Load(ref Unsafe.Add(ref carry, j))), TL.Load(ref Unsafe.Add(ref dy, j)));
            var z = TL.Load(ref Unsafe.Add(ref gr, j));
            var r = TL.Load(ref Unsafe.Add(ref gr, jr));
            var c = TL.Load(ref Unsafe.Add(ref gr, jh));
            var q = TL.Load(ref Unsafe.Add(ref qr, j));
            var dz = TL.Mul(TL.Mul(dh, TL.Sub(TL.Load(ref Unsafe.Add(ref hp, j)), c)), TL.DerivativeFromOutput(RecurrentActivation, z));
            var dc = TL.Mul(TL.Mul(dh, TL.Sub(one, z)), TL.DerivativeFromOutput(Activation, c));
            var drr = TL.Mul(TL.Mul(dc, q), TL.DerivativeFromOutput(RecurrentActivation, r));
            TL.Store(dz, ref Unsafe.Add(ref dr, j));
            TL.Store(drr, ref Unsafe.Add(ref dr, jr));
            TL.Store(TL.Mul(dc, r), ref Unsafe.Add(ref dr, jh));
            TL.Store(dc, ref Unsafe.Add(ref dah, j));
            TL.Store(TL.Mul(dh, z), ref Unsafe.Add(ref carry, j));
        }

        return j;
    }

    /// <summary>A masked row: the state was copied, so all of dh_t flows to h_{t-1}.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int PassCols<TL>(int j, ref float carry, ref float dhd, ref float mhr, ref float dy)
        where TL : struct, ILanes<TL>
    {
        for (; j <= u - TL.Count; j += TL.Count)
        {
            var dh = TL.Add(TL.Fma(TL.Load(ref Unsafe.Add(ref dhd, j)), TL.Load(ref Unsafe.Add(ref mhr, j)), TL.Load(ref Unsafe.Add(ref carry, j))), TL.Load(ref Unsafe.Add(ref dy, j)));
            TL.Store(dh, ref Unsafe.Add(ref carry, j));
        }

        return j;
    }

    /// <summary>resetAfter = false, first pass: dRec z and h blocks = dz~, dh~; carry = dh ∘ z.</summary>
    private void BackStepCandidate(
        int bt, int tt, int s, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> gS,
        ReadOnlySpan<float> keepS, ReadOnlySpan<float> emitS, ReadOnlySpan<float> mh, ReadOnlySpan<float> dSeq, Span<float> dRecS)
    {
        for (int b = 0; b < bt; b++)
        {
            ref float carry = ref dhCarry[b * u];
            ref float dhd = ref dhRec[b * u];
            ref float mhr = ref mh.IsEmpty ? ref ones[0] : ref RnnRun.At(mh, b * u);
            bool useDy = !dSeq.IsEmpty && emitS[b] != 0f;
            ref float dy = ref useDy ? ref RnnRun.At(dSeq, ((b * tt) + s) * u) : ref zeros[0];
            if (keepS[b] == 0f)
            {
                int k = width == LaneWidth.Scalar ? 0 : width == LaneWidth.Vector512 ? PassCols<Lanes512>(0, ref carry, ref dhd, ref mhr, ref dy) : PassCols<Lanes256>(0, ref carry, ref dhd, ref mhr, ref dy);
                PassCols<Lanes1>(k, ref carry, ref dhd, ref mhr, ref dy);

                // Zero z and h blocks make the r pass and both GEMMs add nothing for this row.
                dRecS.Slice(b * g, g).Clear();
                continue;
            }

            ref float hp = ref RnnRun.At(hPrev, b * u);
            ref float gr = ref RnnRun.At(gS, b * g);
            ref float dr = ref RnnRun.At(dRecS, b * g);
            int j = width switch
            {
                LaneWidth.Vector512 => BackCandidateCols<Lanes512>(0, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref dr),
                LaneWidth.Vector256 => BackCandidateCols<Lanes256>(0, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref dr),
                _ => 0,
            };
            BackCandidateCols<Lanes1>(j, ref carry, ref dhd, ref mhr, ref dy, ref hp, ref gr, ref dr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int BackCandidateCols<TL>(int j, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float hp, ref float gr, ref float dr)
        where TL : struct, ILanes<TL>
    {
        var one = TL.Broadcast(1f);
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jh = (2 * u) + j;
            var dh = TL.Add(TL.Fma(TL.Load(ref Unsafe.Add(ref dhd, j)), TL.Load(ref Unsafe.Add(ref mhr, j)), TL.Load(ref Unsafe.Add(ref carry, j))), TL.Load(ref Unsafe.Add(ref dy, j)));
            var z = TL.Load(ref Unsafe.Add(ref gr, j));
            var c = TL.Load(ref Unsafe.Add(ref gr, jh));
            var dz = TL.Mul(TL.Mul(dh, TL.Sub(TL.Load(ref Unsafe.Add(ref hp, j)), c)), TL.DerivativeFromOutput(RecurrentActivation, z));
            var dc = TL.Mul(TL.Mul(dh, TL.Sub(one, z)), TL.DerivativeFromOutput(Activation, c));
            TL.Store(dz, ref Unsafe.Add(ref dr, j));
            TL.Store(dc, ref Unsafe.Add(ref dr, jh));
            TL.Store(TL.Mul(dh, z), ref Unsafe.Add(ref carry, j));
        }

        return j;
    }

    /// <summary>
    /// resetAfter = false, second pass, from drh = d(r ∘ hd) in dhRec: dr~ = drh ∘ hd ∘ σ'(r) into
    /// dRec's r block, and carry += drh ∘ r ∘ m_h (the path of h_{t-1} through r ∘ hd).
    /// </summary>
    private void BackStepReset(int bt, ReadOnlySpan<float> hdS, ReadOnlySpan<float> gS, ReadOnlySpan<float> mh, Span<float> dRecS)
    {
        for (int b = 0; b < bt; b++)
        {
            ref float carry = ref dhCarry[b * u];
            ref float drh = ref dhRec[b * u];
            ref float mhr = ref mh.IsEmpty ? ref ones[0] : ref RnnRun.At(mh, b * u);
            ref float hdr = ref RnnRun.At(hdS, b * u);
            ref float gr = ref RnnRun.At(gS, b * g);
            ref float dr = ref RnnRun.At(dRecS, b * g);
            int j = width switch
            {
                LaneWidth.Vector512 => BackResetCols<Lanes512>(0, ref carry, ref drh, ref mhr, ref hdr, ref gr, ref dr),
                LaneWidth.Vector256 => BackResetCols<Lanes256>(0, ref carry, ref drh, ref mhr, ref hdr, ref gr, ref dr),
                _ => 0,
            };
            BackResetCols<Lanes1>(j, ref carry, ref drh, ref mhr, ref hdr, ref gr, ref dr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int BackResetCols<TL>(int j, ref float carry, ref float drh, ref float mhr, ref float hdr, ref float gr, ref float dr)
        where TL : struct, ILanes<TL>
    {
        for (; j <= u - TL.Count; j += TL.Count)
        {
            int jr = u + j;
            var d = TL.Load(ref Unsafe.Add(ref drh, j));
            var r = TL.Load(ref Unsafe.Add(ref gr, jr));
            var dRr = TL.Mul(TL.Mul(d, TL.Load(ref Unsafe.Add(ref hdr, j))), TL.DerivativeFromOutput(RecurrentActivation, r));
            TL.Store(dRr, ref Unsafe.Add(ref dr, jr));
            TL.Store(TL.Fma(TL.Mul(d, r), TL.Load(ref Unsafe.Add(ref mhr, j)), TL.Load(ref Unsafe.Add(ref carry, j))), ref Unsafe.Add(ref carry, j));
        }

        return j;
    }
}
