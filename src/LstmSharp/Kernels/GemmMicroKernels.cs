using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Kernels;

/// <summary>
/// Register-tiled micro-kernels of <see cref="Gemm"/>: C[mr, nr] = alpha·Ã·B̃ + beta·C for one
/// tile, where Ã is a packed MR×kc panel (kc groups of MR values of one column of op(A)) and
/// B̃ kc rows of NR values of op(B), <c>ldb</c> apart: a packed, zero-padded panel (ldb = NR) or
/// a full-width panel read in place from a row-major B.
/// </summary>
/// <remarks>
/// Every element of C is accumulated over p = 0..kc−1 in order with one fused multiply-add
/// per step, then finished with one fused multiply-add <c>acc·alpha + beta·c</c>: the same
/// arithmetic in every path and at every tile position, so results do not depend on how the
/// matrix is split between threads. Edge tiles compute the full tile and mask the stores.
/// </remarks>
internal static unsafe class GemmMicroKernels
{
    /// <summary>
    /// The kernel for a tile of at most <paramref name="rows"/> rows on <paramref name="isa"/>,
    /// reading A as <paramref name="mode"/> says (<see cref="Gemm"/>'s BlockedJob: 0 a packed
    /// panel, 1 rows of a row-major A, 2 rows of a stored Aᵀ, <c>lda</c> apart; only AVX-512 reads
    /// A in place). AVX-512: a 12×32 tile (24 zmm accumulators, a B row loaded as 2 vectors, A
    /// broadcast per row), or its first 8 or 4 rows for a last panel of at most that many (the
    /// same sums, fewer multiply-adds; read in place only full 4-, 8- or 12-row panels: nothing
    /// past row TR is read). AVX2: 6×16 (12 ymm accumulators of the 16 ymm registers). Scalar: 4×4.
    /// </summary>
    internal static delegate*<int, float*, nint, float*, nint, float*, nint, int, int, float, float, void> For(Gemm.Isa isa, int mode, int rows) => isa switch
    {
        Gemm.Isa.Avx512 when mode == RowsMode => For512<RowsA>(rows),
        Gemm.Isa.Avx512 when mode == ColsMode => For512<ColsA>(rows),
        Gemm.Isa.Avx512 => For512<PackedA>(rows),
        Gemm.Isa.Avx2 => &Kernel<Lanes256, Vector256<float>, Edge256, Rows6, PackedA>,
        _ => &KernelScalar4x4,
    };

    private static delegate*<int, float*, nint, float*, nint, float*, nint, int, int, float, float, void> For512<TA>(int rows)
        where TA : struct, IAPanel
        => rows <= 4 ? &Kernel<Lanes512, Vector512<float>, Edge512, Rows4, TA>
        : rows <= 8 ? &Kernel<Lanes512, Vector512<float>, Edge512, Rows8, TA>
        : &Kernel<Lanes512, Vector512<float>, Edge512, Rows12, TA>;

    /// <summary>
    /// The first TR rows of a packed TR.Panel-row panel (or of A read in place, <typeparamref name="TA"/>)
    /// times a panel of two vectors of columns (32 at Vector512, 16 at Vector256); the accumulators of
    /// the other rows are compiled away. Every element gets the same sum as in the full-height
    /// kernel, so which one runs a tile never changes the result.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel<TL, TV, TE, TR, TA>(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        where TL : struct, ILanes<TV>
        where TV : struct
        where TE : struct, IEdge<TV>
        where TR : struct, IRows
        where TA : struct, IAPanel
    {
        int tr = TR.Value, w = TL.Count;
        // Rows: byte offsets of rows 1..5 from a and from aRow6 = row 6 (x86 addressing scales 1, 2, 4).
        nint l = lda * sizeof(float), l3 = 3 * l, l5 = 5 * l;
        byte* aRow6 = (byte*)a + (6 * l);
        nint step = TA.Mode == ColsMode ? lda : TA.Mode == RowsMode ? 1 : TR.Panel;

        // The accumulators of rows 0-3, 4-7 and 8-11: L the first vector of columns, H the second.
        TV c0L = default, c0H = default, c1L = default, c1H = default, c2L = default, c2H = default, c3L = default, c3H = default;
        TV c4L = default, c4H = default, c5L = default, c5H = default, c6L = default, c6H = default, c7L = default, c7H = default;
        TV c8L = default, c8H = default, c9L = default, c9H = default, c10L = default, c10H = default, c11L = default, c11H = default;
        for (int p = 0; p < kc; p++)
        {
            TV b0 = TL.Load(ref *b);
            TV b1 = TL.Load(ref *b, w);
            Fma2<TL, TV, TA>(a, aRow6, l, l3, l5, 0, b0, b1, ref c0L, ref c0H, ref c1L, ref c1H);
            Fma2<TL, TV, TA>(a, aRow6, l, l3, l5, 2, b0, b1, ref c2L, ref c2H, ref c3L, ref c3H);
            if (tr > 4) { Fma2<TL, TV, TA>(a, aRow6, l, l3, l5, 4, b0, b1, ref c4L, ref c4H, ref c5L, ref c5H); }
            if (tr > 6) { Fma2<TL, TV, TA>(a, aRow6, l, l3, l5, 6, b0, b1, ref c6L, ref c6H, ref c7L, ref c7H); }
            if (tr > 8)
            {
                Fma2<TL, TV, TA>(a, aRow6, l, l3, l5, 8, b0, b1, ref c8L, ref c8H, ref c9L, ref c9H);
                Fma2<TL, TV, TA>(a, aRow6, l, l3, l5, 10, b0, b1, ref c10L, ref c10H, ref c11L, ref c11H);
            }

            a += step;
            if (TA.Mode == RowsMode)
            {
                aRow6 += sizeof(float);
            }

            b += ldb;
        }

        // Rows two at a time while the tile (mr) and the kernel (tr) have more.
        var e = new Epilogue<TL, TV, TE>(alpha, beta, nr);
        _ = e.Store2(c, ldc, mr, 0, c0L, c0H, c1L, c1H)
            && e.Store2(c, ldc, mr, 2, c2L, c2H, c3L, c3H)
            && tr > 4 && e.Store2(c, ldc, mr, 4, c4L, c4H, c5L, c5H)
            && tr > 6 && e.Store2(c, ldc, mr, 6, c6L, c6H, c7L, c7H)
            && tr > 8 && e.Store2(c, ldc, mr, 8, c8L, c8H, c9L, c9H)
            && e.Store2(c, ldc, mr, 10, c10L, c10H, c11L, c11H);
    }

