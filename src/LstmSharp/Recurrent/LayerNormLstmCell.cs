using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// One step of the layer-normalised LSTM (Ba, Kiros &amp; Hinton 2016, "Layer Normalization",
/// §3.1 and the LSTM of its appendix) for one row of the batch, forward and exact backward.
/// <see cref="LayerNormLstmKernel"/> walks time and batch and does the matrix products.
/// </summary>
/// <remarks>
/// <para>Shapes for one row: x_t [features], h_{t−1}, c_{t−1} [n] (n = units); W [features, 4n],
/// U [n, 4n] with gate blocks k = i, f, c, o as <see cref="LSTM"/>; per gate block the gains
/// γx_k, γh_k [n] (<c>input_gamma</c>, <c>recurrent_gamma</c> [4n]) and the bias b [4n]; the
/// cell's gain and shift γc, βc [n]. σ = recurrent activation (sigmoid), φ = activation (tanh).
/// LN_k normalises block k of a [4n] vector over its own n values (per gate, as the issue asks;
/// the paper's text normalises "the summed inputs" of the whole layer — per gate keeps each
/// gate's scale independent of the others, and LN of the 4n concatenation would mix the
/// candidate's statistics into the gates'):</para>
/// <code>
/// a_x = x_t W,   a_h = (h_{t−1} ⊙ m_h) U                         (m_h: recurrent dropout mask)
/// x̂_k = (a_x,k − μ(a_x,k)) · r_x,k,   r_x,k = 1/√(var(a_x,k) + ε)     (ĥ_k, r_h,k likewise of a_h)
/// z_k = γx_k ⊙ x̂_k + γh_k ⊙ ĥ_k + b_k
/// i = σ(z_i),  f = σ(z_f),  g = φ(z_c),  o = σ(z_o)
/// c_t = f ⊙ c_{t−1} + i ⊙ g
/// ĉ = (c_t − μ(c_t)) · r_c,   ℓ = γc ⊙ ĉ + βc,   h_t = o ⊙ φ(ℓ)
/// </code>
/// <para>The paper's two shifts β1, β2 of LN(W_h h) and LN(W_x x) only ever add to b, so they are
/// one bias here (Keras's <c>bias</c>, with <c>unit_forget_bias</c>). ε defaults to 1e-3 (TensorFlow
/// Addons' LayerNormLSTMCell <c>norm_epsilon</c>, Keras LayerNormalization's): LN of a constant
/// vector (x W of an all-zero input row, h U and c of zero states — MNIST's blank top rows) has
/// x̂ = 0 and passes gradients back multiplied by 1/√ε per step, 316 with ε = 1e-5, which over a
/// few blank steps overflowed float32 in training; 31.6 with 1e-3 does not.
/// The cell state c_t itself is carried unnormalised; only the output path sees LN(c_t).</para>
/// <para>Backward, with dh = ∂L/∂h_t and dc = ∂L/∂c_t from later steps; LNᵀ(d, x̂, r) =
/// r · (d − mean(d) − x̂ ⊙ mean(d ⊙ x̂)) is the gradient through a normalisation:</para>
/// <code>
/// dℓ = dh ⊙ o ⊙ φ'(φ(ℓ)),   dz_o = dh ⊙ φ(ℓ) ⊙ σ'(o)
/// dγc += dℓ ⊙ ĉ,   dβc += dℓ,   dc_t = dc + LNᵀ(dℓ ⊙ γc, ĉ, r_c)
/// dz_i = dc_t ⊙ g ⊙ σ'(i),   dz_f = dc_t ⊙ c_{t−1} ⊙ σ'(f),   dz_c = dc_t ⊙ i ⊙ φ'(g)
/// dc_{t−1} = dc_t ⊙ f,   db += dz,   dγx += dz ⊙ x̂,   dγh += dz ⊙ ĥ
/// da_x,k = LNᵀ(dz_k ⊙ γx_k, x̂_k, r_x,k),   da_h,k = LNᵀ(dz_k ⊙ γh_k, ĥ_k, r_h,k)
/// dx_t = da_x Wᵀ,  dW += x_tᵀ da_x,  dU += (h_{t−1} ⊙ m_h)ᵀ da_h,  dh_{t−1} = (da_h Uᵀ) ⊙ m_h
/// </code>
/// <para>The row work runs over <see cref="ILanes{TV}"/> (Vector512, then Vector256, then one lane:
/// <see cref="LaneLoop"/>); the scalar instantiation is the twin the vector widths are held to bit
/// for bit, statistics included (<see cref="RowStatistics"/> sums in a fixed 16-lane order at every
/// width). With σ = sigmoid and φ = tanh the activations are inlined (no switch on the kind per
/// element). The products around it are <see cref="Gemm"/>'s.</para>
/// </remarks>
internal static partial class LayerNormLstmCell
{
    /// <summary>Default ε of every normalisation (TensorFlow Addons' <c>norm_epsilon</c>).</summary>
    public const float DefaultEpsilon = 1e-3f;

