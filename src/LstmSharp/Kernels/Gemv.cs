using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

/// <summary>
/// The matrix-vector products, one FMA chain per output over the rows in order (or in reverse),
/// so every width gives the scalar loop's bits: <see cref="MultiplyAdd"/> (acc += a·M over a
/// column block) serves both <see cref="Gemm.Sgemm"/>'s m = 1 / n = 1 path (<see cref="Product"/>)
/// and the batch-1 LSTM path (<c>LstmLatencyPath</c>), which adds its 4-gate-block forms
/// (<see cref="MultiplyAddGates"/>, <see cref="MultiplyAddGatesAndPack"/>, <see cref="MultiplyAdd4x64"/>).
/// The width is an enum: <see cref="LaneWidth"/> (Sgemm passes <see cref="Gemm.Width"/>, from <see cref="Gemm.Isa"/>).
/// </summary>
internal static unsafe class Gemv
{
    /// <summary>Sgemm's path for m = 1 or n = 1: C = alpha·op(A)·op(B) + beta·C as one matrix-vector product.</summary>
    internal static void Product(
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
        int threads = (long)k * outputs < Gemm.GemvParallelMinElements ? 1 : pool.ThreadCount;
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

        // Blocks of 128 outputs: acc = x·W[:, block] (one chain per output, from zero), then alpha, beta.
        float* acc = stackalloc float[128];
        var x = new ReadOnlySpan<float>(job.X, job.K);
        for (int j = j0; j < j1; j += 128)
        {
            int count = Math.Min(128, j1 - j);
            MultiplyAdd(x, ref job.W[j], (int)job.Ldw, new Span<float>(acc, count), count, Gemm.Width, overwrite: true);
            FinishOutputs(job, acc, j, count);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishOutputs(in GemvJob job, float* acc, int j, int count)
    {
        float* cj = job.C + (j * job.IncC);
        if (job.IncC == 1 && Gemm.Path == Gemm.Isa.Avx512 && count == 128 && job.Beta == 0)
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

    /// <summary>Σ x[p]·w[p]: two vector accumulators (even and odd blocks) at the widest width, then a scalar tail.</summary>
    private static float Dot(float* x, float* w, int k) => Gemm.Path switch
    {
        Gemm.Isa.Avx512 => Dot<Lanes512, Vector512<float>>(x, w, k),
        Gemm.Isa.Avx2 => Dot<Lanes256, Vector256<float>>(x, w, k),
        _ => Dot<Lanes1, float>(x, w, k),
    };

    private static float Dot<TL, TV>(float* x, float* w, int k)
        where TL : struct, ILanes<TV>
        where TV : struct
    {
        int p = 0, c = TL.Count;
        float sum = 0;
        if (c > 1)
        {
            TV s0 = TL.Zero, s1 = TL.Zero;
            for (; p + (2 * c) <= k; p += 2 * c)
            {
                s0 = TL.Fma(TL.Load(ref x[p]), TL.Load(ref w[p]), s0);
                s1 = TL.Fma(TL.Load(ref x[p + c]), TL.Load(ref w[p + c]), s1);
            }

            if (p + c <= k)
            {
                s0 = TL.Fma(TL.Load(ref x[p]), TL.Load(ref w[p]), s0);
                p += c;
            }

            sum = TL.Sum(TL.Add(s0, s1));
        }

        for (; p < k; p++)
        {
            sum = MathF.FusedMultiplyAdd(x[p], w[p], sum);
        }

        return sum;
    }

    /// <summary>
    /// acc[j] = fma(a[r], m[r·ld + j], acc[j]) for r = 0, 1, … in order (or in reverse), for j in
    /// [0, n): one FMA chain per column, so every width gives the scalar loop's bits. Blocks of
    /// eight, then four vectors (each row segment read once for all their chains), then one vector,
    /// widest first.
    /// </summary>
    internal static void MultiplyAdd(ReadOnlySpan<float> a, ref float m, int ld, Span<float> acc, int n, LaneWidth width, bool reverse = false, bool overwrite = false)
    {
        var c = new Columns(a, ref m, ld, acc, reverse, overwrite);
        int j = 0;
        if (width == LaneWidth.Vector512)
        {
            j = c.Block8<Lanes512, Vector512<float>>(j, n);
            j = c.Block4<Lanes512, Vector512<float>>(j, n);
            j = c.Block1<Lanes512, Vector512<float>>(j, n);
        }

        if (width != LaneWidth.Scalar)
        {
            j = c.Block8<Lanes256, Vector256<float>>(j, n);
            j = c.Block4<Lanes256, Vector256<float>>(j, n);
            j = c.Block1<Lanes256, Vector256<float>>(j, n);
        }

        c.Block1<Lanes1, float>(j, n);
    }

    /// <summary>The operands of <see cref="MultiplyAdd"/>: a (rows), m (row stride ld), acc; rows taken forwards or backwards.</summary>
    private readonly ref struct Columns(ReadOnlySpan<float> a, ref float m, int ld, Span<float> acc, bool reverse, bool overwrite)
    {
        private readonly ref float ar = ref MemoryMarshal.GetReference(a);
        private readonly ref float mr = ref m;
        private readonly ref float cr = ref MemoryMarshal.GetReference(acc);
        private readonly nint ld = ld;
        private readonly int rows = a.Length;
        private readonly int r0 = reverse ? a.Length - 1 : 0;
        private readonly int dr = reverse ? -1 : 1;
        private readonly bool overwrite = overwrite;

        /// <summary>The chain's starting value: acc's, or zero when the product overwrites acc.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private TV Start<TL, TV>(ref float acc, int i)
            where TL : struct, ILanes<TV>
            where TV : struct => overwrite ? TL.Zero : TL.Load(ref acc, i);

        /// <summary>Eight vectors of columns per pass: eight independent FMA chains keep both FMA units busy when M is in cache.</summary>
        public int Block8<TL, TV>(int j, int n)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            int w = TL.Count;
            for (; j + (8 * w) <= n; j += 8 * w)
            {
                ref float mj = ref Unsafe.Add(ref mr, j);
                ref float cj = ref Unsafe.Add(ref cr, j);
                TV c0 = Start<TL, TV>(ref cj, 0), c1 = Start<TL, TV>(ref cj, w), c2 = Start<TL, TV>(ref cj, 2 * w), c3 = Start<TL, TV>(ref cj, 3 * w);
                TV c4 = Start<TL, TV>(ref cj, 4 * w), c5 = Start<TL, TV>(ref cj, 5 * w), c6 = Start<TL, TV>(ref cj, 6 * w), c7 = Start<TL, TV>(ref cj, 7 * w);
                for (int i = 0, r = r0; i < rows; i++, r += dr)
                {
                    TV x = TL.Broadcast(Unsafe.Add(ref ar, r));
                    ref float row = ref Unsafe.Add(ref mj, r * ld);
                    c0 = TL.Fma(x, TL.Load(ref row), c0);
                    c1 = TL.Fma(x, TL.Load(ref row, w), c1);
                    c2 = TL.Fma(x, TL.Load(ref row, 2 * w), c2);
                    c3 = TL.Fma(x, TL.Load(ref row, 3 * w), c3);
                    c4 = TL.Fma(x, TL.Load(ref row, 4 * w), c4);
                    c5 = TL.Fma(x, TL.Load(ref row, 5 * w), c5);
                    c6 = TL.Fma(x, TL.Load(ref row, 6 * w), c6);
                    c7 = TL.Fma(x, TL.Load(ref row, 7 * w), c7);
                }

                TL.Store(c0, ref cj);
                TL.Store(c1, ref cj, w);
                TL.Store(c2, ref cj, 2 * w);
                TL.Store(c3, ref cj, 3 * w);
                TL.Store(c4, ref cj, 4 * w);
                TL.Store(c5, ref cj, 5 * w);
                TL.Store(c6, ref cj, 6 * w);
                TL.Store(c7, ref cj, 7 * w);
            }

            return j;
        }

        public int Block4<TL, TV>(int j, int n)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            int w = TL.Count;
            for (; j + (4 * w) <= n; j += 4 * w)
            {
                ref float mj = ref Unsafe.Add(ref mr, j);
                ref float cj = ref Unsafe.Add(ref cr, j);
                TV c0 = Start<TL, TV>(ref cj, 0), c1 = Start<TL, TV>(ref cj, w), c2 = Start<TL, TV>(ref cj, 2 * w), c3 = Start<TL, TV>(ref cj, 3 * w);
                for (int i = 0, r = r0; i < rows; i++, r += dr)
                {
                    TV x = TL.Broadcast(Unsafe.Add(ref ar, r));
                    ref float row = ref Unsafe.Add(ref mj, r * ld);
                    c0 = TL.Fma(x, TL.Load(ref row), c0);
                    c1 = TL.Fma(x, TL.Load(ref row, w), c1);
                    c2 = TL.Fma(x, TL.Load(ref row, 2 * w), c2);
                    c3 = TL.Fma(x, TL.Load(ref row, 3 * w), c3);
                }

                TL.Store(c0, ref cj);
                TL.Store(c1, ref cj, w);
                TL.Store(c2, ref cj, 2 * w);
                TL.Store(c3, ref cj, 3 * w);
            }

            return j;
        }

        public int Block1<TL, TV>(int j, int n)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            for (; j + TL.Count <= n; j += TL.Count)
            {
                ref float mj = ref Unsafe.Add(ref mr, j);
                TV c0 = Start<TL, TV>(ref cr, j);
                for (int i = 0, r = r0; i < rows; i++, r += dr)
                {
                    c0 = TL.Fma(TL.Broadcast(Unsafe.Add(ref ar, r)), TL.Load(ref Unsafe.Add(ref mj, r * ld)), c0);
                }

                TL.Store(c0, ref cr, j);
            }

            return j;
        }
    }

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
