using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>The row kernels of <see cref="LayerNormLstmCell"/>, one operator struct per pass over the units, written once over <see cref="ILanes{TV}"/>.</summary>
internal static partial class LayerNormLstmCell
{
    private static float Forward<TC>(int n, ActivationKind act, ActivationKind rec, Span<float> ax, Span<float> ah, Span<float> rx, Span<float> rh, in Norms p, Span<float> gates, Span<float> c, Span<float> cHat, Span<float> h, LaneWidth width)
        where TC : struct, ICellShape
    {
        for (int k = 0; k < 4; k++)
        {
            rx[k] = Normalize(ax.Slice(k * n, n), p.Epsilon, width);
            rh[k] = Normalize(ah.Slice(k * n, n), p.Epsilon, width);
        }

        var gateOp = new ForwardGates<TC>
        {
            N = n, Act = act, Rec = rec, HasBias = !p.Bias.IsEmpty,
            XHat = ref MemoryMarshal.GetReference(ax), HHat = ref MemoryMarshal.GetReference(ah),
            InputGamma = ref MemoryMarshal.GetReference(p.InputGamma), RecurrentGamma = ref MemoryMarshal.GetReference(p.RecurrentGamma),
            Bias = ref MemoryMarshal.GetReference(p.Bias), Gates = ref MemoryMarshal.GetReference(gates),
            C = ref MemoryMarshal.GetReference(c), CHat = ref MemoryMarshal.GetReference(cHat),
        };
        LaneLoop.Run(ref gateOp, n, width);

        float rc = Normalize(cHat[..n], p.Epsilon, width);
        var outOp = new ForwardOutput<TC>
        {
            Act = act, CellGamma = ref MemoryMarshal.GetReference(p.CellGamma), CellBeta = ref MemoryMarshal.GetReference(p.CellBeta),
            CHat = ref MemoryMarshal.GetReference(cHat), O = ref gates[3 * n], H = ref MemoryMarshal.GetReference(h),
        };
        LaneLoop.Run(ref outOp, n, width);
        return rc;
    }

    private static void Backward<TC>(
        int n, ActivationKind act, ActivationKind rec, in Norms p,
        ReadOnlySpan<float> xHat, ReadOnlySpan<float> hHat, ReadOnlySpan<float> rx, ReadOnlySpan<float> rh,
        Span<float> gates, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> cHat, float rc,
        ReadOnlySpan<float> dh, Span<float> dc, Span<float> dax, Span<float> dah, Span<float> dl, LaneWidth width)
        where TC : struct, ICellShape
    {
        // dℓ and dz_o; dax[0..n) holds dĉ = dℓ ⊙ γc for the normalisation's backward.
        var outOp = new BackwardOutput<TC>
        {
            N = n, Act = act, Rec = rec, CellGamma = ref MemoryMarshal.GetReference(p.CellGamma), CellBeta = ref MemoryMarshal.GetReference(p.CellBeta),
            CHat = ref MemoryMarshal.GetReference(cHat), Gates = ref MemoryMarshal.GetReference(gates),
            Dh = ref MemoryMarshal.GetReference(dh), Dl = ref MemoryMarshal.GetReference(dl), DcHat = ref MemoryMarshal.GetReference(dax),
        };
        LaneLoop.Run(ref outOp, n, width);

        NormalizeBackward(dax[..n], cHat[..n], rc, width);
        var gateOp = new BackwardGates<TC>
        {
            N = n, Act = act, Rec = rec, Gates = ref MemoryMarshal.GetReference(gates), CPrev = ref MemoryMarshal.GetReference(cPrev),
            Dc = ref MemoryMarshal.GetReference(dc), Dax = ref MemoryMarshal.GetReference(dax), Dah = ref MemoryMarshal.GetReference(dah),
            InputGamma = ref MemoryMarshal.GetReference(p.InputGamma), RecurrentGamma = ref MemoryMarshal.GetReference(p.RecurrentGamma),
        };
        LaneLoop.Run(ref gateOp, n, width);

        for (int k = 0; k < 4; k++)
        {
            NormalizeBackward(dax.Slice(k * n, n), xHat.Slice(k * n, n), rx[k], width);
            NormalizeBackward(dah.Slice(k * n, n), hHat.Slice(k * n, n), rh[k], width);
        }
    }