    /// <summary>The gains, shifts and bias one row reads.</summary>
    internal readonly ref struct Norms
    {
        public ReadOnlySpan<float> InputGamma { get; init; }

        public ReadOnlySpan<float> RecurrentGamma { get; init; }

        /// <summary>b [4n]; empty without a bias.</summary>
        public ReadOnlySpan<float> Bias { get; init; }

        public ReadOnlySpan<float> CellGamma { get; init; }

        public ReadOnlySpan<float> CellBeta { get; init; }

        /// <summary>ε of the normalisations.</summary>
        public float Epsilon { get; init; }
    }

    /// <summary>
    /// Forward of one row. <paramref name="ax"/>, <paramref name="ah"/> [4n] hold x W and h U and
    /// receive x̂ and ĥ; <paramref name="rx"/>, <paramref name="rh"/> [4] receive the gates'
    /// 1/σ; <paramref name="gates"/> [4n] receives i, f, g, o; <paramref name="c"/> holds c_{t−1}
    /// and receives c_t; <paramref name="cHat"/> [n] receives ĉ and the return value is r_c;
    /// <paramref name="h"/> [n] receives h_t. <paramref name="width"/> pins a narrower SIMD path
    /// (<see cref="LaneWidth.Scalar"/>: the scalar twin).
    /// </summary>
    public static float ForwardRow(int n, ActivationKind act, ActivationKind rec, Span<float> ax, Span<float> ah, Span<float> rx, Span<float> rh, in Norms p, Span<float> gates, Span<float> c, Span<float> cHat, Span<float> h, LaneWidth width = LaneWidth.Auto) =>
        IsSigmoidTanh(act, rec)
            ? Forward<SigmoidTanhCell>(n, act, rec, ax, ah, rx, rh, p, gates, c, cHat, h, width)
            : Forward<AnyCell>(n, act, rec, ax, ah, rx, rh, p, gates, c, cHat, h, width);

    /// <summary>
    /// Backward of one row: <paramref name="gates"/> holds i, f, g, o and receives dz;
    /// <paramref name="dc"/> holds ∂L/∂c_t and receives ∂L/∂c_{t−1}; <paramref name="dax"/>,
    /// <paramref name="dah"/> [4n] receive ∂L/∂(x W), ∂L/∂(h U); <paramref name="dl"/> [n]
    /// receives ∂L/∂ℓ (for dγc, dβc, summed over rows by the kernel).
    /// </summary>
    public static void BackwardRow(
        int n, ActivationKind act, ActivationKind rec, in Norms p,
        ReadOnlySpan<float> xHat, ReadOnlySpan<float> hHat, ReadOnlySpan<float> rx, ReadOnlySpan<float> rh,
        Span<float> gates, ReadOnlySpan<float> cT, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> cHat, float rc,
        ReadOnlySpan<float> dh, Span<float> dc, Span<float> dax, Span<float> dah, Span<float> dl, LaneWidth width = LaneWidth.Auto)
    {
        if (IsSigmoidTanh(act, rec))
        {
            Backward<SigmoidTanhCell>(n, act, rec, p, xHat, hHat, rx, rh, gates, cPrev, cHat, rc, dh, dc, dax, dah, dl, width);
        }
        else
        {
            Backward<AnyCell>(n, act, rec, p, xHat, hHat, rx, rh, gates, cPrev, cHat, rc, dh, dc, dax, dah, dl, width);
        }
    }

    /// <summary>v ← (v − μ(v)) · r in place; returns r = 1/√(var(v) + ε) (population variance).</summary>
    internal static float Normalize(Span<float> v, float epsilon, LaneWidth width = LaneWidth.Auto)
    {
        float mean = RowStatistics.Sum(v, width) / v.Length;
        float variance = RowStatistics.SquaredDeviations(v, mean, width);
        float r = 1f / MathF.Sqrt((variance / v.Length) + epsilon);
        var op = new Standardize { V = ref MemoryMarshal.GetReference(v), Mean = mean, R = r };
        LaneLoop.Run(ref op, v.Length, width);
        return r;
    }

    /// <summary>d ← r · (d − mean(d) − x̂ ⊙ mean(d ⊙ x̂)) in place: the gradient through <see cref="Normalize"/>.</summary>
    internal static void NormalizeBackward(Span<float> d, ReadOnlySpan<float> xHat, float r, LaneWidth width = LaneWidth.Auto)
    {
        float md = RowStatistics.Sum(d, width) / d.Length;
        float mdx = RowStatistics.Dot(d, xHat, width) / d.Length;
        var op = new StandardizeBackward { D = ref MemoryMarshal.GetReference(d), XHat = ref MemoryMarshal.GetReference(xHat), MeanD = md, MeanDx = mdx, R = r };
        LaneLoop.Run(ref op, d.Length, width);
    }

    private static bool IsSigmoidTanh(ActivationKind act, ActivationKind rec) => rec == ActivationKind.Sigmoid && act == ActivationKind.Tanh;
}
