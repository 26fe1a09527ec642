using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Kernels;

/// <summary>
/// The unpacked paths of <see cref="Gemm"/> for narrow products, where packing A and splitting
/// every KC slice into two pool passes cost more than the arithmetic:
/// <list type="bullet">
/// <item><b>Direct</b> (n ≤ 64, k ≤ 512, e.g. the per-step 128×10·10×40 of a 10-unit LSTM, or a
/// 38400×40·40×15 input gradient): op(B) is copied once into a zero-padded [k, ⌈n/16⌉·16]
/// scratch (skipped when it is already row-major with n a multiple of 16); then a 6-row × up-to-64-column register block walks A in place — broadcasts
/// straight from A's rows or columns. Large m is split over the pool by rows.</item>
/// <item><b>Split-k</b> (k &gt; 1024 and m·n ≤ 4096, or with a row-major op(B) m ≤ 64 or
/// m·n ≤ 16384; e.g. dW = Xᵀ·dZ over a whole sequence, 15×38400·38400×40 or 28×3584·3584×512):
/// k is cut into fixed <see cref="SplitDepth"/>-deep chunks, each chunk's
/// partial product [m, n] is computed by the direct kernel on any thread, then the partials are
/// added in chunk order.</item>
/// </list>
/// </summary>
/// <remarks>
/// Determinism: the path and the chunking depend on the shape only; each element is a sum over
/// its k range in order, one fused multiply-add per step, and partials are added in a fixed
/// order, so results are bit-identical for any thread count. The vector kernel and the scalar
/// twin (<see cref="BlockScalar"/>) do the same arithmetic. Used on the AVX-512 and scalar paths;
/// the AVX2 path keeps the packed kernel.
/// </remarks>
internal static unsafe class GemmSmall
{
    /// <summary>Widest op(B) (columns) the direct path takes: four zmm vectors per row.</summary>
    internal const int MaxDirectWidth = 64;

    /// <summary>Deepest k the direct path takes: a 512×64 strip of B (128 KiB) stays in L2.</summary>
    internal const int MaxDirectDepth = 512;

    /// <summary>Depth of one split-k chunk (fixed: the chunking must not depend on the threads).</summary>
    internal const int SplitDepth = 512;

    /// <summary>Largest m·n the split-k path takes.</summary>
    internal const int SplitMaxOutputs = 4096;

    /// <summary>
    /// With a row-major op(B) (read in place, nothing packed), split-k also takes up to this many
    /// rows or this many outputs: for so few rows the packed path would stream all of B through
    /// its pack buffer for little use (measurements in bench/README.md).
    /// </summary>
    internal const int SplitMaxRowsInPlace = 64;

    /// <inheritdoc cref="SplitMaxRowsInPlace"/>
    internal const int SplitMaxOutputsInPlace = 16384;

    /// <summary>Largest chunks·m·n partial buffer (16 MiB); beyond it the packed path is used.</summary>
    internal const long SplitMaxPartials = 1L << 22;

    private const int RowBlock = 6;

    private static readonly bool Vector = Gemm.Path == Gemm.Isa.Avx512;

    private static readonly bool Enabled = Gemm.Path != Gemm.Isa.Avx2;

    public static bool UseDirect(int m, int n, int k) => Enabled && n <= MaxDirectWidth && k <= MaxDirectDepth;

    public static bool UseSplit(bool transB, int m, int n, int k)
    {
        long outputs = (long)m * n;
        bool narrow = outputs <= SplitMaxOutputs
            || (!transB && (m <= SplitMaxRowsInPlace || outputs <= SplitMaxOutputsInPlace));
        return Enabled && narrow && k > 2 * SplitDepth
            && ChunkCount(k) * outputs <= SplitMaxPartials;
    }

    private static long ChunkCount(int k) => (k + SplitDepth - 1) / SplitDepth;

    /// <summary>Width of the padded op(B) copy.</summary>
    private static int Padded(int n) => (n + 15) & ~15;

    // ---------------------------------------------------------------- direct

