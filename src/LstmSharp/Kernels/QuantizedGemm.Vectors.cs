using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

/// <summary>The vector path of <see cref="QuantizedGemm"/>, written once over <see cref="ILanes{TV}"/> and run at Vector512 or Vector256 width (same blocking).</summary>
internal static partial class QuantizedGemm
{
    private static void VectorPath<TL, TV, TW>(in Shape s, ref byte wb, ref float sb, ref float ab, ref float cb)
        where TL : struct, ILanes<TV>
        where TV : struct
        where TW : struct, IWeightFormat
    {
        int V = TL.Count;
        int n = s.N, k = s.K, i = 0, j1 = s.J1;
        for (; i + 4 <= s.M; i += 4)
        {
            ref float a0 = ref Unsafe.Add(ref ab, i * s.Lda);
            ref float a1 = ref Unsafe.Add(ref a0, s.Lda);
            ref float a2 = ref Unsafe.Add(ref a1, s.Lda);
            ref float a3 = ref Unsafe.Add(ref a2, s.Lda);
            ref float c0 = ref Unsafe.Add(ref cb, i * s.Ldc);
            ref float c1 = ref Unsafe.Add(ref c0, s.Ldc);
            ref float c2 = ref Unsafe.Add(ref c1, s.Ldc);
            ref float c3 = ref Unsafe.Add(ref c2, s.Ldc);
            int j = s.J0;
            for (; j + (2 * V) <= j1; j += 2 * V)
            {
                TV x00 = Init<TL, TV, TW>(ref c0, j), x01 = Init<TL, TV, TW>(ref c0, j + V);
                TV x10 = Init<TL, TV, TW>(ref c1, j), x11 = Init<TL, TV, TW>(ref c1, j + V);
                TV x20 = Init<TL, TV, TW>(ref c2, j), x21 = Init<TL, TV, TW>(ref c2, j + V);
                TV x30 = Init<TL, TV, TW>(ref c3, j), x31 = Init<TL, TV, TW>(ref c3, j + V);
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    var w0 = LoadWeights<TV, TW>(ref wb, idx);
                    var w1 = LoadWeights<TV, TW>(ref wb, idx + V);
                    var b = TL.Broadcast(Unsafe.Add(ref a0, p));
                    x00 = TL.Fma(b, w0, x00);
                    x01 = TL.Fma(b, w1, x01);
                    b = TL.Broadcast(Unsafe.Add(ref a1, p));
                    x10 = TL.Fma(b, w0, x10);
                    x11 = TL.Fma(b, w1, x11);
                    b = TL.Broadcast(Unsafe.Add(ref a2, p));
                    x20 = TL.Fma(b, w0, x20);
                    x21 = TL.Fma(b, w1, x21);
                    b = TL.Broadcast(Unsafe.Add(ref a3, p));
                    x30 = TL.Fma(b, w0, x30);
                    x31 = TL.Fma(b, w1, x31);
                }

                Store<TL, TV, TW>(x00, ref sb, ref c0, j);
                Store<TL, TV, TW>(x01, ref sb, ref c0, j + V);
                Store<TL, TV, TW>(x10, ref sb, ref c1, j);
                Store<TL, TV, TW>(x11, ref sb, ref c1, j + V);
                Store<TL, TV, TW>(x20, ref sb, ref c2, j);
                Store<TL, TV, TW>(x21, ref sb, ref c2, j + V);
                Store<TL, TV, TW>(x30, ref sb, ref c3, j);
                Store<TL, TV, TW>(x31, ref sb, ref c3, j + V);
            }

            for (; j + V <= j1; j += V)
            {
                TV x0 = Init<TL, TV, TW>(ref c0, j), x1 = Init<TL, TV, TW>(ref c1, j), x2 = Init<TL, TV, TW>(ref c2, j), x3 = Init<TL, TV, TW>(ref c3, j);
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    var w0 = LoadWeights<TV, TW>(ref wb, idx);
                    x0 = TL.Fma(TL.Broadcast(Unsafe.Add(ref a0, p)), w0, x0);
                    x1 = TL.Fma(TL.Broadcast(Unsafe.Add(ref a1, p)), w0, x1);
                    x2 = TL.Fma(TL.Broadcast(Unsafe.Add(ref a2, p)), w0, x2);
                    x3 = TL.Fma(TL.Broadcast(Unsafe.Add(ref a3, p)), w0, x3);
                }

                Store<TL, TV, TW>(x0, ref sb, ref c0, j);
                Store<TL, TV, TW>(x1, ref sb, ref c1, j);
                Store<TL, TV, TW>(x2, ref sb, ref c2, j);
                Store<TL, TV, TW>(x3, ref sb, ref c3, j);
            }

