using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Bench;

/// <summary>
/// What every benchmark shares: one tab-separated figure per stdout line
/// (<c>workload  implementation  metric  value  unit</c>), diagnostics on stderr, and a
/// median-of-batches timer.
/// </summary>
internal static class BenchHarness
{
    /// <summary>Prints a figure: <c>workload\timplementation\tmetric\tvalue\tunit</c>.</summary>
    public static void Figure(string workload, string implementation, string metric, double value, string unit)
        => Console.Out.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{workload}\t{implementation}\t{metric}\t{value:0.###}\t{unit}"));

    /// <summary>A header line on stdout, prefixed with '#' so readers of the figures can skip it.</summary>
    public static void Header(string text) => Console.Out.WriteLine("# " + text);

    public static void Diagnostic(string text) => Console.Error.WriteLine(text);

    /// <summary>Timing of one operation: median and spread over batches, in seconds per call.</summary>
    public readonly record struct Timing(double Median, double Min, double Max, int Samples, int CallsPerSample);

    /// <summary>
    /// Warms <paramref name="call"/> up, then times it in batches long enough for the clock
    /// (≥ <paramref name="minBatchSeconds"/>) and returns the median seconds per call over
    /// <paramref name="samples"/> batches, or fewer when <paramref name="budgetSeconds"/> runs out.
    /// </summary>
    public static Timing Measure(Action call, int samples = 41, double minBatchSeconds = 2e-3, double budgetSeconds = 3)
    {
        // Warm-up: JIT tiers, caches, worker threads. A method reaches tier 1 after 30 calls and a
        // quiet 100 ms, compiled in the background (with TieredPGO an instrumented tier comes
        // first): with 0.25 s of warm-up the first workload of `lstm-kernel` still ran tier-0
        // cell rows (Lanes512.Fma not inlined, seen in perf) and read 7.6-9.5 ms instead of ~5.
        var clock = Stopwatch.StartNew();
        int calls = 0;
        while (clock.Elapsed.TotalSeconds < 1.5 || calls < 3)
        {
            call();
            calls++;
        }

        // The per-call cost that sizes the batch: timed after the warm-up.
        clock.Restart();
        int probes = 0;
        while (clock.Elapsed.TotalSeconds < 0.05 || probes < 3)
        {
            call();
            probes++;
        }

        double perCall = clock.Elapsed.TotalSeconds / probes;
        int batch = Math.Max(1, (int)Math.Ceiling(minBatchSeconds / perCall));
        samples = Math.Max(5, Math.Min(samples, (int)(budgetSeconds / (perCall * batch))));

        var times = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < batch; i++)
            {
                call();
            }

            times[s] = Stopwatch.GetElapsedTime(start).TotalSeconds / batch;
        }

