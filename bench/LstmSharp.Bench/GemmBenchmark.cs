using LstmSharp.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace LstmSharp.Bench;

/// <summary>
/// SGEMM throughput of LstmSharp and libtorch (TorchSharp-cpu) on the same shapes, same thread
/// count, same process. Workload gemm-MxKxN is C[M, N] = A[M, K]·B[K, N], no transposes, beta = 0.
/// </summary>
internal static class GemmBenchmark
{
    private static readonly (int M, int K, int N)[] Shapes = [(2048, 2048, 2048), (128, 156, 512), (128, 128, 512), (1, 128, 512)];

    public static void Run()
    {
        int threads = WorkerPool.Shared.ThreadCount;
        torch.set_num_threads(threads);
        BenchHarness.Header("workload gemm-MxKxN: C[M,N] = A[M,K]·B[K,N], row-major, no transposes, alpha=1, beta=0; 2·M·K·N flops");
        BenchHarness.Header($"threads {threads} (LstmSharp pool and torch.set_num_threads); LstmSharp kernels: {Gemm.InstructionSet}; median time over batches after warm-up");
        BenchHarness.Diagnostic($"libtorch threads: {torch.get_num_threads()}");

        int lanes = Gemm.InstructionSet switch { "Avx512" => 16, "Avx2" => 8, _ => 1 };
        var (peak, how) = BenchHarness.EstimatePeakGflops(Environment.ProcessorCount, lanes);
        BenchHarness.Header($"FP32 peak ESTIMATE {peak:0.0} GFLOP/s = {how} (nominal clock; turbo runs higher)");
        double measuredCore = BenchHarness.MeasureCoreFmaGflops();
        double measuredPeak = measuredCore * Environment.ProcessorCount;
        BenchHarness.Header($"FP32 peak MEASURED {measuredPeak:0.0} GFLOP/s = {Environment.ProcessorCount} cores x {measuredCore:0.0} (best 1 ms register-only FMA loop on one core)");
        BenchHarness.Figure("machine", "estimate-from-clock", "fp32-peak", peak, "GFLOP/s");
        BenchHarness.Figure("machine", "measured-fma-loop", "fp32-peak", measuredPeak, "GFLOP/s");

        foreach (var (m, k, n) in Shapes)
        {
            string workload = $"gemm-{m}x{k}x{n}";
            double flops = 2.0 * m * k * n;
            var rng = new Random(1);
            float[] a = RandomArray(rng, m * k);
            float[] b = RandomArray(rng, k * n);
            float[] c = new float[m * n];

            var ours = BenchHarness.Measure(() => Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n));
            double oursGflops = flops / ours.Median * 1e-9;

            using var ta = torch.tensor(a, [m, k]);
            using var tb = torch.tensor(b, [k, n]);
            using var tc = torch.zeros([m, n]);
            var theirs = BenchHarness.Measure(() =>
            {
                using var scope = torch.NewDisposeScope();
                tc.addmm_(ta, tb, beta: 0f, alpha: 1f);
            });
            double theirsGflops = flops / theirs.Median * 1e-9;

            BenchHarness.Figure(workload, "lstmsharp", "gflops", oursGflops, "GFLOP/s");
            BenchHarness.Figure(workload, "libtorch", "gflops", theirsGflops, "GFLOP/s");
            BenchHarness.Figure(workload, "lstmsharp", "time", ours.Median * 1e6, "us");
            BenchHarness.Figure(workload, "libtorch", "time", theirs.Median * 1e6, "us");
            BenchHarness.Figure(workload, "lstmsharp/libtorch", "ratio", oursGflops / theirsGflops, "x");
            BenchHarness.Figure(workload, "lstmsharp", "gflops-best", flops / ours.Min * 1e-9, "GFLOP/s");
            BenchHarness.Figure(workload, "libtorch", "gflops-best", flops / theirs.Min * 1e-9, "GFLOP/s");
            BenchHarness.Figure(workload, "lstmsharp", "peak-share-estimate", oursGflops / peak, "fraction");
            BenchHarness.Figure(workload, "lstmsharp", "peak-share-measured", oursGflops / measuredPeak, "fraction");
            BenchHarness.Diagnostic(
                $"{workload}: lstmsharp {Spread(ours, flops)}; libtorch {Spread(theirs, flops)}");
        }
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
