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
}
