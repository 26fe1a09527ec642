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
internal static unsafe partial class Gemv
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
            j = c.Block<Lanes512, Vector512<float>, Chains8>(j, n);
            j = c.Block<Lanes512, Vector512<float>, Chains4>(j, n);
            j = c.Block<Lanes512, Vector512<float>, Chains1>(j, n);
        }

        if (width != LaneWidth.Scalar)
        {
            j = c.Block<Lanes256, Vector256<float>, Chains8>(j, n);
            j = c.Block<Lanes256, Vector256<float>, Chains4>(j, n);
            j = c.Block<Lanes256, Vector256<float>, Chains1>(j, n);
        }

        c.Block<Lanes1, float, Chains1>(j, n);
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

        /// <summary>
        /// TB.Value (8, 4 or 1) vectors of columns per pass, each row segment read once for all
        /// their chains: eight independent FMA chains keep both FMA units busy when M is in cache.
        /// The chains past TB.Value are compiled away.
        /// </summary>
        public int Block<TL, TV, TB>(int j, int n)
            where TL : struct, ILanes<TV>
            where TV : struct
            where TB : struct, IChains
        {
            int w = TL.Count, b = TB.Value;
            for (; j + (b * w) <= n; j += b * w)
            {
                ref float mj = ref Unsafe.Add(ref mr, j);
                ref float cj = ref Unsafe.Add(ref cr, j);
                TV c0 = Start<TL, TV>(ref cj, 0), c1 = default, c2 = default, c3 = default;
                TV c4 = default, c5 = default, c6 = default, c7 = default;
                if (b >= 4)
                {
                    c1 = Start<TL, TV>(ref cj, w);
                    c2 = Start<TL, TV>(ref cj, 2 * w);
                    c3 = Start<TL, TV>(ref cj, 3 * w);
                }

                if (b == 8)
                {
                    c4 = Start<TL, TV>(ref cj, 4 * w);
                    c5 = Start<TL, TV>(ref cj, 5 * w);
                    c6 = Start<TL, TV>(ref cj, 6 * w);
                    c7 = Start<TL, TV>(ref cj, 7 * w);
                }

                for (int i = 0, r = r0; i < rows; i++, r += dr)
                {
                    TV x = TL.Broadcast(Unsafe.Add(ref ar, r));
                    ref float row = ref Unsafe.Add(ref mj, r * ld);
                    c0 = TL.Fma(x, TL.Load(ref row), c0);
                    if (b >= 4)
                    {
                        c1 = TL.Fma(x, TL.Load(ref row, w), c1);
                        c2 = TL.Fma(x, TL.Load(ref row, 2 * w), c2);
                        c3 = TL.Fma(x, TL.Load(ref row, 3 * w), c3);
                    }

                    if (b == 8)
                    {
                        c4 = TL.Fma(x, TL.Load(ref row, 4 * w), c4);
                        c5 = TL.Fma(x, TL.Load(ref row, 5 * w), c5);
                        c6 = TL.Fma(x, TL.Load(ref row, 6 * w), c6);
                        c7 = TL.Fma(x, TL.Load(ref row, 7 * w), c7);
                    }
                }

                TL.Store(c0, ref cj);
                if (b >= 4)
                {
                    TL.Store(c1, ref cj, w);
                    TL.Store(c2, ref cj, 2 * w);
                    TL.Store(c3, ref cj, 3 * w);
                }

                if (b == 8)
                {
                    TL.Store(c4, ref cj, 4 * w);
                    TL.Store(c5, ref cj, 5 * w);
                    TL.Store(c6, ref cj, 6 * w);
                    TL.Store(c7, ref cj, 7 * w);
                }
            }

            return j;
        }
    }

    /// <summary>A compile-time chain count for <see cref="Columns.Block{TL, TV, TB}"/> (the JIT folds it per instantiation).</summary>
    private interface IChains
    {
        static abstract int Value { get; }
    }

    private struct Chains8 : IChains { public static int Value => 8; }

    private struct Chains4 : IChains { public static int Value => 4; }

    private struct Chains1 : IChains { public static int Value => 1; }

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
