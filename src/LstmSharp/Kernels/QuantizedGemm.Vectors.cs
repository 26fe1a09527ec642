using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Kernels;

/// <summary>The vector paths of <see cref="QuantizedGemm"/>: the Vector512 one and its Vector256 copy (same blocking, half the lanes).</summary>
internal static partial class QuantizedGemm
{
    /// <summary>Vector512 lanes: 4 rows × 2 vectors of columns (8 chains), then 4 × 1; single rows 4 vectors, then 1; a scalar tail.</summary>
    private static void Vector512Path<TW>(in Shape s, ref byte wb, ref float sb, ref float ab, ref float cb)
        where TW : struct, IWeightFormat
    {
        const int V = 16;
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
                Vector512<float> x00 = Init512<TW>(ref c0, j), x01 = Init512<TW>(ref c0, j + V);
                Vector512<float> x10 = Init512<TW>(ref c1, j), x11 = Init512<TW>(ref c1, j + V);
                Vector512<float> x20 = Init512<TW>(ref c2, j), x21 = Init512<TW>(ref c2, j + V);
                Vector512<float> x30 = Init512<TW>(ref c3, j), x31 = Init512<TW>(ref c3, j + V);
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    var w0 = TW.Load512(ref wb, idx);
                    var w1 = TW.Load512(ref wb, idx + V);
                    var b = Vector512.Create(Unsafe.Add(ref a0, p));
                    x00 = Avx512F.FusedMultiplyAdd(b, w0, x00);
                    x01 = Avx512F.FusedMultiplyAdd(b, w1, x01);
                    b = Vector512.Create(Unsafe.Add(ref a1, p));
                    x10 = Avx512F.FusedMultiplyAdd(b, w0, x10);
                    x11 = Avx512F.FusedMultiplyAdd(b, w1, x11);
                    b = Vector512.Create(Unsafe.Add(ref a2, p));
                    x20 = Avx512F.FusedMultiplyAdd(b, w0, x20);
                    x21 = Avx512F.FusedMultiplyAdd(b, w1, x21);
                    b = Vector512.Create(Unsafe.Add(ref a3, p));
                    x30 = Avx512F.FusedMultiplyAdd(b, w0, x30);
                    x31 = Avx512F.FusedMultiplyAdd(b, w1, x31);
                }

