using System.Diagnostics;
using System.Globalization;

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
        // Warm-up: JIT tiers, caches, worker threads; also sizes the batch.
        var clock = Stopwatch.StartNew();
        int calls = 0;
        while (clock.Elapsed.TotalSeconds < 0.25 || calls < 3)
        {
            call();
            calls++;
        }

        double perCall = clock.Elapsed.TotalSeconds / calls;
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
}