        Array.Sort(times);
        return new Timing(times[samples / 2], times[0], times[^1], samples, batch);
    }

    /// <summary>
    /// An estimate of the machine's FP32 peak in GFLOP/s: cores × clock (the highest "cpu MHz"
    /// in /proc/cpuinfo) × 2 FMA units × lanes × 2 flops. Turbo and AVX-512 clock offsets make
    /// the real peak differ; it is only a yardstick.
    /// </summary>
    public static (double Gflops, string How) EstimatePeakGflops(int cores, int lanes)
    {
        double mhz = 0;
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("cpu MHz", StringComparison.Ordinal)
                    && double.TryParse(line[(line.IndexOf(':') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                {
                    mhz = Math.Max(mhz, v);
                }
            }
        }
        catch (IOException)
        {
        }

        if (mhz == 0)
        {
            return (double.NaN, "no clock in /proc/cpuinfo");
        }

        double gflops = cores * mhz * 1e-3 * 2 * lanes * 2;
        return (gflops, string.Create(CultureInfo.InvariantCulture, $"{cores} cores x {mhz:0} MHz x 2 FMA units x {lanes} lanes x 2 flops"));
    }

    /// <summary>
    /// Measured single-core FP32 throughput of a register-only FMA loop (24 independent
    /// Vector512 or Vector256 accumulators, no memory traffic): the best of many 1 ms runs,
    /// so it reflects the clock the core actually runs at (turbo included), not the nominal one.
    /// </summary>
    public static double MeasureCoreFmaGflops()
    {
        const int Iterations = 100_000;
        int lanes = Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 0;
        if (lanes == 0)
        {
            return double.NaN;
        }

        double best = 0;
        float sink = 0;
        for (int rep = 0; rep < 400; rep++)
        {
            long start = Stopwatch.GetTimestamp();
            sink += lanes == 16 ? FmaLoop512(Iterations) : FmaLoop256(Iterations);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, Iterations * 24.0 * lanes * 2 / seconds * 1e-9);
        }

        return sink == 12345 ? 0 : best;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float FmaLoop512(int iterations)
    {
        Vector512<float> x = Vector512.Create(0.999f), y = Vector512.Create(1e-3f);
        Vector512<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        Vector512<float> b0 = y, b1 = y, b2 = y, b3 = y, b4 = y, b5 = y, b6 = y, b7 = y, b8 = y, b9 = y, b10 = y, b11 = y;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, x, y); a1 = Vector512.FusedMultiplyAdd(a1, x, y);
            a2 = Vector512.FusedMultiplyAdd(a2, x, y); a3 = Vector512.FusedMultiplyAdd(a3, x, y);
            a4 = Vector512.FusedMultiplyAdd(a4, x, y); a5 = Vector512.FusedMultiplyAdd(a5, x, y);
            a6 = Vector512.FusedMultiplyAdd(a6, x, y); a7 = Vector512.FusedMultiplyAdd(a7, x, y);
            a8 = Vector512.FusedMultiplyAdd(a8, x, y); a9 = Vector512.FusedMultiplyAdd(a9, x, y);
            a10 = Vector512.FusedMultiplyAdd(a10, x, y); a11 = Vector512.FusedMultiplyAdd(a11, x, y);
            b0 = Vector512.FusedMultiplyAdd(b0, x, y); b1 = Vector512.FusedMultiplyAdd(b1, x, y);
            b2 = Vector512.FusedMultiplyAdd(b2, x, y); b3 = Vector512.FusedMultiplyAdd(b3, x, y);
            b4 = Vector512.FusedMultiplyAdd(b4, x, y); b5 = Vector512.FusedMultiplyAdd(b5, x, y);
            b6 = Vector512.FusedMultiplyAdd(b6, x, y); b7 = Vector512.FusedMultiplyAdd(b7, x, y);
            b8 = Vector512.FusedMultiplyAdd(b8, x, y); b9 = Vector512.FusedMultiplyAdd(b9, x, y);
            b10 = Vector512.FusedMultiplyAdd(b10, x, y); b11 = Vector512.FusedMultiplyAdd(b11, x, y);
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7 + b8 + b9 + b10 + b11);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float FmaLoop256(int iterations)
    {
        // 12 accumulators fill the 16 ymm registers available without AVX-512; 24 FMAs per iteration.
        Vector256<float> x = Vector256.Create(0.999f), y = Vector256.Create(1e-3f);
        Vector256<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (int i = 0; i < iterations; i++)
        {
            for (int twice = 0; twice < 2; twice++)
            {
                a0 = Vector256.FusedMultiplyAdd(a0, x, y); a1 = Vector256.FusedMultiplyAdd(a1, x, y);
                a2 = Vector256.FusedMultiplyAdd(a2, x, y); a3 = Vector256.FusedMultiplyAdd(a3, x, y);
                a4 = Vector256.FusedMultiplyAdd(a4, x, y); a5 = Vector256.FusedMultiplyAdd(a5, x, y);
                a6 = Vector256.FusedMultiplyAdd(a6, x, y); a7 = Vector256.FusedMultiplyAdd(a7, x, y);
                a8 = Vector256.FusedMultiplyAdd(a8, x, y); a9 = Vector256.FusedMultiplyAdd(a9, x, y);
                a10 = Vector256.FusedMultiplyAdd(a10, x, y); a11 = Vector256.FusedMultiplyAdd(a11, x, y);
            }
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