    private const int PackedMode = 0, RowsMode = 1, ColsMode = 2;

    /// <summary>Rows r and r + 1 (constants) of the current step: c_rL/H = fma(a_r, (b0, b1), c_rL/H), then row r + 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma2<TL, TV, TA>(float* a, byte* aRow6, nint l, nint l3, nint l5, int r, TV b0, TV b1, ref TV c0L, ref TV c0H, ref TV c1L, ref TV c1H)
        where TL : struct, ILanes<TV>
        where TV : struct
        where TA : struct, IAPanel
    {
        TV x0 = TL.Broadcast(*A<TA>(a, aRow6, l, l3, l5, r));
        c0L = TL.Fma(x0, b0, c0L);
        c0H = TL.Fma(x0, b1, c0H);
        TV x1 = TL.Broadcast(*A<TA>(a, aRow6, l, l3, l5, r + 1));
        c1L = TL.Fma(x1, b0, c1L);
        c1H = TL.Fma(x1, b1, c1H);
    }

    /// <summary>Address of value r of the current step of A (constant r and mode: the JIT folds this into the broadcast's operand).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* A<TA>(float* a, byte* aRow6, nint l, nint l3, nint l5, int r)
        where TA : struct, IAPanel
    {
        if (TA.Mode != RowsMode)
        {
            return a + r;
        }

        byte* row = r < 6 ? (byte*)a : aRow6;
        return (float*)((r % 6) switch
        {
            0 => row,
            1 => row + l,
            2 => row + (2 * l),
            3 => row + l3,
            4 => row + (4 * l),
            _ => row + l5,
        });
    }

    /// <summary>Where a kernel reads A: a packed panel, rows of a row-major A, or rows of a stored Aᵀ.</summary>
    private interface IAPanel
    {
        static abstract int Mode { get; }
    }

    private struct PackedA : IAPanel { public static int Mode => PackedMode; }

    private struct RowsA : IAPanel { public static int Mode => RowsMode; }

    private struct ColsA : IAPanel { public static int Mode => ColsMode; }

    /// <summary>A compile-time row count for <see cref="Kernel{TL, TV, TE, TR, TA}"/> (the JIT folds it per instantiation), and the height of the packed panel it reads.</summary>
    private interface IRows
    {
        static abstract int Value { get; }

        static virtual int Panel => 12;
    }

    private struct Rows4 : IRows { public static int Value => 4; }

    private struct Rows6 : IRows { public static int Value => 6; public static int Panel => 6; }

    private struct Rows8 : IRows { public static int Value => 8; }

    private struct Rows12 : IRows { public static int Value => 12; }

