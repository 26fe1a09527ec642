using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Kernels;

/// <summary>
/// C [m, n] += A [m, k] · W for a reduced-precision W [k, n] (<see cref="QuantizedMatrix"/>),
/// A and C float32: the products of quantized inference. The weights are widened to float32 in
/// registers (int8: sign-extend and convert; bf16: shift left 16) and multiplied in float32.
/// </summary>
/// <remarks>
/// <para>Every element has ONE summation order on every path: int8 acc = Σ_k a_k·q_kj as a chain
/// of fused multiply-adds from 0 in k order, then c_j = fma(acc, s_j, c_j); bf16 the chain
/// c_j + Σ_k a_k·w_kj in k order. The vector paths put output channels in lanes (a_k broadcast,
/// a row of W loaded), so each lane runs exactly the scalar chain: scalar, Vector256 and
/// Vector512 give the same bits, and so does any split of the rows over threads.</para>
/// <para>Why float activations rather than VNNI (u8·s8 dot products): .NET 10 exposes
/// VPDPBUSD only as <c>AvxVnni</c> (the VEX form, which this Zen 4 lacks; it has the EVEX
/// AVX512_VNNI that .NET 10 does not expose), and no AVX512_BF16 (<c>VDPBF16PS</c>) class at
/// all; checked by <c>IsSupported</c> and reflection on the installed runtime.</para>
/// </remarks>
internal static partial class QuantizedGemm
{
    /// <summary>Rows per parallel index of <see cref="MultiplyAddParallel"/>; any split gives the same bits.</summary>
    private const int ParallelRows = 32;

    private const int ColumnBlock = 64;

    private const long MinParallelWork = 1 << 16;

    /// <summary>C [m, n] += A·W (int8: + s ⊙ (A·q)); A rows lda apart, C rows ldc apart.</summary>
    public static void MultiplyAdd(QuantizedMatrix w, int m, ReadOnlySpan<float> a, int lda, Span<float> c, int ldc, LaneWidth width = LaneWidth.Auto)
    {
        ArgumentNullException.ThrowIfNull(w);
        int k = w.Rows, n = w.Columns;
        if (m <= 0)
        {
            return;
        }

        if (lda < k || ldc < n || a.Length < ((long)(m - 1) * lda) + k || c.Length < ((long)(m - 1) * ldc) + n)
        {
            throw new ArgumentException($"QuantizedGemm: A [{m}, {k}] (lda {lda}, {a.Length} values) or C [{m}, {n}] (ldc {ldc}, {c.Length} values) too small.");
        }

        width = Usable(width);
        int parts = ColumnParts(m, n, k);
        if (parts > 1)
        {
            WorkerPool.Shared.For(parts, new ColumnsJob(w, m, a, lda, c, ldc, width, parts));
            return;
        }

        Columns(w, m, a, lda, c, ldc, width, 0, n);
    }

    /// <summary>
    /// A product of a few rows (batch-1 steps) splits its columns over the pool: one fork-join per
    /// call, worth it from ~64K multiply-adds; blocks of <see cref="ColumnBlock"/> columns, so the
    /// vector paths keep their widest blocks. The bits do not depend on the split.
    /// </summary>
    private static int ColumnParts(int m, int n, int k)
    {
        int threads = WorkerPool.Shared.ThreadCount;
        if (threads == 1 || m >= ParallelRows || (long)m * n * k < MinParallelWork)
        {
            return 1;
        }

        return Math.Min(threads, n / ColumnBlock);
    }

    private static void Columns(QuantizedMatrix w, int m, ReadOnlySpan<float> a, int lda, Span<float> c, int ldc, LaneWidth width, int j0, int j1)
    {
        if (w.Mode == QuantizationMode.Int8)
        {
            Run<Int8Weights>(w, m, a, lda, c, ldc, width, j0, j1);
        }
        else
        {
            Run<BFloat16Weights>(w, m, a, lda, c, ldc, width, j0, j1);
        }
    }

    /// <summary>As <see cref="MultiplyAdd"/>, the rows split over the <see cref="WorkerPool"/> (for the whole-sequence input projection).</summary>
    public static void MultiplyAddParallel(QuantizedMatrix w, int m, ReadOnlySpan<float> a, int lda, Span<float> c, int ldc, LaneWidth width = LaneWidth.Auto)
    {
        int parts = (m + ParallelRows - 1) / ParallelRows;
        if (parts <= 1 || WorkerPool.Shared.ThreadCount == 1)
        {
            MultiplyAdd(w, m, a, lda, c, ldc, width);
            return;
        }

        WorkerPool.Shared.For(parts, new RowsJob(w, m, a, lda, c, ldc, width));
    }

    /// <summary>The width actually run: the requested one where its instructions exist, else the next narrower.</summary>
    internal static LaneWidth Usable(LaneWidth width)
    {
        width = LaneWidths.Resolve(width);
        if (width == LaneWidth.Vector512 && !Avx512F.IsSupported)
        {
            width = LaneWidth.Vector256;
        }

        return width == LaneWidth.Vector256 && !(Avx2.IsSupported && Fma.IsSupported) ? LaneWidth.Scalar : width;
    }

