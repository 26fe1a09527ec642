using System.Runtime.CompilerServices;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The fully connected (Elman) recurrent layer over a whole sequence, forward and backward
/// (BPTT), with Keras's weight layout. The layer (options, initializers, autograd) sits on top.
/// </summary>
/// <remarks>
/// <para><b>Equation</b> (act = activation, default tanh; xd = x_t ∘ m_x and hd = h_{t-1} ∘ m_h
/// with the fixed dropout masks, or x_t and h_{t-1} without):</para>
/// <code>
/// h_t = act(xd W + hd U + b)
/// </code>
/// <para><b>Layout</b>: kernel W [input, units], recurrent kernel U [units, units], bias b [units]
/// (empty without bias). SimpleRNN(128) on 28 inputs: 20,096 parameters.</para>
/// <para><b>Shapes</b>, masks, dropout masks and go_backwards: as <see cref="GruKernel"/>.</para>
/// <para><b>Speed</b>: x W for all steps is one GEMM before the loop, into a time-major buffer;
/// each step's recurrent GEMM accumulates straight into its slice (beta = 1), then one fused pass
/// adds b and applies act. Backward: per step one fused pass (dh → da = dh ∘ act'(h_t)) and one
/// GEMM (dhd = da Uᵀ); dW, dU and dx are single GEMMs over all steps.</para>
/// <para><b>Saved for BPTT</b>: xm (dropped input, time-major), hs (h_0..h_T), hd (h ∘ m_h, only
/// with recurrent dropout), keep/emit step masks. act' is taken from h_t itself.</para>
/// </remarks>
public sealed class SimpleRnnKernel
{
    private const string Owner = "SimpleRnnKernel";

    private readonly int n;
    private readonly int u;
    private readonly LaneWidth width;

    private float[] xm = [];
    private float[] xp = [];
    private float[] hs = [];
    private float[] hd = [];
    private float[] keep = [];
    private float[] emit = [];

    private float[] biasX = [];
    private float[] ones = [];
    private float[] zeros = [];
    private float[] dA = [];
    private float[] dhCarry = [];
    private float[] dhRec = [];
    private float[] dxm = [];

    private int savedBatch = -1;
    private int savedTime = -1;

    public SimpleRnnKernel(int inputSize, int units, ActivationKind activation = ActivationKind.Tanh, bool useBias = true)
        : this(inputSize, units, activation, useBias, LaneWidth.Auto)
    {
    }