    public static void Direct(
        bool transA, bool transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        int ldp = Padded(n);
        float* pb;
        if (!transB && ldp == n)
        {
            pb = b;
            ldp = ldb;
        }
        else
        {
            pb = Scratch.B.Get(k * ldp);
            PackB(transB, b, ldb, 0, k, n, ldp, pb);
        }

        var job = new DirectJob
        {
            A = a, Rs = transA ? 1 : lda, Cs = transA ? lda : 1, B = pb, Ldb = ldp, PaddedB = pb != b, C = c, Ldc = ldc,
            M = m, N = n, K = k, Alpha = alpha, Beta = beta,
        };
        WorkerPool pool = WorkerPool.Shared;
        int threads = (long)m * n * k < Gemm.ParallelMinMacs ? 1 : pool.ThreadCount;
        int tasks = threads == 1 ? 1 : Math.Min(threads * 4, (m + RowBlock - 1) / RowBlock);
        if (tasks <= 1)
        {
            Rows(job, 0, m, 0, k, c, ldc, alpha, beta);
            return;
        }

        job.RowsPerTask = (((m + tasks - 1) / tasks) + RowBlock - 1) / RowBlock * RowBlock;
        pool.For((m + job.RowsPerTask - 1) / job.RowsPerTask, job);
    }

    private struct DirectJob : IParallelJob
    {
        public float* A, B, C;
        public nint Rs, Cs;
        public int Ldb, Ldc, M, N, K, RowsPerTask;
        public bool PaddedB; // B is the zero-padded copy (full loads), else read in place
        public float Alpha, Beta;

        public readonly void Execute(int index)
        {
            int i0 = index * RowsPerTask;
            Rows(this, i0, Math.Min(M, i0 + RowsPerTask), 0, K, C, Ldc, Alpha, Beta);
        }
    }

    /// <summary>
    /// C rows [i0, i1) (C points at row 0) = alpha·op(A)[i0..i1, p0..p0+kc)·B̃ + beta·C, where B̃
    /// is [kc, ldb] already holding rows p0.. of op(B) at its start.
    /// </summary>
    private static void Rows(in DirectJob job, int i0, int i1, int p0, int kc, float* c, int ldc, float alpha, float beta)
    {
        for (int j = 0; j < job.N; j += MaxDirectWidth)
        {
            int valid = Math.Min(MaxDirectWidth, job.N - j);
            int vectors = (valid + 15) / 16;
            for (int i = i0; i < i1; i += RowBlock)
            {
                int rows = Math.Min(RowBlock, i1 - i);
                float* a = job.A + (i * job.Rs) + (p0 * job.Cs);
                float* cij = c + ((nint)i * ldc) + j;
                if (Vector)
                {
                    // Only a B read in place with a partial last vector needs masked loads.
                    bool masked = valid % 16 != 0 && !job.PaddedB;
                    Block512(rows, vectors, masked, kc, a, job.Rs, job.Cs, job.B + j, job.Ldb, cij, ldc, valid, alpha, beta);
                }
                else
                {
                    BlockScalar(rows, kc, a, job.Rs, job.Cs, job.B + j, job.Ldb, cij, ldc, valid, alpha, beta);
                }
            }
        }
    }

    /// <summary>Copies op(B) rows [p0, p0+kc), columns [0, n) into dst [kc, ldp], zeros in columns n..ldp.</summary>
    private static void PackB(bool transB, float* b, nint ldb, int p0, int kc, int n, int ldp, float* dst)
    {
        for (int p = 0; p < kc; p++)
        {
            float* d = dst + ((nint)p * ldp);
            if (transB)
            {
                float* src = b + p0 + p;
                for (int j = 0; j < n; j++)
                {
                    d[j] = src[j * ldb];
                }
            }
            else
            {
                new ReadOnlySpan<float>(b + ((p0 + p) * ldb), n).CopyTo(new Span<float>(d, n));
            }

            for (int j = n; j < ldp; j++)
            {
                d[j] = 0;
            }
        }
    }

    // ---------------------------------------------------------------- split-k

