using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
namespace LstmSharp.Kernels;

/// <summary>
/// One SIMD width, as static members, so that a kernel is written once (generic over the width)
/// and the JIT emits a Vector512, a Vector256 and a scalar copy (<see cref="Lanes512"/>,
/// <see cref="Lanes256"/>, <see cref="Lanes1"/>; struct type arguments, so every call inlines).
/// The operations work on the hardware type itself (<typeparamref name="TV"/>: Vector512&lt;float&gt;,
/// Vector256&lt;float&gt;, float), not on a wrapper, so each costs the JIT one inlining of an
/// intrinsic: a row kernel that calls a dozen activations stays inside its inlining budget.
/// The pattern is TensorPrimitives': an operator struct per computation (<see cref="ILaneOp"/>,
/// or a generic row method) and one driver per width (<see cref="LaneLoop"/>); the fused cell
/// rows, <see cref="VecMath"/>'s activations and the optimizers' updates all use it.
/// </summary>
/// <remarks>
/// <para>FMA policy: <see cref="Fma"/> is fused at every width (hardware FMA in the vectors,
/// <see cref="MathF.FusedMultiplyAdd"/> in the scalar), and <see cref="Mul"/> then <see cref="Add"/> is never
/// contracted (RyuJIT does not fuse them), so every width of a kernel gives the same bits and a
/// test holds the vectors to the scalar twin exactly. A kernel uses <see cref="Fma"/> where one
/// rounding is wanted (the GRU/SimpleRNN rows, <see cref="VecMath"/>) and Mul + Add where it
/// must match a reference written that way (the LSTM rows, the optimizers).</para>
/// <para>The bit operations (<see cref="And"/>, <see cref="Or"/>, the masks of the comparisons, the int32
/// lane arithmetic) serve <see cref="VecMath"/>'s exp; the comparisons return all-ones lanes
/// where true, as the hardware does.</para>
/// </remarks>
internal interface ILanes<TV>
    where TV : struct
{
    /// <summary>Whether this width runs in hardware on this machine (the scalar width always does).</summary>
    static abstract bool IsAccelerated { get; }

    static abstract int Count { get; }

    static abstract TV Zero { get; }

    static abstract TV One { get; }

    static abstract TV Load(ref float p);

    static abstract TV Load(ref float p, int i);

    static abstract void Store(TV v, ref float p);

    static abstract void Store(TV v, ref float p, int i);

    static abstract TV Broadcast(float x);

    /// <summary>Every lane holds the bits of the int32 <paramref name="bits"/>.</summary>
    static abstract TV BroadcastBits(int bits);

    static abstract TV Add(TV a, TV b);

    static abstract TV Sub(TV a, TV b);

    static abstract TV Neg(TV a);

    static abstract TV Mul(TV a, TV b);

    static abstract TV Div(TV a, TV b);

    static abstract TV And(TV a, TV b);

    static abstract TV Or(TV a, TV b);

    /// <summary>a·b + c, one rounding.</summary>
    static abstract TV Fma(TV a, TV b, TV c);

    static abstract TV Sqrt(TV a);

    /// <summary>The sum of the lanes.</summary>
    static abstract float Sum(TV a);

    /// <summary>IEEE maximum (<see cref="MathF.Max"/>: NaN wins).</summary>
    static abstract TV Max(TV a, TV b);

    /// <summary>a &lt; b ? a : b (the x86 minimum: b when either is NaN).</summary>
    static abstract TV MinNative(TV a, TV b);

    /// <summary>a &gt; b ? a : b (the x86 maximum: b when either is NaN).</summary>
    static abstract TV MaxNative(TV a, TV b);

    static abstract TV LessThan(TV a, TV b);

    static abstract TV LessThanOrEqual(TV a, TV b);

    static abstract TV GreaterThan(TV a, TV b);

    static abstract TV GreaterThanOrEqual(TV a, TV b);

    /// <summary>All-ones where the lane is a number (not NaN).</summary>
    static abstract TV IsNumber(TV a);

    /// <summary>mask ? a : b per lane (the mask from a comparison).</summary>
    static abstract TV Select(TV mask, TV a, TV b);

    /// <summary>One bit per lane, lane 0 lowest: set where the lane of <paramref name="mask"/> (from a comparison) is set.</summary>
    static abstract ulong MaskBits(TV mask);

    /// <summary>The lanes as int32: a + b.</summary>
    static abstract TV AddInt(TV a, TV b);

    /// <summary>The lanes as int32: a − b.</summary>
    static abstract TV SubInt(TV a, TV b);

    /// <summary>The lanes as int32: a &lt;&lt; count.</summary>
    static abstract TV ShiftLeftInt(TV a, int count);

    /// <summary>The lanes as int32: a &gt;&gt; count, sign-extending.</summary>
    static abstract TV ShiftRightArithmeticInt(TV a, int count);

    /// <summary>The activation <paramref name="kind"/> (<see cref="VecMath"/>; the scalar width runs its scalar twin).</summary>
    static abstract TV Activate(ActivationKind kind, TV x);

    /// <summary>d act / dx, from the activation's output y.</summary>
    static abstract TV DerivativeFromOutput(ActivationKind kind, TV y);

    static abstract TV Sigmoid(TV x);

    static abstract TV Tanh(TV x);

    /// <summary>σ'(x) = y(1 − y) from y = σ(x).</summary>
    static abstract TV SigmoidDerivativeFromOutput(TV y);

    /// <summary>tanh'(x) = 1 − y² from y = tanh(x).</summary>
    static abstract TV TanhDerivativeFromOutput(TV y);
}

