using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

/// <summary>
/// Inlineable float32 math for fused kernels: exp, sigmoid, tanh, hard sigmoid, relu and the
/// activation derivatives expressed through the output: once for every vector width (generic
/// over <see cref="ILanes{TV}"/>: <see cref="Lanes512"/>, <see cref="Lanes256"/>) and once as
/// the scalar twin on <see cref="float"/>.
/// </summary>
/// <remarks>
/// <para>
/// The three widths run the same sequence of IEEE operations (fused multiply-adds in the same
/// places, the same constants), so a Vector512, a Vector256 and a scalar evaluation of the same
/// input give the same bits. Tests rely on that to hold the fast paths to the scalar twin.
/// </para>
/// <para>
/// <b>exp(x)</b>: range reduction x = n·ln2 + r with n = round(x/ln2), |r| ≤ ln2/2, r computed by a
/// two-part (Cody–Waite) ln2 with fused multiply-adds; e^r by its degree-7 Taylor polynomial
/// (truncation error &lt; 1e-8 relative on that interval) in Horner form; then scaled by 2^n.
/// n is rounded by adding 1.5·2^23 in the same fused multiply-add that forms x/ln2, which leaves
/// n in the low bits of the sum (no round or float-to-int conversion instructions). <see cref="Exp(float)"/>
/// scales as 2^(n/2)·2^(n - n/2) so that results in the subnormal range (x down to about -103.3)
/// and up to FLT_MAX (x up to about 88.72) come out right; x is clamped to [-104, 89] first: below
/// that range the result rounds to 0, above it is +∞. NaN in gives NaN out.
/// </para>
/// <para>
/// <b>sigmoid(x)</b> = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x &lt; 0, with e = exp(-|x|) ≤ 1, so
/// nothing overflows for any x and small outputs (x ≪ 0) keep their relative accuracy. Its
/// exp only sees arguments ≤ 0, so it evaluates 2^-64·e^r (the polynomial's coefficients times
/// 2^-64, which scales every step exactly) and multiplies once by 2^(n+64), always a normal
/// number: subnormal results are rounded once, as by two scalings.
/// </para>
/// <para>
/// <b>tanh(x)</b>: the odd 13/6-degree rational minimax approximation x·P(x²)/Q(x²) of Eigen
/// and XLA, on x clamped to ±9 (where it evaluates to ±1; tanh rounds to ±1 in float32 from
/// about 9.01), the result clamped to [-1, 1]; no exp and no cancellation. For |x| &lt; 4e-4 it
/// returns x itself (tanh(x) = x to within x²/3 relative), so that tanh(1e-8) = 1e-8 exactly.
/// </para>
/// <para>
/// Measured against double precision on a grid over [-30, 30] and a log grid out to ±1e30: the
/// tests hold each function to 1e-6 relative error (about 8 ulp).
/// </para>
/// </remarks>
internal static partial class VecMath
{
    private const float ExpClampLo = -104f;
    private const float ExpClampHi = 89f;
    private const float Log2E = 1.44269504088896341f;

    // 1.5·2^23: fma(x, Log2E, Shifter) rounds x/ln2 to the nearest integer n and leaves n in the
    // low mantissa bits of the sum (for |n| < 2^22), so asInt(sum) − asInt(Shifter) = n.
    private const float Shifter = 12582912f;
    private const int ShifterBits = 0x4B400000;

    // For the exp of x ≤ 0 in the sigmoid: Shifter + 127 + 64, so that asInt(sum) << 23 is the
    // bit pattern of 2^(n+64) (the high bits shift out), and 2^-64 to undo the +64.
    private const float ShifterBiased = 12582912f + 191f;
    private const float TwoPowMinus64 = 5.42101086242752217e-20f;

    // ln2 split so that n·Ln2Hi is exact for |n| < 2^8 and Ln2Hi + Ln2Lo = ln2 to ~1e-14;
    // negated, so that r = fma(n, -Ln2Hi, x) needs no separate negation of n.
    private const float NegLn2Hi = -0.693145751953125f;
    private const float NegLn2Lo = -1.42860682030941723e-6f;

    // 1/k! for the Taylor polynomial of e^r.
    private const float E2 = 0.5f;
    private const float E3 = 1.66666666666666667e-1f;
    private const float E4 = 4.16666666666666667e-2f;
    private const float E5 = 8.33333333333333333e-3f;
    private const float E6 = 1.38888888888888889e-3f;
    private const float E7 = 1.98412698412698413e-4f;

