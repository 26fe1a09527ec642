using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// One LSTM time step for one sequence of the batch (one "row"): the gate activations, the
/// new cell and the new output from the step's pre-activations, and the exact gradient of that
/// step. The shared driver walks time and batch, and <see cref="LstmKernel"/> (the LSTM's steps
/// on it) does the matrix products.
/// </summary>
/// <remarks>
/// <para>Shapes for one row: x_t [inputSize], h_{t−1}, c_{t−1}, c_t, h_t [units];
/// W [inputSize, G·units], U [units, G·units], b [G·units] with blocks i, f, c, o
/// (see <see cref="LstmLayout"/>); peepholes p_i, p_f, p_o [units]; σ = recurrent activation
/// (default sigmoid), φ = activation (default tanh), ⊙ elementwise.</para>
/// <para>Standard (Keras, PyTorch, cuDNN; Greff's NP):</para>
/// <code>
/// i_t  = σ(x_t W_i + h_{t−1} U_i + b_i)
/// f_t  = σ(x_t W_f + h_{t−1} U_f + b_f)
/// c~_t = φ(x_t W_c + h_{t−1} U_c + b_c)
/// o_t  = σ(x_t W_o + h_{t−1} U_o + b_o)
/// c_t  = f_t ⊙ c_{t−1} + i_t ⊙ c~_t
/// h_t  = o_t ⊙ φ(c_t)
/// </code>
/// <para>Variants (flags of <see cref="LstmVariant"/>, combinable):</para>
/// <code>
/// Peepholes (Gers &amp; Schmidhuber 2000, Greff's V):
///   i_t = σ(… + p_i ⊙ c_{t−1}),  f_t = σ(… + p_f ⊙ c_{t−1}),  o_t = σ(… + p_o ⊙ c_t)
/// No forget gate (NFG; the original 1997 LSTM):  f_t = 1, so c_t = c_{t−1} + i_t ⊙ c~_t
/// No input gate (NIG):                           i_t = 1
/// No output gate (NOG):                          o_t = 1
/// Coupled input-forget gate (CIFG):              f_t = 1 − i_t (no W_f, U_f, b_f, p_f)
/// No input activation (NIAF):                    c~_t = x_t W_c + h_{t−1} U_c + b_c
/// No output activation (NOAF):                   h_t = o_t ⊙ c_t
/// Full gate recurrence (FGR): for each gate s with weights among i, f, o
///   a_s,t = σ(… + [a_i, a_f, a_o]_{t−1} R[:, s]),  R [S·units, S·units],  [a]_{−1} = 0
/// </code>
/// <para>Backward, with dh = ∂L/∂h_t and dc = ∂L/∂c_t arriving from later steps
/// (φ', σ' written through the outputs, as <see cref="ActivationKind"/> does):</para>
/// <code>
/// dc_t  = dc + dh ⊙ o ⊙ φ'(φ(c_t))                  (NOAF: dc + dh ⊙ o)
/// dz_o  = dh ⊙ φ(c_t) ⊙ σ'(o);      dc_t += p_o ⊙ dz_o
/// dz_i  = dc_t ⊙ c~ ⊙ σ'(i)          (CIFG: dc_t ⊙ (c~ − c_{t−1}) ⊙ σ'(i))
/// dz_f  = dc_t ⊙ c_{t−1} ⊙ σ'(f)
/// dz_c  = dc_t ⊙ i ⊙ φ'(c~)
/// dc_{t−1} = dc_t ⊙ f + p_i ⊙ dz_i + p_f ⊙ dz_f
/// dh_{t−1} = dz · Uᵀ,  dx_t = dz · Wᵀ,  dW += x_tᵀ dz,  dU += h_{t−1}ᵀ dz,  db += dz
/// </code>
/// FGR adds R's contribution to the gates' activation gradients of the previous step.
/// <para>Projection (LSTMP, Sak et al. 2014; PyTorch <c>proj_size</c>; any variant above): the
/// cell's output m_t [units] is projected to h_t [P] by W_p [units, P] (<c>projection_kernel</c>);
/// h_t is the output and the recurrent input, so U is [P, G·units] and the recurrent dropout
/// mask is [P]; c_t keeps <c>units</c> values. The row kernels here compute m_t;
/// <see cref="LstmKernel"/> does the product per step.</para>
/// <code>
/// m_t = o_t ⊙ φ(c_t),   h_t = m_t W_p
/// backward:  dm = dh W_pᵀ  (dm is the "dh" of the cell backward above),  dW_p += m_tᵀ dh
/// </code>
/// </remarks>
internal static class LstmCell
{
    /// <summary>
    /// Forward of one row: <paramref name="z"/> [G·units] holds the pre-activations
    /// (x W + h U + b + FGR term) and receives the activations i, f, c~, o in place;
    /// <paramref name="c"/> [units] holds c_{t−1} and receives c_t; <paramref name="h"/> [units]
    /// receives h_t; <paramref name="peephole"/> is P [S·units] (empty without peepholes);
    /// <paramref name="gates"/> [S·units] (FGR only, else empty) receives the activations of the
    /// gates with weights. Vectorised (Vector512, then Vector256 on the rest, scalar tail).
    /// </summary>
    public static void ForwardRow(LstmLayout layout, Span<float> z, Span<float> c, Span<float> h, ReadOnlySpan<float> peephole, Span<float> gates)
    {
        CheckRow(layout, z, c, h, peephole, gates);
        ForwardRowUnchecked(layout, z, c, h, peephole, gates);
    }

