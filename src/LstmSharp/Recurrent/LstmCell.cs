using System.Runtime.CompilerServices;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// One LSTM time step for one sequence of the batch (one "row"): the gate activations, the
/// new cell and the new output from the step's pre-activations, and the exact gradient of that
/// step. <see cref="LstmKernel"/> walks time and batch and does the matrix products.
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
/// </remarks>
public static class LstmCell
{
    /// <summary>
    /// Forward of one row, scalar reference of the fast path. <paramref name="z"/> [G·units]
    /// holds the pre-activations (x W + h U + b + FGR term) and receives the activations
    /// i, f, c~, o in place; <paramref name="c"/> holds c_{t−1} and receives c_t; <paramref name="h"/>
    /// receives h_t; <paramref name="gates"/> [S·units] (FGR only) receives the activations of the
    /// gates with weights.
    /// </summary>
    public static void ForwardRowScalar(LstmLayout layout, Span<float> z, Span<float> c, Span<float> h, ReadOnlySpan<float> peephole, Span<float> gates)
    {
        var v = layout.Variant;
        int units = layout.Units;
        int oi = layout.BlockOffset(LstmGate.Input), of = layout.BlockOffset(LstmGate.Forget);
        int oc = layout.BlockOffset(LstmGate.Candidate), oo = layout.BlockOffset(LstmGate.Output);
        int pi = PeepholeRow(layout, LstmGate.Input), pf = PeepholeRow(layout, LstmGate.Forget), po = PeepholeRow(layout, LstmGate.Output);
        bool cifg = v.CoupledInputForget, forget = v.ForgetGate;
        var rec = v.RecurrentActivation;
        var act = v.Activation;
        for (int j = 0; j < units; j++)
        {
            float cPrev = c[j];
            float i = 1f;
            if (oi >= 0)
            {
                float zi = z[oi + j] + (pi >= 0 ? peephole[pi + j] * cPrev : 0f);
                i = Activate(rec, zi);
                z[oi + j] = i;
            }

            float f = 1f;
            if (of >= 0)
            {
                float zf = z[of + j] + (pf >= 0 ? peephole[pf + j] * cPrev : 0f);
                f = Activate(rec, zf);
                z[of + j] = f;
            }
            else if (cifg)
            {
                f = 1f - i;
            }
            else if (!forget)
            {
                f = 1f;
            }

            float g = v.InputActivation ? Activate(act, z[oc + j]) : z[oc + j];
            z[oc + j] = g;
            float cNew = (f * cPrev) + (i * g);
            c[j] = cNew;
            float o = 1f;
            if (oo >= 0)
            {
                float zo = z[oo + j] + (po >= 0 ? peephole[po + j] * cNew : 0f);
                o = Activate(rec, zo);
                z[oo + j] = o;
            }

            h[j] = o * (v.OutputActivation ? Activate(act, cNew) : cNew);
        }

        if (!gates.IsEmpty)
        {
            CopyWeightedGates(layout, z, gates);
        }
    }

    /// <summary>
    /// Backward of one row, scalar reference of the fast path. <paramref name="a"/> [G·units]
    /// holds the activations saved by the forward and receives the pre-activation gradients dz
    /// in place; <paramref name="dh"/> is ∂L/∂h_t; <paramref name="dc"/> holds ∂L/∂c_t (from
    /// later steps) and receives ∂L/∂c_{t−1}; <paramref name="dGates"/> [S·units] (FGR only) is
    /// the gradient reaching this step's gate activations through the next step's R.
    /// </summary>
    public static void BackwardRowScalar(LstmLayout layout, Span<float> a, ReadOnlySpan<float> dh, Span<float> dc, ReadOnlySpan<float> cT, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> peephole, ReadOnlySpan<float> dGates)
    {
        var v = layout.Variant;
        int units = layout.Units;
        int oi = layout.BlockOffset(LstmGate.Input), of = layout.BlockOffset(LstmGate.Forget);
        int oc = layout.BlockOffset(LstmGate.Candidate), oo = layout.BlockOffset(LstmGate.Output);
        int pi = PeepholeRow(layout, LstmGate.Input), pf = PeepholeRow(layout, LstmGate.Forget), po = PeepholeRow(layout, LstmGate.Output);
        int gi = GateRow(layout, dGates, LstmGate.Input), gf = GateRow(layout, dGates, LstmGate.Forget), go = GateRow(layout, dGates, LstmGate.Output);
        bool cifg = v.CoupledInputForget;
        var rec = v.RecurrentActivation;
        var act = v.Activation;
        for (int j = 0; j < units; j++)
        {
            float i = oi >= 0 ? a[oi + j] : 1f;
            float f = of >= 0 ? a[of + j] : cifg ? 1f - i : 1f;
            float g = a[oc + j];
            float o = oo >= 0 ? a[oo + j] : 1f;
            float c = cT[j], cp = cPrev[j];
            float tc = v.OutputActivation ? Activate(act, c) : c;
            float dct = dc[j] + (dh[j] * o * (v.OutputActivation ? DerivativeFromOutput(act, tc) : 1f));
            if (oo >= 0)
            {
                float dzo = ((dh[j] * tc) + (go >= 0 ? dGates[go + j] : 0f)) * DerivativeFromOutput(rec, o);
                a[oo + j] = dzo;
                if (po >= 0)
                {
                    dct += peephole[po + j] * dzo;
                }
            }

            float dcp = dct * f;
            if (of >= 0)
            {
                float dzf = ((dct * cp) + (gf >= 0 ? dGates[gf + j] : 0f)) * DerivativeFromOutput(rec, f);
                a[of + j] = dzf;
                if (pf >= 0)
                {
                    dcp += peephole[pf + j] * dzf;
                }
            }

            if (oi >= 0)
            {
                float dai = (dct * (cifg ? g - cp : g)) + (gi >= 0 ? dGates[gi + j] : 0f);
                float dzi = dai * DerivativeFromOutput(rec, i);
                a[oi + j] = dzi;
                if (pi >= 0)
                {
                    dcp += peephole[pi + j] * dzi;
                }
            }

            a[oc + j] = dct * i * (v.InputActivation ? DerivativeFromOutput(act, g) : 1f);
            dc[j] = dcp;
        }
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Activate(ActivationKind kind, float x) => kind switch
    {
        ActivationKind.Sigmoid => 1f / (1f + MathF.Exp(-x)),
        ActivationKind.Tanh => MathF.Tanh(x),
        ActivationKind.HardSigmoid => Math.Clamp((x * (1f / 6f)) + 0.5f, 0f, 1f),
        ActivationKind.Relu => x > 0f ? x : 0f,
        _ => x,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float DerivativeFromOutput(ActivationKind kind, float y) => kind switch
    {
        ActivationKind.Sigmoid => y * (1f - y),
        ActivationKind.Tanh => 1f - (y * y),
        ActivationKind.HardSigmoid => y > 0f && y < 1f ? 1f / 6f : 0f,
        ActivationKind.Relu => y > 0f ? 1f : 0f,
        _ => 1f,
    };
}