    // The same polynomial times 2^-64 (exact: a power of two scales every Horner step exactly),
    // for the sigmoid's exp, which then needs one multiply by 2^(n+64) and none by 2^-64.
    private const float S0 = TwoPowMinus64;
    private const float S2 = E2 * TwoPowMinus64;
    private const float S3 = E3 * TwoPowMinus64;
    private const float S4 = E4 * TwoPowMinus64;
    private const float S5 = E5 * TwoPowMinus64;
    private const float S6 = E6 * TwoPowMinus64;
    private const float S7 = E7 * TwoPowMinus64;

    // tanh(x) ≈ x·P(x²)/Q(x²) on [-TanhClamp, TanhClamp] (the coefficients of Eigen's
    // generic_fast_tanh_float); evaluated with fused multiply-adds it reaches 1 near 8.7 and
    // creeps a few ulp above 1 beyond about 8.1, hence the clamp of the result to [-1, 1].
    private const float TanhClamp = 9f;
    private const float TanhTinySquared = 0.0004f * 0.0004f;
    private const float TA1 = 4.89352455891786e-03f;
    private const float TA3 = 6.37261928875436e-04f;
    private const float TA5 = 1.48572235717979e-05f;
    private const float TA7 = 5.12229709037114e-08f;
    private const float TA9 = -8.60467152213735e-11f;
    private const float TA11 = 2.00018790482477e-13f;
    private const float TA13 = -2.76076847742355e-16f;
    private const float TB0 = 4.89352518554385e-03f;
    private const float TB2 = 2.26843463243900e-03f;
    private const float TB4 = 1.18534705686654e-04f;
    private const float TB6 = 1.19825839466702e-06f;

    private const float OneSixth = 1f / 6f;

    // ---------------------------------------------------------------- scalar

    /// <summary>e^x (see the type's remarks for the method and range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x)
    {
        if (float.IsNaN(x))
        {
            return x;
        }

        x = Math.Clamp(x, ExpClampLo, ExpClampHi);
        float t = MathF.FusedMultiplyAdd(x, Log2E, Shifter);
        float n = t - Shifter;
        float p = ExpReduced(x, n, E2, E3, E4, E5, E6, E7, 1f);
        int ni = BitConverter.SingleToInt32Bits(t) - ShifterBits;
        int n1 = ni >> 1;
        int n2 = ni - n1;
        return p * BitConverter.Int32BitsToSingle((n1 + 127) << 23) * BitConverter.Int32BitsToSingle((n2 + 127) << 23);
    }