    /// <summary>
    /// <see cref="ForwardRow"/> without the argument checks, for kernels that validated the
    /// shapes once per call (the row runs batch · time times per call).
    /// </summary>
    internal static void ForwardRowUnchecked(LstmLayout layout, Span<float> z, Span<float> c, Span<float> h, ReadOnlySpan<float> peephole, Span<float> gates)
    {
        // Widest vectors first, then narrower ones on what is left: with 10 units the 512-bit
        // loop runs no iteration and the 256-bit one takes 8 of the 10.
        // A width whose loop would run no iteration is not entered (its setup costs about as
        // much as a step at 10 units).
        int j = 0, units = layout.Units;
        var shape = ShapeOf(layout, fgrGradient: false);
        if (Lanes512.IsAccelerated && units >= 16)
        {
            j = shape switch
            {
                CellShape.Standard => ForwardCols<Lanes512, Vector512<float>, StandardCell>(layout, z, c, h, peephole, j),
                CellShape.SigmoidTanh => ForwardCols<Lanes512, Vector512<float>, SigmoidTanhCell>(layout, z, c, h, peephole, j),
                _ => ForwardCols<Lanes512, Vector512<float>, AnyCell>(layout, z, c, h, peephole, j),
            };
        }

        if (Lanes256.IsAccelerated && units - j >= 8)
        {
            j = shape switch
            {
                CellShape.Standard => ForwardCols<Lanes256, Vector256<float>, StandardCell>(layout, z, c, h, peephole, j),
                CellShape.SigmoidTanh => ForwardCols<Lanes256, Vector256<float>, SigmoidTanhCell>(layout, z, c, h, peephole, j),
                _ => ForwardCols<Lanes256, Vector256<float>, AnyCell>(layout, z, c, h, peephole, j),
            };
        }

        if (j < units)
        {
            ForwardCols<Lanes1, float, AnyCell>(layout, z, c, h, peephole, j);
        }

        if (!gates.IsEmpty)
        {
            CopyWeightedGates(layout, z, gates);
        }
    }

    /// <summary>Scalar twin of <see cref="ForwardRow"/>: the same row kernel at one lane (<see cref="Lanes1"/>), hence the same bits.</summary>
    public static void ForwardRowScalar(LstmLayout layout, Span<float> z, Span<float> c, Span<float> h, ReadOnlySpan<float> peephole, Span<float> gates)
    {
        CheckRow(layout, z, c, h, peephole, gates);
        ForwardCols<Lanes1, float, AnyCell>(layout, z, c, h, peephole, 0);
        if (!gates.IsEmpty)
        {
            CopyWeightedGates(layout, z, gates);
        }
    }

    /// <summary>
    /// Backward of one row: <paramref name="a"/> [G·units] holds the activations saved by the
    /// forward and receives the pre-activation gradients dz in place; <paramref name="dh"/> is
    /// ∂L/∂h_t; <paramref name="dc"/> holds ∂L/∂c_t (from later steps) and receives ∂L/∂c_{t−1};
    /// <paramref name="cT"/>, <paramref name="cPrev"/> are c_t and c_{t−1}; <paramref name="dGates"/>
    /// [S·units] (FGR only, else empty) is the gradient reaching this step's gate activations
    /// through the next step's R. Vectorised (Vector512, then Vector256 on the rest, scalar tail).
    /// </summary>
    public static void BackwardRow(LstmLayout layout, Span<float> a, ReadOnlySpan<float> dh, Span<float> dc, ReadOnlySpan<float> cT, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> peephole, ReadOnlySpan<float> dGates)
    {
        CheckBackwardRow(layout, a, dh, dc, cT, cPrev, peephole, dGates);
        BackwardRowUnchecked(layout, a, dh, dc, cT, cPrev, peephole, dGates);
    }