    /// <summary>Portable 4×4 tile (a packed panel: <paramref name="lda"/> unused) for machines without SIMD; same accumulation order as the vector kernels.</summary>
    private static void KernelScalar4x4(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
    {
        float* acc = stackalloc float[16];
        for (int i = 0; i < 16; i++)
        {
            acc[i] = 0;
        }

        for (int p = 0; p < kc; p++)
        {
            for (int r = 0; r < 4; r++)
            {
                float ar = a[r];
                acc[(r * 4) + 0] = MathF.FusedMultiplyAdd(ar, b[0], acc[(r * 4) + 0]);
                acc[(r * 4) + 1] = MathF.FusedMultiplyAdd(ar, b[1], acc[(r * 4) + 1]);
                acc[(r * 4) + 2] = MathF.FusedMultiplyAdd(ar, b[2], acc[(r * 4) + 2]);
                acc[(r * 4) + 3] = MathF.FusedMultiplyAdd(ar, b[3], acc[(r * 4) + 3]);
            }

            a += 4;
            b += ldb;
        }

        for (int r = 0; r < mr; r++)
        {
            float* cr = c + (r * ldc);
            for (int j = 0; j < nr; j++)
            {
                cr[j] = Finish(acc[(r * 4) + j], alpha, beta, cr + j);
            }
        }
    }

    /// <summary>The scalar form of the tile's last step; beta = 0 never reads C (NaN-safe).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Finish(float acc, float alpha, float beta, float* c)
        => beta == 0 ? acc * alpha : MathF.FusedMultiplyAdd(acc, alpha, beta * *c);

    /// <summary>
    /// Stores rows of a tile (two vectors of columns each): full stores, or masked ones at the
    /// right edge (nr columns).
    /// </summary>
    private readonly struct Epilogue<TL, TV, TE>
        where TL : struct, ILanes<TV>
        where TV : struct
        where TE : struct, IEdge<TV>
    {
        private readonly TV _alpha;
        private readonly TV _beta;
        private readonly TV _maskL;
        private readonly TV _maskH;
        private readonly bool _betaZero;
        private readonly bool _full;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Epilogue(float alpha, float beta, int nr)
        {
            _alpha = TL.Broadcast(alpha);
            _beta = TL.Broadcast(beta);
            _betaZero = beta == 0;
            _full = nr == 2 * TL.Count;
            _maskL = TE.FirstLanes(nr);
            _maskH = TE.FirstLanes(nr - TL.Count);
        }

        /// <summary>Rows r and r + 1 of the tile when the tile has them (mr rows); true when it has rows past r + 1.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Store2(float* c, nint ldc, int mr, int r, TV c0L, TV c0H, TV c1L, TV c1H)
        {
            Store(c + (r * ldc), c0L, c0H);
            if (mr > r + 1)
            {
                Store(c + ((r + 1) * ldc), c1L, c1H);
            }

            return mr > r + 2;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(float* c, TV accL, TV accH)
        {
            if (_full)
            {
                TE.Finish(c, accL, _alpha, _beta, _betaZero);
                TE.Finish(c + TL.Count, accH, _alpha, _beta, _betaZero);
            }
            else
            {
                TE.FinishMasked(c, _maskL, accL, _alpha, _beta, _betaZero);
                TE.FinishMasked(c + TL.Count, _maskH, accH, _alpha, _beta, _betaZero);
            }
        }
    }

    /// <summary>
    /// The last step of a tile at one width: c = acc·alpha + beta·c (one rounding; beta = 0 never
    /// reads c), a whole vector or the lanes of a mask (the right edge: lanes outside it are
    /// neither read nor written, so nothing past column nr is touched).
    /// </summary>
    private interface IEdge<TV>
        where TV : struct
    {
        /// <summary>All-ones in lanes [0, count), zero in the others (none when count ≤ 0).</summary>
        static abstract TV FirstLanes(int count);

        static abstract void Finish(float* c, TV acc, TV alpha, TV beta, bool betaZero);

        static abstract void FinishMasked(float* c, TV mask, TV acc, TV alpha, TV beta, bool betaZero);
    }

    private struct Edge512 : IEdge<Vector512<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> FirstLanes(int count) => Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Finish(float* c, Vector512<float> acc, Vector512<float> alpha, Vector512<float> beta, bool betaZero)
            => Vector512.Store(betaZero ? acc * alpha : Vector512.FusedMultiplyAdd(acc, alpha, beta * Vector512.Load(c)), c);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void FinishMasked(float* c, Vector512<float> mask, Vector512<float> acc, Vector512<float> alpha, Vector512<float> beta, bool betaZero)
            => Avx512F.MaskStore(c, mask, betaZero ? acc * alpha : Vector512.FusedMultiplyAdd(acc, alpha, beta * Avx512F.MaskLoad(c, mask, Vector512<float>.Zero)));
    }

    private struct Edge256 : IEdge<Vector256<float>>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> FirstLanes(int count) => Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Finish(float* c, Vector256<float> acc, Vector256<float> alpha, Vector256<float> beta, bool betaZero)
            => Vector256.Store(betaZero ? acc * alpha : Vector256.FusedMultiplyAdd(acc, alpha, beta * Vector256.Load(c)), c);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void FinishMasked(float* c, Vector256<float> mask, Vector256<float> acc, Vector256<float> alpha, Vector256<float> beta, bool betaZero)
            => Avx.MaskStore(c, mask, betaZero ? acc * alpha : Vector256.FusedMultiplyAdd(acc, alpha, beta * Avx.MaskLoad(c, mask)));
    }
}
