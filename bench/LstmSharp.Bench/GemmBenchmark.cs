using LstmSharp.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace LstmSharp.Bench;

/// <summary>
/// SGEMM throughput of LstmSharp and libtorch (TorchSharp-cpu) on the same shapes, same thread
/// count, same process. Workload gemm-MxKxN is C[M, N] = A[M, K]·B[K, N], beta = 0; a suffix -tA / -tB
/// means A is stored as [K, M] / B as [N, K] and used transposed (the recurrent layers' weight
/// gradients and input gradients).
/// </summary>
internal static class GemmBenchmark
{
    private static readonly (int M, int K, int N, bool TransA, bool TransB)[] Shapes =
    [
        (2048, 2048, 2048, false, false), (128, 156, 512, false, false), (128, 128, 512, false, false), (1, 128, 512, false, false),
        // IMDB model (units 10, batch 128, 300 steps): per-step h·U, dz·Uᵀ, whole-sequence dW = Xᵀ·dZ and dX = dZ·Wᵀ.
        (128, 10, 40, false, false), (128, 40, 10, false, true), (15, 38400, 40, true, false), (38400, 40, 15, false, true),
        // LSTM(128), batch 128, 28 steps: per-step dz·Uᵀ, whole-sequence x·W and dU = Hᵀ·dZ.
        (128, 512, 128, false, true), (3584, 28, 512, false, false), (128, 3584, 512, true, false),
        // More of the same models: IMDB dU and x·W; LSTM dW = Xᵀ·dZ; GRU(128) dU; the per-step
        // h·U and dz·Uᵀ of a 64-row sequence chunk (a batch of 128 runs as 2 chunks).
        (10, 38400, 40, true, false), (38400, 15, 40, false, false), (28, 3584, 512, true, false),
        (128, 3584, 384, true, false), (64, 128, 512, false, false), (64, 512, 128, false, false),
    ];

    /// <param name="args">
    /// <c>--only PREFIX</c>: run only workloads whose name starts with PREFIX. <c>--no-torch</c>:
    /// LstmSharp only, libtorch never initialised (its idle OpenMP threads then cannot compete
    /// for the cores).
    /// </param>
    public static void Run(string[] args)
    {
        int onlyAt = Array.IndexOf(args, "--only");
        string only = onlyAt >= 0 && onlyAt + 1 < args.Length ? args[onlyAt + 1] : "";
        bool withTorch = !args.Contains("--no-torch");
        int threads = WorkerPool.Shared.ThreadCount;
        if (withTorch)
        {
            torch.set_num_threads(threads);
        }

        BenchHarness.Header("workload gemm-MxKxN: C[M,N] = A[M,K]·B[K,N], row-major, no transposes, alpha=1, beta=0; 2·M·K·N flops");
        BenchHarness.Header($"threads {threads} (LstmSharp pool and torch.set_num_threads); LstmSharp kernels: {Gemm.InstructionSet}; median time over batches after warm-up");
        if (withTorch)
        {
            BenchHarness.Diagnostic($"libtorch threads: {torch.get_num_threads()}");
        }

        int lanes = Gemm.InstructionSet switch { "Avx512" => 16, "Avx2" => 8, _ => 1 };
        var (peak, how) = BenchHarness.EstimatePeakGflops(Environment.ProcessorCount, lanes);
        BenchHarness.Header($"FP32 peak ESTIMATE {peak:0.0} GFLOP/s = {how} (nominal clock; turbo runs higher)");
        double measuredCore = BenchHarness.MeasureCoreFmaGflops();
        double measuredPeak = measuredCore * Environment.ProcessorCount;
        BenchHarness.Header($"FP32 peak MEASURED {measuredPeak:0.0} GFLOP/s = {Environment.ProcessorCount} cores x {measuredCore:0.0} (best 1 ms register-only FMA loop on one core)");
        BenchHarness.Figure("machine", "estimate-from-clock", "fp32-peak", peak, "GFLOP/s");
        BenchHarness.Figure("machine", "measured-fma-loop", "fp32-peak", measuredPeak, "GFLOP/s");

        foreach (var (m, k, n, transA, transB) in Shapes)
        {
            string workload = $"gemm-{m}x{k}x{n}" + (transA ? "-tA" : "") + (transB ? "-tB" : "");
            if (!workload.StartsWith(only, StringComparison.Ordinal))
            {
                continue;
            }

            double flops = 2.0 * m * k * n;
            var rng = new Random(1);
            float[] a = RandomArray(rng, m * k);
            float[] b = RandomArray(rng, k * n);
            float[] c = new float[m * n];

            int lda = transA ? m : k, ldb = transB ? k : n;
            var ours = BenchHarness.Measure(() => Gemm.Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n));
            double oursGflops = flops / ours.Median * 1e-9;
            double oursCpuPerWall = CpuPerWall(() => Gemm.Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n));
            BenchHarness.Figure(workload, "lstmsharp", "gflops", oursGflops, "GFLOP/s");
            BenchHarness.Figure(workload, "lstmsharp", "time", ours.Median * 1e6, "us");
            BenchHarness.Figure(workload, "lstmsharp", "cpu-per-wall", oursCpuPerWall, "cores");
            BenchHarness.Figure(workload, "lstmsharp", "gflops-best", flops / ours.Min * 1e-9, "GFLOP/s");
            BenchHarness.Figure(workload, "lstmsharp", "peak-share-estimate", oursGflops / peak, "fraction");
            BenchHarness.Figure(workload, "lstmsharp", "peak-share-measured", oursGflops / measuredPeak, "fraction");
            if (!withTorch)
            {
                BenchHarness.Diagnostic($"{workload}: lstmsharp {Spread(ours, flops)}");
                continue;
            }