    /// <summary><see cref="BackwardRow"/> without the argument checks, for kernels that validated the shapes once per call.</summary>
    internal static void BackwardRowUnchecked(LstmLayout layout, Span<float> a, ReadOnlySpan<float> dh, Span<float> dc, ReadOnlySpan<float> cT, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> peephole, ReadOnlySpan<float> dGates)
    {
        int j = 0, units = layout.Units;
        var shape = ShapeOf(layout, fgrGradient: !dGates.IsEmpty);
        if (Lanes512.IsAccelerated && units >= 16)
        {
            j = shape switch
            {
                CellShape.Standard => BackwardCols<Lanes512, Vector512<float>, StandardCell>(layout, a, dh, dc, cT, cPrev, peephole, dGates, j),
                CellShape.SigmoidTanh => BackwardCols<Lanes512, Vector512<float>, SigmoidTanhCell>(layout, a, dh, dc, cT, cPrev, peephole, dGates, j),
                _ => BackwardCols<Lanes512, Vector512<float>, AnyCell>(layout, a, dh, dc, cT, cPrev, peephole, dGates, j),
            };
        }

        if (Lanes256.IsAccelerated && units - j >= 8)
        {
            j = shape switch
            {
                CellShape.Standard => BackwardCols<Lanes256, Vector256<float>, StandardCell>(layout, a, dh, dc, cT, cPrev, peephole, dGates, j),
                CellShape.SigmoidTanh => BackwardCols<Lanes256, Vector256<float>, SigmoidTanhCell>(layout, a, dh, dc, cT, cPrev, peephole, dGates, j),
                _ => BackwardCols<Lanes256, Vector256<float>, AnyCell>(layout, a, dh, dc, cT, cPrev, peephole, dGates, j),
            };
        }

        if (j < units)
        {
            BackwardCols<Lanes1, float, AnyCell>(layout, a, dh, dc, cT, cPrev, peephole, dGates, j);
        }
    }

    /// <summary>Scalar twin of <see cref="BackwardRow"/>.</summary>
    public static void BackwardRowScalar(LstmLayout layout, Span<float> a, ReadOnlySpan<float> dh, Span<float> dc, ReadOnlySpan<float> cT, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> peephole, ReadOnlySpan<float> dGates)
    {
        CheckBackwardRow(layout, a, dh, dc, cT, cPrev, peephole, dGates);
        BackwardCols<Lanes1, float, AnyCell>(layout, a, dh, dc, cT, cPrev, peephole, dGates, 0);
    }

