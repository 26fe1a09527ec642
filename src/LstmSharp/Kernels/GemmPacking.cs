using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Kernels;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous, zero-padded panels the micro-kernels
/// read: one pass over memory with strides, so that the hot loop reads only sequentially.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs rows [i0, i0+mc) × columns [p0, p0+kc) of op(A) as ⌈mc/mr⌉ panels of kc×mr values:
    /// <c>dst[panel·kc·mr + p·mr + r] = op(A)[i0 + panel·mr + r, p0 + p]</c>, zero past row mc.
    /// </summary>
    public static void PackA(bool transA, float* a, nint lda, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            if (rows == 12 && mr == 12 && Avx512F.IsSupported)
            {
                if (transA)
                {
                    PackA12Contiguous(a + ((nint)p0 * lda) + i0 + ir, lda, kc, dst);
                }
                else
                {
                    PackA12Transposed(a + ((nint)(i0 + ir) * lda) + p0, lda, kc, dst);
                }
            }
            else
            {
                // op(A)[i, p] = a[p·lda + i] when transposed: each p is a contiguous run of rows.
                PackPanel(transA, a, lda, i0 + ir, rows, p0, kc, mr, dst);
            }

            dst += kc * mr;
        }
    }

    /// <summary>
    /// Packs rows [p0, p0+kc) × columns [j0, j0+nc) of op(B) as ⌈nc/nr⌉ panels of kc×nr values:
    /// <c>dst[panel·kc·nr + p·nr + j] = op(B)[p0 + p, j0 + panel·nr + j]</c>, zero past column nc.
    /// </summary>
    public static void PackB(bool transB, float* b, nint ldb, int p0, int kc, int j0, int nc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            if (cols == 32 && nr == 32 && Avx512F.IsSupported)
            {
                if (transB)
                {
                    PackB32Transposed(b + ((nint)(j0 + jr) * ldb) + p0, ldb, kc, dst);
                }
                else
                {
                    float* src = b + ((nint)p0 * ldb) + j0 + jr;
                    for (int p = 0; p < kc; p++, src += ldb)
                    {
                        Vector512.Store(Vector512.Load(src), dst + (p * 32));
                        Vector512.Store(Vector512.Load(src + 16), dst + (p * 32) + 16);
                    }
                }
            }
            else if (cols == 16 && nr == 16 && !transB && Vector256.IsHardwareAccelerated)
            {
                float* src = b + ((nint)p0 * ldb) + j0 + jr;
                for (int p = 0; p < kc; p++, src += ldb)
                {
                    Vector256.Store(Vector256.Load(src), dst + (p * 16));
                    Vector256.Store(Vector256.Load(src + 8), dst + (p * 16) + 8);
                }
            }
            else
            {
                // op(B)[p, j] = b[p·ldb + j] unless transposed: each p is a contiguous run of columns.
                PackPanel(!transB, b, ldb, j0 + jr, cols, p0, kc, nr, dst);
            }

            dst += kc * nr;
        }
    }

    /// <summary>
    /// One panel of kc×<paramref name="width"/> values, <c>dst[p·width + x] = M[x0 + x, p0 + p]</c>
    /// for x &lt; count, zero for x in [count, width): the general case of <see cref="PackA"/>
    /// (M = op(A), x a row) and <see cref="PackB"/> (M = op(B)ᵀ, x a column). M[x, p] is
    /// m[p·ld + x] when <paramref name="contiguous"/> (each p a contiguous run, copied), else
    /// m[x·ld + p] (a transpose: each of m's rows is read sequentially).
    /// </summary>
    private static void PackPanel(bool contiguous, float* m, nint ld, int x0, int count, int p0, int kc, int width, float* dst)
    {
        if (contiguous)
        {
            float* src = m + ((nint)p0 * ld) + x0;
            for (int p = 0; p < kc; p++)
            {
                CopyPadded(src + (p * ld), dst + (p * width), count, width);
            }

            return;
        }

        for (int x = 0; x < count; x++)
        {
            float* src = m + ((nint)(x0 + x) * ld) + p0;
            float* d = dst + x;
            for (int p = 0; p < kc; p++)
            {
                d[p * width] = src[p];
            }
        }

        for (int x = count; x < width; x++)
        {
            for (int p = 0; p < kc; p++)
            {
                dst[(p * width) + x] = 0;
            }
        }
    }

    /// <summary>
    /// A full 12-row panel of Aᵀ storage: each p is 12 contiguous values. Four of them (48
    /// values) are packed into three full vectors with two-source permutes.
    /// </summary>
    private static void PackA12Contiguous(float* src, nint lda, int kc, float* dst)
    {
        Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(12)).AsSingle();
        Vector512<int> lane = Vector512<int>.Indices;
        Vector512<int> first = lane + Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4);
        Vector512<int> second = lane + Vector512.Create(4, 4, 4, 4, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8);
        Vector512<int> third = lane + Vector512.Create(8, 8, 8, 8, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12);
        int p = 0;
        for (; p + 4 <= kc; p += 4, src += 4 * lda, dst += 48)
        {
            Vector512<float> v0 = Avx512F.MaskLoad(src, mask, Vector512<float>.Zero);
            Vector512<float> v1 = Avx512F.MaskLoad(src + lda, mask, Vector512<float>.Zero);
            Vector512<float> v2 = Avx512F.MaskLoad(src + (2 * lda), mask, Vector512<float>.Zero);
            Vector512<float> v3 = Avx512F.MaskLoad(src + (3 * lda), mask, Vector512<float>.Zero);
            Vector512.Store(Avx512F.PermuteVar16x32x2(v0, first, v1), dst);
            Vector512.Store(Avx512F.PermuteVar16x32x2(v1, second, v2), dst + 16);
            Vector512.Store(Avx512F.PermuteVar16x32x2(v2, third, v3), dst + 32);
        }

        for (; p < kc; p++, src += lda, dst += 12)
        {
            Avx512F.MaskStore(dst, mask, Avx512F.MaskLoad(src, mask, Vector512<float>.Zero));
        }
    }

    /// <summary>
    /// A full 12-row panel of row-major A: 16 columns at a time, the 12 rows (padded to 16 with
    /// zeros) are transposed in registers and each column stored as 12 values.
    /// </summary>
    private static void PackA12Transposed(float* src, nint lda, int kc, float* dst)
    {
        int p = 0;
        for (; p + 16 <= kc; p += 16)
        {
            Transpose16(src + p, lda, twelve: true, dst + (p * 12), 12);
        }

        for (; p < kc; p++)
        {
            for (int r = 0; r < 12; r++)
            {
                dst[(p * 12) + r] = src[(r * lda) + p];
            }
        }
    }

    /// <summary>
    /// A full 32-column panel of Bᵀ storage (column j of op(B) is row j of b): 16 values of p
    /// at a time, each group of 16 rows is transposed in registers into 16 rows of the panel.
    /// </summary>
    private static void PackB32Transposed(float* src, nint ldb, int kc, float* dst)
    {
        int p = 0;
        for (; p + 16 <= kc; p += 16)
        {
            Transpose16(src + p, ldb, twelve: false, dst + (p * 32), 32);
            Transpose16(src + (16 * ldb) + p, ldb, twelve: false, dst + (p * 32) + 16, 32);
        }

        for (; p < kc; p++)
        {
            for (int j = 0; j < 32; j++)
            {
                dst[(p * 32) + j] = src[(j * ldb) + p];
            }
        }
    }

    /// <summary>
    /// Transposes a 16×16 block held in registers: row r (16 floats at src + r·srcStride; rows
    /// 12..15 read as zeros when <paramref name="twelve"/>) becomes column r, and output row q
    /// goes to dst + q·dstStride (its first 12 values only when <paramref name="twelve"/>).
    /// Unpack pairs within 128-bit lanes, combine 64-bit pairs, then exchange 128-bit lanes twice;
    /// every value stays in a local so the JIT keeps the 16 rows in zmm registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(float* src, nint srcStride, bool twelve, float* dst, nint dstStride)
    {
        Vector512<float> r0 = Vector512.Load(src), r1 = Vector512.Load(src + srcStride);
        Vector512<float> r2 = Vector512.Load(src + (2 * srcStride)), r3 = Vector512.Load(src + (3 * srcStride));
        Vector512<float> r4 = Vector512.Load(src + (4 * srcStride)), r5 = Vector512.Load(src + (5 * srcStride));
        Vector512<float> r6 = Vector512.Load(src + (6 * srcStride)), r7 = Vector512.Load(src + (7 * srcStride));
        Vector512<float> r8 = Vector512.Load(src + (8 * srcStride)), r9 = Vector512.Load(src + (9 * srcStride));
        Vector512<float> r10 = Vector512.Load(src + (10 * srcStride)), r11 = Vector512.Load(src + (11 * srcStride));

        // u[4g + j] holds, in 128-bit lane L, rows 4g..4g+3 of column 4L + j.
        Vector512<float> t00 = Avx512F.UnpackLow(r0, r1), t01 = Avx512F.UnpackHigh(r0, r1);
        Vector512<float> t02 = Avx512F.UnpackLow(r2, r3), t03 = Avx512F.UnpackHigh(r2, r3);
        Vector512<float> u0 = Avx512F.Shuffle(t00, t02, 0x44), u1 = Avx512F.Shuffle(t00, t02, 0xEE);
        Vector512<float> u2 = Avx512F.Shuffle(t01, t03, 0x44), u3 = Avx512F.Shuffle(t01, t03, 0xEE);
        Vector512<float> t10 = Avx512F.UnpackLow(r4, r5), t11 = Avx512F.UnpackHigh(r4, r5);
        Vector512<float> t12 = Avx512F.UnpackLow(r6, r7), t13 = Avx512F.UnpackHigh(r6, r7);
        Vector512<float> u4 = Avx512F.Shuffle(t10, t12, 0x44), u5 = Avx512F.Shuffle(t10, t12, 0xEE);
        Vector512<float> u6 = Avx512F.Shuffle(t11, t13, 0x44), u7 = Avx512F.Shuffle(t11, t13, 0xEE);
        Vector512<float> t20 = Avx512F.UnpackLow(r8, r9), t21 = Avx512F.UnpackHigh(r8, r9);
        Vector512<float> t22 = Avx512F.UnpackLow(r10, r11), t23 = Avx512F.UnpackHigh(r10, r11);
        Vector512<float> u8 = Avx512F.Shuffle(t20, t22, 0x44), u9 = Avx512F.Shuffle(t20, t22, 0xEE);
        Vector512<float> u10 = Avx512F.Shuffle(t21, t23, 0x44), u11 = Avx512F.Shuffle(t21, t23, 0xEE);
        Vector512<float> u12 = default, u13 = default, u14 = default, u15 = default;
        if (!twelve)
        {
            Vector512<float> r12 = Vector512.Load(src + (12 * srcStride)), r13 = Vector512.Load(src + (13 * srcStride));
            Vector512<float> r14 = Vector512.Load(src + (14 * srcStride)), r15 = Vector512.Load(src + (15 * srcStride));
            Vector512<float> t30 = Avx512F.UnpackLow(r12, r13), t31 = Avx512F.UnpackHigh(r12, r13);
            Vector512<float> t32 = Avx512F.UnpackLow(r14, r15), t33 = Avx512F.UnpackHigh(r14, r15);
            u12 = Avx512F.Shuffle(t30, t32, 0x44);
            u13 = Avx512F.Shuffle(t30, t32, 0xEE);
            u14 = Avx512F.Shuffle(t31, t33, 0x44);
            u15 = Avx512F.Shuffle(t31, t33, 0xEE);
        }

        // Output row q = 4·blk + j is lane group blk of u[j], u[4 + j], u[8 + j], u[12 + j].
        Vector512<float> x00 = Avx512F.Shuffle4x128(u0, u4, 0x44), x01 = Avx512F.Shuffle4x128(u0, u4, 0xEE);
        Vector512<float> y00 = Avx512F.Shuffle4x128(u8, u12, 0x44), y01 = Avx512F.Shuffle4x128(u8, u12, 0xEE);
        Vector512<float> x10 = Avx512F.Shuffle4x128(u1, u5, 0x44), x11 = Avx512F.Shuffle4x128(u1, u5, 0xEE);
        Vector512<float> y10 = Avx512F.Shuffle4x128(u9, u13, 0x44), y11 = Avx512F.Shuffle4x128(u9, u13, 0xEE);
        Vector512<float> x20 = Avx512F.Shuffle4x128(u2, u6, 0x44), x21 = Avx512F.Shuffle4x128(u2, u6, 0xEE);
        Vector512<float> y20 = Avx512F.Shuffle4x128(u10, u14, 0x44), y21 = Avx512F.Shuffle4x128(u10, u14, 0xEE);
        Vector512<float> x30 = Avx512F.Shuffle4x128(u3, u7, 0x44), x31 = Avx512F.Shuffle4x128(u3, u7, 0xEE);
        Vector512<float> y30 = Avx512F.Shuffle4x128(u11, u15, 0x44), y31 = Avx512F.Shuffle4x128(u11, u15, 0xEE);

        // Rows are stored in order, so with a 12-value stride each full store's 4 zero lanes are
        // overwritten by the next row; only the last one is masked.
        Vector512<float> mask = twelve ? Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(12)).AsSingle() : default;
        StoreRow(dst, false, mask, Avx512F.Shuffle4x128(x00, y00, 0x88));
        StoreRow(dst + dstStride, false, mask, Avx512F.Shuffle4x128(x10, y10, 0x88));
        StoreRow(dst + (2 * dstStride), false, mask, Avx512F.Shuffle4x128(x20, y20, 0x88));
        StoreRow(dst + (3 * dstStride), false, mask, Avx512F.Shuffle4x128(x30, y30, 0x88));
        StoreRow(dst + (4 * dstStride), false, mask, Avx512F.Shuffle4x128(x00, y00, 0xDD));
        StoreRow(dst + (5 * dstStride), false, mask, Avx512F.Shuffle4x128(x10, y10, 0xDD));
        StoreRow(dst + (6 * dstStride), false, mask, Avx512F.Shuffle4x128(x20, y20, 0xDD));
        StoreRow(dst + (7 * dstStride), false, mask, Avx512F.Shuffle4x128(x30, y30, 0xDD));
        StoreRow(dst + (8 * dstStride), false, mask, Avx512F.Shuffle4x128(x01, y01, 0x88));
        StoreRow(dst + (9 * dstStride), false, mask, Avx512F.Shuffle4x128(x11, y11, 0x88));
        StoreRow(dst + (10 * dstStride), false, mask, Avx512F.Shuffle4x128(x21, y21, 0x88));
        StoreRow(dst + (11 * dstStride), false, mask, Avx512F.Shuffle4x128(x31, y31, 0x88));
        StoreRow(dst + (12 * dstStride), false, mask, Avx512F.Shuffle4x128(x01, y01, 0xDD));
        StoreRow(dst + (13 * dstStride), false, mask, Avx512F.Shuffle4x128(x11, y11, 0xDD));
        StoreRow(dst + (14 * dstStride), false, mask, Avx512F.Shuffle4x128(x21, y21, 0xDD));
        StoreRow(dst + (15 * dstStride), twelve, mask, Avx512F.Shuffle4x128(x31, y31, 0xDD));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* dst, bool masked, Vector512<float> mask, Vector512<float> row)
    {
        if (masked)
        {
            Avx512F.MaskStore(dst, mask, row);
        }
        else
        {
            Vector512.Store(row, dst);
        }
    }

    /// <summary>Copies <paramref name="count"/> floats and zero-fills up to <paramref name="width"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPadded(float* src, float* dst, int count, int width)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 16 <= count; j += 16)
            {
                Vector512.Store(Vector512.Load(src + j), dst + j);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= count; j += 8)
            {
                Vector256.Store(Vector256.Load(src + j), dst + j);
            }
        }

        for (; j < count; j++)
        {
            dst[j] = src[j];
        }

        for (; j < width; j++)
        {
            dst[j] = 0;
        }
    }
}
