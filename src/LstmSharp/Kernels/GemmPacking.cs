using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
            if (transA)
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
            if (!transB)
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
