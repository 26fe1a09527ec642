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
    /// <summary>12×32 tile: 24 zmm accumulators, B row loaded as 2 vectors, A broadcast per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel512x12(int kc, float* a, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        => Kernel512<Rows12, PackedA>(kc, a, 0, b, ldb, c, ldc, mr, nr, alpha, beta);

    /// <summary>The first 8 rows of a 12-row panel (a tile of at most 8 rows: the same sums, a third fewer multiply-adds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel512x8(int kc, float* a, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        => Kernel512<Rows8, PackedA>(kc, a, 0, b, ldb, c, ldc, mr, nr, alpha, beta);

    /// <summary>The first 4 rows of a 12-row panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel512x4(int kc, float* a, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        => Kernel512<Rows4, PackedA>(kc, a, 0, b, ldb, c, ldc, mr, nr, alpha, beta);

    /// <summary>
    /// The 12-, 8- and 4-row kernels reading A where it is instead of from a packed panel (the
    /// same sums): <c>Rows</c> takes TR full rows of a row-major A (<paramref name="lda"/> apart,
    /// broadcasts walk each row), <c>Cols</c> TR contiguous values of each row of a stored Aᵀ
    /// (one row of Aᵀ per step). Only full 4-, 8- or 12-row panels: nothing past row TR is read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KernelRows512x12(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        => Kernel512<Rows12, RowsA>(kc, a, lda, b, ldb, c, ldc, mr, nr, alpha, beta);

    /// <inheritdoc cref="KernelRows512x12"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KernelRows512x8(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        => Kernel512<Rows8, RowsA>(kc, a, lda, b, ldb, c, ldc, mr, nr, alpha, beta);

    /// <inheritdoc cref="KernelRows512x12"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KernelRows512x4(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        => Kernel512<Rows4, RowsA>(kc, a, lda, b, ldb, c, ldc, mr, nr, alpha, beta);

    /// <inheritdoc cref="KernelRows512x12"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KernelCols512x12(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        => Kernel512<Rows12, ColsA>(kc, a, lda, b, ldb, c, ldc, mr, nr, alpha, beta);

    /// <inheritdoc cref="KernelRows512x12"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KernelCols512x8(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        => Kernel512<Rows8, ColsA>(kc, a, lda, b, ldb, c, ldc, mr, nr, alpha, beta);

    /// <inheritdoc cref="KernelRows512x12"/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KernelCols512x4(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        => Kernel512<Rows4, ColsA>(kc, a, lda, b, ldb, c, ldc, mr, nr, alpha, beta);

    /// <summary>
    /// The first TR (4, 8 or 12) rows of a packed 12-row panel times a 32-column panel; the
    /// accumulators of the other rows are compiled away. Every element gets the same sum as in
    /// the 12-row kernel, so which one runs a tile never changes the result.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512<TR, TA>(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
        where TR : struct, IRows
        where TA : struct, IAPanel
    {
        int tr = TR.Value;
        // Rows: byte offsets of rows 1..5 from a and from aRow6 = row 6 (x86 addressing scales 1, 2, 4).
        nint l = lda * sizeof(float), l3 = 3 * l, l5 = 5 * l;
        byte* aRow6 = (byte*)a + (6 * l);
        nint step = TA.Mode == ColsMode ? lda : TA.Mode == RowsMode ? 1 : 12;
        Vector512<float> c0L = default, c0H = default;
        Vector512<float> c1L = default, c1H = default;
        Vector512<float> c2L = default, c2H = default;
        Vector512<float> c3L = default, c3H = default;
        Vector512<float> c4L = default, c4H = default;
        Vector512<float> c5L = default, c5H = default;
        Vector512<float> c6L = default, c6H = default;
        Vector512<float> c7L = default, c7H = default;
        Vector512<float> c8L = default, c8H = default;
        Vector512<float> c9L = default, c9H = default;
        Vector512<float> c10L = default, c10H = default;
        Vector512<float> c11L = default, c11H = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> a0 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 0));
            c0L = Vector512.FusedMultiplyAdd(a0, b0, c0L);
            c0H = Vector512.FusedMultiplyAdd(a0, b1, c0H);
            Vector512<float> a1 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 1));
            c1L = Vector512.FusedMultiplyAdd(a1, b0, c1L);
            c1H = Vector512.FusedMultiplyAdd(a1, b1, c1H);
            Vector512<float> a2 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 2));
            c2L = Vector512.FusedMultiplyAdd(a2, b0, c2L);
            c2H = Vector512.FusedMultiplyAdd(a2, b1, c2H);
            Vector512<float> a3 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 3));
            c3L = Vector512.FusedMultiplyAdd(a3, b0, c3L);
            c3H = Vector512.FusedMultiplyAdd(a3, b1, c3H);
            if (tr > 4)
            {
                Vector512<float> a4 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 4));
                c4L = Vector512.FusedMultiplyAdd(a4, b0, c4L);
                c4H = Vector512.FusedMultiplyAdd(a4, b1, c4H);
                Vector512<float> a5 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 5));
                c5L = Vector512.FusedMultiplyAdd(a5, b0, c5L);
                c5H = Vector512.FusedMultiplyAdd(a5, b1, c5H);
                Vector512<float> a6 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 6));
                c6L = Vector512.FusedMultiplyAdd(a6, b0, c6L);
                c6H = Vector512.FusedMultiplyAdd(a6, b1, c6H);
                Vector512<float> a7 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 7));
                c7L = Vector512.FusedMultiplyAdd(a7, b0, c7L);
                c7H = Vector512.FusedMultiplyAdd(a7, b1, c7H);
            }

            if (tr > 8)
            {
                Vector512<float> a8 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 8));
                c8L = Vector512.FusedMultiplyAdd(a8, b0, c8L);
                c8H = Vector512.FusedMultiplyAdd(a8, b1, c8H);
                Vector512<float> a9 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 9));
                c9L = Vector512.FusedMultiplyAdd(a9, b0, c9L);
                c9H = Vector512.FusedMultiplyAdd(a9, b1, c9H);
                Vector512<float> a10 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 10));
                c10L = Vector512.FusedMultiplyAdd(a10, b0, c10L);
                c10H = Vector512.FusedMultiplyAdd(a10, b1, c10H);
                Vector512<float> a11 = Vector512.Create(*A<TA>(a, aRow6, l, l3, l5, 11));
                c11L = Vector512.FusedMultiplyAdd(a11, b0, c11L);
                c11H = Vector512.FusedMultiplyAdd(a11, b1, c11H);
            }

            a += step;
            if (TA.Mode == RowsMode)
            {
                aRow6 += sizeof(float);
            }
            b += ldb;
        }

        var epilogue = new Epilogue512(alpha, beta, nr);
        epilogue.Store(c + (0 * ldc), c0L, c0H);
        if (mr == 1)
        {
            return;
        }

        epilogue.Store(c + (1 * ldc), c1L, c1H);
        if (mr == 2)
        {
            return;
        }

        epilogue.Store(c + (2 * ldc), c2L, c2H);
        if (mr == 3)
        {
            return;
        }

        epilogue.Store(c + (3 * ldc), c3L, c3H);
        if (mr == 4 || tr == 4)
        {
            return;
        }

        epilogue.Store(c + (4 * ldc), c4L, c4H);
        if (mr == 5)
        {
            return;
        }

        epilogue.Store(c + (5 * ldc), c5L, c5H);
        if (mr == 6)
        {
            return;
        }

        epilogue.Store(c + (6 * ldc), c6L, c6H);
        if (mr == 7)
        {
            return;
        }

        epilogue.Store(c + (7 * ldc), c7L, c7H);
        if (mr == 8 || tr == 8)
        {
            return;
        }

        epilogue.Store(c + (8 * ldc), c8L, c8H);
        if (mr == 9)
        {
            return;
        }

        epilogue.Store(c + (9 * ldc), c9L, c9H);
        if (mr == 10)
        {
            return;
        }

        epilogue.Store(c + (10 * ldc), c10L, c10H);
        if (mr == 11)
        {
            return;
        }

        epilogue.Store(c + (11 * ldc), c11L, c11H);
    }

    private const int PackedMode = 0, RowsMode = 1, ColsMode = 2;

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

    /// <summary>A compile-time row count for <see cref="Kernel512{TR, TA}"/> (the JIT folds it per instantiation).</summary>
    private interface IRows
    {
        static abstract int Value { get; }
    }

    private struct Rows4 : IRows { public static int Value => 4; }

    private struct Rows8 : IRows { public static int Value => 8; }

    private struct Rows12 : IRows { public static int Value => 12; }

    /// <summary>6×16 tile: 12 ymm accumulators (16 ymm registers without AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel256x6(int kc, float* a, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
    {
        Vector256<float> c0L = default, c0H = default;
        Vector256<float> c1L = default, c1H = default;
        Vector256<float> c2L = default, c2H = default;
        Vector256<float> c3L = default, c3H = default;
        Vector256<float> c4L = default, c4H = default;
        Vector256<float> c5L = default, c5H = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> a0 = Vector256.Create(a[0]);
            c0L = Vector256.FusedMultiplyAdd(a0, b0, c0L);
            c0H = Vector256.FusedMultiplyAdd(a0, b1, c0H);
            Vector256<float> a1 = Vector256.Create(a[1]);
            c1L = Vector256.FusedMultiplyAdd(a1, b0, c1L);
            c1H = Vector256.FusedMultiplyAdd(a1, b1, c1H);
            Vector256<float> a2 = Vector256.Create(a[2]);
            c2L = Vector256.FusedMultiplyAdd(a2, b0, c2L);
            c2H = Vector256.FusedMultiplyAdd(a2, b1, c2H);
            Vector256<float> a3 = Vector256.Create(a[3]);
            c3L = Vector256.FusedMultiplyAdd(a3, b0, c3L);
            c3H = Vector256.FusedMultiplyAdd(a3, b1, c3H);
            Vector256<float> a4 = Vector256.Create(a[4]);
            c4L = Vector256.FusedMultiplyAdd(a4, b0, c4L);
            c4H = Vector256.FusedMultiplyAdd(a4, b1, c4H);
            Vector256<float> a5 = Vector256.Create(a[5]);
            c5L = Vector256.FusedMultiplyAdd(a5, b0, c5L);
            c5H = Vector256.FusedMultiplyAdd(a5, b1, c5H);
            a += 6;
            b += ldb;
        }

        var epilogue = new Epilogue256(alpha, beta, nr);
        epilogue.Store(c + (0 * ldc), c0L, c0H);
        if (mr == 1)
        {
            return;
        }

        epilogue.Store(c + (1 * ldc), c1L, c1H);
        if (mr == 2)
        {
            return;
        }

        epilogue.Store(c + (2 * ldc), c2L, c2H);
        if (mr == 3)
        {
            return;
        }

        epilogue.Store(c + (3 * ldc), c3L, c3H);
        if (mr == 4)
        {
            return;
        }

        epilogue.Store(c + (4 * ldc), c4L, c4H);
        if (mr == 5)
        {
            return;
        }

        epilogue.Store(c + (5 * ldc), c5L, c5H);
    }

    /// <summary>Portable 4×4 tile for machines without SIMD; same accumulation order as the vector kernels.</summary>
    internal static void KernelScalar4x4(int kc, float* a, float* b, nint ldb, float* c, nint ldc, int mr, int nr, float alpha, float beta)
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

    /// <summary>Stores one 32-wide row of a tile: full stores, or masked ones at the right edge.</summary>
    private readonly struct Epilogue512
    {
        private readonly Vector512<float> _alpha;
        private readonly Vector512<float> _beta;
        private readonly Vector512<float> _maskL;
        private readonly Vector512<float> _maskH;
        private readonly bool _betaZero;
        private readonly bool _full;

        public Epilogue512(float alpha, float beta, int nr)
        {
            _alpha = Vector512.Create(alpha);
            _beta = Vector512.Create(beta);
            _betaZero = beta == 0;
            _full = nr == 32;
            Vector512<int> lane = Vector512<int>.Indices;
            _maskL = Vector512.LessThan(lane, Vector512.Create(nr)).AsSingle();
            _maskH = Vector512.LessThan(lane, Vector512.Create(nr - 16)).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(float* c, Vector512<float> accL, Vector512<float> accH)
        {
            if (_full)
            {
                if (_betaZero)
                {
                    Vector512.Store(accL * _alpha, c);
                    Vector512.Store(accH * _alpha, c + 16);
                }
                else
                {
                    Vector512.Store(Vector512.FusedMultiplyAdd(accL, _alpha, _beta * Vector512.Load(c)), c);
                    Vector512.Store(Vector512.FusedMultiplyAdd(accH, _alpha, _beta * Vector512.Load(c + 16)), c + 16);
                }
            }
            else if (_betaZero)
            {
                Avx512F.MaskStore(c, _maskL, accL * _alpha);
                Avx512F.MaskStore(c + 16, _maskH, accH * _alpha);
            }
            else
            {
                Vector512<float> oldL = Avx512F.MaskLoad(c, _maskL, Vector512<float>.Zero);
                Vector512<float> oldH = Avx512F.MaskLoad(c + 16, _maskH, Vector512<float>.Zero);
                Avx512F.MaskStore(c, _maskL, Vector512.FusedMultiplyAdd(accL, _alpha, _beta * oldL));
                Avx512F.MaskStore(c + 16, _maskH, Vector512.FusedMultiplyAdd(accH, _alpha, _beta * oldH));
            }
        }
    }

    /// <summary>Stores one 16-wide row of a tile: full stores, or masked ones at the right edge.</summary>
    private readonly struct Epilogue256
    {
        private readonly Vector256<float> _alpha;
        private readonly Vector256<float> _beta;
        private readonly Vector256<float> _maskL;
        private readonly Vector256<float> _maskH;
        private readonly bool _betaZero;
        private readonly bool _full;

        public Epilogue256(float alpha, float beta, int nr)
        {
            _alpha = Vector256.Create(alpha);
            _beta = Vector256.Create(beta);
            _betaZero = beta == 0;
            _full = nr == 16;
            Vector256<int> lane = Vector256<int>.Indices;
            _maskL = Vector256.LessThan(lane, Vector256.Create(nr)).AsSingle();
            _maskH = Vector256.LessThan(lane, Vector256.Create(nr - 8)).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(float* c, Vector256<float> accL, Vector256<float> accH)
        {
            if (_full)
            {
                if (_betaZero)
                {
                    Vector256.Store(accL * _alpha, c);
                    Vector256.Store(accH * _alpha, c + 8);
                }
                else
                {
                    Vector256.Store(Vector256.FusedMultiplyAdd(accL, _alpha, _beta * Vector256.Load(c)), c);
                    Vector256.Store(Vector256.FusedMultiplyAdd(accH, _alpha, _beta * Vector256.Load(c + 8)), c + 8);
                }
            }
            else if (_betaZero)
            {
                Avx.MaskStore(c, _maskL, accL * _alpha);
                Avx.MaskStore(c + 8, _maskH, accH * _alpha);
            }
            else
            {
                Vector256<float> oldL = Avx.MaskLoad(c, _maskL);
                Vector256<float> oldH = Avx.MaskLoad(c + 8, _maskH);
                Avx.MaskStore(c, _maskL, Vector256.FusedMultiplyAdd(accL, _alpha, _beta * oldL));
                Avx.MaskStore(c + 8, _maskH, Vector256.FusedMultiplyAdd(accH, _alpha, _beta * oldH));
            }
        }
    }
}