                Store512<TW>(x00, ref sb, ref c0, j);
                Store512<TW>(x01, ref sb, ref c0, j + V);
                Store512<TW>(x10, ref sb, ref c1, j);
                Store512<TW>(x11, ref sb, ref c1, j + V);
                Store512<TW>(x20, ref sb, ref c2, j);
                Store512<TW>(x21, ref sb, ref c2, j + V);
                Store512<TW>(x30, ref sb, ref c3, j);
                Store512<TW>(x31, ref sb, ref c3, j + V);
            }

            for (; j + V <= j1; j += V)
            {
                Vector512<float> x0 = Init512<TW>(ref c0, j), x1 = Init512<TW>(ref c1, j), x2 = Init512<TW>(ref c2, j), x3 = Init512<TW>(ref c3, j);
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    var w0 = TW.Load512(ref wb, idx);
                    x0 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a0, p)), w0, x0);
                    x1 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a1, p)), w0, x1);
                    x2 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a2, p)), w0, x2);
                    x3 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a3, p)), w0, x3);
                }

                Store512<TW>(x0, ref sb, ref c0, j);
                Store512<TW>(x1, ref sb, ref c1, j);
                Store512<TW>(x2, ref sb, ref c2, j);
                Store512<TW>(x3, ref sb, ref c3, j);
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
                Vector512<float> x0 = Init512<TW>(ref c, j), x1 = Init512<TW>(ref c, j + V), x2 = Init512<TW>(ref c, j + (2 * V)), x3 = Init512<TW>(ref c, j + (3 * V));
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    var b = Vector512.Create(Unsafe.Add(ref a, p));
                    x0 = Avx512F.FusedMultiplyAdd(b, TW.Load512(ref wb, idx), x0);
                    x1 = Avx512F.FusedMultiplyAdd(b, TW.Load512(ref wb, idx + V), x1);
                    x2 = Avx512F.FusedMultiplyAdd(b, TW.Load512(ref wb, idx + (2 * V)), x2);
                    x3 = Avx512F.FusedMultiplyAdd(b, TW.Load512(ref wb, idx + (3 * V)), x3);
                }

                Store512<TW>(x0, ref sb, ref c, j);
                Store512<TW>(x1, ref sb, ref c, j + V);
                Store512<TW>(x2, ref sb, ref c, j + (2 * V));
                Store512<TW>(x3, ref sb, ref c, j + (3 * V));
            }

            for (; j + V <= j1; j += V)
            {
                Vector512<float> x0 = Init512<TW>(ref c, j);
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    x0 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, p)), TW.Load512(ref wb, idx), x0);
                }

                Store512<TW>(x0, ref sb, ref c, j);
            }

            ScalarColumns<TW>(s, j, ref wb, ref sb, ref a, ref c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Init512<TW>(ref float c, int j)
        where TW : struct, IWeightFormat => TW.Scaled ? Vector512<float>.Zero : Vector512.LoadUnsafe(ref c, (nuint)j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512<TW>(Vector512<float> acc, ref float sb, ref float c, int j)
        where TW : struct, IWeightFormat
    {
        if (TW.Scaled)
        {
            acc = Avx512F.FusedMultiplyAdd(acc, Vector512.LoadUnsafe(ref sb, (nuint)j), Vector512.LoadUnsafe(ref c, (nuint)j));
        }

        acc.StoreUnsafe(ref c, (nuint)j);
    }

    /// <summary>Vector256 lanes: 4 rows × 2 vectors of columns (8 chains), then 4 × 1; single rows 4 vectors, then 1; a scalar tail.</summary>
    private static void Vector256Path<TW>(in Shape s, ref byte wb, ref float sb, ref float ab, ref float cb)
        where TW : struct, IWeightFormat
    {
        const int V = 8;
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
                Vector256<float> x00 = Init256<TW>(ref c0, j), x01 = Init256<TW>(ref c0, j + V);
                Vector256<float> x10 = Init256<TW>(ref c1, j), x11 = Init256<TW>(ref c1, j + V);
                Vector256<float> x20 = Init256<TW>(ref c2, j), x21 = Init256<TW>(ref c2, j + V);
                Vector256<float> x30 = Init256<TW>(ref c3, j), x31 = Init256<TW>(ref c3, j + V);
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    var w0 = TW.Load256(ref wb, idx);
                    var w1 = TW.Load256(ref wb, idx + V);
                    var b = Vector256.Create(Unsafe.Add(ref a0, p));
                    x00 = Fma.MultiplyAdd(b, w0, x00);
                    x01 = Fma.MultiplyAdd(b, w1, x01);
                    b = Vector256.Create(Unsafe.Add(ref a1, p));
                    x10 = Fma.MultiplyAdd(b, w0, x10);
                    x11 = Fma.MultiplyAdd(b, w1, x11);
                    b = Vector256.Create(Unsafe.Add(ref a2, p));
                    x20 = Fma.MultiplyAdd(b, w0, x20);
                    x21 = Fma.MultiplyAdd(b, w1, x21);
                    b = Vector256.Create(Unsafe.Add(ref a3, p));
                    x30 = Fma.MultiplyAdd(b, w0, x30);
                    x31 = Fma.MultiplyAdd(b, w1, x31);
                }

                Store256<TW>(x00, ref sb, ref c0, j);
                Store256<TW>(x01, ref sb, ref c0, j + V);
                Store256<TW>(x10, ref sb, ref c1, j);
                Store256<TW>(x11, ref sb, ref c1, j + V);
                Store256<TW>(x20, ref sb, ref c2, j);
                Store256<TW>(x21, ref sb, ref c2, j + V);
                Store256<TW>(x30, ref sb, ref c3, j);
                Store256<TW>(x31, ref sb, ref c3, j + V);
            }

            for (; j + V <= j1; j += V)
            {
                Vector256<float> x0 = Init256<TW>(ref c0, j), x1 = Init256<TW>(ref c1, j), x2 = Init256<TW>(ref c2, j), x3 = Init256<TW>(ref c3, j);
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    var w0 = TW.Load256(ref wb, idx);
                    x0 = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref a0, p)), w0, x0);
                    x1 = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref a1, p)), w0, x1);
                    x2 = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref a2, p)), w0, x2);
                    x3 = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref a3, p)), w0, x3);
                }

                Store256<TW>(x0, ref sb, ref c0, j);
                Store256<TW>(x1, ref sb, ref c1, j);
                Store256<TW>(x2, ref sb, ref c2, j);
                Store256<TW>(x3, ref sb, ref c3, j);
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
                Vector256<float> x0 = Init256<TW>(ref c, j), x1 = Init256<TW>(ref c, j + V), x2 = Init256<TW>(ref c, j + (2 * V)), x3 = Init256<TW>(ref c, j + (3 * V));
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    var b = Vector256.Create(Unsafe.Add(ref a, p));
                    x0 = Fma.MultiplyAdd(b, TW.Load256(ref wb, idx), x0);
                    x1 = Fma.MultiplyAdd(b, TW.Load256(ref wb, idx + V), x1);
                    x2 = Fma.MultiplyAdd(b, TW.Load256(ref wb, idx + (2 * V)), x2);
                    x3 = Fma.MultiplyAdd(b, TW.Load256(ref wb, idx + (3 * V)), x3);
                }

                Store256<TW>(x0, ref sb, ref c, j);
                Store256<TW>(x1, ref sb, ref c, j + V);
                Store256<TW>(x2, ref sb, ref c, j + (2 * V));
                Store256<TW>(x3, ref sb, ref c, j + (3 * V));
            }

            for (; j + V <= j1; j += V)
            {
                Vector256<float> x0 = Init256<TW>(ref c, j);
                int idx = j;
                for (int p = 0; p < k; p++, idx += n)
                {
                    x0 = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref a, p)), TW.Load256(ref wb, idx), x0);
                }

                Store256<TW>(x0, ref sb, ref c, j);
            }

            ScalarColumns<TW>(s, j, ref wb, ref sb, ref a, ref c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Init256<TW>(ref float c, int j)
        where TW : struct, IWeightFormat => TW.Scaled ? Vector256<float>.Zero : Vector256.LoadUnsafe(ref c, (nuint)j);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256<TW>(Vector256<float> acc, ref float sb, ref float c, int j)
        where TW : struct, IWeightFormat
    {
        if (TW.Scaled)
        {
            acc = Fma.MultiplyAdd(acc, Vector256.LoadUnsafe(ref sb, (nuint)j), Vector256.LoadUnsafe(ref c, (nuint)j));
        }

        acc.StoreUnsafe(ref c, (nuint)j);
    }
}