internal readonly struct Lanes512 : ILanes<Vector512<float>>
{
    public static bool IsAccelerated => Vector512.IsHardwareAccelerated;

    public static int Count => Vector512<float>.Count;

    public static Vector512<float> Zero => Vector512<float>.Zero;

    public static Vector512<float> One => Vector512<float>.One;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float p) => Vector512.LoadUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float p, int i) => Vector512.LoadUnsafe(ref p, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> v, ref float p) => v.StoreUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> v, ref float p, int i) => v.StoreUnsafe(ref p, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float x) => Vector512.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> BroadcastBits(int bits) => Vector512.Create(bits).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Neg(Vector512<float> a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Or(Vector512<float> a, Vector512<float> b) => a | b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sqrt(Vector512<float> a) => Vector512.Sqrt(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> a) => Vector512.Sum(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MinNative(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MaxNative(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LessThanOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.LessThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> GreaterThan(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> GreaterThanOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> IsNumber(Vector512<float> a) => Vector512.Equals(a, a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Select(Vector512<float> mask, Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(mask, a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MaskBits(Vector512<float> mask) => mask.ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> AddInt(Vector512<float> a, Vector512<float> b) => (a.AsInt32() + b.AsInt32()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SubInt(Vector512<float> a, Vector512<float> b) => (a.AsInt32() - b.AsInt32()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ShiftLeftInt(Vector512<float> a, int count) => Vector512.ShiftLeft(a.AsInt32(), count).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ShiftRightArithmeticInt(Vector512<float> a, int count) => Vector512.ShiftRightArithmetic(a.AsInt32(), count).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Activate(ActivationKind kind, Vector512<float> x) => VecMath.Activate<Lanes512, Vector512<float>>(kind, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> DerivativeFromOutput(ActivationKind kind, Vector512<float> y) => VecMath.DerivativeFromOutput<Lanes512, Vector512<float>>(kind, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) => VecMath.Sigmoid<Lanes512, Vector512<float>>(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x) => VecMath.Tanh<Lanes512, Vector512<float>>(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SigmoidDerivativeFromOutput(Vector512<float> y) => y * (Vector512<float>.One - y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> TanhDerivativeFromOutput(Vector512<float> y) => Vector512.FusedMultiplyAdd(-y, y, Vector512<float>.One);
}

internal readonly struct Lanes256 : ILanes<Vector256<float>>
{
    public static bool IsAccelerated => Vector256.IsHardwareAccelerated;

    public static int Count => Vector256<float>.Count;

    public static Vector256<float> Zero => Vector256<float>.Zero;

    public static Vector256<float> One => Vector256<float>.One;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float p) => Vector256.LoadUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float p, int i) => Vector256.LoadUnsafe(ref p, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> v, ref float p) => v.StoreUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> v, ref float p, int i) => v.StoreUnsafe(ref p, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float x) => Vector256.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> BroadcastBits(int bits) => Vector256.Create(bits).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Neg(Vector256<float> a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Or(Vector256<float> a, Vector256<float> b) => a | b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sqrt(Vector256<float> a) => Vector256.Sqrt(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> a) => Vector256.Sum(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MinNative(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MaxNative(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LessThanOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.LessThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GreaterThan(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> GreaterThanOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> IsNumber(Vector256<float> a) => Vector256.Equals(a, a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Select(Vector256<float> mask, Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(mask, a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MaskBits(Vector256<float> mask) => mask.ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> AddInt(Vector256<float> a, Vector256<float> b) => (a.AsInt32() + b.AsInt32()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SubInt(Vector256<float> a, Vector256<float> b) => (a.AsInt32() - b.AsInt32()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ShiftLeftInt(Vector256<float> a, int count) => Vector256.ShiftLeft(a.AsInt32(), count).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ShiftRightArithmeticInt(Vector256<float> a, int count) => Vector256.ShiftRightArithmetic(a.AsInt32(), count).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Activate(ActivationKind kind, Vector256<float> x) => VecMath.Activate<Lanes256, Vector256<float>>(kind, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> DerivativeFromOutput(ActivationKind kind, Vector256<float> y) => VecMath.DerivativeFromOutput<Lanes256, Vector256<float>>(kind, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => VecMath.Sigmoid<Lanes256, Vector256<float>>(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x) => VecMath.Tanh<Lanes256, Vector256<float>>(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SigmoidDerivativeFromOutput(Vector256<float> y) => y * (Vector256<float>.One - y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> TanhDerivativeFromOutput(Vector256<float> y) => Vector256.FusedMultiplyAdd(-y, y, Vector256<float>.One);
}

/// <summary>The scalar width: the kernels' scalar twin and tail; its activations are <see cref="VecMath"/>'s scalar twins.</summary>
internal readonly struct Lanes1 : ILanes<float>
{
    public static bool IsAccelerated => true;

    public static int Count => 1;

    public static float Zero => 0f;

    public static float One => 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref float p) => p;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref float p, int i) => Unsafe.Add(ref p, i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float v, ref float p) => p = v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float v, ref float p, int i) => Unsafe.Add(ref p, i) = v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Broadcast(float x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BroadcastBits(int bits) => BitConverter.Int32BitsToSingle(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float a, float b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sub(float a, float b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Neg(float a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Mul(float a, float b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Div(float a, float b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float And(float a, float b) => FromBits(Bits(a) & Bits(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Or(float a, float b) => FromBits(Bits(a) | Bits(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sqrt(float a) => MathF.Sqrt(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(float a) => a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(float a, float b) => MathF.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MinNative(float a, float b) => a < b ? a : b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxNative(float a, float b) => a > b ? a : b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LessThan(float a, float b) => Mask(a < b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LessThanOrEqual(float a, float b) => Mask(a <= b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GreaterThan(float a, float b) => Mask(a > b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float GreaterThanOrEqual(float a, float b) => Mask(a >= b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float IsNumber(float a) => Mask(!float.IsNaN(a));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Select(float mask, float a, float b) => Bits(mask) != 0 ? a : b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MaskBits(float mask) => Bits(mask) != 0 ? 1ul : 0ul;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float AddInt(float a, float b) => FromBits(Bits(a) + Bits(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SubInt(float a, float b) => FromBits(Bits(a) - Bits(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ShiftLeftInt(float a, int count) => FromBits(Bits(a) << count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ShiftRightArithmeticInt(float a, int count) => FromBits(Bits(a) >> count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Activate(ActivationKind kind, float x) => VecMath.Activate(kind, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DerivativeFromOutput(ActivationKind kind, float y) => VecMath.DerivativeFromOutput(kind, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => VecMath.Sigmoid(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x) => VecMath.Tanh(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SigmoidDerivativeFromOutput(float y) => VecMath.SigmoidDerivativeFromOutput(y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float TanhDerivativeFromOutput(float y) => VecMath.TanhDerivativeFromOutput(y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Bits(float a) => BitConverter.SingleToInt32Bits(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float FromBits(int bits) => BitConverter.Int32BitsToSingle(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Mask(bool b) => FromBits(b ? -1 : 0);
}