    public static void Split(
        bool transA, bool transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        int chunks = (int)ChunkCount(k);
        int outputs = m * n;
        float* partials = Scratch.Partials.Get(chunks * outputs);
        var job = new SplitJob
        {
            A = a, Rs = transA ? 1 : lda, Cs = transA ? lda : 1, B = b, Ldb = ldb, TransB = transB,
            M = m, N = n, K = k, Partials = partials,
        };
        WorkerPool pool = WorkerPool.Shared;
        int threads = (long)m * n * k < Gemm.ParallelMinMacs ? 1 : pool.ThreadCount;
        if (threads == 1)
        {
            for (int t = 0; t < chunks; t++)
            {
                job.Execute(t);
            }
        }
        else
        {
            pool.For(chunks, job);
        }

        // Chunk order, elementwise: the same sums whatever thread computed each partial.
        for (int t = 1; t < chunks; t++)
        {
            var sum = new Span<float>(partials, outputs);
            System.Numerics.Tensors.TensorPrimitives.Add(sum, new ReadOnlySpan<float>(partials + ((nint)t * outputs), outputs), sum);
        }

        for (int i = 0; i < m; i++)
        {
            float* s = partials + (i * n);
            float* ci = c + ((nint)i * ldc);
            for (int j = 0; j < n; j++)
            {
                ci[j] = GemmMicroKernels.Finish(s[j], alpha, beta, ci + j);
            }
        }
    }

    private struct SplitJob : IParallelJob
    {
        public float* A, B, Partials;
        public nint Rs, Cs;
        public int Ldb, M, N, K;
        public bool TransB;

        public readonly void Execute(int index)
        {
            int p0 = index * SplitDepth;
            int kc = Math.Min(SplitDepth, K - p0);
            int ldp = Ldb;
            float* pb = B + ((nint)p0 * Ldb);
            if (TransB)
            {
                ldp = Padded(N);
                pb = Scratch.B.Get(kc * ldp);
                PackB(TransB, B, Ldb, p0, kc, N, ldp, pb);
            }

            var direct = new DirectJob { A = A, Rs = Rs, Cs = Cs, B = pb, Ldb = ldp, PaddedB = TransB, M = M, N = N, K = kc };
            Rows(direct, 0, M, p0, kc, Partials + ((nint)index * M * N), N, 1f, 0f);
        }
    }

    // ---------------------------------------------------------------- kernels