    private static int ForwardCols<TL, TV, TC>(LstmLayout layout, Span<float> z, Span<float> c, Span<float> h, ReadOnlySpan<float> peephole, int start)
        where TL : struct, ILanes<TV>
        where TV : struct
        where TC : struct, ICellShape
    {
        var v = layout.Variant;
        int units = layout.Units;
        int oi = layout.BlockOffset(LstmGate.Input), of = layout.BlockOffset(LstmGate.Forget);
        int oc = layout.BlockOffset(LstmGate.Candidate), oo = layout.BlockOffset(LstmGate.Output);
        int pi = PeepholeRow(layout, LstmGate.Input), pf = PeepholeRow(layout, LstmGate.Forget), po = PeepholeRow(layout, LstmGate.Output);
        bool cifg = v.CoupledInputForget, inAct = v.InputActivation, outAct = v.OutputActivation;
        var rec = v.RecurrentActivation;
        var act = v.Activation;
        ref float zr = ref MemoryMarshal.GetReference(z);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float hr = ref MemoryMarshal.GetReference(h);
        ref float pr = ref MemoryMarshal.GetReference(peephole);
        int end = start + ((units - start) / TL.Count * TL.Count);
        for (int j = start; j < end; j += TL.Count)
        {
            TV cPrev = TL.Load(ref cr, j);
            TV i = TL.One;
            if (TC.Standard || oi >= 0)
            {
                TV zi = TL.Load(ref zr, oi + j);
                if (!TC.Standard && pi >= 0) zi = TL.Add(zi, TL.Mul(TL.Load(ref pr, pi + j), cPrev));
                i = CellActivation<TL, TV, TC>.Sigma(rec, zi);
                TL.Store(i, ref zr, oi + j);
            }

            TV f = TL.One;
            if (TC.Standard || of >= 0)
            {
                TV zf = TL.Load(ref zr, of + j);
                if (!TC.Standard && pf >= 0) zf = TL.Add(zf, TL.Mul(TL.Load(ref pr, pf + j), cPrev));
                f = CellActivation<TL, TV, TC>.Sigma(rec, zf);
                TL.Store(f, ref zr, of + j);
            }
            else if (cifg)
            {
                f = TL.Sub(TL.One, i);
            }

            TV g = TL.Load(ref zr, oc + j);
            if (TC.Standard || inAct) g = CellActivation<TL, TV, TC>.Phi(act, g);
            TL.Store(g, ref zr, oc + j);
            TV cNew = TL.Add(TL.Mul(f, cPrev), TL.Mul(i, g));
            TL.Store(cNew, ref cr, j);
            TV o = TL.One;
            if (TC.Standard || oo >= 0)
            {
                TV zo = TL.Load(ref zr, oo + j);
                if (!TC.Standard && po >= 0) zo = TL.Add(zo, TL.Mul(TL.Load(ref pr, po + j), cNew));
                o = CellActivation<TL, TV, TC>.Sigma(rec, zo);
                TL.Store(o, ref zr, oo + j);
            }

            TL.Store(TL.Mul(o, TC.Standard || outAct ? CellActivation<TL, TV, TC>.Phi(act, cNew) : cNew), ref hr, j);
        }

        return end;
    }

    private static int BackwardCols<TL, TV, TC>(LstmLayout layout, Span<float> a, ReadOnlySpan<float> dh, Span<float> dc, ReadOnlySpan<float> cT, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> peephole, ReadOnlySpan<float> dGates, int start)
        where TL : struct, ILanes<TV>
        where TV : struct
        where TC : struct, ICellShape
    {
        var v = layout.Variant;
        int units = layout.Units;
        int oi = layout.BlockOffset(LstmGate.Input), of = layout.BlockOffset(LstmGate.Forget);
        int oc = layout.BlockOffset(LstmGate.Candidate), oo = layout.BlockOffset(LstmGate.Output);
        int pi = PeepholeRow(layout, LstmGate.Input), pf = PeepholeRow(layout, LstmGate.Forget), po = PeepholeRow(layout, LstmGate.Output);
        int gi = GateRow(layout, dGates, LstmGate.Input), gf = GateRow(layout, dGates, LstmGate.Forget), go = GateRow(layout, dGates, LstmGate.Output);
        bool cifg = v.CoupledInputForget, inAct = v.InputActivation, outAct = v.OutputActivation;
        var rec = v.RecurrentActivation;
        var act = v.Activation;
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float dhr = ref MemoryMarshal.GetReference(dh);
        ref float dcr = ref MemoryMarshal.GetReference(dc);
        ref float ctr = ref MemoryMarshal.GetReference(cT);
        ref float cpr = ref MemoryMarshal.GetReference(cPrev);
        ref float pr = ref MemoryMarshal.GetReference(peephole);
        ref float dgr = ref MemoryMarshal.GetReference(dGates);
        int end = start + ((units - start) / TL.Count * TL.Count);
        for (int j = start; j < end; j += TL.Count)
        {
            TV i = TC.Standard || oi >= 0 ? TL.Load(ref ar, oi + j) : TL.One;
            TV f = TC.Standard || of >= 0 ? TL.Load(ref ar, of + j) : cifg ? TL.Sub(TL.One, i) : TL.One;
            TV g = TL.Load(ref ar, oc + j);
            TV o = TC.Standard || oo >= 0 ? TL.Load(ref ar, oo + j) : TL.One;
            TV c = TL.Load(ref ctr, j), cp = TL.Load(ref cpr, j);
            TV tc = TC.Standard || outAct ? CellActivation<TL, TV, TC>.Phi(act, c) : c;
            TV dhj = TL.Load(ref dhr, j);
            TV dct = TL.Mul(dhj, o);
            if (TC.Standard || outAct) dct = TL.Mul(dct, CellActivation<TL, TV, TC>.PhiDerivative(act, tc));
            dct = TL.Add(TL.Load(ref dcr, j), dct);
            if (TC.Standard || oo >= 0)
            {
                TV dao = TL.Mul(dhj, tc);
                if (!TC.Standard && go >= 0) dao = TL.Add(dao, TL.Load(ref dgr, go + j));
                TV dzo = TL.Mul(dao, CellActivation<TL, TV, TC>.SigmaDerivative(rec, o));
                TL.Store(dzo, ref ar, oo + j);
                if (!TC.Standard && po >= 0) dct = TL.Add(dct, TL.Mul(TL.Load(ref pr, po + j), dzo));
            }

            TV dcp = TL.Mul(dct, f);
            if (TC.Standard || of >= 0)
            {
                TV daf = TL.Mul(dct, cp);
                if (!TC.Standard && gf >= 0) daf = TL.Add(daf, TL.Load(ref dgr, gf + j));
                TV dzf = TL.Mul(daf, CellActivation<TL, TV, TC>.SigmaDerivative(rec, f));
                TL.Store(dzf, ref ar, of + j);
                if (!TC.Standard && pf >= 0) dcp = TL.Add(dcp, TL.Mul(TL.Load(ref pr, pf + j), dzf));
            }

            if (TC.Standard || oi >= 0)
            {
                TV dai = TL.Mul(dct, !TC.Standard && cifg ? TL.Sub(g, cp) : g);
                if (!TC.Standard && gi >= 0) dai = TL.Add(dai, TL.Load(ref dgr, gi + j));
                TV dzi = TL.Mul(dai, CellActivation<TL, TV, TC>.SigmaDerivative(rec, i));
                TL.Store(dzi, ref ar, oi + j);
                if (!TC.Standard && pi >= 0) dcp = TL.Add(dcp, TL.Mul(TL.Load(ref pr, pi + j), dzi));
            }

            TV dg = TL.Mul(dct, i);
            if (TC.Standard || inAct) dg = TL.Mul(dg, CellActivation<TL, TV, TC>.PhiDerivative(act, g));
            TL.Store(dg, ref ar, oc + j);
            TL.Store(dcp, ref dcr, j);
        }

        return end;
    }

