using LstmSharp.Kernels;
using LstmSharp.Recurrent;
using LstmSharp.Tests.Infrastructure;
using LstmSharp.Tests.Kernels;
using LstmSharp.Tests.Recurrent.Reference;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// The LSTM kernel on quantized W and U (int8 per channel, bf16): held to the double reference
/// run on exactly the dequantized weights (q·s, or the bf16 value) — the quantized maths, not the
/// float32 model's tolerance — for every variant and option set, batch 1 to 130; the same bits on
/// the scalar path and for any thread count.
/// </summary>
[Collection(WorkerPoolCollection.Name)]
public class LstmQuantizedTests
{
    private static readonly string[] Variants = ["standard", "vanilla", "CIFG", "FGR", "no-bias", "hard_sigmoid+relu"];

    private static readonly string[] Options = ["plain", "initial-state", "mask-post", "mask-holes", "go-backwards", "dropout", "all"];

    public static TheoryData<string, string, QuantizationMode> Cases()
    {
        var data = new TheoryData<string, string, QuantizationMode>();
        foreach (var mode in new[] { QuantizationMode.Int8, QuantizationMode.BFloat16 })
        {
            foreach (var v in Variants)
            {
                foreach (var o in Options)
                {
                    if (o is "plain" or "all" || v is "standard")
                    {
                        data.Add(v, o, mode);
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheReferenceOnTheDequantizedWeights(string variant, string options, QuantizationMode mode)
    {
        foreach (var (batch, units) in new[] { (1, 19), (3, 40), (2, 4) })
        {
            CheckAgainstReference(variant, options, mode, batch, units, LaneWidth.Auto);
        }
    }

    /// <summary>The check has teeth: the float32 weights' reference is further from the quantized run than the tolerance.</summary>
    [Theory]
    [InlineData(QuantizationMode.Int8)]
    [InlineData(QuantizationMode.BFloat16)]
    public void TheFloatReferenceWouldFail(QuantizationMode mode)
    {
        var (layout, p, q) = Setup("standard", "plain", 2, 40, 5);
        var k = Run(layout, p, q, mode, LaneWidth.Auto, out _);
        var floatReference = LstmReference.Forward(p, q);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Close.Check("sequence vs float32 reference", k.Sequence, floatReference.Sequence));
    }

    [Theory]
    [InlineData(QuantizationMode.Int8)]
    [InlineData(QuantizationMode.BFloat16)]
    public void ScalarTwinAndThreadCountsGiveTheSameBits(QuantizationMode mode) => SameBits(mode);

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void EverySimdPathMatches(SimdPath path) =>
        SimdChildProcess.Run(path, typeof(LstmQuantizedTests), [nameof(ReferenceOnThisPath), nameof(SameBitsOnThisPath)]);

    internal static void ReferenceOnThisPath()
    {
        foreach (var mode in new[] { QuantizationMode.Int8, QuantizationMode.BFloat16 })
        {
            CheckAgainstReference("standard", "all", mode, 3, 19, LaneWidth.Auto);
            CheckAgainstReference("FGR", "plain", mode, 1, 40, LaneWidth.Auto);
        }
    }

    internal static void SameBitsOnThisPath()
    {
        SameBits(QuantizationMode.Int8);
        SameBits(QuantizationMode.BFloat16);
    }

    private static void SameBits(QuantizationMode mode)
    {
        var pool = WorkerPool.Shared;
        int saved = pool.ThreadCount;
        int savedMin = BatchChunks.MinRows;
        try
        {
            foreach (int batch in new[] { 1, 9, 130 })
            {
                BatchChunks.MinRows = 4; // 9 rows: 2 chunks, 130 rows: 32 chunks
                var (layout, p, q) = Setup("standard", "initial-state", batch, 40, 7);
                pool.ThreadCount = 1;
                var expected = Outputs(Run(layout, p, q, mode, LaneWidth.Scalar, out _));
                foreach (var (threads, width) in new[] { (1, LaneWidth.Auto), (2, LaneWidth.Auto), (3, LaneWidth.Auto), (2, LaneWidth.Scalar) })
                {
                    pool.ThreadCount = threads;
                    var actual = Outputs(Run(layout, p, q, mode, width, out _));
                    Check.Identical($"{mode} batch {batch}: scalar on 1 thread (expected) vs {width} on {threads} threads (actual)", expected, actual);
                }
            }
        }
        finally
        {
            pool.ThreadCount = saved;
            BatchChunks.MinRows = savedMin;
        }
    }

    private static void CheckAgainstReference(string variant, string options, QuantizationMode mode, int batch, int units, LaneWidth width)
    {
        var (layout, p, q) = Setup(variant, options, batch, units, 6);
        var k = Run(layout, p, q, mode, width, out var dequantized);
        var expected = LstmReference.Forward(dequantized, q);
        string where = $"{variant} {options} {mode} B{batch}U{units}";
        Close.Check($"{where} sequence", k.Sequence, expected.Sequence);
        Close.Check($"{where} last output", k.Last, expected.Last);
        Close.Check($"{where} h_T", k.H, expected.H);
        Close.Check($"{where} c_T", k.C, expected.C);
    }

    private static (LstmLayout Layout, LstmParams Params, LstmProblem Problem) Setup(string variantName, string options, int batch, int units, int time)
    {
        const int inputSize = 5;
        var (variant, useBias) = LstmKernelTests.Variant(variantName);
        var layout = new LstmLayout(variant, inputSize, units, useBias);
        var rng = new Random(LstmKernelTests.StableSeed(variantName, options, units + (100 * batch)));
        var p = LstmKernelTests.RandomParams(layout, rng);
        double scale = Math.Min(1, Math.Sqrt(16.0 / units));
        for (int i = 0; i < p.U.Length; i++)
        {
            p.U[i] = (float)(p.U[i] * scale);
        }

        return (layout, p, LstmKernelTests.Problem(options, rng, batch, time, inputSize, units));
    }

    /// <summary>
    /// An inference run with W and U quantized from <paramref name="p"/>; <paramref name="dequantized"/>
    /// is <paramref name="p"/> with W and U replaced by the exact values the quantized ones stand for.
    /// </summary>
    private static KernelRun Run(LstmLayout layout, LstmParams p, LstmProblem q, QuantizationMode mode, LaneWidth width, out LstmParams dequantized)
    {
        var qw = QuantizedMatrix.Quantize(KernelRun.F(p.W), layout.InputSize, layout.GateWidth, mode, "kernel");
        var qu = QuantizedMatrix.Quantize(KernelRun.F(p.U), layout.Units, layout.GateWidth, mode, "recurrent_kernel");
        dequantized = new LstmParams(layout);
        foreach (var ((name, target), (_, source)) in dequantized.All.Zip(p.All))
        {
            source.CopyTo(target, 0);
        }

        Exact(qw, dequantized.W);
        Exact(qu, dequantized.U);
        var k = new KernelRun(layout, p, q) { QuantizedKernel = qw, QuantizedRecurrentKernel = qu };
        k.Kernel.UseLatencyPath = true;
        k.Kernel.Width = width;
        k.Forward(training: false);
        return k;
    }

    /// <summary>q·s in double (exact: an int8 times a float), or the bf16 value.</summary>
    internal static void Exact(QuantizedMatrix m, double[] destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = m.Mode == QuantizationMode.Int8
                ? m.Int8[i] * (double)m.Scales[i % m.Columns]
                : QuantizedMatrix.FromBFloat16(m.BFloat16[i]);
        }
    }

    private static float[] Outputs(KernelRun k) => [.. k.Sequence, .. k.Last, .. k.H, .. k.C];
}
