using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Kernels;

// The matrix-vector products: Sgemm's path for m = 1 or n = 1 (streaming the rows of W once).
// The latency path's column-block products (acc += a·M per gate block) are GemvColumns.
internal static unsafe partial class Gemm
{
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