            if (j < j1)
            {
                ScalarColumns<TW>(s, j, ref wb, ref sb, ref a0, ref c0);
                ScalarColumns<TW>(s, j, ref wb, ref sb, ref a1, ref c1);
                ScalarColumns<TW>(s, j, ref wb, ref sb, ref a2, ref c2);
                ScalarColumns<TW>(s, j, ref wb, ref sb, ref a3, ref c3);
            }
        }

        for (; i < s.M; i++)
        {
            ref float a = ref Unsafe.Add(ref ab, i * s.Lda);
            ref float c = ref Unsafe.Add(ref cb, i * s.Ldc);
            int j = s.J0;
            for (; j + (4 * V) <= j1; j += 4 * V)
            {
                TV x0 = Init<TL, TV, TW>(ref c, j), x1 = Init<TL, TV, TW>(ref c, j + V), x2 = Init<TL, TV, TW>(ref c, j + (2 * V)), x3 = Init<TL, TV, TW>(ref c, j + (3 * V));
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    var b = TL.Broadcast(Unsafe.Add(ref a, p));
                    x0 = TL.Fma(b, LoadWeights<TV, TW>(ref wb, idx), x0);
                    x1 = TL.Fma(b, LoadWeights<TV, TW>(ref wb, idx + V), x1);
                    x2 = TL.Fma(b, LoadWeights<TV, TW>(ref wb, idx + (2 * V)), x2);
                    x3 = TL.Fma(b, LoadWeights<TV, TW>(ref wb, idx + (3 * V)), x3);
                }

                Store<TL, TV, TW>(x0, ref sb, ref c, j);
                Store<TL, TV, TW>(x1, ref sb, ref c, j + V);
                Store<TL, TV, TW>(x2, ref sb, ref c, j + (2 * V));
                Store<TL, TV, TW>(x3, ref sb, ref c, j + (3 * V));
            }

            for (; j + V <= j1; j += V)
            {
                TV x0 = Init<TL, TV, TW>(ref c, j);
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    x0 = TL.Fma(TL.Broadcast(Unsafe.Add(ref a, p)), LoadWeights<TV, TW>(ref wb, idx), x0);
                }

                Store<TL, TV, TW>(x0, ref sb, ref c, j);
            }

            ScalarColumns<TW>(s, j, ref wb, ref sb, ref a, ref c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Init<TL, TV, TW>(ref float c, int j)
        where TL : struct, ILanes<TV>
        where TV : struct
        where TW : struct, IWeightFormat => TW.Scaled ? TL.Zero : TL.Load(ref c, j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TL, TV, TW>(TV acc, ref float sb, ref float c, int j)
        where TL : struct, ILanes<TV>
        where TV : struct
        where TW : struct, IWeightFormat
    {
        if (TW.Scaled)
        {
            acc = TL.Fma(acc, TL.Load(ref sb, j), TL.Load(ref c, j));
        }

        TL.Store(acc, ref c, j);
    }

    /// <summary>TV's lanes of weights from <paramref name="index"/> on, as float (the JIT keeps only the branch of TV's width).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV LoadWeights<TV, TW>(ref byte wb, int index)
        where TV : struct
        where TW : struct, IWeightFormat
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            var v = TW.Load512(ref wb, index);
            return Unsafe.As<Vector512<float>, TV>(ref v);
        }

        var w = TW.Load256(ref wb, index);
        return Unsafe.As<Vector256<float>, TV>(ref w);
    }
}
