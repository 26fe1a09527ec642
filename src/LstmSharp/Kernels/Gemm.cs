using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Kernels;

/// <summary>
/// Single-precision general matrix multiply on row-major storage:
/// <c>C[m, n] = alpha · op(A)[m, k] · op(B)[k, n] + beta · C</c>, where op(X) is X or Xᵀ.
/// Leading dimensions are row strides: A is stored as [m, lda] (or [k, lda] when transposed).
/// </summary>
/// <remarks>
/// <para>Design (after the BLIS/GotoBLAS loop nest): the product walks NC-wide column
/// blocks of B, KC-deep slices of k (one slice when k ≤ 512) and MC-tall row blocks of A.
/// For each block, one <see cref="WorkerPool"/> pass first packs the slice of B into kc×NR
/// panels (kept in L2) and the block of A into MR×kc panels (one stays in L1 while the kernel
/// sweeps B), both zero-padded (a row-major B of one slice is read in place, all but a partial
/// last panel); then it runs a register-tiled micro-kernel (12×32 with AVX-512, 6×16 with AVX2, 4×4
/// scalar) over groups of tiles. With AVX-512 and at most MC rows, A is not packed: the
/// kernels broadcast from A's rows (or from a stored Aᵀ's rows) in place, and each thread
/// runs all slices of its own columns in one pass. Pack buffers belong to the calling thread
/// and are reused, so a call allocates nothing.</para>
/// <para>Rows 1×k×n and columns m×k×1 take a GEMV path that streams the matrix once; narrow
/// products (n ≤ 64 with k ≤ 512, or a long k with a small output: m·n ≤ 4096, or m ≤ 64 or
/// m·n ≤ 16384 when op(B) is row-major) take the unpacked paths of <see cref="GemmSmall"/>.</para>
/// <para>Determinism: threads split C by rows and columns only, and every element is summed
/// over k in the same order whatever the split, so results are bit-identical for any
/// <see cref="WorkerPool.ThreadCount"/>.</para>
/// </remarks>
internal static unsafe partial class Gemm
{
    /// <summary>The instruction set the products run on, chosen once at start-up.</summary>
    internal enum Isa
    {
        Scalar,
        Avx2,
        Avx512,
    }

    /// <summary>What this machine runs: AVX-512 (with F), else AVX2 with FMA, else scalar.</summary>
    internal static readonly Isa Path =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? Isa.Avx512
        : Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported ? Isa.Avx2
        : Isa.Scalar;

    /// <summary>The same choice as the lane width of the vector kernels (<see cref="Gemv"/>).</summary>
    internal static readonly LaneWidth Width = Path switch { Isa.Avx512 => LaneWidth.Vector512, Isa.Avx2 => LaneWidth.Vector256, _ => LaneWidth.Scalar };

    /// <summary>Micro-tile rows (broadcast from A) and columns (vector lanes of B).</summary>
    internal static readonly int MR = Path switch { Isa.Avx512 => 12, Isa.Avx2 => 6, _ => 4 };

    internal static readonly int NR = Path switch { Isa.Avx512 => 32, Isa.Avx2 => 16, _ => 4 };

    /// <summary>Depth of a packed slice: an MR×KC panel of A fits L1 beside the streamed B rows.</summary>
    internal const int KC = 256;

    /// <summary>
    /// Deepest k taken as one slice: up to here a call packs and computes once instead of
    /// once per KC slice (each slice costs two pool passes), and a 12×512 panel of A (24 KiB)
    /// still fits L1.
    /// </summary>
    internal const int KCMax = 512;

    /// <summary>Rows of A packed per block.</summary>
    internal static readonly int MC = MR * 16;

    /// <summary>Columns of B packed per block: KC×NC floats = 1 MiB, half of a 2 MiB L2.</summary>
    internal const int NC = 1024;

    /// <summary>Below this many multiply-adds a call runs on one thread (dispatch would cost more).</summary>
    internal const long ParallelMinMacs = 1L << 19;

    /// <summary>Below this many matrix elements a GEMV runs on one thread (measured: 128×512 is already faster on two).</summary>
    internal const long GemvParallelMinElements = 1L << 16;

    /// <summary>The instruction set the kernels use in this process (for tests and benchmarks).</summary>
    internal static string InstructionSet => Path.ToString();

