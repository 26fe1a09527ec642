using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

// The batch-1 LSTM path's products over four gate blocks at once (16 accumulators of 16 lanes):
// each row of the part's columns is read once for the i, f, c~, o blocks, which keeps enough
// loads in flight to stream U from L2. The same chains, so the same bits, as MultiplyAdd.
internal static partial class Gemv
{
    /// <summary>
    /// <see cref="MultiplyAdd"/> over the <paramref name="gates"/> column blocks of a part:
    /// block g is columns [g·stride, g·stride + n) of m and [g·n, g·n + n) of acc. Four blocks of
    /// 64 columns at once where it can (16 accumulators, 16 cache lines in flight per row), which
    /// keeps enough loads outstanding to stream m from L2; the same bits as one block at a time.
    /// </summary>
    internal static void MultiplyAddGates(ReadOnlySpan<float> a, ref float m, int ld, int stride, Span<float> acc, int n, int gates, LaneWidth width, bool reverse = false)
    {
        int j = 0;
        if (gates == 4 && width == LaneWidth.Vector512)
        {
            ref float ar = ref MemoryMarshal.GetReference(a);
            ref float cr = ref MemoryMarshal.GetReference(acc);
            int rows = a.Length, r0 = reverse ? rows - 1 : 0, dr = reverse ? -1 : 1;
            nint st = stride;
            for (; j + 64 <= n; j += 64)
            {
                ref float m0 = ref Unsafe.Add(ref m, j);
                ref float a0 = ref Unsafe.Add(ref cr, j);
                ref float a1 = ref Unsafe.Add(ref a0, n);
                ref float a2 = ref Unsafe.Add(ref a1, n);
                ref float a3 = ref Unsafe.Add(ref a2, n);
                var c00 = Vector512.LoadUnsafe(ref a0);
                var c01 = Vector512.LoadUnsafe(ref a0, 16);
                var c02 = Vector512.LoadUnsafe(ref a0, 32);
                var c03 = Vector512.LoadUnsafe(ref a0, 48);
                var c10 = Vector512.LoadUnsafe(ref a1);
                var c11 = Vector512.LoadUnsafe(ref a1, 16);
                var c12 = Vector512.LoadUnsafe(ref a1, 32);
                var c13 = Vector512.LoadUnsafe(ref a1, 48);
                var c20 = Vector512.LoadUnsafe(ref a2);
                var c21 = Vector512.LoadUnsafe(ref a2, 16);
                var c22 = Vector512.LoadUnsafe(ref a2, 32);
                var c23 = Vector512.LoadUnsafe(ref a2, 48);
                var c30 = Vector512.LoadUnsafe(ref a3);
                var c31 = Vector512.LoadUnsafe(ref a3, 16);
                var c32 = Vector512.LoadUnsafe(ref a3, 32);
                var c33 = Vector512.LoadUnsafe(ref a3, 48);
                for (int i = 0, r = r0; i < rows; i++, r += dr)
                {
                    var x = Vector512.Create(Unsafe.Add(ref ar, r));
                    ref float p0 = ref Unsafe.Add(ref m0, (nint)r * ld);
                    ref float p1 = ref Unsafe.Add(ref p0, st);
                    ref float p2 = ref Unsafe.Add(ref p1, st);
                    ref float p3 = ref Unsafe.Add(ref p2, st);
                    c00 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p0), c00);
                    c01 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p0, 16), c01);
                    c02 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p0, 32), c02);
                    c03 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p0, 48), c03);
                    c10 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p1), c10);
                    c11 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p1, 16), c11);
                    c12 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p1, 32), c12);
                    c13 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p1, 48), c13);
                    c20 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p2), c20);
                    c21 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p2, 16), c21);
                    c22 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p2, 32), c22);
                    c23 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p2, 48), c23);
                    c30 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p3), c30);
                    c31 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p3, 16), c31);
                    c32 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p3, 32), c32);
                    c33 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p3, 48), c33);
                }

                c00.StoreUnsafe(ref a0);
                c01.StoreUnsafe(ref a0, 16);
                c02.StoreUnsafe(ref a0, 32);
                c03.StoreUnsafe(ref a0, 48);
                c10.StoreUnsafe(ref a1);
                c11.StoreUnsafe(ref a1, 16);
                c12.StoreUnsafe(ref a1, 32);
                c13.StoreUnsafe(ref a1, 48);
                c20.StoreUnsafe(ref a2);
                c21.StoreUnsafe(ref a2, 16);
                c22.StoreUnsafe(ref a2, 32);
                c23.StoreUnsafe(ref a2, 48);
                c30.StoreUnsafe(ref a3);
                c31.StoreUnsafe(ref a3, 16);
                c32.StoreUnsafe(ref a3, 32);
                c33.StoreUnsafe(ref a3, 48);
            }
        }

        if (j < n)
        {
            for (int g = 0; g < gates; g++)
            {
                MultiplyAdd(a, ref Unsafe.Add(ref m, (g * stride) + j), ld, acc.Slice((g * n) + j, n - j), n - j, width, reverse);
            }
        }
    }

    /// <summary>
    /// Step 0's <see cref="MultiplyAddGates"/> straight from U (4 gate blocks, n a multiple of 64,
    /// rows forwards), storing every vector it loads into the part's panel [rows, 4·n] as well:
    /// the packing costs stores only, not a second pass over U. The same bits.
    /// </summary>
    internal static void MultiplyAddGatesAndPack(ReadOnlySpan<float> a, ref float m, int ld, int stride, Span<float> acc, int n, Span<float> panel)
    {
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float cr = ref MemoryMarshal.GetReference(acc);
        ref float pk = ref MemoryMarshal.GetReference(panel);
        int rows = a.Length, pw = 4 * n;
        nint st = stride;
        for (int j = 0; j + 64 <= n; j += 64)
        {
            ref float m0 = ref Unsafe.Add(ref m, j);
            ref float a0 = ref Unsafe.Add(ref cr, j);
            ref float a1 = ref Unsafe.Add(ref a0, n);
            ref float a2 = ref Unsafe.Add(ref a1, n);
            ref float a3 = ref Unsafe.Add(ref a2, n);
            var c00 = Vector512.LoadUnsafe(ref a0);
            var c01 = Vector512.LoadUnsafe(ref a0, 16);
            var c02 = Vector512.LoadUnsafe(ref a0, 32);
            var c03 = Vector512.LoadUnsafe(ref a0, 48);
            var c10 = Vector512.LoadUnsafe(ref a1);
            var c11 = Vector512.LoadUnsafe(ref a1, 16);
            var c12 = Vector512.LoadUnsafe(ref a1, 32);
            var c13 = Vector512.LoadUnsafe(ref a1, 48);
            var c20 = Vector512.LoadUnsafe(ref a2);
            var c21 = Vector512.LoadUnsafe(ref a2, 16);
            var c22 = Vector512.LoadUnsafe(ref a2, 32);
            var c23 = Vector512.LoadUnsafe(ref a2, 48);
            var c30 = Vector512.LoadUnsafe(ref a3);
            var c31 = Vector512.LoadUnsafe(ref a3, 16);
            var c32 = Vector512.LoadUnsafe(ref a3, 32);
            var c33 = Vector512.LoadUnsafe(ref a3, 48);
            for (int r = 0; r < rows; r++)
            {
                var x = Vector512.Create(Unsafe.Add(ref ar, r));
                ref float p0 = ref Unsafe.Add(ref m0, (nint)r * ld);
                ref float p1 = ref Unsafe.Add(ref p0, st);
                ref float p2 = ref Unsafe.Add(ref p1, st);
                ref float p3 = ref Unsafe.Add(ref p2, st);
                ref float q0 = ref Unsafe.Add(ref pk, ((nint)r * pw) + j);
                ref float q1 = ref Unsafe.Add(ref q0, n);
                ref float q2 = ref Unsafe.Add(ref q1, n);
                ref float q3 = ref Unsafe.Add(ref q2, n);
                var u00 = Vector512.LoadUnsafe(ref p0);
                u00.StoreUnsafe(ref q0);
                c00 = Vector512.FusedMultiplyAdd(x, u00, c00);
                var u01 = Vector512.LoadUnsafe(ref p0, 16);
                u01.StoreUnsafe(ref q0, (nuint)16);
                c01 = Vector512.FusedMultiplyAdd(x, u01, c01);
                var u02 = Vector512.LoadUnsafe(ref p0, 32);
                u02.StoreUnsafe(ref q0, (nuint)32);
                c02 = Vector512.FusedMultiplyAdd(x, u02, c02);
                var u03 = Vector512.LoadUnsafe(ref p0, 48);
                u03.StoreUnsafe(ref q0, (nuint)48);
                c03 = Vector512.FusedMultiplyAdd(x, u03, c03);
                var u10 = Vector512.LoadUnsafe(ref p1);
                u10.StoreUnsafe(ref q1);
                c10 = Vector512.FusedMultiplyAdd(x, u10, c10);
                var u11 = Vector512.LoadUnsafe(ref p1, 16);
                u11.StoreUnsafe(ref q1, (nuint)16);
                c11 = Vector512.FusedMultiplyAdd(x, u11, c11);
                var u12 = Vector512.LoadUnsafe(ref p1, 32);
                u12.StoreUnsafe(ref q1, (nuint)32);
                c12 = Vector512.FusedMultiplyAdd(x, u12, c12);
                var u13 = Vector512.LoadUnsafe(ref p1, 48);
                u13.StoreUnsafe(ref q1, (nuint)48);
                c13 = Vector512.FusedMultiplyAdd(x, u13, c13);
                var u20 = Vector512.LoadUnsafe(ref p2);
                u20.StoreUnsafe(ref q2);
                c20 = Vector512.FusedMultiplyAdd(x, u20, c20);
                var u21 = Vector512.LoadUnsafe(ref p2, 16);
                u21.StoreUnsafe(ref q2, (nuint)16);
                c21 = Vector512.FusedMultiplyAdd(x, u21, c21);
                var u22 = Vector512.LoadUnsafe(ref p2, 32);
                u22.StoreUnsafe(ref q2, (nuint)32);
                c22 = Vector512.FusedMultiplyAdd(x, u22, c22);
                var u23 = Vector512.LoadUnsafe(ref p2, 48);
                u23.StoreUnsafe(ref q2, (nuint)48);
                c23 = Vector512.FusedMultiplyAdd(x, u23, c23);
                var u30 = Vector512.LoadUnsafe(ref p3);
                u30.StoreUnsafe(ref q3);
                c30 = Vector512.FusedMultiplyAdd(x, u30, c30);
                var u31 = Vector512.LoadUnsafe(ref p3, 16);
                u31.StoreUnsafe(ref q3, (nuint)16);
                c31 = Vector512.FusedMultiplyAdd(x, u31, c31);
                var u32 = Vector512.LoadUnsafe(ref p3, 32);
                u32.StoreUnsafe(ref q3, (nuint)32);
                c32 = Vector512.FusedMultiplyAdd(x, u32, c32);
                var u33 = Vector512.LoadUnsafe(ref p3, 48);
                u33.StoreUnsafe(ref q3, (nuint)48);
                c33 = Vector512.FusedMultiplyAdd(x, u33, c33);
            }

            c00.StoreUnsafe(ref a0);
            c01.StoreUnsafe(ref a0, (nuint)16);
            c02.StoreUnsafe(ref a0, (nuint)32);
            c03.StoreUnsafe(ref a0, (nuint)48);
            c10.StoreUnsafe(ref a1);
            c11.StoreUnsafe(ref a1, (nuint)16);
            c12.StoreUnsafe(ref a1, (nuint)32);
            c13.StoreUnsafe(ref a1, (nuint)48);
            c20.StoreUnsafe(ref a2);
            c21.StoreUnsafe(ref a2, (nuint)16);
            c22.StoreUnsafe(ref a2, (nuint)32);
            c23.StoreUnsafe(ref a2, (nuint)48);
            c30.StoreUnsafe(ref a3);
            c31.StoreUnsafe(ref a3, (nuint)16);
            c32.StoreUnsafe(ref a3, (nuint)32);
            c33.StoreUnsafe(ref a3, (nuint)48);
        }
    }

    /// <summary>
    /// <see cref="MultiplyAdd"/> for four left operands at once: acc_i[j] = fma(a_i[r], m[r·ld + j], acc_i[j])
    /// for r = 0 … rows − 1 in order, i &lt; 4 (a_i at a + i·rows, acc_i at acc + i·accStride), j &lt; 64.
    /// </summary>
    internal static void MultiplyAdd4x64(ref float a, int rows, ref float m, int ld, ref float acc, int accStride)
    {
        ref float acc1 = ref Unsafe.Add(ref acc, accStride);
        ref float acc2 = ref Unsafe.Add(ref acc1, accStride);
        ref float acc3 = ref Unsafe.Add(ref acc2, accStride);
        var c00 = Vector512.LoadUnsafe(ref acc);
        var c01 = Vector512.LoadUnsafe(ref acc, 16);
        var c02 = Vector512.LoadUnsafe(ref acc, 32);
        var c03 = Vector512.LoadUnsafe(ref acc, 48);
        var c10 = Vector512.LoadUnsafe(ref acc1);
        var c11 = Vector512.LoadUnsafe(ref acc1, 16);
        var c12 = Vector512.LoadUnsafe(ref acc1, 32);
        var c13 = Vector512.LoadUnsafe(ref acc1, 48);
        var c20 = Vector512.LoadUnsafe(ref acc2);
        var c21 = Vector512.LoadUnsafe(ref acc2, 16);
        var c22 = Vector512.LoadUnsafe(ref acc2, 32);
        var c23 = Vector512.LoadUnsafe(ref acc2, 48);
        var c30 = Vector512.LoadUnsafe(ref acc3);
        var c31 = Vector512.LoadUnsafe(ref acc3, 16);
        var c32 = Vector512.LoadUnsafe(ref acc3, 32);
        var c33 = Vector512.LoadUnsafe(ref acc3, 48);
        for (int r = 0; r < rows; r++)
        {
            ref float row = ref Unsafe.Add(ref m, (nint)r * ld);
            var m0 = Vector512.LoadUnsafe(ref row);
            var m1 = Vector512.LoadUnsafe(ref row, 16);
            var m2 = Vector512.LoadUnsafe(ref row, 32);
            var m3 = Vector512.LoadUnsafe(ref row, 48);
            var x0 = Vector512.Create(Unsafe.Add(ref a, r));
            var x1 = Vector512.Create(Unsafe.Add(ref a, rows + r));
            var x2 = Vector512.Create(Unsafe.Add(ref a, (2 * rows) + r));
            var x3 = Vector512.Create(Unsafe.Add(ref a, (3 * rows) + r));
            c00 = Vector512.FusedMultiplyAdd(x0, m0, c00);
            c01 = Vector512.FusedMultiplyAdd(x0, m1, c01);
            c02 = Vector512.FusedMultiplyAdd(x0, m2, c02);
            c03 = Vector512.FusedMultiplyAdd(x0, m3, c03);
            c10 = Vector512.FusedMultiplyAdd(x1, m0, c10);
            c11 = Vector512.FusedMultiplyAdd(x1, m1, c11);
            c12 = Vector512.FusedMultiplyAdd(x1, m2, c12);
            c13 = Vector512.FusedMultiplyAdd(x1, m3, c13);
            c20 = Vector512.FusedMultiplyAdd(x2, m0, c20);
            c21 = Vector512.FusedMultiplyAdd(x2, m1, c21);
            c22 = Vector512.FusedMultiplyAdd(x2, m2, c22);
            c23 = Vector512.FusedMultiplyAdd(x2, m3, c23);
            c30 = Vector512.FusedMultiplyAdd(x3, m0, c30);
            c31 = Vector512.FusedMultiplyAdd(x3, m1, c31);
            c32 = Vector512.FusedMultiplyAdd(x3, m2, c32);
            c33 = Vector512.FusedMultiplyAdd(x3, m3, c33);
        }

        c00.StoreUnsafe(ref acc);
        c01.StoreUnsafe(ref acc, 16);
        c02.StoreUnsafe(ref acc, 32);
        c03.StoreUnsafe(ref acc, 48);
        c10.StoreUnsafe(ref acc1);
        c11.StoreUnsafe(ref acc1, 16);
        c12.StoreUnsafe(ref acc1, 32);
        c13.StoreUnsafe(ref acc1, 48);
        c20.StoreUnsafe(ref acc2);
        c21.StoreUnsafe(ref acc2, 16);
        c22.StoreUnsafe(ref acc2, 32);
        c23.StoreUnsafe(ref acc2, 48);
        c30.StoreUnsafe(ref acc3);
        c31.StoreUnsafe(ref acc3, 16);
        c32.StoreUnsafe(ref acc3, 32);
        c33.StoreUnsafe(ref acc3, 48);
    }
}