    /// <summary>Register-block dispatch: rows ∈ 1..6, vectors ∈ 1..4 (16 columns each).</summary>
    private static void Block512(int rows, int vectors, bool masked, int k, float* a, nint rs, nint cs, float* b, nint ldb, float* c, nint ldc, int valid, float alpha, float beta)
    {
        switch (masked ? -vectors : vectors)
        {
            case 1: Block512<V1>(rows, k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            case 2: Block512<V2>(rows, k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            case 3: Block512<V3>(rows, k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            case 4: Block512<V4>(rows, k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            case -1: Block512<M1>(rows, k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            case -2: Block512<M2>(rows, k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            case -3: Block512<M3>(rows, k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            default: Block512<M4>(rows, k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
        }
    }

    private static void Block512<TV>(int rows, int k, float* a, nint rs, nint cs, float* b, nint ldb, float* c, nint ldc, int valid, float alpha, float beta)
        where TV : struct, ICount
    {
        switch (rows)
        {
            case 1: Kernel512<V1, TV>(k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            case 2: Kernel512<V2, TV>(k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            case 3: Kernel512<V3, TV>(k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            case 4: Kernel512<V4, TV>(k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            case 5: Kernel512<V5, TV>(k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
            default: Kernel512<V6, TV>(k, a, rs, cs, b, ldb, c, ldc, valid, alpha, beta); break;
        }
    }

    /// <summary>
    /// TR×(16·TV) block: c[r, j] = Finish(Σ_p a[r·rs + p·cs]·b[p·ldb + j]) for j &lt; valid.
    /// Unused accumulators are compiled away (TR and TV are constants in each instantiation).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512<TR, TV>(int k, float* a, nint rs, nint cs, float* b, nint ldb, float* c, nint ldc, int valid, float alpha, float beta)
        where TR : struct, ICount
        where TV : struct, ICount
    {
        int nr = TR.Value, nv = TV.Value;
        bool masked = TV.Masked;
        nint rs2 = rs * 2, rs3 = rs * 3, rs4 = rs * 4, rs5 = rs * 5;
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector512<float> c50 = default, c51 = default, c52 = default, c53 = default;
        // With B read in place, the last vector may run past column `valid`: masked (TV.Masked),
        // so no read leaves the row. A padded copy is read with full loads.
        Vector512<float> last = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(valid - (16 * (nv - 1)))).AsSingle();
        for (int p = 0; p < k; p++, a += cs, b += ldb)
        {
            Vector512<float> b0 = masked && nv == 1 ? Avx512F.MaskLoad(b, last, Vector512<float>.Zero) : Vector512.Load(b);
            Vector512<float> b1 = masked && nv == 2 ? Avx512F.MaskLoad(b + 16, last, Vector512<float>.Zero) : nv > 1 ? Vector512.Load(b + 16) : default;
            Vector512<float> b2 = masked && nv == 3 ? Avx512F.MaskLoad(b + 32, last, Vector512<float>.Zero) : nv > 2 ? Vector512.Load(b + 32) : default;
            Vector512<float> b3 = masked && nv == 4 ? Avx512F.MaskLoad(b + 48, last, Vector512<float>.Zero) : nv > 3 ? Vector512.Load(b + 48) : default;
            Fma<TV>(Vector512.Create(a[0]), b0, b1, b2, b3, ref c00, ref c01, ref c02, ref c03);
            if (nr > 1) { Fma<TV>(Vector512.Create(a[rs]), b0, b1, b2, b3, ref c10, ref c11, ref c12, ref c13); }
            if (nr > 2) { Fma<TV>(Vector512.Create(a[rs2]), b0, b1, b2, b3, ref c20, ref c21, ref c22, ref c23); }
            if (nr > 3) { Fma<TV>(Vector512.Create(a[rs3]), b0, b1, b2, b3, ref c30, ref c31, ref c32, ref c33); }
            if (nr > 4) { Fma<TV>(Vector512.Create(a[rs4]), b0, b1, b2, b3, ref c40, ref c41, ref c42, ref c43); }
            if (nr > 5) { Fma<TV>(Vector512.Create(a[rs5]), b0, b1, b2, b3, ref c50, ref c51, ref c52, ref c53); }
        }

        var e = new Epilogue(alpha, beta);
        e.Row<TV>(c, valid, c00, c01, c02, c03);
        if (nr > 1) { e.Row<TV>(c + ldc, valid, c10, c11, c12, c13); }
        if (nr > 2) { e.Row<TV>(c + (2 * ldc), valid, c20, c21, c22, c23); }
        if (nr > 3) { e.Row<TV>(c + (3 * ldc), valid, c30, c31, c32, c33); }
        if (nr > 4) { e.Row<TV>(c + (4 * ldc), valid, c40, c41, c42, c43); }
        if (nr > 5) { e.Row<TV>(c + (5 * ldc), valid, c50, c51, c52, c53); }
    }

    /// <summary>One row of the block: c_v = fma(x, b_v, c_v) for the TV.Value vectors v (the others are compiled away).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma<TV>(
        Vector512<float> x, Vector512<float> b0, Vector512<float> b1, Vector512<float> b2, Vector512<float> b3,
        ref Vector512<float> c0, ref Vector512<float> c1, ref Vector512<float> c2, ref Vector512<float> c3)
        where TV : struct, ICount
    {
        c0 = Vector512.FusedMultiplyAdd(x, b0, c0);
        if (TV.Value > 1) { c1 = Vector512.FusedMultiplyAdd(x, b1, c1); }
        if (TV.Value > 2) { c2 = Vector512.FusedMultiplyAdd(x, b2, c2); }
        if (TV.Value > 3) { c3 = Vector512.FusedMultiplyAdd(x, b3, c3); }
    }

    private readonly struct Epilogue(float alpha, float beta)
    {
        private readonly Vector512<float> _alpha = Vector512.Create(alpha);
        private readonly Vector512<float> _beta = Vector512.Create(beta);
        private readonly bool _betaZero = beta == 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Row<TV>(float* c, int valid, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3)
            where TV : struct, ICount
        {
            Put(c, valid, v0);
            if (TV.Value > 1) { Put(c + 16, valid - 16, v1); }
            if (TV.Value > 2) { Put(c + 32, valid - 32, v2); }
            if (TV.Value > 3) { Put(c + 48, valid - 48, v3); }
        }

        /// <summary>Finishes up to 16 values (fewer when <paramref name="count"/> &lt; 16; none past it are touched).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Put(float* c, int count, Vector512<float> acc)
        {
            if (count >= 16)
            {
                Vector512.Store(_betaZero ? acc * _alpha : Vector512.FusedMultiplyAdd(acc, _alpha, _beta * Vector512.Load(c)), c);
                return;
            }

            Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();
            Vector512<float> result = _betaZero
                ? acc * _alpha
                : Vector512.FusedMultiplyAdd(acc, _alpha, _beta * Avx512F.MaskLoad(c, mask, Vector512<float>.Zero));
            Avx512F.MaskStore(c, mask, result);
        }
    }

    /// <summary>The scalar twin of <see cref="Kernel512{TR, TV}"/>: same sums in the same order.</summary>
    internal static void BlockScalar(int rows, int k, float* a, nint rs, nint cs, float* b, nint ldb, float* c, nint ldc, int valid, float alpha, float beta)
    {
        for (int r = 0; r < rows; r++)
        {
            float* ar = a + (r * rs);
            float* cr = c + (r * ldc);
            for (int j = 0; j < valid; j++)
            {
                float acc = 0;
                for (int p = 0; p < k; p++)
                {
                    acc = MathF.FusedMultiplyAdd(ar[p * cs], b[(p * ldb) + j], acc);
                }

                cr[j] = GemmMicroKernels.Finish(acc, alpha, beta, cr + j);
            }
        }
    }

    /// <summary>A compile-time count for specialising the kernel (the JIT folds it per instantiation).</summary>
    private interface ICount
    {
        static abstract int Value { get; }

        /// <summary>For a vector count: the last vector is loaded with a mask (B read in place).</summary>
        static virtual bool Masked => false;
    }

    private struct V1 : ICount { public static int Value => 1; }

    private struct V2 : ICount { public static int Value => 2; }

    private struct V3 : ICount { public static int Value => 3; }

    private struct V4 : ICount { public static int Value => 4; }

    private struct V5 : ICount { public static int Value => 5; }

    private struct V6 : ICount { public static int Value => 6; }

    private struct M1 : ICount { public static int Value => 1; public static bool Masked => true; }

    private struct M2 : ICount { public static int Value => 2; public static bool Masked => true; }

    private struct M3 : ICount { public static int Value => 3; public static bool Masked => true; }

    private struct M4 : ICount { public static int Value => 4; public static bool Masked => true; }

    /// <summary>Per-thread pinned scratch, grown on demand and then reused (no allocation per call once warm).</summary>
    private sealed class Scratch
    {
        [ThreadStatic]
        private static Scratch? t_b;

        [ThreadStatic]
        private static Scratch? t_partials;

        private float[] _storage = [];

        public static Scratch B => t_b ??= new Scratch();

        public static Scratch Partials => t_partials ??= new Scratch();

        public float* Get(long length)
        {
            if (_storage.Length < length + 16)
            {
                _storage = GC.AllocateUninitializedArray<float>((int)Math.Max(length + 16, 4096), pinned: true);
            }

            float* start = (float*)Unsafe.AsPointer(ref _storage[0]);
            return (float*)(((nint)start + 63) & ~(nint)63);
        }
    }
}