    private static void Run<TW>(QuantizedMatrix w, int m, ReadOnlySpan<float> a, int lda, Span<float> c, int ldc, LaneWidth width, int j0, int j1)
        where TW : struct, IWeightFormat
    {
        ref byte wb = ref MemoryMarshal.GetArrayDataReference(w.Data);
        ref float sb = ref MemoryMarshal.GetArrayDataReference(w.Scales);
        ref float ab = ref MemoryMarshal.GetReference(a);
        ref float cb = ref MemoryMarshal.GetReference(c);
        var shape = new Shape(m, w.Columns, w.Rows, lda, ldc, j0, j1);
        switch (width)
        {
            case LaneWidth.Vector512:
                VectorPath<Lanes512, Vector512<float>, TW>(shape, ref wb, ref sb, ref ab, ref cb);
                break;
            case LaneWidth.Vector256:
                VectorPath<Lanes256, Vector256<float>, TW>(shape, ref wb, ref sb, ref ab, ref cb);
                break;
            default:
                for (int i = 0; i < m; i++)
                {
                    ScalarColumns<TW>(shape, shape.J0, ref wb, ref sb, ref Unsafe.Add(ref ab, i * lda), ref Unsafe.Add(ref cb, i * ldc));
                }

                break;
        }
    }

    /// <summary>The scalar twin for columns [j0, n) of one row: each element's chain in k order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScalarColumns<TW>(in Shape s, int j0, ref byte wb, ref float sb, ref float a, ref float c)
        where TW : struct, IWeightFormat
    {
        for (int j = j0; j < s.J1; j++)
        {
            float acc = TW.Scaled ? 0f : Unsafe.Add(ref c, j);
            for (int p = 0; p < s.K; p++)
            {
                acc = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, p), TW.Scalar(ref wb, (p * s.N) + j), acc);
            }

            Unsafe.Add(ref c, j) = TW.Scaled ? MathF.FusedMultiplyAdd(acc, Unsafe.Add(ref sb, j), Unsafe.Add(ref c, j)) : acc;
        }
    }

    /// <summary>The product's sizes; columns [J0, J1) of C are computed (W's rows are N apart).</summary>
    private readonly record struct Shape(int M, int N, int K, int Lda, int Ldc, int J0, int J1);

    private readonly ref struct RowsJob(QuantizedMatrix w, int m, ReadOnlySpan<float> a, int lda, Span<float> c, int ldc, LaneWidth width) : IParallelJob
    {
        private readonly ReadOnlySpan<float> a = a;
        private readonly Span<float> c = c;

        public void Execute(int index)
        {
            int i0 = index * ParallelRows, rows = Math.Min(ParallelRows, m - i0);
            MultiplyAdd(w, rows, a[(i0 * lda)..], lda, c[(i0 * ldc)..], ldc, width);
        }
    }

    private readonly ref struct ColumnsJob(QuantizedMatrix w, int m, ReadOnlySpan<float> a, int lda, Span<float> c, int ldc, LaneWidth width, int parts) : IParallelJob
    {
        private readonly ReadOnlySpan<float> a = a;
        private readonly Span<float> c = c;

        public void Execute(int index)
        {
            int blocks = (w.Columns + ColumnBlock - 1) / ColumnBlock;
            int j0 = Math.Min(w.Columns, (int)((long)blocks * index / parts) * ColumnBlock);
            int j1 = Math.Min(w.Columns, (int)((long)blocks * (index + 1) / parts) * ColumnBlock);
            Columns(w, m, a, lda, c, ldc, width, j0, j1);
        }
    }

    /// <summary>How one weight format loads and widens its elements (index = row·n + column, in elements).</summary>
    private interface IWeightFormat
    {
        /// <summary>True for int8: the chain starts at 0 and is scaled per column into C.</summary>
        static abstract bool Scaled { get; }

        static abstract int ElementSize { get; }

        static abstract float Scalar(ref byte data, int index);

        static abstract Vector256<float> Load256(ref byte data, int index);

        static abstract Vector512<float> Load512(ref byte data, int index);
    }

    private struct Int8Weights : IWeightFormat
    {
        public static bool Scaled => true;

        public static int ElementSize => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Scalar(ref byte data, int index) => (sbyte)Unsafe.Add(ref data, index);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load256(ref byte data, int index) =>
            Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref data, index))).AsSByte()));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load512(ref byte data, int index) =>
            Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref Unsafe.Add(ref data, index)).AsSByte()));
    }

    private struct BFloat16Weights : IWeightFormat
    {
        public static bool Scaled => false;

        public static int ElementSize => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Scalar(ref byte data, int index) =>
            BitConverter.UInt32BitsToSingle((uint)Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref data, index * 2)) << 16);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load256(ref byte data, int index) =>
            Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref Unsafe.Add(ref data, index * 2)).AsUInt16()), 16).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load512(ref byte data, int index) =>
            Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector256.LoadUnsafe(ref Unsafe.Add(ref data, index * 2)).AsUInt16()), 16).AsSingle();
    }
}
