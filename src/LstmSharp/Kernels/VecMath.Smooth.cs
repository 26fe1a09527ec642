using System.Runtime.CompilerServices;

namespace LstmSharp.Kernels;

/// <summary>
/// Keras's elu, softsign and softplus (ONNX Elu(α = 1), Softsign, Softplus), written once over
/// <see cref="ILanes{TV}"/>: the scalar twins run the same operations through <see cref="Lanes1"/>,
/// so a Vector512, a Vector256 and a scalar evaluation give the same bits.
/// <code>
/// elu(x)      = x for x &gt; 0, else e^x − 1            elu'      = 1 for y &gt; 0, else y + 1
/// softsign(x) = x / (1 + |x|)                          softsign' = (1 − |y|)²
/// softplus(x) = max(x, 0) + log(1 + e^−|x|)            softplus' = σ(x) = 1 − e^−y
/// </code>
/// e^x − 1 is a Taylor polynomial below |x| = 1/2 (where e^x − 1 would cancel), and
/// log(1 + t) for t = e^−|x| in (0, 1] is 2·atanh(t / (2 + t)) as an odd series in s = t/(2 + t) ≤ 1/3,
/// so no general logarithm is needed.
/// </summary>
internal static partial class VecMath
{
    private const int AbsMaskBits = 0x7FFFFFFF;
    private const int SignBits = unchecked((int)0x80000000);

    // 1/k! for e^x − 1 = x(1 + x/2 + x²/6 + ... + x⁸/9!).
    private const float M2 = 1f / 2f;
    private const float M3 = 1f / 6f;
    private const float M4 = 1f / 24f;
    private const float M5 = 1f / 120f;
    private const float M6 = 1f / 720f;
    private const float M7 = 1f / 5040f;
    private const float M8 = 1f / 40320f;
    private const float M9 = 1f / 362880f;

    /// <summary>elu (α = 1) of one value.</summary>
    public static float Elu(float x) => Elu<Lanes1, float>(x);

    /// <summary>softsign of one value.</summary>
    public static float Softsign(float x) => Softsign<Lanes1, float>(x);

    /// <summary>softplus of one value.</summary>
    public static float Softplus(float x) => Softplus<Lanes1, float>(x);

    /// <summary>e^x − 1 per lane, accurate near 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpM1<TL, TV>(TV x)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        var p = TL.Fma(TL.Broadcast(M9), x, TL.Broadcast(M8));
        p = TL.Fma(p, x, TL.Broadcast(M7));
        p = TL.Fma(p, x, TL.Broadcast(M6));
        p = TL.Fma(p, x, TL.Broadcast(M5));
        p = TL.Fma(p, x, TL.Broadcast(M4));
        p = TL.Fma(p, x, TL.Broadcast(M3));
        p = TL.Fma(p, x, TL.Broadcast(M2));
        p = TL.Mul(TL.Fma(p, x, TL.One), x);
        var small = TL.LessThan(TL.And(x, TL.BroadcastBits(AbsMaskBits)), TL.Broadcast(0.5f));
        return TL.Select(small, p, TL.Sub(Exp<TL, TV>(x), TL.One));
    }

    /// <summary>elu (α = 1) per lane; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Elu<TL, TV>(TV x)
        where TL : struct, ILanes<TV>
        where TV : struct =>
        TL.Select(TL.GreaterThan(x, TL.Zero), x, ExpM1<TL, TV>(x));

    /// <summary>softsign per lane: ±1 at ±∞ (where x / (1 + |x|) would be ∞/∞); NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Softsign<TL, TV>(TV x)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        var a = TL.And(x, TL.BroadcastBits(AbsMaskBits));
        var y = TL.Div(x, TL.Add(TL.One, a));
        var signedOne = TL.Or(TL.And(x, TL.BroadcastBits(SignBits)), TL.One);
        return TL.Select(TL.GreaterThan(a, TL.Broadcast(float.MaxValue)), signedOne, y);
    }

    /// <summary>softplus per lane: max(x, 0) + log(1 + e^−|x|), never overflowing before x does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Softplus<TL, TV>(TV x)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        var t = Exp<TL, TV>(TL.Neg(TL.And(x, TL.BroadcastBits(AbsMaskBits))));
        var s = TL.Div(t, TL.Add(TL.Broadcast(2f), t));
        var z = TL.Mul(s, s);

        // log(1 + t) = 2s(1 + z/3 + z²/5 + ... + z⁸/17); z ≤ 1/9, so the next term is below 1e-9.
        var q = TL.Fma(TL.Broadcast(1f / 17f), z, TL.Broadcast(1f / 15f));
        q = TL.Fma(q, z, TL.Broadcast(1f / 13f));
        q = TL.Fma(q, z, TL.Broadcast(1f / 11f));
        q = TL.Fma(q, z, TL.Broadcast(1f / 9f));
        q = TL.Fma(q, z, TL.Broadcast(1f / 7f));
        q = TL.Fma(q, z, TL.Broadcast(1f / 5f));
        q = TL.Fma(q, z, TL.Broadcast(1f / 3f));
        q = TL.Fma(q, z, TL.One);
        var log1p = TL.Mul(TL.Add(s, s), q);
        return TL.Add(TL.Select(TL.GreaterThan(x, TL.Zero), x, TL.Zero), log1p);
    }

    /// <summary>elu' from y: 1 where y &gt; 0, else y + 1 (= e^x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV EluDerivativeFromOutput<TL, TV>(TV y)
        where TL : struct, ILanes<TV>
        where TV : struct =>
        TL.Select(TL.GreaterThan(y, TL.Zero), TL.One, TL.Add(y, TL.One));

    /// <summary>softsign' from y: (1 − |y|)².</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV SoftsignDerivativeFromOutput<TL, TV>(TV y)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        var d = TL.Sub(TL.One, TL.And(y, TL.BroadcastBits(AbsMaskBits)));
        return TL.Mul(d, d);
    }

    /// <summary>softplus' from y: σ(x) = 1 − e^−y, as −(e^−y − 1) so that it keeps its accuracy for small y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV SoftplusDerivativeFromOutput<TL, TV>(TV y)
        where TL : struct, ILanes<TV>
        where TV : struct =>
        TL.Neg(ExpM1<TL, TV>(TL.Neg(y)));

    private readonly struct EluOp : IActivation
    {
        public static ActivationKind Kind => ActivationKind.Elu;
    }

    private readonly struct SoftsignOp : IActivation
    {
        public static ActivationKind Kind => ActivationKind.Softsign;
    }

    private readonly struct SoftplusOp : IActivation
    {
        public static ActivationKind Kind => ActivationKind.Softplus;
    }
}
