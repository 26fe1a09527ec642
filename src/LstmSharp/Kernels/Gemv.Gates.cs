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
            ref float cr = ref MemoryMarshal.GetReference(acc);
            for (; j + 64 <= n; j += 64)
            {
                GateStrip<NoPack>(a, reverse, ref Unsafe.Add(ref m, j), ld, stride, ref Unsafe.Add(ref cr, j), n, ref Unsafe.NullRef<float>(), 0);
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
        ref float cr = ref MemoryMarshal.GetReference(acc);
        ref float pk = ref MemoryMarshal.GetReference(panel);
        for (int j = 0; j + 64 <= n; j += 64)
        {
            GateStrip<Pack>(a, false, ref Unsafe.Add(ref m, j), ld, stride, ref Unsafe.Add(ref cr, j), n, ref Unsafe.Add(ref pk, j), 4 * n);
        }
    }

    /// <summary>
    /// 64 columns of the four gate blocks: acc_g[0..64) (at acc + g·n) += Σ_r a[r]·m[r·ld + g·stride + 0..64),
    /// 16 accumulators, each row's 16 vectors loaded once. With <typeparamref name="TPack"/>, every
    /// vector of row r, gate g is also stored at panel + r·pw + g·n.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GateStrip<TPack>(ReadOnlySpan<float> a, bool reverse, ref float m, int ld, nint stride, ref float acc, int n, ref float panel, int pw)
        where TPack : struct, IPack
    {
        ref float ar = ref MemoryMarshal.GetReference(a);
        int rows = a.Length, r0 = reverse ? rows - 1 : 0, dr = reverse ? -1 : 1;
        LoadTile(
            ref acc, n,
            out var c00, out var c01, out var c02, out var c03, out var c10, out var c11, out var c12, out var c13,
            out var c20, out var c21, out var c22, out var c23, out var c30, out var c31, out var c32, out var c33);
        for (int i = 0, r = r0; i < rows; i++, r += dr)
        {
            var x = Vector512.Create(Unsafe.Add(ref ar, r));
            ref float p0 = ref Unsafe.Add(ref m, (nint)r * ld);
            ref float p1 = ref Unsafe.Add(ref p0, stride);
            ref float p2 = ref Unsafe.Add(ref p1, stride);
            ref float p3 = ref Unsafe.Add(ref p2, stride);
            if (TPack.Value)
            {
                ref float q = ref Unsafe.Add(ref panel, (nint)r * pw);
                FmaAndCopy4(x, ref p0, ref q, ref c00, ref c01, ref c02, ref c03);
                FmaAndCopy4(x, ref p1, ref Unsafe.Add(ref q, n), ref c10, ref c11, ref c12, ref c13);
                FmaAndCopy4(x, ref p2, ref Unsafe.Add(ref q, 2 * n), ref c20, ref c21, ref c22, ref c23);
                FmaAndCopy4(x, ref p3, ref Unsafe.Add(ref q, 3 * n), ref c30, ref c31, ref c32, ref c33);
            }
            else
            {
                Fma4(x, ref p0, ref c00, ref c01, ref c02, ref c03);
                Fma4(x, ref p1, ref c10, ref c11, ref c12, ref c13);
                Fma4(x, ref p2, ref c20, ref c21, ref c22, ref c23);
                Fma4(x, ref p3, ref c30, ref c31, ref c32, ref c33);
            }
        }

        StoreTile(ref acc, n, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
    }

    /// <summary>
    /// <see cref="MultiplyAdd"/> for four left operands at once: acc_i[j] = fma(a_i[r], m[r·ld + j], acc_i[j])
    /// for r = 0 … rows − 1 in order, i &lt; 4 (a_i at a + i·rows, acc_i at acc + i·accStride), j &lt; 64.
    /// </summary>
    internal static void MultiplyAdd4x64(ref float a, int rows, ref float m, int ld, ref float acc, int accStride)
    {
        LoadTile(
            ref acc, accStride,
            out var c00, out var c01, out var c02, out var c03, out var c10, out var c11, out var c12, out var c13,
            out var c20, out var c21, out var c22, out var c23, out var c30, out var c31, out var c32, out var c33);
        for (int r = 0; r < rows; r++)
        {
            Load4(ref Unsafe.Add(ref m, (nint)r * ld), out var m0, out var m1, out var m2, out var m3);
            Fma4(Vector512.Create(Unsafe.Add(ref a, r)), m0, m1, m2, m3, ref c00, ref c01, ref c02, ref c03);
            Fma4(Vector512.Create(Unsafe.Add(ref a, rows + r)), m0, m1, m2, m3, ref c10, ref c11, ref c12, ref c13);
            Fma4(Vector512.Create(Unsafe.Add(ref a, (2 * rows) + r)), m0, m1, m2, m3, ref c20, ref c21, ref c22, ref c23);
            Fma4(Vector512.Create(Unsafe.Add(ref a, (3 * rows) + r)), m0, m1, m2, m3, ref c30, ref c31, ref c32, ref c33);
        }

        StoreTile(ref acc, accStride, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
    }

    /// <summary>Whether <see cref="GateStrip{TPack}"/> also copies what it reads into the panel (folded per instantiation).</summary>
    private interface IPack
    {
        static abstract bool Value { get; }
    }

    private struct Pack : IPack { public static bool Value => true; }

    private struct NoPack : IPack { public static bool Value => false; }

    // The 4×64 register tile: 4 rows (stride apart) of 4 vectors. The helpers take the
    // accumulators by reference and inline, so they stay in registers.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadTile(
        ref float p, nint stride,
        out Vector512<float> c00, out Vector512<float> c01, out Vector512<float> c02, out Vector512<float> c03,
        out Vector512<float> c10, out Vector512<float> c11, out Vector512<float> c12, out Vector512<float> c13,
        out Vector512<float> c20, out Vector512<float> c21, out Vector512<float> c22, out Vector512<float> c23,
        out Vector512<float> c30, out Vector512<float> c31, out Vector512<float> c32, out Vector512<float> c33)
    {
        Load4(ref p, out c00, out c01, out c02, out c03);
        Load4(ref Unsafe.Add(ref p, stride), out c10, out c11, out c12, out c13);
        Load4(ref Unsafe.Add(ref p, 2 * stride), out c20, out c21, out c22, out c23);
        Load4(ref Unsafe.Add(ref p, 3 * stride), out c30, out c31, out c32, out c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTile(
        ref float p, nint stride,
        Vector512<float> c00, Vector512<float> c01, Vector512<float> c02, Vector512<float> c03,
        Vector512<float> c10, Vector512<float> c11, Vector512<float> c12, Vector512<float> c13,
        Vector512<float> c20, Vector512<float> c21, Vector512<float> c22, Vector512<float> c23,
        Vector512<float> c30, Vector512<float> c31, Vector512<float> c32, Vector512<float> c33)
    {
        Store4(ref p, c00, c01, c02, c03);
        Store4(ref Unsafe.Add(ref p, stride), c10, c11, c12, c13);
        Store4(ref Unsafe.Add(ref p, 2 * stride), c20, c21, c22, c23);
        Store4(ref Unsafe.Add(ref p, 3 * stride), c30, c31, c32, c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Load4(ref float p, out Vector512<float> v0, out Vector512<float> v1, out Vector512<float> v2, out Vector512<float> v3)
    {
        v0 = Vector512.LoadUnsafe(ref p);
        v1 = Vector512.LoadUnsafe(ref p, 16);
        v2 = Vector512.LoadUnsafe(ref p, 32);
        v3 = Vector512.LoadUnsafe(ref p, 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(ref float p, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3)
    {
        v0.StoreUnsafe(ref p);
        v1.StoreUnsafe(ref p, 16);
        v2.StoreUnsafe(ref p, 32);
        v3.StoreUnsafe(ref p, 48);
    }

    /// <summary>c_k = fma(x, m_k, c_k) for k &lt; 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma4(
        Vector512<float> x, Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3,
        ref Vector512<float> c0, ref Vector512<float> c1, ref Vector512<float> c2, ref Vector512<float> c3)
    {
        c0 = Vector512.FusedMultiplyAdd(x, m0, c0);
        c1 = Vector512.FusedMultiplyAdd(x, m1, c1);
        c2 = Vector512.FusedMultiplyAdd(x, m2, c2);
        c3 = Vector512.FusedMultiplyAdd(x, m3, c3);
    }

    /// <summary>c_k = fma(x, p[16k..16k+16), c_k) for k &lt; 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma4(Vector512<float> x, ref float p, ref Vector512<float> c0, ref Vector512<float> c1, ref Vector512<float> c2, ref Vector512<float> c3)
    {
        c0 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p), c0);
        c1 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p, 16), c1);
        c2 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p, 32), c2);
        c3 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref p, 48), c3);
    }

    /// <summary>As <see cref="Fma4(Vector512{float}, ref float, ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float})"/>, also copying p's 64 values to q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FmaAndCopy4(Vector512<float> x, ref float p, ref float q, ref Vector512<float> c0, ref Vector512<float> c1, ref Vector512<float> c2, ref Vector512<float> c3)
    {
        c0 = Vector512.FusedMultiplyAdd(x, Copy(ref p, ref q, 0), c0);
        c1 = Vector512.FusedMultiplyAdd(x, Copy(ref p, ref q, 16), c1);
        c2 = Vector512.FusedMultiplyAdd(x, Copy(ref p, ref q, 32), c2);
        c3 = Vector512.FusedMultiplyAdd(x, Copy(ref p, ref q, 48), c3);
    }

    /// <summary>Loads 16 values at p + i, stores them at q + i, returns them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Copy(ref float p, ref float q, nuint i)
    {
        var v = Vector512.LoadUnsafe(ref p, i);
        v.StoreUnsafe(ref q, i);
        return v;
    }
}