    /// <summary>
    /// Which specialisation of the vector row kernels fits: <see cref="CellShape.Standard"/> (all four
    /// gates, no peepholes, no coupling, both activations applied, no FGR gradient to add, σ = sigmoid,
    /// φ = tanh: the Keras LSTM), <see cref="CellShape.SigmoidTanh"/> (any variant with those two
    /// activations) or <see cref="CellShape.Any"/>.
    /// </summary>
    private static CellShape ShapeOf(LstmLayout layout, bool fgrGradient)
    {
        var v = layout.Variant;
        if (v.RecurrentActivation != ActivationKind.Sigmoid || v.Activation != ActivationKind.Tanh)
        {
            return CellShape.Any;
        }

        bool standard = v.InputGate && v.ForgetGate && v.OutputGate && !v.CoupledInputForget && !v.Peepholes
            && v.InputActivation && v.OutputActivation && !fgrGradient;
        return standard ? CellShape.Standard : CellShape.SigmoidTanh;
    }

    private static void CheckRow(LstmLayout layout, Span<float> z, Span<float> c, Span<float> h, ReadOnlySpan<float> peephole, Span<float> gates)
    {
        int n = layout.Units, su = layout.WeightedGateCount * n;
        SequenceRun.CheckLength("LstmCell.ForwardRow", "z", z.Length, false, layout.GateWidth);
        SequenceRun.CheckLength("LstmCell.ForwardRow", "c", c.Length, false, n);
        SequenceRun.CheckLength("LstmCell.ForwardRow", "h", h.Length, false, n);
        SequenceRun.CheckLength("LstmCell.ForwardRow", "peephole", peephole.Length, false, layout.HasPeepholes ? su : 0);
        SequenceRun.CheckLength("LstmCell.ForwardRow", "gates", gates.Length, true, layout.HasGateRecurrence ? su : 0);
    }