    internal SimpleRnnKernel(int inputSize, int units, ActivationKind activation, bool useBias, LaneWidth width)
    {
        if (inputSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSize), $"{Owner}: inputSize must be a positive integer, got {inputSize}.");
        }

        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), $"{Owner}: units must be a positive integer, got {units}.");
        }

        if (!Enum.IsDefined(activation))
        {
            throw new ArgumentException($"{Owner}: activation={(int)activation} is not an ActivationKind.", nameof(activation));
        }

        n = inputSize;
        u = units;
        Activation = activation;
        UseBias = useBias;
        this.width = RnnRun.Resolve(width);
        RnnRun.Ensure(ref biasX, u);
        RnnRun.Ensure(ref ones, u);
        RnnRun.Ensure(ref zeros, u);
        ones.AsSpan().Fill(1f);
    }

    public int InputSize => n;

    public int Units => u;

    public ActivationKind Activation { get; }

    public bool UseBias { get; }

    /// <summary>[input, units].</summary>
    public int[] KernelShape => [n, u];

    /// <summary>[units, units].</summary>
    public int[] RecurrentKernelShape => [u, u];

    /// <summary>[units], or [] without bias.</summary>
    public int[] BiasShape => UseBias ? [u] : [];

    /// <summary>Weights of a SimpleRNN: units·(input + units) + units bias.</summary>
    public static long ParameterCount(int inputSize, int units, bool useBias = true) =>
        ((long)units * (inputSize + units)) + (useBias ? units : 0);

    /// <summary>
    /// Runs the sequence; arguments as <see cref="GruKernel.Forward"/> (bias [units] or empty
    /// without bias).
    /// </summary>
    public void Forward(
        in SequenceRun run, ReadOnlySpan<float> kernel, ReadOnlySpan<float> recurrentKernel, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> initialState, bool training,
        Span<float> sequence, Span<float> lastOutput, Span<float> finalState)
    {
        run.Validate(Owner, n, u);
        int bt = run.Batch, tt = run.Time;
        SequenceRun.CheckLength(Owner, "kernel", kernel.Length, false, n, u);
        SequenceRun.CheckLength(Owner, "recurrentKernel", recurrentKernel.Length, false, u, u);
        CheckBias("bias", bias.Length);
        SequenceRun.CheckLength(Owner, "initialState", initialState.Length, true, bt, u);
        SequenceRun.CheckLength(Owner, "sequence", sequence.Length, true, bt, tt, u);
        SequenceRun.CheckLength(Owner, "lastOutput", lastOutput.Length, true, bt, u);
        SequenceRun.CheckLength(Owner, "finalState", finalState.Length, true, bt, u);

        int rows = bt * tt;
        int stateSlots = training ? tt + 1 : 2;
        bool recDrop = !run.RecurrentDropoutMask.IsEmpty;
        RnnRun.Ensure(ref xm, rows * n);
        RnnRun.Ensure(ref xp, rows * u);
        RnnRun.Ensure(ref hs, stateSlots * bt * u);
        RnnRun.Ensure(ref hd, recDrop ? (training ? tt : 1) * bt * u : 0);
        RnnRun.Ensure(ref keep, rows);
        RnnRun.Ensure(ref emit, rows);
        savedBatch = -1;

        RnnRun.BuildStepMasks(run.Mask, bt, tt, run.GoBackwards, run.ZeroOutputForMask, keep, emit);
        RnnRun.GatherInput(run.X, run.InputDropoutMask, bt, tt, n, run.GoBackwards, xm);
        Gemm.Sgemm(false, false, rows, u, n, 1f, xm, n, kernel, u, 0f, xp, u);
        if (UseBias)
        {
            bias.CopyTo(biasX);
        }
        else
        {
            biasX.AsSpan().Clear();
        }

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
            var hPrev = hs.AsSpan(prevSlot * bt * u, bt * u);
            var hCur = hs.AsSpan(curSlot * bt * u, bt * u);
            var hdS = hPrev;
            if (recDrop)
            {
                hdS = hd.AsSpan((training ? s : 0) * bt * u, bt * u);
                RnnRun.MultiplyRows(hPrev, mh, hdS, bt * u);
            }

            // The recurrent product lands on top of this step's input projection.
            var aS = xp.AsSpan(s * bt * u, bt * u);
            Gemm.Sgemm(false, false, bt, u, u, 1f, hdS, u, recurrentKernel, u, 1f, aS, u);
            Step(bt, aS, hPrev, keep.AsSpan(s * bt, bt), hCur);
            if (!sequence.IsEmpty)
            {
                var emitS = emit.AsSpan(s * bt, bt);
                for (int b = 0; b < bt; b++)
                {
                    var dst = sequence.Slice(((b * tt) + s) * u, u);
                    if (emitS[b] != 0f)
                    {
                        hCur.Slice(b * u, u).CopyTo(dst);
                    }
                    else
                    {
                        dst.Clear();
                    }
                }
            }
        }

        var hT = hs.AsSpan((training ? tt : tt & 1) * bt * u, bt * u);
        if (!finalState.IsEmpty)
        {
            hT.CopyTo(finalState);
        }

        if (!lastOutput.IsEmpty)
        {
            for (int b = 0; b < bt; b++)
            {
                var dst = lastOutput.Slice(b * u, u);
                if (emit[((tt - 1) * bt) + b] != 0f)
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

    /// <summary>BPTT through the last training <see cref="Forward"/>; arguments as <see cref="GruKernel.Backward"/>.</summary>
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

        SequenceRun.CheckLength(Owner, "kernel", kernel.Length, false, n, u);
        SequenceRun.CheckLength(Owner, "recurrentKernel", recurrentKernel.Length, false, u, u);
        SequenceRun.CheckLength(Owner, "dSequence", dSequence.Length, true, bt, tt, u);
        SequenceRun.CheckLength(Owner, "dLastOutput", dLastOutput.Length, true, bt, u);
        SequenceRun.CheckLength(Owner, "dFinalState", dFinalState.Length, true, bt, u);
        SequenceRun.CheckLength(Owner, "dx", dx.Length, true, bt, tt, n);
        SequenceRun.CheckLength(Owner, "dKernel", dKernel.Length, false, n, u);
        SequenceRun.CheckLength(Owner, "dRecurrentKernel", dRecurrentKernel.Length, false, u, u);
        CheckBias("dBias", dBias.Length);
        SequenceRun.CheckLength(Owner, "dInitialState", dInitialState.Length, true, bt, u);

        int rows = bt * tt;
        RnnRun.Ensure(ref dA, rows * u);
        RnnRun.Ensure(ref dhCarry, bt * u);
        RnnRun.Ensure(ref dhRec, bt * u);
        RnnRun.Ensure(ref dxm, dx.IsEmpty ? 0 : rows * n);

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
            var dAS = dA.AsSpan(s * bt * u, bt * u);
            BackStep(bt, tt, s, hs.AsSpan((s + 1) * bt * u, bt * u), keep.AsSpan(s * bt, bt), emit.AsSpan(s * bt, bt), mh, dSequence, dAS);
            Gemm.Sgemm(false, true, bt, u, u, 1f, dAS, u, recurrentKernel, u, 0f, dhr, u);
        }

        if (!dInitialState.IsEmpty)
        {
            if (recDrop)
            {
                System.Numerics.Tensors.TensorPrimitives.FusedMultiplyAdd(dhr, mh, carry, dInitialState);
            }
            else
            {
                System.Numerics.Tensors.TensorPrimitives.Add(dhr, carry, dInitialState);
            }
        }

        var hdAll = recDrop ? hd.AsSpan(0, rows * u) : hs.AsSpan(0, rows * u);
        var dAAll = dA.AsSpan(0, rows * u);
        Gemm.Sgemm(true, false, u, u, rows, 1f, hdAll, u, dAAll, u, 1f, dRecurrentKernel, u);
        Gemm.Sgemm(true, false, n, u, rows, 1f, xm, n, dAAll, u, 1f, dKernel, u);
        if (UseBias)
        {
            RnnRun.AddColumnSums(dAAll, rows, u, 0, dBias);
        }

        if (!dx.IsEmpty)
        {
            Gemm.Sgemm(false, true, rows, n, u, 1f, dAAll, u, kernel, u, 0f, dxm, n);
            RnnRun.ScatterInputGrad(dxm, run.InputDropoutMask, bt, tt, n, run.GoBackwards, dx);
        }
    }

    private void CheckBias(string name, int length)
    {
        if (UseBias)
        {
            SequenceRun.CheckLength(Owner, name, length, false, u);
        }
        else
        {
            SequenceRun.CheckLength(Owner, name + " (useBias: false)", length, false, 0);
        }
    }

    /// <summary>h_t = act(a + b) on kept rows (a = xd W + hd U already), h_{t-1} on masked rows.</summary>
    private void Step(int bt, Span<float> aS, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> keepS, Span<float> hCur)
    {
        for (int b = 0; b < bt; b++)
        {
            if (keepS[b] == 0f)
            {
                hPrev.Slice(b * u, u).CopyTo(hCur.Slice(b * u, u));
                continue;
            }

            ref float ar = ref RnnRun.At(aS, b * u);
            ref float hr = ref RnnRun.At(hCur, b * u);
            int j = width switch
            {
                LaneWidth.Vector512 => StepCols<Lanes512>(0, ref ar, ref hr),
                LaneWidth.Vector256 => StepCols<Lanes256>(0, ref ar, ref hr),
                _ => 0,
            };
            StepCols<Lanes1>(j, ref ar, ref hr);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int StepCols<TL>(int j, ref float ar, ref float hr)
        where TL : struct, ILanes<TL>
    {
        ref float bx = ref biasX[0];
        for (; j <= u - TL.Count; j += TL.Count)
        {
            var h = TL.Activate(Activation, TL.Add(TL.Load(ref Unsafe.Add(ref ar, j)), TL.Load(ref Unsafe.Add(ref bx, j))));
            TL.Store(h, ref Unsafe.Add(ref hr, j));
        }

        return j;
    }

    /// <summary>
    /// dh_t = carry + dhd ∘ m_h + emit ∘ dY_t; kept rows: da = dh_t ∘ act'(h_t), carry = 0
    /// (h_{t-1} reaches h_t only through U); masked rows: da = 0, carry = dh_t.
    /// </summary>
    private void BackStep(int bt, int tt, int s, ReadOnlySpan<float> hCur, ReadOnlySpan<float> keepS, ReadOnlySpan<float> emitS, ReadOnlySpan<float> mh, ReadOnlySpan<float> dSeq, Span<float> dAS)
    {
        for (int b = 0; b < bt; b++)
        {
            ref float carry = ref dhCarry[b * u];
            ref float dhd = ref dhRec[b * u];
            ref float mhr = ref mh.IsEmpty ? ref ones[0] : ref RnnRun.At(mh, b * u);
            bool useDy = !dSeq.IsEmpty && emitS[b] != 0f;
            ref float dy = ref useDy ? ref RnnRun.At(dSeq, ((b * tt) + s) * u) : ref zeros[0];
            ref float hr = ref RnnRun.At(hCur, b * u);
            ref float dar = ref RnnRun.At(dAS, b * u);
            bool kept = keepS[b] != 0f;
            int j = width switch
            {
                LaneWidth.Vector512 => BackCols<Lanes512>(0, kept, ref carry, ref dhd, ref mhr, ref dy, ref hr, ref dar),
                LaneWidth.Vector256 => BackCols<Lanes256>(0, kept, ref carry, ref dhd, ref mhr, ref dy, ref hr, ref dar),
                _ => 0,
            };
            BackCols<Lanes1>(j, kept, ref carry, ref dhd, ref mhr, ref dy, ref hr, ref dar);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int BackCols<TL>(int j, bool kept, ref float carry, ref float dhd, ref float mhr, ref float dy, ref float hr, ref float dar)
        where TL : struct, ILanes<TL>
    {
        var zero = TL.Broadcast(0f);
        for (; j <= u - TL.Count; j += TL.Count)
        {
            var dh = TL.Add(TL.Fma(TL.Load(ref Unsafe.Add(ref dhd, j)), TL.Load(ref Unsafe.Add(ref mhr, j)), TL.Load(ref Unsafe.Add(ref carry, j))), TL.Load(ref Unsafe.Add(ref dy, j)));
            if (kept)
            {
                TL.Store(TL.Mul(dh, TL.DerivativeFromOutput(Activation, TL.Load(ref Unsafe.Add(ref hr, j)))), ref Unsafe.Add(ref dar, j));
                TL.Store(zero, ref Unsafe.Add(ref carry, j));
            }
            else
            {
                TL.Store(zero, ref Unsafe.Add(ref dar, j));
                TL.Store(dh, ref Unsafe.Add(ref carry, j));
            }
        }

        return j;
    }
}
