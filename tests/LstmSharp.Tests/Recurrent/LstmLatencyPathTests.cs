using System.Reflection;
using LstmSharp.Kernels;
using LstmSharp.Recurrent;
using LstmSharp.Tests.Infrastructure;
using LstmSharp.Tests.Kernels;
using LstmSharp.Tests.Recurrent.Reference;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// The batch-1 inference path (<see cref="LstmLatencyPath"/>): held to the double reference,
/// the same bits for any thread count and part size, the scalar twin's bits, and the general
/// path for everything it does not support. Changes <see cref="WorkerPool.ThreadCount"/>.
/// </summary>
[Collection(WorkerPoolCollection.Name)]
public class LstmLatencyPathTests
{
    // Variants the path supports (no peepholes, no gate recurrence), incl. fewer gate blocks.
    private static readonly string[] Variants = ["standard", "original1997", "cifg-nopeep", "nig-nopeep", "noaf-nopeep", "niaf-nopeep", "hard_sigmoid+relu-nopeep", "no-bias"];

    private static readonly string[] Options = ["plain", "initial-state", "go-backwards", "last-only", "state-only"];

    // 4 and 19: one part with vector tails; 40: 32 + 8; 128: the bench's 2 × 64; 130: 80 + 50 (three parts of 48 + 48 + 34 on 3 threads).
    private static readonly int[] UnitCounts = [4, 19, 40, 128, 130];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var v in Variants)
        {
            foreach (var o in Options)
            {
                if (o is "plain" || v is "standard")
                {
                    data.Add(v, o);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheDoubleReference(string variantName, string options) => WithThreads(2, 8, () =>
    {
        foreach (int units in UnitCounts)
        {
            CheckAgainstReference(variantName, options, units, expectFastPath: true);
        }
    });

    /// <summary>Every supported shape on one thread, two and three, small parts, and the scalar product: one set of bits.</summary>
    [Fact]
    public void ThreadCountPartsAndScalarTwinGiveTheSameBits() => SameBitsEverywhere();

    internal static void SameBitsEverywhere()
    {
        foreach (int units in UnitCounts)
        {
            foreach (var variantName in new[] { "standard", "cifg-nopeep", "no-bias" })
            {
                float[]? first = null;
                string firstLabel = string.Empty;
                foreach (var (threads, minPart, scalar) in new[] { (1, 32, false), (2, 32, false), (2, 8, false), (3, 8, false), (2, 8, true), (1, 32, true) })
                {
                    float[] result = [];
                    WithThreads(threads, minPart, () =>
                    {
                        result = RunOnce(variantName, "initial-state", units, scalar ? LaneWidth.Scalar : LaneWidth.Auto);
                    });

                    string label = $"{variantName} units={units} threads={threads} minPart={minPart} scalar={scalar}";
                    if (first is null)
                    {
                        first = result;
                        firstLabel = label;
                        continue;
                    }

                    Check.Identical($"{firstLabel} (expected) vs {label} (actual)", first, result);
                }
            }
        }
    }

    /// <summary>What the path does not support runs the general path (and still matches the reference).</summary>
    [Theory]
    [InlineData("vanilla", "plain")]
    [InlineData("FGR", "plain")]
    [InlineData("cifg+fgr-nopeep", "plain")]
    [InlineData("standard", "mask-post")]
    [InlineData("standard", "mask-holes")]
    [InlineData("standard", "dropout")]
    public void UnsupportedRunsTakeTheGeneralPath(string variantName, string options) => WithThreads(2, 8, () =>
    {
        CheckAgainstReference(variantName, options, 19, expectFastPath: false);
    });

    [Fact]
    public void TrainingTakesTheGeneralPath()
    {
        var (variant, useBias) = LstmKernelTests.Variant("standard");
        var layout = new LstmLayout(variant, 3, 19, useBias);
        var rng = new Random(7);
        var p = LstmKernelTests.RandomParams(layout, rng);
        var q = LstmKernelTests.Problem("plain", rng, 1, 5, 3, 19);
        var k = new KernelRun(layout, p, q);
        k.Kernel.UseLatencyPath = true;
        k.Forward(training: true);
        Assert.Null(LatencyPathOf(k.Kernel));
        Close.Check("h_T", k.H, LstmReference.Forward(p, q).H);
    }

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void EverySimdPathMatches(SimdPath path) =>
        SimdChildProcess.Run(path, typeof(LstmLatencyPathTests), new[] { nameof(ReferenceOnThisPath), nameof(SameBitsEverywhere) });

    internal static void ReferenceOnThisPath() => WithThreads(2, 8, () =>
    {
        foreach (var v in Variants)
        {
            foreach (int units in UnitCounts)
            {
                CheckAgainstReference(v, "initial-state", units, expectFastPath: true);
            }
        }
    });

    private static void CheckAgainstReference(string variantName, string options, int units, bool expectFastPath)
    {
        const int time = 6, inputSize = 5;
        var (variant, useBias) = Variant(variantName);
        var layout = new LstmLayout(variant, inputSize, units, useBias);
        var rng = new Random(LstmKernelTests.StableSeed(variantName, options, units));
        var p = RandomParams(layout, rng);
        var q = LstmKernelTests.Problem(options, rng, 1, time, inputSize, units);
        var expected = LstmReference.Forward(p, q);
        var k = new KernelRun(layout, p, q);
        k.Kernel.UseLatencyPath = true;
        bool sequence = options is not ("last-only" or "state-only");

        // Twice: the second call reuses the path's buffers and must not see the first call's state.
        for (int call = 0; call < 2; call++)
        {
            k.Forward(training: false, sequence);
            string where = $"{variantName} {options} units={units} call {call}";
            Assert.True(expectFastPath == LatencyPathOf(k.Kernel) is not null, $"{where}: latency path used = {!expectFastPath}");
            if (sequence)
            {
                Close.Check($"{where} sequence", k.Sequence, expected.Sequence);
            }

            Close.Check($"{where} last output", k.Last, expected.Last);
            Close.Check($"{where} h_T", k.H, expected.H);
            Close.Check($"{where} c_T", k.C, expected.C);
        }
    }

    /// <summary>The whole output (sequence, h_T, c_T) of one inference call.</summary>
    private static float[] RunOnce(string variantName, string options, int units, LaneWidth width = LaneWidth.Auto)
    {
        var (variant, useBias) = Variant(variantName);
        var layout = new LstmLayout(variant, 5, units, useBias);
        var rng = new Random(units);
        var p = RandomParams(layout, rng);
        var q = LstmKernelTests.Problem(options, rng, 1, 7, 5, units);
        var k = new KernelRun(layout, p, q);
        k.Kernel.UseLatencyPath = true;
        k.Kernel.Width = width;
        k.Forward(training: false);
        Assert.NotNull(LatencyPathOf(k.Kernel));
        return [.. k.Sequence, .. k.H, .. k.C];
    }

    /// <summary>
    /// The kernel tests' parameters with U scaled by √(16/units) for wide layers (as Glorot and
    /// orthogonal initialisers scale it), so pre-activations stay O(1) and the float32 rounding
    /// of a 130-term sum stays within the reference tolerance whatever the summation order.
    /// </summary>
    private static LstmParams RandomParams(LstmLayout layout, Random rng)
    {
        var p = LstmKernelTests.RandomParams(layout, rng);
        double scale = Math.Min(1, Math.Sqrt(16.0 / layout.Units));
        for (int i = 0; i < p.U.Length; i++)
        {
            p.U[i] = (float)(p.U[i] * scale);
        }

        return p;
    }

    private static (LstmVariant Variant, bool UseBias) Variant(string name) => name switch
    {
        "cifg-nopeep" => (LstmVariant.Cifg with { Peepholes = false }, true),
        "nig-nopeep" => (LstmVariant.Nig with { Peepholes = false }, true),
        "noaf-nopeep" => (LstmVariant.Noaf with { Peepholes = false }, true),
        "niaf-nopeep" => (LstmVariant.Niaf with { Peepholes = false }, true),
        "hard_sigmoid+relu-nopeep" => (LstmVariant.Standard with { RecurrentActivation = ActivationKind.HardSigmoid, Activation = ActivationKind.Relu }, true),
        "no-bias" => (LstmVariant.Standard, false),
        _ => LstmKernelTests.Variant(name),
    };

    private static object? LatencyPathOf(LstmKernel kernel) =>
        typeof(LstmKernel).GetField("latencyPath", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(kernel);

    private static void WithThreads(int threads, int minPartUnits, Action body)
    {
        var pool = WorkerPool.Shared;
        int savedThreads = pool.ThreadCount, savedMin = LstmLatencyPath.MinPartUnits;
        try
        {
            pool.ThreadCount = threads;
            LstmLatencyPath.MinPartUnits = minPartUnits;
            body();
        }
        finally
        {
            pool.ThreadCount = savedThreads;
            LstmLatencyPath.MinPartUnits = savedMin;
        }
    }
}
