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
            else if (transA)
            {
                // op(A)[i, p] = a[p·lda + i]: each p is a contiguous run of rows.
                float* src = a + ((nint)p0 * lda) + i0 + ir;
                for (int p = 0; p < kc; p++)
                {
                    CopyPadded(src + (p * lda), dst + (p * mr), rows, mr);
                }
            }
            else
            {
                // op(A)[i, p] = a[i·lda + p]: a transpose; read each row sequentially.
                for (int r = 0; r < rows; r++)
                {
                    float* src = a + ((nint)(i0 + ir + r) * lda) + p0;
                    float* d = dst + r;
                    for (int p = 0; p < kc; p++)
                    {
                        d[p * mr] = src[p];
                    }
                }

                for (int r = rows; r < mr; r++)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        dst[(p * mr) + r] = 0;
                    }
                }
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
            else if (!transB)
            {
                float* src = b + ((nint)p0 * ldb) + j0 + jr;
                for (int p = 0; p < kc; p++)
                {
                    CopyPadded(src + (p * ldb), dst + (p * nr), cols, nr);
                }
            }
            else
            {
                // op(B)[p, j] = b[j·ldb + p]: a transpose; read each row of b sequentially.
                for (int j = 0; j < cols; j++)
                {
                    float* src = b + ((nint)(j0 + jr + j) * ldb) + p0;
                    float* d = dst + j;
                    for (int p = 0; p < kc; p++)
                    {
                        d[p * nr] = src[p];
                    }
                }

                for (int j = cols; j < nr; j++)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        dst[(p * nr) + j] = 0;
                    }
                }
            }

            dst += kc * nr;
        }
    }

    /// <summary>A full 12-row panel of Aᵀ storage: each p is 12 contiguous values, moved with one masked load/store.</summary>
    private static void PackA12Contiguous(float* src, nint lda, int kc, float* dst)
    {
        Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(12)).AsSingle();
        for (int p = 0; p < kc; p++, src += lda, dst += 12)
        {
            Avx512F.MaskStore(dst, mask, Avx512F.MaskLoad(src, mask, Vector512<float>.Zero));
        }
    }

    /// <summary>
    /// A full 12-row panel of row-major A: 16 columns at a time, the 12 rows (padded to 16)
    /// are transposed in registers and each column stored as 12 values.
    /// </summary>
    private static void PackA12Transposed(float* src, nint lda, int kc, float* dst)
    {
        Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(12)).AsSingle();
        Span<Vector512<float>> block = stackalloc Vector512<float>[16];
        int p = 0;
        for (; p + 16 <= kc; p += 16)
        {
            for (int r = 0; r < 12; r++)
            {
                block[r] = Vector512.Load(src + (r * lda) + p);
            }

            block[12] = block[13] = block[14] = block[15] = default;
            Transpose16x16(block);
            for (int q = 0; q < 16; q++)
            {
                Avx512F.MaskStore(dst + ((p + q) * 12), mask, block[q]);
            }
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
        Span<Vector512<float>> block = stackalloc Vector512<float>[16];
        int p = 0;
        for (; p + 16 <= kc; p += 16)
        {
            for (int half = 0; half < 32; half += 16)
            {
                for (int j = 0; j < 16; j++)
                {
                    block[j] = Vector512.Load(src + ((half + j) * ldb) + p);
                }

                Transpose16x16(block);
                for (int q = 0; q < 16; q++)
                {
                    Vector512.Store(block[q], dst + ((p + q) * 32) + half);
                }
            }
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
    /// In-register transpose of a 16×16 block (row r = block[r]): unpack pairs within 128-bit
    /// lanes, combine 64-bit pairs, then exchange 128-bit lanes twice.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose16x16(Span<Vector512<float>> x)
    {
        Span<Vector512<float>> u = stackalloc Vector512<float>[16];
        for (int g = 0; g < 16; g += 4)
        {
            Vector512<float> t0 = Avx512F.UnpackLow(x[g], x[g + 1]);
            Vector512<float> t1 = Avx512F.UnpackHigh(x[g], x[g + 1]);
            Vector512<float> t2 = Avx512F.UnpackLow(x[g + 2], x[g + 3]);
            Vector512<float> t3 = Avx512F.UnpackHigh(x[g + 2], x[g + 3]);

            // u[g + j] holds, in 128-bit lane L, rows g..g+3 of column 4L + j.
            u[g] = Avx512F.Shuffle(t0, t2, 0x44);
            u[g + 1] = Avx512F.Shuffle(t0, t2, 0xEE);
            u[g + 2] = Avx512F.Shuffle(t1, t3, 0x44);
            u[g + 3] = Avx512F.Shuffle(t1, t3, 0xEE);
        }

        for (int j = 0; j < 4; j++)
        {
            Vector512<float> x0 = Avx512F.Shuffle4x128(u[j], u[4 + j], 0x44);
            Vector512<float> x1 = Avx512F.Shuffle4x128(u[j], u[4 + j], 0xEE);
            Vector512<float> y0 = Avx512F.Shuffle4x128(u[8 + j], u[12 + j], 0x44);
            Vector512<float> y1 = Avx512F.Shuffle4x128(u[8 + j], u[12 + j], 0xEE);
            x[j] = Avx512F.Shuffle4x128(x0, y0, 0x88);
            x[4 + j] = Avx512F.Shuffle4x128(x0, y0, 0xDD);
            x[8 + j] = Avx512F.Shuffle4x128(x1, y1, 0x88);
            x[12 + j] = Avx512F.Shuffle4x128(x1, y1, 0xDD);
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
