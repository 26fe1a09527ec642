using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// One vector width for the fused per-row cell kernels, so that a kernel is written once as a
/// generic method and the JIT specialises it for <see cref="Vector512{T}"/> and
/// <see cref="Vector256{T}"/> (struct type arguments: every call inlines).
/// </summary>
/// <remarks>
/// The kernels use separate multiplies and adds (no contraction to FMA) and
/// <see cref="VecMath"/>'s activations, which give the same bits at every width, so a fused
/// kernel equals its scalar twin exactly.
/// </remarks>
internal interface IRowSimd<TV>
    where TV : struct
{
    static abstract bool IsSupported { get; }

    static abstract int Count { get; }

    static abstract TV One { get; }

    static abstract TV Load(ref float p, int i);

    static abstract void Store(TV v, ref float p, int i);

    static abstract TV Add(TV a, TV b);

    static abstract TV Sub(TV a, TV b);

    static abstract TV Mul(TV a, TV b);

    static abstract TV Activate(ActivationKind kind, TV x);

    static abstract TV DerivativeFromOutput(ActivationKind kind, TV y);

    static abstract TV Sigmoid(TV x);

    static abstract TV Tanh(TV x);

    static abstract TV SigmoidDerivativeFromOutput(TV y);

    static abstract TV TanhDerivativeFromOutput(TV y);
}

internal readonly struct RowSimd512 : IRowSimd<Vector512<float>>
{
    public static bool IsSupported => Vector512.IsHardwareAccelerated;

    public static int Count => Vector512<float>.Count;

    public static Vector512<float> One => Vector512<float>.One;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float p, int i) => Vector512.LoadUnsafe(ref p, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> v, ref float p, int i) => v.StoreUnsafe(ref p, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Activate(ActivationKind kind, Vector512<float> x) => VecMath.Activate(kind, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> DerivativeFromOutput(ActivationKind kind, Vector512<float> y) => VecMath.DerivativeFromOutput(kind, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) => VecMath.Sigmoid(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x) => VecMath.Tanh(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SigmoidDerivativeFromOutput(Vector512<float> y) => VecMath.SigmoidDerivativeFromOutput(y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> TanhDerivativeFromOutput(Vector512<float> y) => VecMath.TanhDerivativeFromOutput(y);
}

internal readonly struct RowSimd256 : IRowSimd<Vector256<float>>
{
    public static bool IsSupported => Vector256.IsHardwareAccelerated;

    public static int Count => Vector256<float>.Count;

    public static Vector256<float> One => Vector256<float>.One;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float p, int i) => Vector256.LoadUnsafe(ref p, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> v, ref float p, int i) => v.StoreUnsafe(ref p, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Activate(ActivationKind kind, Vector256<float> x) => VecMath.Activate(kind, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> DerivativeFromOutput(ActivationKind kind, Vector256<float> y) => VecMath.DerivativeFromOutput(kind, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => VecMath.Sigmoid(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x) => VecMath.Tanh(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SigmoidDerivativeFromOutput(Vector256<float> y) => VecMath.SigmoidDerivativeFromOutput(y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> TanhDerivativeFromOutput(Vector256<float> y) => VecMath.TanhDerivativeFromOutput(y);
}