    /// <summary>v ← (v − mean) · r.</summary>
    private ref struct Standardize : ILaneOp
    {
        public ref float V;
        public float Mean;
        public float R;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct =>
            TL.Store(TL.Mul(TL.Sub(TL.Load(ref V, i), TL.Broadcast(Mean)), TL.Broadcast(R)), ref V, i);
    }

    /// <summary>d ← r · ((d − mean(d)) − x̂ · mean(d ⊙ x̂)).</summary>
    private ref struct StandardizeBackward : ILaneOp
    {
        public ref float D;
        public ref float XHat;
        public float MeanD;
        public float MeanDx;
        public float R;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            var centred = TL.Sub(TL.Sub(TL.Load(ref D, i), TL.Broadcast(MeanD)), TL.Mul(TL.Load(ref XHat, i), TL.Broadcast(MeanDx)));
            TL.Store(TL.Mul(TL.Broadcast(R), centred), ref D, i);
        }
    }

    /// <summary>z_k = γx_k ⊙ x̂_k + γh_k ⊙ ĥ_k + b_k, the four activations in place, c_t = f ⊙ c_{t−1} + i ⊙ g (also into ĉ, normalised next).</summary>
    private ref struct ForwardGates<TC> : ILaneOp
        where TC : struct, ICellShape
    {
        public ref float XHat;
        public ref float HHat;
        public ref float InputGamma;
        public ref float RecurrentGamma;
        public ref float Bias;
        public ref float Gates;
        public ref float C;
        public ref float CHat;
        public int N;
        public bool HasBias;
        public ActivationKind Act;
        public ActivationKind Rec;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            TV zi = Z<TL, TV>(i), zf = Z<TL, TV>(N + i), zc = Z<TL, TV>((2 * N) + i), zo = Z<TL, TV>((3 * N) + i);
            TV gi = CellActivation<TL, TV, TC>.Sigma(Rec, zi), gf = CellActivation<TL, TV, TC>.Sigma(Rec, zf), gc = CellActivation<TL, TV, TC>.Phi(Act, zc), go = CellActivation<TL, TV, TC>.Sigma(Rec, zo);
            TL.Store(gi, ref Gates, i);
            TL.Store(gf, ref Gates, N + i);
            TL.Store(gc, ref Gates, (2 * N) + i);
            TL.Store(go, ref Gates, (3 * N) + i);
            TV cNew = TL.Add(TL.Mul(gf, TL.Load(ref C, i)), TL.Mul(gi, gc));
            TL.Store(cNew, ref C, i);
            TL.Store(cNew, ref CHat, i);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly TV Z<TL, TV>(int j)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            TV z = TL.Add(TL.Mul(TL.Load(ref InputGamma, j), TL.Load(ref XHat, j)), TL.Mul(TL.Load(ref RecurrentGamma, j), TL.Load(ref HHat, j)));
            return HasBias ? TL.Add(z, TL.Load(ref Bias, j)) : z;
        }
    }

    /// <summary>ℓ = γc ⊙ ĉ + βc, h_t = o ⊙ φ(ℓ).</summary>
    private ref struct ForwardOutput<TC> : ILaneOp
        where TC : struct, ICellShape
    {
        public ref float CellGamma;
        public ref float CellBeta;
        public ref float CHat;
        public ref float O;
        public ref float H;
        public ActivationKind Act;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            TV l = TL.Add(TL.Mul(TL.Load(ref CellGamma, i), TL.Load(ref CHat, i)), TL.Load(ref CellBeta, i));
            TL.Store(TL.Mul(TL.Load(ref O, i), CellActivation<TL, TV, TC>.Phi(Act, l)), ref H, i);
        }
    }

    /// <summary>dℓ = dh ⊙ o ⊙ φ'(φ(ℓ)) (into dl, and ⊙ γc into dĉ), dz_o = dh ⊙ φ(ℓ) ⊙ σ'(o) in place of o.</summary>
    private ref struct BackwardOutput<TC> : ILaneOp
        where TC : struct, ICellShape
    {
        public ref float CellGamma;
        public ref float CellBeta;
        public ref float CHat;
        public ref float Gates;
        public ref float Dh;
        public ref float Dl;
        public ref float DcHat;
        public int N;
        public ActivationKind Act;
        public ActivationKind Rec;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            TV o = TL.Load(ref Gates, (3 * N) + i);
            TV gamma = TL.Load(ref CellGamma, i);
            TV pl = CellActivation<TL, TV, TC>.Phi(Act, TL.Add(TL.Mul(gamma, TL.Load(ref CHat, i)), TL.Load(ref CellBeta, i)));
            TV dh = TL.Load(ref Dh, i);
            TV d = TL.Mul(TL.Mul(dh, o), CellActivation<TL, TV, TC>.PhiDerivative(Act, pl));
            TL.Store(d, ref Dl, i);
            TL.Store(TL.Mul(d, gamma), ref DcHat, i);
            TL.Store(TL.Mul(TL.Mul(dh, pl), CellActivation<TL, TV, TC>.SigmaDerivative(Rec, o)), ref Gates, (3 * N) + i);
        }
    }

    /// <summary>
    /// dc_t = dc + dĉ-path; dz_i, dz_f, dz_c in place of i, f, g; dc_{t−1} = dc_t ⊙ f; then
    /// da_x = dz ⊙ γx and da_h = dz ⊙ γh for all four blocks (dz_o from <see cref="BackwardOutput{TC}"/>).
    /// Dax[0..N) holds dĉ on entry, read before it is overwritten at the same elements.
    /// </summary>
    private ref struct BackwardGates<TC> : ILaneOp
        where TC : struct, ICellShape
    {
        public ref float Gates;
        public ref float CPrev;
        public ref float Dc;
        public ref float Dax;
        public ref float Dah;
        public ref float InputGamma;
        public ref float RecurrentGamma;
        public int N;
        public ActivationKind Act;
        public ActivationKind Rec;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            int n = N;
            TV gi = TL.Load(ref Gates, i), gf = TL.Load(ref Gates, n + i), gc = TL.Load(ref Gates, (2 * n) + i);
            TV dct = TL.Add(TL.Load(ref Dc, i), TL.Load(ref Dax, i));
            TV dzi = TL.Mul(TL.Mul(dct, gc), CellActivation<TL, TV, TC>.SigmaDerivative(Rec, gi));
            TV dzf = TL.Mul(TL.Mul(dct, TL.Load(ref CPrev, i)), CellActivation<TL, TV, TC>.SigmaDerivative(Rec, gf));
            TV dzc = TL.Mul(TL.Mul(dct, gi), CellActivation<TL, TV, TC>.PhiDerivative(Act, gc));
            TV dzo = TL.Load(ref Gates, (3 * n) + i);
            TL.Store(TL.Mul(dct, gf), ref Dc, i);
            Store<TL, TV>(dzi, i);
            Store<TL, TV>(dzf, n + i);
            Store<TL, TV>(dzc, (2 * n) + i);
            Store<TL, TV>(dzo, (3 * n) + i);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void Store<TL, TV>(TV dz, int j)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            TL.Store(dz, ref Gates, j);
            TL.Store(TL.Mul(dz, TL.Load(ref InputGamma, j)), ref Dax, j);
            TL.Store(TL.Mul(dz, TL.Load(ref RecurrentGamma, j)), ref Dah, j);
        }
    }
}
