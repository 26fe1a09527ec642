using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
namespace LstmSharp.Kernels;

/// <summary>
/// One SIMD width, as static members, so that a fused kernel is written once (generic over the
/// width) and the JIT emits a Vector512, a Vector256 and a scalar copy (<see cref="Lanes512"/>,
/// <see cref="Lanes256"/>, <see cref="Lanes1"/>). The scalar instantiation is the kernels'
/// scalar twin and also runs their tails; <see cref="LaneWidth"/> picks the width.
/// </summary>
/// <remarks>
/// FMA policy: <see cref="Fma"/> is fused at every width (hardware FMA in the vectors,
/// <see cref="MathF.FusedMultiplyAdd"/> in the scalar), and <see cref="Mul"/> then
/// <see cref="Add"/> is never contracted (RyuJIT does not fuse them), so every width of a
/// kernel gives the same bits and a test can hold the vectors to the scalar twin exactly. A
/// kernel uses <see cref="Fma"/> where one rounding is wanted and Mul + Add where it must match
/// a reference written that way (the LSTM row kernels, through <c>IRowSimd</c>, use no FMA).
/// </remarks>
internal interface ILanes<TSelf>
    where TSelf : struct, ILanes<TSelf>
{
    static abstract int Count { get; }

    static abstract TSelf Load(ref float p);

    static abstract void Store(TSelf v, ref float p);

    static abstract TSelf Broadcast(float x);

    static abstract TSelf Add(TSelf a, TSelf b);

    static abstract TSelf Sub(TSelf a, TSelf b);

    static abstract TSelf Mul(TSelf a, TSelf b);

    /// <summary>a·b + c.</summary>
    static abstract TSelf Fma(TSelf a, TSelf b, TSelf c);

    static abstract TSelf Activate(ActivationKind kind, TSelf x);

    /// <summary>d act / dx, from the activation's output y.</summary>
    static abstract TSelf DerivativeFromOutput(ActivationKind kind, TSelf y);
}

internal readonly struct Lanes512 : ILanes<Lanes512>
{
    private readonly Vector512<float> v;

    private Lanes512(Vector512<float> v) => this.v = v;

    public static int Count => Vector512<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Load(ref float p) => new(Vector512.LoadUnsafe(ref p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes512 x, ref float p) => x.v.StoreUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Broadcast(float x) => new(Vector512.Create(x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Add(Lanes512 a, Lanes512 b) => new(a.v + b.v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Sub(Lanes512 a, Lanes512 b) => new(a.v - b.v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Mul(Lanes512 a, Lanes512 b) => new(a.v * b.v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Fma(Lanes512 a, Lanes512 b, Lanes512 c) => new(Vector512.FusedMultiplyAdd(a.v, b.v, c.v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Activate(ActivationKind kind, Lanes512 x) => new(VecMath.Activate(kind, x.v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 DerivativeFromOutput(ActivationKind kind, Lanes512 y) => new(VecMath.DerivativeFromOutput(kind, y.v));
}

internal readonly struct Lanes256 : ILanes<Lanes256>
{
    private readonly Vector256<float> v;

    private Lanes256(Vector256<float> v) => this.v = v;

    public static int Count => Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Load(ref float p) => new(Vector256.LoadUnsafe(ref p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes256 x, ref float p) => x.v.StoreUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Broadcast(float x) => new(Vector256.Create(x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Add(Lanes256 a, Lanes256 b) => new(a.v + b.v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Sub(Lanes256 a, Lanes256 b) => new(a.v - b.v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Mul(Lanes256 a, Lanes256 b) => new(a.v * b.v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Fma(Lanes256 a, Lanes256 b, Lanes256 c) => new(Vector256.FusedMultiplyAdd(a.v, b.v, c.v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Activate(ActivationKind kind, Lanes256 x) => new(VecMath.Activate(kind, x.v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 DerivativeFromOutput(ActivationKind kind, Lanes256 y) => new(VecMath.DerivativeFromOutput(kind, y.v));
}

/// <summary>The scalar width: the fused kernels' scalar twin and tail.</summary>
internal readonly struct Lanes1 : ILanes<Lanes1>
{
    private readonly float v;

    private Lanes1(float v) => this.v = v;

    public static int Count => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Load(ref float p) => new(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes1 x, ref float p) => p = x.v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Broadcast(float x) => new(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Add(Lanes1 a, Lanes1 b) => new(a.v + b.v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Sub(Lanes1 a, Lanes1 b) => new(a.v - b.v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Mul(Lanes1 a, Lanes1 b) => new(a.v * b.v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Fma(Lanes1 a, Lanes1 b, Lanes1 c) => new(MathF.FusedMultiplyAdd(a.v, b.v, c.v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Activate(ActivationKind kind, Lanes1 x) => new(VecMath.Activate(kind, x.v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 DerivativeFromOutput(ActivationKind kind, Lanes1 y) => new(VecMath.DerivativeFromOutput(kind, y.v));
}