    /// <summary>C = alpha·op(A)·op(B) + beta·C. With beta = 0, C's old contents are ignored (NaNs included).</summary>
    /// <param name="transA">Use Aᵀ: A is stored as [k, lda] instead of [m, lda].</param>
    /// <param name="transB">Use Bᵀ: B is stored as [n, ldb] instead of [k, ldb].</param>
    /// <param name="m">Rows of op(A) and C.</param>
    /// <param name="n">Columns of op(B) and C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="alpha">Scale of the product; 0 leaves A and B unread.</param>
    /// <param name="a">A, row-major with row stride <paramref name="lda"/>.</param>
    /// <param name="lda">Row stride of A, at least its row width (k, or m when transposed).</param>
    /// <param name="b">B, row-major with row stride <paramref name="ldb"/>.</param>
    /// <param name="ldb">Row stride of B, at least its row width (n, or k when transposed).</param>
    /// <param name="beta">Scale of C's old contents; 0 overwrites C.</param>
    /// <param name="c">C [m, ldc], updated in place.</param>
    /// <param name="ldc">Row stride of C, at least n.</param>
    public static void Sgemm(
        bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0)
        {
            return;
        }

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            if (k == 0 || alpha == 0)
            {
                ScaleC(m, n, beta, pc, ldc);
            }
            else if (m == 1 || n == 1)
            {
                Gemv.Product(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            }
            else if (GemmSmall.UseDirect(m, n, k))
            {
                GemmSmall.Direct(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            }
            else if (GemmSmall.UseSplit(transB, m, n, k))
            {
                GemmSmall.Split(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            }
            else
            {
                Blocked(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            }
        }
    }

    private static void Validate(
        bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        const string Op = "Gemm.Sgemm";
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentOutOfRangeException(
                m < 0 ? nameof(m) : n < 0 ? nameof(n) : nameof(k),
                $"{Op}: sizes must be ≥ 0, got m={m}, n={n}, k={k}.");
        }

        CheckOperand(Op, "a", "lda", transA ? k : m, transA ? m : k, aLength, lda, "op(A)", m, k);
        CheckOperand(Op, "b", "ldb", transB ? n : k, transB ? k : n, bLength, ldb, "op(B)", k, n);
        CheckOperand(Op, "c", "ldc", m, n, cLength, ldc, "C", m, n);
    }

    private static void CheckOperand(
        string op, string name, string ldName, int rows, int cols, int length, int ld, string what, int r, int cl)
    {
        if (ld < cols || ld < 1)
        {
            throw new ArgumentOutOfRangeException(
                ldName, $"{op}: {ldName} must be ≥ max(1, {cols}) (the stored row width of {what} [{r}, {cl}]), got {ld}.");
        }

        long needed = rows == 0 || cols == 0 ? 0 : ((long)(rows - 1) * ld) + cols;
        if (length < needed)
        {
            throw new ArgumentException(
                $"{op}: {name} holds {length} elements, expected at least {needed} for {what} [{r}, {cl}] "
                + $"stored as {rows} rows with {ldName}={ld}.",
                name);
        }
    }

    private static void ScaleC(int m, int n, float beta, float* c, nint ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (i * ldc), n);
            if (beta == 0)
            {
                row.Clear();
            }
            else if (beta != 1)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
            }
        }
    }

    // ---------------------------------------------------------------- blocked GEMM

    /// <summary>
    /// The loop nest. For each (NC column block, KC slice, MC row block) one pool pass packs
    /// the panels of A (and of B, once per slice) into the calling thread's buffers, waits in
    /// the pass until all are packed, then runs the micro-kernels over the tiles. Usually each
    /// participant owns a contiguous range of column panels (it packs and consumes them, so they
    /// stay in its L2); otherwise tile groups are claimed dynamically. k up to
    /// <see cref="KCMax"/> is one slice, so a medium product is a single pool pass. A product
    /// of at most MC rows on AVX-512 is one pass for the whole depth
    /// (<see cref="BlockedJob.ExecuteIndependent"/>).
    /// </summary>
    private static void Blocked(
        bool transA, bool transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        WorkerPool pool = WorkerPool.Shared;
        int threads = (long)m * n * k < ParallelMinMacs ? 1 : pool.ThreadCount;
        PackBuffers buffers = PackBuffers.ForCurrentThread();
        var job = new BlockedJob
        {
            TransA = transA, TransB = transB,
            Alpha = alpha, A = a, Lda = lda, B = b, Ldb = ldb, C = c, Ldc = ldc,
            PackedA = buffers.A, PackedB = buffers.B, Counters = buffers.Counters,
        };
        int kcStep = k <= KCMax ? k : KC;
        // One slice of a row-major B (the recurrent weights of a per-step product) is read in
        // place when few row panels use it: packing would cost more than the strided reads save.
        // With many row panels the packed panel, which stays in L1, is faster (bench/README.md).
        job.InPlaceB = !transB && k <= KCMax && m <= MC;
        // One row block on AVX-512: the kernels read A where it is (no packed A to share), so
        // threads owning column ranges need nothing from each other and each runs every slice
        // of k in one pool pass, with no barrier (bench/README.md).
        int aMode = Path == Isa.Avx512 && m <= MC ? (transA ? 2 : 1) : 0;
        for (int jc = 0; jc < n; jc += NC)
        {
            job.Jc = jc;
            job.Nc = Math.Min(NC, n - jc);
            int colPanels = (job.Nc + NR - 1) / NR;
            if (aMode != 0 && (threads == 1 || colPanels >= threads))
            {
                job.AMode = aMode;
                job.Ic = 0;
                job.Mc = m;
                job.RowPanels = (m + MR - 1) / MR;
                job.K = k;
                job.KcStep = kcStep;
                job.Beta0 = beta;
                job.Owners = threads;
                if (threads == 1)
                {
                    job.ExecuteIndependent(0);
                }
                else
                {
                    pool.For(threads, job);
                }

                continue;
            }

            job.AMode = 0;
            for (int pc = 0; pc < k; pc += kcStep)
            {
                job.Pc = pc;
                job.Kc = Math.Min(kcStep, k - pc);
                job.BDepth = job.Kc;
                job.Beta = pc == 0 ? beta : 1f;
                int mcStep = RowBlockHeight(job.Kc);
                for (int ic = 0; ic < m; ic += mcStep)
                {
                    job.Ic = ic;
                    job.Mc = Math.Min(mcStep, m - ic);
                    int rowPanels = (job.Mc + MR - 1) / MR;

                    job.PackBPanels = ic == 0 ? colPanels : 0;
                    job.RowPanels = rowPanels;
                    job.NextPc = pc + kcStep;
                    job.NextKc = !transB && ic + mcStep >= m && pc + kcStep < k ? Math.Min(kcStep, k - pc - kcStep) : 0;
                    job.NextMc = job.NextKc > 0 ? Math.Min(m, RowBlockHeight(job.NextKc)) : 0;
                    ChooseTiles(rowPanels, colPanels, job.Kc, threads, out job.RowPanelsPerTask, out job.ColPanelsPerTask);
                    job.ColTasks = (colPanels + job.ColPanelsPerTask - 1) / job.ColPanelsPerTask;
                    job.PackCount = rowPanels + job.PackBPanels;
                    job.TileCount = ((rowPanels + job.RowPanelsPerTask - 1) / job.RowPanelsPerTask) * job.ColTasks;
                    if (threads == 1)
                    {
                        for (int i = 0; i < job.PackCount; i++)
                        {
                            job.Pack(i);
                        }

                        job.ComputeAll();
                    }
                    else
                    {
                        // One pool pass per block: the participants claim pack items, wait
                        // in the pass until every item is packed, then claim tile groups.
                        job.Counters[0] = 0;
                        job.Counters[16] = 0;
                        job.Counters[32] = 0;
                        // Owned column ranges keep each thread's packed B in its own L2; with many
                        // thin row blocks the dynamic split balances better (bench/README.md).
                        job.Owners = colPanels >= threads && (m <= MC || job.Kc >= 128) ? threads : 0;
                        pool.For(threads, job);
                    }
                }
            }
        }
    }

    /// <summary>Rows of A packed per block for a slice kc deep: a shallow slice packs taller row blocks (same A buffer), so fewer pool passes.</summary>
    private static int RowBlockHeight(int kc) => kc >= KC ? MC : Math.Max(MC, (((MC + MR) * KCMax / kc) - MR) / MR * MR);

    /// <summary>
    /// Groups the rowPanels × colPanels tiles of a block into tasks: about 6 per thread, each
    /// at most 16 column panels wide (≤ 512 KiB of packed B at full depth, so it stays in L2).
    /// </summary>
    internal static void ChooseTiles(int rowPanels, int colPanels, int kc, int threads, out int rowPanelsPerTask, out int colPanelsPerTask)
    {
        if (threads == 1)
        {
            rowPanelsPerTask = rowPanels;
            colPanelsPerTask = colPanels;
            return;
        }

        int maxCols = Math.Max(1, (512 * 1024) / (kc * NR * sizeof(float)));
        int colTasks = (colPanels + maxCols - 1) / maxCols;
        int wanted = threads * 6;
        int rowTasks = Math.Clamp(wanted / colTasks, 1, rowPanels);
        if (rowTasks * colTasks < wanted)
        {
            colTasks = Math.Clamp((wanted + rowTasks - 1) / rowTasks, colTasks, colPanels);
        }

        rowPanelsPerTask = (rowPanels + rowTasks - 1) / rowTasks;
        colPanelsPerTask = (colPanels + colTasks - 1) / colTasks;
    }
}