    /// <summary>σ(x) = 1/(1 + e^-x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x)
    {
        // e = exp(-|x|) as p·2^(n+64)·2^-64 (see the type's remarks); NaN stays NaN.
        float y = -MathF.Abs(x);
        y = ExpClampLo > y ? ExpClampLo : y;
        float t = MathF.FusedMultiplyAdd(y, Log2E, ShifterBiased);
        float n = t - ShifterBiased;
        float p = ExpReduced(y, n, S2, S3, S4, S5, S6, S7, S0);
        float e = p * BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(t) << 23);
        float s = 1f / (1f + e);
        return x < 0f ? e * s : s;
    }

    /// <summary>tanh(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x)
    {
        // The comparisons keep NaN (as the vector min/max with x as second operand do).
        float c = TanhClamp < x ? TanhClamp : x;
        c = -TanhClamp > c ? -TanhClamp : c;
        float z = c * c;
        float p = MathF.FusedMultiplyAdd(TA13, z, TA11);
        p = MathF.FusedMultiplyAdd(p, z, TA9);
        p = MathF.FusedMultiplyAdd(p, z, TA7);
        p = MathF.FusedMultiplyAdd(p, z, TA5);
        p = MathF.FusedMultiplyAdd(p, z, TA3);
        p = MathF.FusedMultiplyAdd(p, z, TA1);
        float q = MathF.FusedMultiplyAdd(TB6, z, TB4);
        q = MathF.FusedMultiplyAdd(q, z, TB2);
        q = MathF.FusedMultiplyAdd(q, z, TB0);
        float t = (c * p) / q;
        t = 1f < t ? 1f : t;
        t = -1f > t ? -1f : t;
        return z < TanhTinySquared ? x : t;
    }

    /// <summary>hard_sigmoid (Keras 3): clip(x/6 + 1/2, 0, 1), evaluated as (x + 3)/6 so that it keeps its relative accuracy near x = -3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HardSigmoid(float x)
    {
        float h = (x + 3f) * OneSixth;
        return h <= 0f ? 0f : (h >= 1f ? 1f : h);
    }

    /// <summary>max(x, 0); NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Relu(float x) => x < 0f ? 0f : x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Activate(ActivationKind kind, float x) => kind switch
    {
        ActivationKind.Sigmoid => Sigmoid(x),
        ActivationKind.Tanh => Tanh(x),
        ActivationKind.HardSigmoid => HardSigmoid(x),
        ActivationKind.Relu => Relu(x),
        ActivationKind.Linear => x,
        _ => ActivateRare(kind, x),
    };

    // Kept out of line: inlined into the switch above, their bodies pushed the cell rows' common
    // tanh/sigmoid path past the JIT's inlining budget (batch-128 LSTM inference ~25 % slower).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float ActivateRare(ActivationKind kind, float x) => kind switch
    {
        ActivationKind.Elu => Elu(x),
        ActivationKind.Softsign => Softsign(x),
        ActivationKind.Softplus => Softplus(x),
        _ => x,
    };

    /// <summary>σ'(x) = y(1 - y) from y = σ(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SigmoidDerivativeFromOutput(float y) => y * (1f - y);

    /// <summary>tanh'(x) = 1 - y² from y = tanh(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float TanhDerivativeFromOutput(float y) => MathF.FusedMultiplyAdd(-y, y, 1f);

    /// <summary>1/6 where 0 &lt; y &lt; 1, else 0 (the kinks get 0, as in Keras's gradient of clip).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HardSigmoidDerivativeFromOutput(float y) => y > 0f && y < 1f ? OneSixth : 0f;

    /// <summary>1 where y &gt; 0, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ReluDerivativeFromOutput(float y) => y > 0f ? 1f : 0f;

    /// <summary>dy/dx written through the output y of <paramref name="kind"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DerivativeFromOutput(ActivationKind kind, float y) => kind switch
    {
        ActivationKind.Sigmoid => SigmoidDerivativeFromOutput(y),
        ActivationKind.Tanh => TanhDerivativeFromOutput(y),
        ActivationKind.HardSigmoid => HardSigmoidDerivativeFromOutput(y),
        ActivationKind.Relu => ReluDerivativeFromOutput(y),
        ActivationKind.Linear => 1f,
        _ => DerivativeFromOutputRare(kind, y),
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float DerivativeFromOutputRare(ActivationKind kind, float y) => kind switch
    {
        ActivationKind.Elu => EluDerivativeFromOutput<Lanes1, float>(y),
        ActivationKind.Softsign => SoftsignDerivativeFromOutput<Lanes1, float>(y),
        ActivationKind.Softplus => SoftplusDerivativeFromOutput<Lanes1, float>(y),
        _ => 1f,
    };

    /// <summary>
    /// e^r for r = x − n·ln2 (Cody–Waite), |r| ≤ ln2/2: the Taylor polynomial in Horner form with
    /// the coefficients given (1/k!, or 1/k!·2^-64 for the sigmoid: the same bits times 2^-64).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ExpReduced(float x, float n, float c2, float c3, float c4, float c5, float c6, float c7, float c01)
    {
        float r = MathF.FusedMultiplyAdd(n, NegLn2Hi, x);
        r = MathF.FusedMultiplyAdd(n, NegLn2Lo, r);
        float p = MathF.FusedMultiplyAdd(c7, r, c6);
        p = MathF.FusedMultiplyAdd(p, r, c5);
        p = MathF.FusedMultiplyAdd(p, r, c4);
        p = MathF.FusedMultiplyAdd(p, r, c3);
        p = MathF.FusedMultiplyAdd(p, r, c2);
        p = MathF.FusedMultiplyAdd(p, r, c01);
        return MathF.FusedMultiplyAdd(p, r, c01);
    }

    // ---------------------------------------------------------------- vectors, written once

    /// <summary>e^x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TL, TV>(TV x)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        var xc = TL.MinNative(TL.MaxNative(x, TL.Broadcast(ExpClampLo)), TL.Broadcast(ExpClampHi));
        var t = TL.Fma(xc, TL.Broadcast(Log2E), TL.Broadcast(Shifter));
        var n = TL.Sub(t, TL.Broadcast(Shifter));
        var p = ExpReduced<TL, TV>(xc, n, E2, E3, E4, E5, E6, E7, 1f);
        var ni = TL.SubInt(t, TL.BroadcastBits(ShifterBits));
        var n1 = TL.ShiftRightArithmeticInt(ni, 1);
        var n2 = TL.SubInt(ni, n1);
        var bias = TL.BroadcastBits(127);
        var s1 = TL.ShiftLeftInt(TL.AddInt(n1, bias), 23);
        var s2 = TL.ShiftLeftInt(TL.AddInt(n2, bias), 23);
        var y = TL.Mul(TL.Mul(p, s1), s2);

        // The clamp above maps NaN to a bound; put it back.
        return TL.Select(TL.IsNumber(x), y, x);
    }

    /// <summary>σ(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TL, TV>(TV x)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        // -|x| by setting the sign bit; the clamp's second operand is returned for NaN, so NaN stays.
        var y = TL.Or(x, TL.Broadcast(-0f));
        y = TL.MaxNative(TL.Broadcast(ExpClampLo), y);
        var t = TL.Fma(y, TL.Broadcast(Log2E), TL.Broadcast(ShifterBiased));
        var n = TL.Sub(t, TL.Broadcast(ShifterBiased));
        var p = ExpReduced<TL, TV>(y, n, S2, S3, S4, S5, S6, S7, S0);
        var e = TL.Mul(p, TL.ShiftLeftInt(t, 23));
        var s = TL.Div(TL.One, TL.Add(TL.One, e));
        return TL.Select(TL.LessThan(x, TL.Zero), TL.Mul(e, s), s);
    }

    /// <summary>tanh(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TL, TV>(TV x)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        var c = TL.MinNative(TL.Broadcast(TanhClamp), x);
        c = TL.MaxNative(TL.Broadcast(-TanhClamp), c);
        var z = TL.Mul(c, c);
        var p = TL.Fma(TL.Broadcast(TA13), z, TL.Broadcast(TA11));
        p = TL.Fma(p, z, TL.Broadcast(TA9));
        p = TL.Fma(p, z, TL.Broadcast(TA7));
        p = TL.Fma(p, z, TL.Broadcast(TA5));
        p = TL.Fma(p, z, TL.Broadcast(TA3));
        p = TL.Fma(p, z, TL.Broadcast(TA1));
        var q = TL.Fma(TL.Broadcast(TB6), z, TL.Broadcast(TB4));
        q = TL.Fma(q, z, TL.Broadcast(TB2));
        q = TL.Fma(q, z, TL.Broadcast(TB0));
        var t = TL.Div(TL.Mul(c, p), q);
        t = TL.MinNative(TL.One, t);
        t = TL.MaxNative(TL.Neg(TL.One), t);
        return TL.Select(TL.LessThan(z, TL.Broadcast(TanhTinySquared)), x, t);
    }

    /// <summary>clip(x/6 + 1/2, 0, 1) per lane; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV HardSigmoid<TL, TV>(TV x)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        var h = TL.Mul(TL.Add(x, TL.Broadcast(3f)), TL.Broadcast(OneSixth));
        h = TL.Select(TL.LessThanOrEqual(h, TL.Zero), TL.Zero, h);
        return TL.Select(TL.GreaterThanOrEqual(h, TL.One), TL.One, h);
    }

    /// <summary>max(x, 0) per lane; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Relu<TL, TV>(TV x)
        where TL : struct, ILanes<TV>
        where TV : struct =>
        TL.Select(TL.LessThan(x, TL.Zero), TL.Zero, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Activate<TL, TV>(ActivationKind kind, TV x)
        where TL : struct, ILanes<TV>
        where TV : struct => kind switch
    {
        ActivationKind.Sigmoid => Sigmoid<TL, TV>(x),
        ActivationKind.Tanh => Tanh<TL, TV>(x),
        ActivationKind.HardSigmoid => HardSigmoid<TL, TV>(x),
        ActivationKind.Relu => Relu<TL, TV>(x),
        ActivationKind.Linear => x,
        _ => ActivateRare<TL, TV>(kind, x),
    };

    // Out of line for the same reason as the scalar ActivateRare.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TV ActivateRare<TL, TV>(ActivationKind kind, TV x)
        where TL : struct, ILanes<TV>
        where TV : struct => kind switch
    {
        ActivationKind.Elu => Elu<TL, TV>(x),
        ActivationKind.Softsign => Softsign<TL, TV>(x),
        ActivationKind.Softplus => Softplus<TL, TV>(x),
        _ => x,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV DerivativeFromOutput<TL, TV>(ActivationKind kind, TV y)
        where TL : struct, ILanes<TV>
        where TV : struct => kind switch
    {
        ActivationKind.Sigmoid => TL.SigmoidDerivativeFromOutput(y),
        ActivationKind.Tanh => TL.TanhDerivativeFromOutput(y),
        ActivationKind.HardSigmoid => TL.And(TL.And(TL.Broadcast(OneSixth), TL.GreaterThan(y, TL.Zero)), TL.LessThan(y, TL.One)),
        ActivationKind.Relu => TL.And(TL.One, TL.GreaterThan(y, TL.Zero)),
        ActivationKind.Linear => TL.One,
        _ => DerivativeFromOutputRare<TL, TV>(kind, y),
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TV DerivativeFromOutputRare<TL, TV>(ActivationKind kind, TV y)
        where TL : struct, ILanes<TV>
        where TV : struct => kind switch
    {
        ActivationKind.Elu => EluDerivativeFromOutput<TL, TV>(y),
        ActivationKind.Softsign => SoftsignDerivativeFromOutput<TL, TV>(y),
        ActivationKind.Softplus => SoftplusDerivativeFromOutput<TL, TV>(y),
        _ => TL.One,
    };

    /// <summary>
    /// The Taylor polynomial of e^r, r = x − n·ln2 (Cody–Waite), in Horner form with the
    /// coefficients given (1/k!, or 1/k!·2^-64 for the sigmoid: the same bits times 2^-64).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpReduced<TL, TV>(TV x, TV n, float c2, float c3, float c4, float c5, float c6, float c7, float c01)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        var r = TL.Fma(n, TL.Broadcast(NegLn2Hi), x);
        r = TL.Fma(n, TL.Broadcast(NegLn2Lo), r);
        var p = TL.Fma(TL.Broadcast(c7), r, TL.Broadcast(c6));
        p = TL.Fma(p, r, TL.Broadcast(c5));
        p = TL.Fma(p, r, TL.Broadcast(c4));
        p = TL.Fma(p, r, TL.Broadcast(c3));
        p = TL.Fma(p, r, TL.Broadcast(c2));
        p = TL.Fma(p, r, TL.Broadcast(c01));
        return TL.Fma(p, r, TL.Broadcast(c01));
    }

    // ---------------------------------------------------------------- spans

    /// <summary>
    /// y[i] = f(x[i]) for the activation <paramref name="kind"/>. <paramref name="y"/> may be the
    /// same span as <paramref name="x"/> (in place); other overlaps are not supported.
    /// </summary>
    public static void Apply(ActivationKind kind, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckSameLength(nameof(Apply), x.Length, y.Length, nameof(x), nameof(y));
        switch (kind)
        {
            case ActivationKind.Linear:
                x.CopyTo(y);
                return;
            case ActivationKind.Sigmoid:
                Map<SigmoidOp>(x, y);
                return;
            case ActivationKind.Tanh:
                Map<TanhOp>(x, y);
                return;
            case ActivationKind.HardSigmoid:
                Map<HardSigmoidOp>(x, y);
                return;
            case ActivationKind.Relu:
                Map<ReluOp>(x, y);
                return;
            case ActivationKind.Elu:
                Map<EluOp>(x, y);
                return;
            case ActivationKind.Softsign:
                Map<SoftsignOp>(x, y);
                return;
            case ActivationKind.Softplus:
                Map<SoftplusOp>(x, y);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "VecMath.Apply: unknown activation kind.");
        }
    }

    /// <summary>In place: x[i] = f(x[i]).</summary>
    public static void Apply(ActivationKind kind, Span<float> x) => Apply(kind, x, x);

    /// <summary>
    /// grad[i] *= f'(x[i]), computed from the activation output y[i] = f(x[i]) — the backward
    /// step of an activation whose forward saved its output.
    /// </summary>
    public static void MultiplyByDerivativeFromOutput(ActivationKind kind, ReadOnlySpan<float> y, Span<float> grad)
    {
        CheckSameLength(nameof(MultiplyByDerivativeFromOutput), y.Length, grad.Length, nameof(y), nameof(grad));
        switch (kind)
        {
            case ActivationKind.Linear:
                return;
            case ActivationKind.Sigmoid:
                Scale<SigmoidOp>(y, grad);
                return;
            case ActivationKind.Tanh:
                Scale<TanhOp>(y, grad);
                return;
            case ActivationKind.HardSigmoid:
                Scale<HardSigmoidOp>(y, grad);
                return;
            case ActivationKind.Relu:
                Scale<ReluOp>(y, grad);
                return;
            case ActivationKind.Elu:
                Scale<EluOp>(y, grad);
                return;
            case ActivationKind.Softsign:
                Scale<SoftsignOp>(y, grad);
                return;
            case ActivationKind.Softplus:
                Scale<SoftplusOp>(y, grad);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "VecMath.MultiplyByDerivativeFromOutput: unknown activation kind.");
        }
    }

    /// <summary>Scalar twin of <see cref="Apply(ActivationKind, ReadOnlySpan{float}, Span{float})"/> (the tests' yardstick for the vector paths).</summary>
    public static void ApplyScalar(ActivationKind kind, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckSameLength(nameof(ApplyScalar), x.Length, y.Length, nameof(x), nameof(y));
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = Activate(kind, x[i]);
        }
    }

    /// <summary>Scalar twin of <see cref="MultiplyByDerivativeFromOutput"/>.</summary>
    public static void MultiplyByDerivativeFromOutputScalar(ActivationKind kind, ReadOnlySpan<float> y, Span<float> grad)
    {
        CheckSameLength(nameof(MultiplyByDerivativeFromOutputScalar), y.Length, grad.Length, nameof(y), nameof(grad));
        for (int i = 0; i < y.Length; i++)
        {
            grad[i] *= DerivativeFromOutput(kind, y[i]);
        }
    }

    internal static void CheckSameLength(string op, int a, int b, string nameA, string nameB)
    {
        if (a != b)
        {
            throw new ArgumentException($"VecMath.{op}: {nameB} has length {b}, expected {a} (the length of {nameA}).", nameB);
        }
    }

    private static void Map<TA>(ReadOnlySpan<float> x, Span<float> y)
        where TA : struct, IActivation
    {
        var op = new MapOp<TA> { X = ref MemoryMarshal.GetReference(x), Y = ref MemoryMarshal.GetReference(y) };
        LaneLoop.Run(ref op, x.Length);
    }

    private static void Scale<TA>(ReadOnlySpan<float> y, Span<float> grad)
        where TA : struct, IActivation
    {
        var op = new ScaleOp<TA> { Y = ref MemoryMarshal.GetReference(y), G = ref MemoryMarshal.GetReference(grad) };
        LaneLoop.Run(ref op, y.Length);
    }

    /// <summary>One activation as a type, so that each span loop is specialised for it.</summary>
    private interface IActivation
    {
        static abstract ActivationKind Kind { get; }
    }

    private readonly struct SigmoidOp : IActivation
    {
        public static ActivationKind Kind => ActivationKind.Sigmoid;
    }

    private readonly struct TanhOp : IActivation
    {
        public static ActivationKind Kind => ActivationKind.Tanh;
    }

    private readonly struct HardSigmoidOp : IActivation
    {
        public static ActivationKind Kind => ActivationKind.HardSigmoid;
    }

    private readonly struct ReluOp : IActivation
    {
        public static ActivationKind Kind => ActivationKind.Relu;
    }

    /// <summary>y = f(x).</summary>
    private ref struct MapOp<TA> : ILaneOp
        where TA : struct, IActivation
    {
        public ref float X;
        public ref float Y;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct => TL.Store(TL.Activate(TA.Kind, TL.Load(ref X, i)), ref Y, i);
    }

    /// <summary>grad *= f'(x), from y = f(x).</summary>
    private ref struct ScaleOp<TA> : ILaneOp
        where TA : struct, IActivation
    {
        public ref float Y;
        public ref float G;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct => TL.Store(TL.Mul(TL.Load(ref G, i), TL.DerivativeFromOutput(TA.Kind, TL.Load(ref Y, i))), ref G, i);
    }
}
