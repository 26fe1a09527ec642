using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Kernels;

/// <summary>The blocked loop nest's pool job, its prefetcher and its per-thread pack buffers.</summary>
internal static unsafe partial class Gemm
{
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
        public int AMode; // 0: packed panels of A; 1: rows of a row-major A read in place; 2: rows of a stored Aᵀ read in place
        public int K, KcStep; // the whole depth and the slice depth (independent owners walk every slice)
        public float Beta0; // beta of the first slice
        public int BDepth; // floats per column of packed B: Kc, or KcStep for independent owners (a participant ahead on a shallower last slice must not write into another's panels)

        /// <summary>
        /// One participant's share of the block. Items are claimed dynamically, so a thread
        /// that waits at the pack barrier has nothing left to claim: every unfinished item is
        /// being packed by a running thread, and the wait ends.
        /// </summary>
        public readonly void Execute(int index)
        {
            if (AMode != 0)
            {
                ExecuteIndependent(index);
                return;
            }

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
        /// Participant <paramref name="index"/> of <see cref="Owners"/> computes its own range of
        /// column panels over every slice of k, in slice order (the same sums as the pass-per-slice
        /// loop): it packs only its own panels of B and reads A in place, so it never waits for
        /// another participant.
        /// </summary>
        public readonly void ExecuteIndependent(int index)
        {
            int colPanels = (Nc + NR - 1) / NR;
            int c0 = (int)((long)index * colPanels / Owners);
            int c1 = (int)((long)(index + 1) * colPanels / Owners);
            if (c1 <= c0)
            {
                return;
            }

            BlockedJob slice = this;
            for (int pc = 0; pc < K; pc += KcStep)
            {
                slice.Pc = pc;
                slice.Kc = Math.Min(KcStep, K - pc);
                slice.BDepth = KcStep;
                slice.Beta = pc == 0 ? Beta0 : 1f;
                slice.NextPc = pc + KcStep;
                slice.NextKc = !TransB && pc + KcStep < K ? Math.Min(KcStep, K - pc - KcStep) : 0;
                slice.NextMc = slice.NextKc > 0 ? Mc : 0;
                for (int j = c0; j < c1; j++)
                {
                    slice.Pack(RowPanels + j);
                }

                Prefetcher prefetch = slice.NextSlice(index, Owners, c0, c1);
                slice.ComputeRange(0, Mc, c0 * NR, Math.Min(Nc, c1 * NR), ref prefetch);
            }
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

                GemmPacking.PackB(TransB, B, Ldb, Pc, Kc, Jc + j, Math.Min(nr, Nc - j), nr, PackedB + (j * BDepth));
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

        [SkipLocalsInit]
        private readonly void ComputeRange(int i0, int i1, int j0, int j1, ref Prefetcher prefetch)
        {
            int mr = MR, nr = NR;
            int kc = Kc;
            float* own = null;
            if (AMode != 0)
            {
                // A partial last panel of other than 4 or 8 rows is packed here (the in-place
                // kernels read exactly 4, 8 or 12 rows); the buffer is this participant's own.
                float* buffer = stackalloc float[MR * KCMax];
                own = buffer;
            }

            for (int ir = i0; ir < i1; ir += mr)
            {
                int rows = Math.Min(mr, i1 - ir);
                float* cRow = C + ((nint)(Ic + ir) * Ldc) + Jc;
                int mode = AMode;
                float* panelA;
                if (mode == 0)
                {
                    panelA = PackedA + (ir * kc);
                }
                else if (rows == 12 || rows == 8 || rows == 4)
                {
                    panelA = mode == 1 ? A + ((nint)(Ic + ir) * Lda) + Pc : A + ((nint)Pc * Lda) + Ic + ir;
                }
                else
                {
                    GemmPacking.PackA(TransA, A, Lda, Ic + ir, rows, Pc, kc, mr, own);
                    panelA = own;
                    mode = 0;
                }

                var kernel = GemmMicroKernels.For(Path, mode, rows);
                for (int jr = j0; jr < j1; jr += nr)
                {
                    bool inPlace = InPlaceB && jr + nr <= Nc;
                    float* panelB = inPlace ? B + ((nint)Pc * Ldb) + Jc + jr : PackedB + (jr * BDepth);
                    kernel(kc, panelA, Lda, panelB, inPlace ? Ldb : nr, cRow + jr, Ldc, rows, Math.Min(nr, j1 - jr), Alpha, Beta);

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