            using var ta0 = torch.tensor(a, transA ? [k, m] : [m, k]);
            using var tb0 = torch.tensor(b, transB ? [n, k] : [k, n]);
            using var ta = transA ? ta0.t() : ta0.alias();
            using var tb = transB ? tb0.t() : tb0.alias();
            using var tc = torch.zeros([m, n]);
            var theirs = BenchHarness.Measure(() =>
            {
                using var scope = torch.NewDisposeScope();
                tc.addmm_(ta, tb, beta: 0f, alpha: 1f);
            });
            double theirsGflops = flops / theirs.Median * 1e-9;

            BenchHarness.Figure(workload, "libtorch", "gflops", theirsGflops, "GFLOP/s");
            BenchHarness.Figure(workload, "libtorch", "time", theirs.Median * 1e6, "us");
            BenchHarness.Figure(workload, "lstmsharp/libtorch", "ratio", oursGflops / theirsGflops, "x");
            BenchHarness.Figure(workload, "libtorch", "gflops-best", flops / theirs.Min * 1e-9, "GFLOP/s");
            BenchHarness.Diagnostic(
                $"{workload}: lstmsharp {Spread(ours, flops)}; libtorch {Spread(theirs, flops)}");
        }
    }

    /// <summary>Process CPU seconds per wall second over ~0.3 s of back-to-back calls (spinning workers count).</summary>
    private static double CpuPerWall(Action call)
    {
        var process = System.Diagnostics.Process.GetCurrentProcess();
        process.Refresh();
        TimeSpan cpu0 = process.TotalProcessorTime;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 0.3)
        {
            call();
        }

        double wall = clock.Elapsed.TotalSeconds;
        process.Refresh();
        return (process.TotalProcessorTime - cpu0).TotalSeconds / wall;
    }

    private static string Spread(BenchHarness.Timing t, double flops)
        => $"min..max {flops / t.Max * 1e-9:0.0}..{flops / t.Min * 1e-9:0.0} GFLOP/s over {t.Samples}×{t.CallsPerSample} calls";

    private static float[] RandomArray(Random rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++)
        {
            x[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return x;
    }
}
