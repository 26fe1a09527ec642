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
/// (truncation error &lt; 1e-8 relative on that interval) in Horner form; then scaled by 2^n as
/// 2^(n/2)·2^(n - n/2) so that results in the subnormal range (x down to about -103.3) and up to
/// FLT_MAX (x up to about 88.72) come out right. x is clamped to [-104, 89] first: below that
/// range the result rounds to 0, above it is +∞. NaN in gives NaN out.
/// </para>
/// <para>
/// <b>sigmoid(x)</b> = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x &lt; 0, with e = exp(-|x|) ≤ 1, so
/// nothing overflows for any x and small outputs (x ≪ 0) keep their relative accuracy.
/// </para>
/// <para>
/// <b>tanh(x)</b> = sign(x)·(1 - e)/(1 + e) with e = exp(-2|x|) for |x| ≥ 0.4, which saturates to
/// exactly ±1 once e is below half an ulp of 1 and never overflows; for |x| &lt; 0.4, where that
/// form would cancel, its odd Taylor series to x^13 (truncation &lt; 1e-8 relative), which is
/// exact near 0 (tanh(1e-8) = 1e-8).
/// </para>
/// <para>
/// Measured against double precision on a grid of 8e6 points over [-100, 100]: largest relative
/// error 1.9e-7 (sigmoid), 1.6e-7 (tanh), 7.7e-8 (exp), i.e. about 2 ulp; the tests hold it to 1e-6.
/// </para>
/// </remarks>
public static class VecMath
{
    private const float ExpClampLo = -104f;
    private const float ExpClampHi = 89f;
    private const float Log2E = 1.44269504088896341f;

    // ln2 split so that n·Ln2Hi is exact for |n| < 2^8 and Ln2Hi + Ln2Lo = ln2 to ~1e-14.
    private const float Ln2Hi = 0.693145751953125f;
    private const float Ln2Lo = 1.42860682030941723e-6f;

    // 1/k! for the Taylor polynomial of e^r.
    private const float E2 = 0.5f;
    private const float E3 = 1.66666666666666667e-1f;
    private const float E4 = 4.16666666666666667e-2f;
    private const float E5 = 8.33333333333333333e-3f;
    private const float E6 = 1.38888888888888889e-3f;
    private const float E7 = 1.98412698412698413e-4f;

    // tanh(x) = x + x³·P(x²) for |x| < TanhSmall: the Taylor coefficients of tanh.
    private const float TanhSmall = 0.4f;
    private const float T3 = -3.33333333333333333e-1f;
    private const float T5 = 1.33333333333333333e-1f;
    private const float T7 = -5.39682539682539683e-2f;
    private const float T9 = 2.18694885361552028e-2f;
    private const float T11 = -8.86323552990219657e-3f;
    private const float T13 = 3.59212803657248102e-3f;

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
        float n = MathF.Round(x * Log2E);
        float r = MathF.FusedMultiplyAdd(-n, Ln2Hi, x);
        r = MathF.FusedMultiplyAdd(-n, Ln2Lo, r);
        float p = MathF.FusedMultiplyAdd(E7, r, E6);
        p = MathF.FusedMultiplyAdd(p, r, E5);
        p = MathF.FusedMultiplyAdd(p, r, E4);
        p = MathF.FusedMultiplyAdd(p, r, E3);
        p = MathF.FusedMultiplyAdd(p, r, E2);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        int ni = (int)n;
        int n1 = ni >> 1;
        int n2 = ni - n1;
        return p * BitConverter.Int32BitsToSingle((n1 + 127) << 23) * BitConverter.Int32BitsToSingle((n2 + 127) << 23);
    }

    /// <summary>σ(x) = 1/(1 + e^-x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x)
    {
        float e = Exp(-MathF.Abs(x));
        float s = 1f / (1f + e);
        return x >= 0f ? s : (float.IsNaN(x) ? x : e * s);
    }

    /// <summary>tanh(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x)
    {
        float a = MathF.Abs(x);
        float t;
        if (a < TanhSmall)
        {
            t = TanhPoly(a);
        }
        else
        {
            float e = Exp(-2f * a);
            t = (1f - e) / (1f + e);
        }

        return MathF.CopySign(t, x);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float TanhPoly(float a)
    {
        float z = a * a;
        float p = MathF.FusedMultiplyAdd(T13, z, T11);
        p = MathF.FusedMultiplyAdd(p, z, T9);
        p = MathF.FusedMultiplyAdd(p, z, T7);
        p = MathF.FusedMultiplyAdd(p, z, T5);
        p = MathF.FusedMultiplyAdd(p, z, T3);
        return MathF.FusedMultiplyAdd(p * z, a, a);
    }

    // ---------------------------------------------------------------- Vector512

    /// <summary>e^x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var xc = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(ExpClampLo)), Vector512.Create(ExpClampHi));
        var n = Vector512.Round(xc * Vector512.Create(Log2E));
        var r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Hi), xc);
        r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(E7), r, Vector512.Create(E6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var ni = Vector512.ConvertToInt32(n);
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
        var e = Exp(-Vector512.Abs(x));
        var s = Vector512<float>.One / (Vector512<float>.One + e);
        var neg = Vector512.LessThan(x, Vector512<float>.Zero);
        return Vector512.ConditionalSelect(neg, e * s, s);
    }

    /// <summary>tanh(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        var a = Vector512.Abs(x);
        var e = Exp(a * Vector512.Create(-2f));
        var big = (Vector512<float>.One - e) / (Vector512<float>.One + e);
        var z = a * a;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(T13), z, Vector512.Create(T11));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(T9));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(T7));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(T5));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(T3));
        var small = Vector512.FusedMultiplyAdd(p * z, a, a);
        var t = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(TanhSmall)), small, big);
        return Vector512.CopySign(t, x);
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

    // ---------------------------------------------------------------- Vector256

    /// <summary>e^x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var xc = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(ExpClampLo)), Vector256.Create(ExpClampHi));
        var n = Vector256.Round(xc * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Hi), xc);
        r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(E7), r, Vector256.Create(E6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        var ni = Vector256.ConvertToInt32(n);
        var n1 = Vector256.ShiftRightArithmetic(ni, 1);
        var n2 = ni - n1;
        var bias = Vector256.Create(127);
        var s1 = Vector256.ShiftLeft(n1 + bias, 23).AsSingle();
        var s2 = Vector256.ShiftLeft(n2 + bias, 23).AsSingle();
        var y = p * s1 * s2;
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), y, x);
    }

    /// <summary>σ(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x)
    {
        var e = Exp(-Vector256.Abs(x));
        var s = Vector256<float>.One / (Vector256<float>.One + e);
        var neg = Vector256.LessThan(x, Vector256<float>.Zero);
        return Vector256.ConditionalSelect(neg, e * s, s);
    }

    /// <summary>tanh(x) per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        var a = Vector256.Abs(x);
        var e = Exp(a * Vector256.Create(-2f));
        var big = (Vector256<float>.One - e) / (Vector256<float>.One + e);
        var z = a * a;
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(T13), z, Vector256.Create(T11));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(T9));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(T7));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(T5));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(T3));
        var small = Vector256.FusedMultiplyAdd(p * z, a, a);
        var t = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(TanhSmall)), small, big);
        return Vector256.CopySign(t, x);
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