    private static void CheckBackwardRow(LstmLayout layout, Span<float> a, ReadOnlySpan<float> dh, Span<float> dc, ReadOnlySpan<float> cT, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> peephole, ReadOnlySpan<float> dGates)
    {
        int n = layout.Units, su = layout.WeightedGateCount * n;
        const string Op = "LstmCell.BackwardRow";
        SequenceRun.CheckLength(Op, "a", a.Length, false, layout.GateWidth);
        SequenceRun.CheckLength(Op, "dh", dh.Length, false, n);
        SequenceRun.CheckLength(Op, "dc", dc.Length, false, n);
        SequenceRun.CheckLength(Op, "cT", cT.Length, false, n);
        SequenceRun.CheckLength(Op, "cPrev", cPrev.Length, false, n);
        SequenceRun.CheckLength(Op, "peephole", peephole.Length, false, layout.HasPeepholes ? su : 0);
        SequenceRun.CheckLength(Op, "dGates", dGates.Length, true, layout.HasGateRecurrence ? su : 0);
    }

    /// <summary>Copies the activations of the gates with weights (S-order i, f, o) from a row of gate blocks.</summary>
    internal static void CopyWeightedGates(LstmLayout layout, ReadOnlySpan<float> z, Span<float> gates)
    {
        int units = layout.Units;
        foreach (var gate in WeightedGates)
        {
            int s = layout.WeightedGateIndex(gate);
            if (s >= 0)
            {
                z.Slice(layout.BlockOffset(gate), units).CopyTo(gates.Slice(s * units, units));
            }
        }
    }

    internal static ReadOnlySpan<LstmGate> WeightedGates => [LstmGate.Input, LstmGate.Forget, LstmGate.Output];

    /// <summary>Offset of the gate's peephole row, or -1.</summary>
    internal static int PeepholeRow(LstmLayout layout, LstmGate gate) =>
        layout.HasPeepholes && layout.WeightedGateIndex(gate) >= 0 ? layout.WeightedGateIndex(gate) * layout.Units : -1;

    private static int GateRow(LstmLayout layout, ReadOnlySpan<float> dGates, LstmGate gate) =>
        !dGates.IsEmpty && layout.WeightedGateIndex(gate) >= 0 ? layout.WeightedGateIndex(gate) * layout.Units : -1;
}

/// <summary>The specialisations of <see cref="LstmCell"/>'s vector row kernels (see <c>ShapeOf</c>).</summary>
internal enum CellShape
{
    Any,
    SigmoidTanh,
    Standard,
}

/// <summary>
/// What a vector row kernel may assume at JIT time. The members are constants of struct type
/// arguments, so the JIT removes the branches and the activation switch they decide.
/// </summary>
internal interface ICellShape
{
    /// <summary>σ = sigmoid and φ = tanh.</summary>
    static abstract bool SigmoidTanh { get; }

    /// <summary>The Keras LSTM: gates i, f, c, o all present, no peepholes, no coupling, φ on input and output, no FGR gradient.</summary>
    static abstract bool Standard { get; }
}

/// <summary>
/// σ (the gates' activation) and φ (the candidate's and the output's) of a cell row at width
/// <typeparamref name="TL"/>, and their derivatives from the output: fixed to sigmoid and tanh
/// when the shape <typeparamref name="TC"/> says so (no switch on the kind inside the loop), else
/// chosen by kind. <see cref="LstmCell"/> and <see cref="LayerNormLstmCell"/> share them.
/// </summary>
internal static class CellActivation<TL, TV, TC>
    where TL : struct, ILanes<TV>
    where TV : struct
    where TC : struct, ICellShape
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigma(ActivationKind kind, TV x) => TC.SigmoidTanh ? TL.Sigmoid(x) : TL.Activate(kind, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Phi(ActivationKind kind, TV x) => TC.SigmoidTanh ? TL.Tanh(x) : TL.Activate(kind, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV SigmaDerivative(ActivationKind kind, TV y) => TC.SigmoidTanh ? TL.SigmoidDerivativeFromOutput(y) : TL.DerivativeFromOutput(kind, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV PhiDerivative(ActivationKind kind, TV y) => TC.SigmoidTanh ? TL.TanhDerivativeFromOutput(y) : TL.DerivativeFromOutput(kind, y);
}

internal readonly struct AnyCell : ICellShape
{
    public static bool SigmoidTanh => false;

    public static bool Standard => false;
}

internal readonly struct SigmoidTanhCell : ICellShape
{
    public static bool SigmoidTanh => true;

    public static bool Standard => false;
}

internal readonly struct StandardCell : ICellShape
{
    public static bool SigmoidTanh => true;

    public static bool Standard => true;
}
