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
/// scalar) over groups of tiles. Pack buffers belong to the calling thread and are reused,
/// so a call allocates nothing.</para>
/// <para>Rows 1×k×n and columns m×k×1 take a GEMV path that streams the matrix once; narrow
/// products (n ≤ 64 with k ≤ 512, or a long k with a small output: m·n ≤ 4096, or m ≤ 64 or
/// m·n ≤ 16384 when op(B) is row-major) take the unpacked paths of <see cref="GemmSmall"/>.</para>
/// <para>Determinism: threads split C by rows and columns only, and every element is summed
/// over k in the same order whatever the split, so results are bit-identical for any
/// <see cref="WorkerPool.ThreadCount"/>.</para>
/// </remarks>
public static unsafe class Gemm
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

    private static readonly delegate*<int, float*, float*, nint, float*, nint, int, int, float, float, void> Kernel =
        Path switch
        {
            Isa.Avx512 => &GemmMicroKernels.Kernel512x12,
            Isa.Avx2 => &GemmMicroKernels.Kernel256x6,
            _ => &GemmMicroKernels.KernelScalar4x4,
        };

    /// <summary>Kernels for a last row panel of at most 4 or 8 rows (the AVX-512 path; elsewhere the full kernel).</summary>
    private static readonly delegate*<int, float*, float*, nint, float*, nint, int, int, float, float, void> Kernel4 =
        Path == Isa.Avx512 ? &GemmMicroKernels.Kernel512x4 : Kernel;

    /// <inheritdoc cref="Kernel4"/>
    private static readonly delegate*<int, float*, float*, nint, float*, nint, int, int, float, float, void> Kernel8 =
        Path == Isa.Avx512 ? &GemmMicroKernels.Kernel512x8 : Kernel;

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
                Gemv(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
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
    /// <see cref="KCMax"/> is one slice, so a medium product is a single pool pass.
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
        for (int jc = 0; jc < n; jc += NC)
        {
            job.Jc = jc;
            job.Nc = Math.Min(NC, n - jc);
            int colPanels = (job.Nc + NR - 1) / NR;
            for (int pc = 0; pc < k; pc += kcStep)
            {
                job.Pc = pc;
                job.Kc = Math.Min(kcStep, k - pc);
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

    private struct BlockedJob : IParallelJob
    {
        public bool TransA, TransB;
        public int Lda, Ldb, Ldc;
        public float Alpha, Beta;
        public float* A, B, C, PackedA, PackedB;
        public int* Counters; // [0] next pack item, [16] pack items done, [32] next tile group
        public int Jc, Nc, Pc, Kc, Ic, Mc;
        public bool InPlaceB; // full column panels of a row-major B are read where they are
        public int NextPc, NextKc, NextMc; // the next slice's depth and first row block, to prefetch (NextKc = 0: none)
        public int RowPanels, PackBPanels, RowPanelsPerTask, ColPanelsPerTask, ColTasks, PackCount, TileCount, Owners;

        /// <summary>
        /// One participant's share of the block. Items are claimed dynamically, so a thread
        /// that waits at the pack barrier has nothing left to claim: every unfinished item is
        /// being packed by a running thread, and the wait ends.
        /// </summary>
        public readonly void Execute(int index)
        {
            if (Owners > 0)
            {
                ExecuteOwned(index);
                return;
            }

            int* counters = Counters;
            int item;
            while ((item = Interlocked.Increment(ref counters[0]) - 1) < PackCount)
            {
                Pack(item);
                Interlocked.Increment(ref counters[16]);
            }

            if (Volatile.Read(ref counters[16]) < PackCount)
            {
                SpinWait spin = default;
                while (Volatile.Read(ref counters[16]) < PackCount)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
            }

            while ((item = Interlocked.Increment(ref counters[32]) - 1) < TileCount)
            {
                Compute(item);
            }
        }

        /// <summary>
        /// Participant <paramref name="index"/> of <see cref="Owners"/> owns a contiguous range
        /// of column panels: it packs those panels of B and computes their columns of C, so its
        /// packed B stays in its own L2. Panels of A are shared and claimed dynamically, which
        /// keeps the wait for them deadlock-free when one thread runs several indices.
        /// </summary>
        private readonly void ExecuteOwned(int index)
        {
            int* counters = Counters;
            int item;
            while ((item = Interlocked.Increment(ref counters[0]) - 1) < RowPanels)
            {
                Pack(item);
                Interlocked.Increment(ref counters[16]);
            }

            int colPanels = (Nc + NR - 1) / NR;
            int c0 = (int)((long)index * colPanels / Owners);
            int c1 = (int)((long)(index + 1) * colPanels / Owners);
            if (PackBPanels > 0)
            {
                for (int j = c0; j < c1; j++)
                {
                    Pack(RowPanels + j);
                }
            }

            if (Volatile.Read(ref counters[16]) < RowPanels)
            {
                SpinWait spin = default;
                while (Volatile.Read(ref counters[16]) < RowPanels)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
            }

            Prefetcher prefetch = NextSlice(index, Owners, c0, c1);
            ComputeRange(0, Mc, c0 * NR, Math.Min(Nc, c1 * NR), ref prefetch);
        }

        /// <summary>
        /// While a slice computes, each participant pulls its columns of the next slice of B,
        /// and its share of the next slice of A, towards L2, spread over its tiles: the next
        /// packing then finds them there instead of waiting on memory (a deep product streams
        /// megabytes of B from beyond L2).
        /// </summary>
        private readonly Prefetcher NextSlice(int index, int participants, int c0, int c1)
        {
            var prefetch = default(Prefetcher);
            if (NextKc == 0 || c1 <= c0)
            {
                return prefetch;
            }

            int j0 = c0 * NR, j1 = Math.Min(Nc, c1 * NR);
            prefetch.B = new Region((byte*)(B + ((nint)NextPc * Ldb) + Jc + j0), (nint)Ldb * sizeof(float), NextKc, (j1 - j0) * sizeof(float));
            if (TransA)
            {
                // Rows NextPc.. of A [k, m], columns 0..NextMc: a share of the rows.
                int r0 = (int)((long)index * NextKc / participants), r1 = (int)((long)(index + 1) * NextKc / participants);
                prefetch.A = new Region((byte*)(A + ((nint)(NextPc + r0) * Lda)), (nint)Lda * sizeof(float), r1 - r0, NextMc * sizeof(float));
            }
            else
            {
                // Rows 0..NextMc of A [m, k], columns NextPc..NextPc+NextKc: a share of the rows.
                int r0 = (int)((long)index * NextMc / participants), r1 = (int)((long)(index + 1) * NextMc / participants);
                prefetch.A = new Region((byte*)(A + ((nint)r0 * Lda) + NextPc), (nint)Lda * sizeof(float), r1 - r0, NextKc * sizeof(float));
            }

            int tiles = RowPanels * (c1 - c0);
            prefetch.PerTile = (prefetch.B.Lines + prefetch.A.Lines + tiles - 1) / tiles;
            return prefetch;
        }

        public readonly void Pack(int index)
        {
            int mr = MR, nr = NR;
            if (index < RowPanels)
            {
                int i = index * mr;
                GemmPacking.PackA(TransA, A, Lda, Ic + i, Math.Min(mr, Mc - i), Pc, Kc, mr, PackedA + (i * Kc));
            }
            else
            {
                int j = (index - RowPanels) * nr;
                if (InPlaceB && j + nr <= Nc)
                {
                    return;
                }

                GemmPacking.PackB(TransB, B, Ldb, Pc, Kc, Jc + j, Math.Min(nr, Nc - j), nr, PackedB + (j * Kc));
            }
        }

        /// <summary>All tiles of the block on the calling thread (one participant).</summary>
        public readonly void ComputeAll()
        {
            int colPanels = (Nc + NR - 1) / NR;
            Prefetcher prefetch = NextSlice(0, 1, 0, colPanels);
            ComputeRange(0, Mc, 0, Nc, ref prefetch);
        }

        public readonly void Compute(int index)
        {
            int mr = MR, nr = NR;
            int i0 = index / ColTasks * RowPanelsPerTask * mr;
            int i1 = Math.Min(Mc, i0 + (RowPanelsPerTask * mr));
            int j0 = index % ColTasks * ColPanelsPerTask * nr;
            int j1 = Math.Min(Nc, j0 + (ColPanelsPerTask * nr));
            var none = default(Prefetcher);
            ComputeRange(i0, i1, j0, j1, ref none);
        }

        private readonly void ComputeRange(int i0, int i1, int j0, int j1, ref Prefetcher prefetch)
        {
            int mr = MR, nr = NR;
            int kc = Kc;
            for (int ir = i0; ir < i1; ir += mr)
            {
                int rows = Math.Min(mr, i1 - ir);
                var kernel = rows <= 4 ? Kernel4 : rows <= 8 ? Kernel8 : Kernel;
                float* panelA = PackedA + (ir * kc);
                float* cRow = C + ((nint)(Ic + ir) * Ldc) + Jc;
                for (int jr = j0; jr < j1; jr += nr)
                {
                    bool inPlace = InPlaceB && jr + nr <= Nc;
                    float* panelB = inPlace ? B + ((nint)Pc * Ldb) + Jc + jr : PackedB + (jr * kc);
                    kernel(kc, panelA, panelB, inPlace ? Ldb : nr, cRow + jr, Ldc, rows, Math.Min(nr, j1 - jr), Alpha, Beta);
                    if (prefetch.Pending)
                    {
                        prefetch.Issue();
                    }
                }
            }
        }
    }

    /// <summary>Rows × bytes of a strided matrix region, walked one 64-byte line at a time.</summary>
    private struct Region(byte* start, nint stride, int rows, int bytesPerRow)
    {
        private readonly byte* _start = start;
        private readonly nint _stride = stride;
        private readonly int _linesPerRow = Math.Max(1, (bytesPerRow + 63) / 64);
        private int _row, _col;

        public readonly int Lines => Math.Max(0, rows) * _linesPerRow;

        public readonly bool Done => _row >= rows;

        /// <summary>Prefetches up to <paramref name="count"/> lines; returns how many it issued.</summary>
        public int Issue(int count)
        {
            int issued = 0;
            while (issued < count && _row < rows)
            {
                Sse.Prefetch1(_start + (_row * _stride) + (_col * 64));
                issued++;
                if (++_col == _linesPerRow)
                {
                    _col = 0;
                    _row++;
                }
            }

            return issued;
        }
    }

    /// <summary>The next slice's B then A regions, <see cref="PerTile"/> lines after each tile.</summary>
    private struct Prefetcher
    {
        public Region B, A;
        public int PerTile;

        public readonly bool Pending => PerTile > 0 && !(B.Done && A.Done);

        public void Issue()
        {
            int issued = B.Issue(PerTile);
            A.Issue(PerTile - issued);
        }
    }

    /// <summary>The calling thread's pack buffers, 64-byte aligned, allocated once on the pinned heap.</summary>
    private sealed class PackBuffers
    {
        [ThreadStatic]
        private static PackBuffers? t_current;

        private readonly float[] _storage;

        private PackBuffers()
        {
            int aSize = (MC + MR) * KCMax;
            int bSize = (NC + NR) * KCMax;
            _storage = GC.AllocateUninitializedArray<float>(aSize + bSize + 32 + 64, pinned: true);
            float* start = (float*)Unsafe.AsPointer(ref _storage[0]);
            A = (float*)(((nint)start + 63) & ~(nint)63);
            B = A + ((aSize + 15) & ~15);
            Counters = (int*)(B + ((bSize + 15) & ~15));
        }

        public int* Counters { get; }

        public float* A { get; }

        public float* B { get; }

        public static PackBuffers ForCurrentThread() => t_current ??= new PackBuffers();
    }

    // ---------------------------------------------------------------- GEMV (m = 1 or n = 1)

    private static void Gemv(
        bool transA, bool transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        // Reduce both cases to y[j] = Σ_p x[p]·W(p, j) for j < outputs, stored at c[j·incC],
        // with W either "rows" (W(p, j) = w[p·ldw + j], streamed row by row) or "dots"
        // (W(p, j) = w[j·ldw + p], one dot product per output).
        float* x;
        nint incX;
        float* w;
        nint ldw;
        bool dots;
        int outputs;
        nint incC;
        if (m == 1)
        {
            x = a;
            incX = transA ? lda : 1;
            w = b;
            ldw = ldb;
            dots = transB;
            outputs = n;
            incC = 1;
        }
        else
        {
            x = b;
            incX = transB ? 1 : ldb;
            w = a;
            ldw = lda;
            dots = !transA;
            outputs = m;
            incC = ldc;
        }

        if (incX != 1)
        {
            float* gathered = GemvScratch.ForCurrentThread(k);
            for (int p = 0; p < k; p++)
            {
                gathered[p] = x[p * incX];
            }

            x = gathered;
        }

        var job = new GemvJob
        {
            X = x, K = k, W = w, Ldw = ldw, Dots = dots, Outputs = outputs,
            C = c, IncC = incC, Alpha = alpha, Beta = beta,
        };
        WorkerPool pool = WorkerPool.Shared;
        int threads = (long)k * outputs < GemvParallelMinElements ? 1 : pool.ThreadCount;
        int chunks = threads == 1 ? 1 : Math.Min(threads * 4, (outputs + 127) / 128);
        if (chunks <= 1)
        {
            GemvRange(job, 0, outputs);
            return;
        }

        // Chunk edges on multiples of 16 keep every output in the same vector lane arithmetic.
        job.PerChunk = (((outputs + chunks - 1) / chunks) + 15) & ~15;
        pool.For((outputs + job.PerChunk - 1) / job.PerChunk, job);
    }

    private struct GemvJob : IParallelJob
    {
        public float* X, W, C;
        public int K, Outputs, PerChunk;
        public nint Ldw, IncC;
        public bool Dots;
        public float Alpha, Beta;

        public readonly void Execute(int index)
        {
            int j0 = index * PerChunk;
            GemvRange(this, j0, Math.Min(Outputs, j0 + PerChunk));
        }
    }

    private static void GemvRange(in GemvJob job, int j0, int j1)
    {
        if (job.Dots)
        {
            for (int j = j0; j < j1; j++)
            {
                float sum = Dot(job.X, job.W + (j * job.Ldw), job.K);
                float* cj = job.C + (j * job.IncC);
                *cj = GemmMicroKernels.Finish(sum, job.Alpha, job.Beta, cj);
            }

            return;
        }

        if (Path == Isa.Avx512)
        {
            GemvRows512(job, j0, j1);
        }
        else if (Path == Isa.Avx2)
        {
            GemvRows256(job, j0, j1);
        }
        else
        {
            GemvRowsScalar(job, j0, j1);
        }
    }

    /// <summary>
    /// y[j0..j1) from row-streamed W: 8 vectors (128 outputs) at a time so each row segment is
    /// read once, then one vector at a time, the last one masked.
    /// </summary>
    private static void GemvRows512(in GemvJob job, int j0, int j1)
    {
        float* x = job.X;
        int k = job.K;
        nint ldw = job.Ldw;
        float* acc = stackalloc float[128];
        int j = j0;
        for (; j + 128 <= j1; j += 128)
        {
            Vector512<float> y0 = default, y1 = default, y2 = default, y3 = default;
            Vector512<float> y4 = default, y5 = default, y6 = default, y7 = default;
            float* w = job.W + j;
            for (int p = 0; p < k; p++, w += ldw)
            {
                Vector512<float> xp = Vector512.Create(x[p]);
                y0 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(w), y0);
                y1 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(w + 16), y1);
                y2 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(w + 32), y2);
                y3 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(w + 48), y3);
                y4 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(w + 64), y4);
                y5 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(w + 80), y5);
                y6 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(w + 96), y6);
                y7 = Vector512.FusedMultiplyAdd(xp, Vector512.Load(w + 112), y7);
            }

            y0.Store(acc);
            y1.Store(acc + 16);
            y2.Store(acc + 32);
            y3.Store(acc + 48);
            y4.Store(acc + 64);
            y5.Store(acc + 80);
            y6.Store(acc + 96);
            y7.Store(acc + 112);
            FinishOutputs(job, acc, j, 128);
        }

        for (; j < j1; j += 16)
        {
            int width = Math.Min(16, j1 - j);
            Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(width)).AsSingle();
            Vector512<float> y = default;
            float* w = job.W + j;
            for (int p = 0; p < k; p++, w += ldw)
            {
                y = Vector512.FusedMultiplyAdd(Vector512.Create(x[p]), Avx512F.MaskLoad(w, mask, Vector512<float>.Zero), y);
            }

            y.Store(acc);
            FinishOutputs(job, acc, j, width);
        }
    }

    /// <summary>The AVX2 twin of <see cref="GemvRows512"/>: 8 ymm vectors (64 outputs) at a time.</summary>
    private static void GemvRows256(in GemvJob job, int j0, int j1)
    {
        float* x = job.X;
        int k = job.K;
        nint ldw = job.Ldw;
        float* acc = stackalloc float[64];
        int j = j0;
        for (; j + 64 <= j1; j += 64)
        {
            Vector256<float> y0 = default, y1 = default, y2 = default, y3 = default;
            Vector256<float> y4 = default, y5 = default, y6 = default, y7 = default;
            float* w = job.W + j;
            for (int p = 0; p < k; p++, w += ldw)
            {
                Vector256<float> xp = Vector256.Create(x[p]);
                y0 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(w), y0);
                y1 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(w + 8), y1);
                y2 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(w + 16), y2);
                y3 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(w + 24), y3);
                y4 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(w + 32), y4);
                y5 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(w + 40), y5);
                y6 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(w + 48), y6);
                y7 = Vector256.FusedMultiplyAdd(xp, Vector256.Load(w + 56), y7);
            }

            y0.Store(acc);
            y1.Store(acc + 8);
            y2.Store(acc + 16);
            y3.Store(acc + 24);
            y4.Store(acc + 32);
            y5.Store(acc + 40);
            y6.Store(acc + 48);
            y7.Store(acc + 56);
            FinishOutputs(job, acc, j, 64);
        }

        for (; j < j1; j += 8)
        {
            int width = Math.Min(8, j1 - j);
            Vector256<float> mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(width)).AsSingle();
            Vector256<float> y = default;
            float* w = job.W + j;
            for (int p = 0; p < k; p++, w += ldw)
            {
                y = Vector256.FusedMultiplyAdd(Vector256.Create(x[p]), Avx.MaskLoad(w, mask), y);
            }

            y.Store(acc);
            FinishOutputs(job, acc, j, width);
        }
    }

    private static void GemvRowsScalar(in GemvJob job, int j0, int j1)
    {
        float* acc = stackalloc float[64];
        for (int j = j0; j < j1; j += 64)
        {
            int width = Math.Min(64, j1 - j);
            for (int t = 0; t < width; t++)
            {
                acc[t] = 0;
            }

            float* w = job.W + j;
            for (int p = 0; p < job.K; p++, w += job.Ldw)
            {
                float xp = job.X[p];
                for (int t = 0; t < width; t++)
                {
                    acc[t] = MathF.FusedMultiplyAdd(xp, w[t], acc[t]);
                }
            }

            FinishOutputs(job, acc, j, width);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishOutputs(in GemvJob job, float* acc, int j, int count)
    {
        float* cj = job.C + (j * job.IncC);
        if (job.IncC == 1 && Path == Isa.Avx512 && count == 128 && job.Beta == 0)
        {
            var alpha = Vector512.Create(job.Alpha);
            for (int t = 0; t < 128; t += 16)
            {
                (Vector512.Load(acc + t) * alpha).Store(cj + t);
            }

            return;
        }

        for (int t = 0; t < count; t++, cj += job.IncC)
        {
            *cj = GemmMicroKernels.Finish(acc[t], job.Alpha, job.Beta, cj);
        }
    }

    /// <summary>Σ x[p]·w[p] with two vector accumulators (even and odd blocks), then a scalar tail.</summary>
    private static float Dot(float* x, float* w, int k)
    {
        int p = 0;
        float sum = 0;
        if (Path == Isa.Avx512)
        {
            Vector512<float> s0 = default, s1 = default;
            for (; p + 32 <= k; p += 32)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p), Vector512.Load(w + p), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p + 16), Vector512.Load(w + p + 16), s1);
            }

            if (p + 16 <= k)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p), Vector512.Load(w + p), s0);
                p += 16;
            }

            sum = Vector512.Sum(s0 + s1);
        }
        else if (Path == Isa.Avx2)
        {
            Vector256<float> s0 = default, s1 = default;
            for (; p + 16 <= k; p += 16)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p), Vector256.Load(w + p), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p + 8), Vector256.Load(w + p + 8), s1);
            }

            if (p + 8 <= k)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p), Vector256.Load(w + p), s0);
                p += 8;
            }

            sum = Vector256.Sum(s0 + s1);
        }

        for (; p < k; p++)
        {
            sum = MathF.FusedMultiplyAdd(x[p], w[p], sum);
        }

        return sum;
    }

    /// <summary>Per-thread buffer for gathering a strided GEMV vector.</summary>
    private static class GemvScratch
    {
        [ThreadStatic]
        private static float[]? t_buffer;

        public static float* ForCurrentThread(int length)
        {
            if (t_buffer is null || t_buffer.Length < length)
            {
                t_buffer = GC.AllocateUninitializedArray<float>(Math.Max(length, 256), pinned: true);
            }

            return (float*)Unsafe.AsPointer(ref t_buffer[0]);
        }
    }
}
