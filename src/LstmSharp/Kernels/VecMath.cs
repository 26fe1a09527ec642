using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

/// <summary>
/// Inlineable float32 math for fused kernels: exp, sigmoid, tanh, hard sigmoid, relu and the
/// activation derivatives expressed through the output, each for <see cref="Vector512{T}"/>,
/// <see cref="Vector256{T}"/> and scalar <see cref="float"/>.
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
internal static class VecMath
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
        float p = ExpReduced(x, n);
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
        float p = ExpReducedScaled(y, n);
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
        _ => 1f,
    };

    /// <summary>e^r for r = x − n·ln2 (Cody–Waite), |r| ≤ ln2/2: the Taylor polynomial in Horner form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ExpReduced(float x, float n)
    {
        float r = MathF.FusedMultiplyAdd(n, NegLn2Hi, x);
        r = MathF.FusedMultiplyAdd(n, NegLn2Lo, r);
        float p = MathF.FusedMultiplyAdd(E7, r, E6);
        p = MathF.FusedMultiplyAdd(p, r, E5);
        p = MathF.FusedMultiplyAdd(p, r, E4);
        p = MathF.FusedMultiplyAdd(p, r, E3);
        p = MathF.FusedMultiplyAdd(p, r, E2);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        return MathF.FusedMultiplyAdd(p, r, 1f);
    }

    /// <summary>2^-64·e^r, r = x − n·ln2: <see cref="ExpReduced(float, float)"/> with every coefficient times 2^-64 (the same bits times 2^-64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ExpReducedScaled(float x, float n)
    {
        float r = MathF.FusedMultiplyAdd(n, NegLn2Hi, x);
        r = MathF.FusedMultiplyAdd(n, NegLn2Lo, r);
        float p = MathF.FusedMultiplyAdd(S7, r, S6);
        p = MathF.FusedMultiplyAdd(p, r, S5);
        p = MathF.FusedMultiplyAdd(p, r, S4);
        p = MathF.FusedMultiplyAdd(p, r, S3);
        p = MathF.FusedMultiplyAdd(p, r, S2);
        p = MathF.FusedMultiplyAdd(p, r, S0);
        return MathF.FusedMultiplyAdd(p, r, S0);
    }

    // ---------------------------------------------------------------- Vector512

    /// <summary>e^x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var xc = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(ExpClampLo)), Vector512.Create(ExpClampHi));
        var t = Vector512.FusedMultiplyAdd(xc, Vector512.Create(Log2E), Vector512.Create(Shifter));
        var n = t - Vector512.Create(Shifter);
        var p = ExpReduced(xc, n);
        var ni = t.AsInt32() - Vector512.Create(ShifterBits);
        var n1 = Vector512.ShiftRightArithmetic(ni, 1);
        var n2 = ni - n1;
        var bias = Vector512.Create(127);
        var s1 = Vector512.ShiftLeft(n1 + bias, 23).AsSingle();
        var s2 = Vector512.ShiftLeft(n2 + bias, 23).AsSingle();
        var y = p * s1 * s2;

        // The clamp above maps NaN to a bound; put it back.
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), y, x);
    }

    /// <summary>σ(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x)
    {
        // -|x| by setting the sign bit; the clamp's second operand is returned for NaN, so NaN stays.
        var y = x | Vector512.Create(-0f);
        y = Vector512.MaxNative(Vector512.Create(ExpClampLo), y);
        var t = Vector512.FusedMultiplyAdd(y, Vector512.Create(Log2E), Vector512.Create(ShifterBiased));
        var n = t - Vector512.Create(ShifterBiased);
        var p = ExpReducedScaled(y, n);
        var e = p * Vector512.ShiftLeft(t.AsInt32(), 23).AsSingle();
        var s = Vector512<float>.One / (Vector512<float>.One + e);
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), e * s, s);
    }

    /// <summary>tanh(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        var c = Vector512.MinNative(Vector512.Create(TanhClamp), x);
        c = Vector512.MaxNative(Vector512.Create(-TanhClamp), c);
        var z = c * c;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(TA13), z, Vector512.Create(TA11));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(TA9));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(TA7));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(TA5));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(TA3));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(TA1));
        var q = Vector512.FusedMultiplyAdd(Vector512.Create(TB6), z, Vector512.Create(TB4));
        q = Vector512.FusedMultiplyAdd(q, z, Vector512.Create(TB2));
        q = Vector512.FusedMultiplyAdd(q, z, Vector512.Create(TB0));
        var t = (c * p) / q;
        t = Vector512.MinNative(Vector512<float>.One, t);
        t = Vector512.MaxNative(-Vector512<float>.One, t);
        return Vector512.ConditionalSelect(Vector512.LessThan(z, Vector512.Create(TanhTinySquared)), x, t);
    }

    /// <summary>clip(x/6 + 1/2, 0, 1) per lane; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> HardSigmoid(Vector512<float> x)
    {
        var h = (x + Vector512.Create(3f)) * Vector512.Create(OneSixth);
        h = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(h, Vector512<float>.Zero), Vector512<float>.Zero, h);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(h, Vector512<float>.One), Vector512<float>.One, h);
    }

    /// <summary>max(x, 0) per lane; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Relu(Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), Vector512<float>.Zero, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Activate(ActivationKind kind, Vector512<float> x) => kind switch
    {
        ActivationKind.Sigmoid => Sigmoid(x),
        ActivationKind.Tanh => Tanh(x),
        ActivationKind.HardSigmoid => HardSigmoid(x),
        ActivationKind.Relu => Relu(x),
        _ => x,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SigmoidDerivativeFromOutput(Vector512<float> y) => y * (Vector512<float>.One - y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> TanhDerivativeFromOutput(Vector512<float> y) => Vector512.FusedMultiplyAdd(-y, y, Vector512<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> HardSigmoidDerivativeFromOutput(Vector512<float> y) =>
        Vector512.Create(OneSixth) & Vector512.GreaterThan(y, Vector512<float>.Zero) & Vector512.LessThan(y, Vector512<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ReluDerivativeFromOutput(Vector512<float> y) =>
        Vector512<float>.One & Vector512.GreaterThan(y, Vector512<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> DerivativeFromOutput(ActivationKind kind, Vector512<float> y) => kind switch
    {
        ActivationKind.Sigmoid => SigmoidDerivativeFromOutput(y),
        ActivationKind.Tanh => TanhDerivativeFromOutput(y),
        ActivationKind.HardSigmoid => HardSigmoidDerivativeFromOutput(y),
        ActivationKind.Relu => ReluDerivativeFromOutput(y),
        _ => Vector512<float>.One,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpReduced(Vector512<float> x, Vector512<float> n)
    {
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(NegLn2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(NegLn2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(E7), r, Vector512.Create(E6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        return Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpReducedScaled(Vector512<float> x, Vector512<float> n)
    {
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(NegLn2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(NegLn2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(S7), r, Vector512.Create(S6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(S5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(S4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(S3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(S2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(S0));
        return Vector512.FusedMultiplyAdd(p, r, Vector512.Create(S0));
    }

    // ---------------------------------------------------------------- Vector256

    /// <summary>e^x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var xc = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(ExpClampLo)), Vector256.Create(ExpClampHi));
        var t = Vector256.FusedMultiplyAdd(xc, Vector256.Create(Log2E), Vector256.Create(Shifter));
        var n = t - Vector256.Create(Shifter);
        var p = ExpReduced(xc, n);
        var ni = t.AsInt32() - Vector256.Create(ShifterBits);
        var n1 = Vector256.ShiftRightArithmetic(ni, 1);
        var n2 = ni - n1;
        var bias = Vector256.Create(127);
        var s1 = Vector256.ShiftLeft(n1 + bias, 23).AsSingle();
        var s2 = Vector256.ShiftLeft(n2 + bias, 23).AsSingle();
        var y = p * s1 * s2;

        // The clamp above maps NaN to a bound; put it back.
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), y, x);
    }

    /// <summary>σ(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x)
    {
        // -|x| by setting the sign bit; the clamp's second operand is returned for NaN, so NaN stays.
        var y = x | Vector256.Create(-0f);
        y = Vector256.MaxNative(Vector256.Create(ExpClampLo), y);
        var t = Vector256.FusedMultiplyAdd(y, Vector256.Create(Log2E), Vector256.Create(ShifterBiased));
        var n = t - Vector256.Create(ShifterBiased);
        var p = ExpReducedScaled(y, n);
        var e = p * Vector256.ShiftLeft(t.AsInt32(), 23).AsSingle();
        var s = Vector256<float>.One / (Vector256<float>.One + e);
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), e * s, s);
    }

    /// <summary>tanh(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        var c = Vector256.MinNative(Vector256.Create(TanhClamp), x);
        c = Vector256.MaxNative(Vector256.Create(-TanhClamp), c);
        var z = c * c;
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(TA13), z, Vector256.Create(TA11));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(TA9));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(TA7));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(TA5));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(TA3));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(TA1));
        var q = Vector256.FusedMultiplyAdd(Vector256.Create(TB6), z, Vector256.Create(TB4));
        q = Vector256.FusedMultiplyAdd(q, z, Vector256.Create(TB2));
        q = Vector256.FusedMultiplyAdd(q, z, Vector256.Create(TB0));
        var t = (c * p) / q;
        t = Vector256.MinNative(Vector256<float>.One, t);
        t = Vector256.MaxNative(-Vector256<float>.One, t);
        return Vector256.ConditionalSelect(Vector256.LessThan(z, Vector256.Create(TanhTinySquared)), x, t);
    }

    /// <summary>clip(x/6 + 1/2, 0, 1) per lane; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HardSigmoid(Vector256<float> x)
    {
        var h = (x + Vector256.Create(3f)) * Vector256.Create(OneSixth);
        h = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(h, Vector256<float>.Zero), Vector256<float>.Zero, h);
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(h, Vector256<float>.One), Vector256<float>.One, h);
    }

    /// <summary>max(x, 0) per lane; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Relu(Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), Vector256<float>.Zero, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Activate(ActivationKind kind, Vector256<float> x) => kind switch
    {
        ActivationKind.Sigmoid => Sigmoid(x),
        ActivationKind.Tanh => Tanh(x),
        ActivationKind.HardSigmoid => HardSigmoid(x),
        ActivationKind.Relu => Relu(x),
        _ => x,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SigmoidDerivativeFromOutput(Vector256<float> y) => y * (Vector256<float>.One - y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> TanhDerivativeFromOutput(Vector256<float> y) => Vector256.FusedMultiplyAdd(-y, y, Vector256<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HardSigmoidDerivativeFromOutput(Vector256<float> y) =>
        Vector256.Create(OneSixth) & Vector256.GreaterThan(y, Vector256<float>.Zero) & Vector256.LessThan(y, Vector256<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ReluDerivativeFromOutput(Vector256<float> y) =>
        Vector256<float>.One & Vector256.GreaterThan(y, Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> DerivativeFromOutput(ActivationKind kind, Vector256<float> y) => kind switch
    {
        ActivationKind.Sigmoid => SigmoidDerivativeFromOutput(y),
        ActivationKind.Tanh => TanhDerivativeFromOutput(y),
        ActivationKind.HardSigmoid => HardSigmoidDerivativeFromOutput(y),
        ActivationKind.Relu => ReluDerivativeFromOutput(y),
        _ => Vector256<float>.One,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpReduced(Vector256<float> x, Vector256<float> n)
    {
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(NegLn2Hi), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(NegLn2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(E7), r, Vector256.Create(E6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        return Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpReducedScaled(Vector256<float> x, Vector256<float> n)
    {
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(NegLn2Hi), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(NegLn2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(S7), r, Vector256.Create(S6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(S5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(S4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(S3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(S2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(S0));
        return Vector256.FusedMultiplyAdd(p, r, Vector256.Create(S0));
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

    private static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y)
        where TOp : struct, IActivationOp
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)x.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                TOp.F(Vector512.LoadUnsafe(ref xr, i)).StoreUnsafe(ref yr, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
            {
                TOp.F(Vector256.LoadUnsafe(ref xr, i)).StoreUnsafe(ref yr, i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref yr, i) = TOp.F(Unsafe.Add(ref xr, i));
        }
    }

    private static void Scale<TOp>(ReadOnlySpan<float> y, Span<float> grad)
        where TOp : struct, IActivationOp
    {
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float gr = ref MemoryMarshal.GetReference(grad);
        nuint n = (nuint)y.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                (Vector512.LoadUnsafe(ref gr, i) * TOp.D(Vector512.LoadUnsafe(ref yr, i))).StoreUnsafe(ref gr, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
            {
                (Vector256.LoadUnsafe(ref gr, i) * TOp.D(Vector256.LoadUnsafe(ref yr, i))).StoreUnsafe(ref gr, i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref gr, i) *= TOp.D(Unsafe.Add(ref yr, i));
        }
    }

    /// <summary>An activation at every width, so one driver loop serves them all.</summary>
    private interface IActivationOp
    {
        static abstract float F(float x);

        static abstract Vector256<float> F(Vector256<float> x);

        static abstract Vector512<float> F(Vector512<float> x);

        static abstract float D(float y);

        static abstract Vector256<float> D(Vector256<float> y);

        static abstract Vector512<float> D(Vector512<float> y);
    }

    private readonly struct SigmoidOp : IActivationOp
    {
        public static float F(float x) => Sigmoid(x);

        public static Vector256<float> F(Vector256<float> x) => Sigmoid(x);

        public static Vector512<float> F(Vector512<float> x) => Sigmoid(x);

        public static float D(float y) => SigmoidDerivativeFromOutput(y);

        public static Vector256<float> D(Vector256<float> y) => SigmoidDerivativeFromOutput(y);

        public static Vector512<float> D(Vector512<float> y) => SigmoidDerivativeFromOutput(y);
    }

    private readonly struct TanhOp : IActivationOp
    {
        public static float F(float x) => Tanh(x);

        public static Vector256<float> F(Vector256<float> x) => Tanh(x);

        public static Vector512<float> F(Vector512<float> x) => Tanh(x);

        public static float D(float y) => TanhDerivativeFromOutput(y);

        public static Vector256<float> D(Vector256<float> y) => TanhDerivativeFromOutput(y);

        public static Vector512<float> D(Vector512<float> y) => TanhDerivativeFromOutput(y);
    }

    private readonly struct HardSigmoidOp : IActivationOp
    {
        public static float F(float x) => HardSigmoid(x);

        public static Vector256<float> F(Vector256<float> x) => HardSigmoid(x);

        public static Vector512<float> F(Vector512<float> x) => HardSigmoid(x);

        public static float D(float y) => HardSigmoidDerivativeFromOutput(y);

        public static Vector256<float> D(Vector256<float> y) => HardSigmoidDerivativeFromOutput(y);

        public static Vector512<float> D(Vector512<float> y) => HardSigmoidDerivativeFromOutput(y);
    }

    private readonly struct ReluOp : IActivationOp
    {
        public static float F(float x) => Relu(x);

        public static Vector256<float> F(Vector256<float> x) => Relu(x);

        public static Vector512<float> F(Vector512<float> x) => Relu(x);

        public static float D(float y) => ReluDerivativeFromOutput(y);

        public static Vector256<float> D(Vector256<float> y) => ReluDerivativeFromOutput(y);

        public static Vector512<float> D(Vector512<float> y) => ReluDerivativeFromOutput(y);
    }
}
