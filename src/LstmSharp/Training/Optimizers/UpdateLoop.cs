using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Training;

/// <summary>
/// A vector of floats of some hardware width, so that an optimizer's element-wise update is
/// written once and instantiated for Vector512, Vector256 and a plain float (the scalar twin,
/// also used for the tail). No FMA contraction happens, so every width gives bit-identical results.
/// </summary>
internal interface IVec<TSelf>
    where TSelf : struct, IVec<TSelf>
{
    static abstract int Count { get; }

    static abstract TSelf Load(ref float p, int i);

    static abstract void Store(TSelf v, ref float p, int i);

    static abstract TSelf Splat(float x);

    static abstract TSelf Sqrt(TSelf a);

    static abstract TSelf Max(TSelf a, TSelf b);

    static abstract TSelf operator +(TSelf a, TSelf b);

    static abstract TSelf operator -(TSelf a, TSelf b);

    static abstract TSelf operator *(TSelf a, TSelf b);

    static abstract TSelf operator /(TSelf a, TSelf b);
}

internal readonly struct V512(Vector512<float> v) : IVec<V512>
{
    private readonly Vector512<float> v = v;

    public static int Count => Vector512<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512 Load(ref float p, int i) => new(Vector512.LoadUnsafe(ref p, (nuint)i));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(V512 a, ref float p, int i) => a.v.StoreUnsafe(ref p, (nuint)i);

    public static V512 Splat(float x) => new(Vector512.Create(x));

    public static V512 Sqrt(V512 a) => new(Vector512.Sqrt(a.v));

    public static V512 Max(V512 a, V512 b) => new(Vector512.Max(a.v, b.v));

    public static V512 operator +(V512 a, V512 b) => new(a.v + b.v);

    public static V512 operator -(V512 a, V512 b) => new(a.v - b.v);

    public static V512 operator *(V512 a, V512 b) => new(a.v * b.v);

    public static V512 operator /(V512 a, V512 b) => new(a.v / b.v);
}

internal readonly struct V256(Vector256<float> v) : IVec<V256>
{
    private readonly Vector256<float> v = v;

    public static int Count => Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256 Load(ref float p, int i) => new(Vector256.LoadUnsafe(ref p, (nuint)i));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(V256 a, ref float p, int i) => a.v.StoreUnsafe(ref p, (nuint)i);

    public static V256 Splat(float x) => new(Vector256.Create(x));

    public static V256 Sqrt(V256 a) => new(Vector256.Sqrt(a.v));

    public static V256 Max(V256 a, V256 b) => new(Vector256.Max(a.v, b.v));

    public static V256 operator +(V256 a, V256 b) => new(a.v + b.v);

    public static V256 operator -(V256 a, V256 b) => new(a.v - b.v);

    public static V256 operator *(V256 a, V256 b) => new(a.v * b.v);

    public static V256 operator /(V256 a, V256 b) => new(a.v / b.v);
}

/// <summary>The scalar twin: one float.</summary>
internal readonly struct V1(float v) : IVec<V1>
{
    private readonly float v = v;

    public static int Count => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V1 Load(ref float p, int i) => new(Unsafe.Add(ref p, i));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(V1 a, ref float p, int i) => Unsafe.Add(ref p, i) = a.v;

    public static V1 Splat(float x) => new(x);

    public static V1 Sqrt(V1 a) => new(MathF.Sqrt(a.v));

    public static V1 Max(V1 a, V1 b) => new(MathF.Max(a.v, b.v));

    public static V1 operator +(V1 a, V1 b) => new(a.v + b.v);

    public static V1 operator -(V1 a, V1 b) => new(a.v - b.v);

    public static V1 operator *(V1 a, V1 b) => new(a.v * b.v);

    public static V1 operator /(V1 a, V1 b) => new(a.v / b.v);
}

/// <summary>An element-wise update applied to elements <c>[i, i + TV.Count)</c>.</summary>
internal interface IUpdateKernel
{
    void Apply<TV>(int i)
        where TV : struct, IVec<TV>;
}

internal static class UpdateLoop
{
    /// <summary>Runs <paramref name="kernel"/> over <c>[0, n)</c>: widest vectors first, scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TK>(ref TK kernel, int n, bool scalarOnly)
        where TK : struct, IUpdateKernel, allows ref struct
    {
        int i = 0;
        if (!scalarOnly)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                for (; i <= n - V512.Count; i += V512.Count)
                {
                    kernel.Apply<V512>(i);
                }
            }

            if (Vector256.IsHardwareAccelerated)
            {
                for (; i <= n - V256.Count; i += V256.Count)
                {
                    kernel.Apply<V256>(i);
                }
            }
        }

        for (; i < n; i++)
        {
            kernel.Apply<V1>(i);
        }
    }
}
