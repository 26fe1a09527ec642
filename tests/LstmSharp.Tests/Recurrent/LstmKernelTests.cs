using LstmSharp.Kernels;
using LstmSharp.Recurrent;
using LstmSharp.Tests.Recurrent.Harness;
using LstmSharp.Tests.Recurrent.Reference;

namespace LstmSharp.Tests.Recurrent;

public class LstmKernelTests
{
    private const int Batch = 3, Time = 4, InputSize = 3, Units = 4;

    public static readonly string[] VariantNames = ["standard", "vanilla", "original1997", "NIG", "NFG", "NOG", "NIAF", "NOAF", "CIFG", "FGR", "cifg+fgr-nopeep", "hard_sigmoid+relu", "no-bias"];

    public static readonly string[] OptionNames = ["plain", "initial-state", "last-only", "state-only", "mask-post", "mask-pre-zero", "mask-holes", "go-backwards", "dropout", "all"];

    // The reference and finite-difference checks of every variant × option set live in one
    // harness for all cells (Harness/ReferenceHarness.cs, LstmReferenceTests); these entry
    // points keep their callers (SIMD child processes, chunked runs) on that harness.

    /// <summary>Units wide enough for the Vector512 and Vector256 paths plus a scalar tail.</summary>
    internal static void WideUnitsMatchTheDoubleReference()
    {
        foreach (var (variant, options) in new[] { ("standard", "all"), ("vanilla", "plain"), ("FGR", "all"), ("CIFG", "mask-post"), ("hard_sigmoid+relu", "dropout") })
        {
            CheckAgainstReference(variant, options, batch: 2, time: 3, inputSize: 2, units: 19);
        }
    }

    /// <summary>The harness's check of the fused kernel for an LSTM variant and option set at the given sizes.</summary>
    internal static void CheckAgainstReference(string variantName, string options, int batch, int time, int inputSize, int units, int? seed = null) =>
        ReferenceHarness.Check(
            CellRegistry.Get("lstm/" + variantName),
            $"{options} B{batch}T{time}I{inputSize}U{units}",
            ReferenceHarness.Options[options] with { Batch = batch, Time = time, Input = inputSize, Units = units, Seed = seed ?? StableSeed(variantName, options, units) },
            Implementation.Kernel);

    /// <summary>
    /// The case's data seed, the same in every process (HashCode.Combine, used here before, is
    /// randomised per process, so each run drew different data and a rare draw failed at random).
    /// </summary>
    internal static int StableSeed(string variantName, string options, int units)
    {
        uint h = 2166136261;
        foreach (char ch in $"{variantName}|{options}|{units}")
        {
            h = (h ^ ch) * 16777619;
        }

        return (int)(h & 0x7FFFFFFF);
    }

    internal static (LstmVariant Variant, bool UseBias) Variant(string name) => name switch
    {
        "cifg+fgr-nopeep" => (LstmVariant.Standard with { CoupledInputForget = true, FullGateRecurrence = true }, true),
        "hard_sigmoid+relu" => (LstmVariant.Vanilla with { RecurrentActivation = ActivationKind.HardSigmoid, Activation = ActivationKind.Relu }, true),
        "no-bias" => (LstmVariant.Vanilla, false),
        _ => (LstmVariant.FromName(name), true),
    };

    internal static LstmProblem Problem(string options, Random rng, int batch = Batch, int time = Time, int inputSize = InputSize, int units = Units)
    {
        double[]? mask = null;
        bool zero = false;
        bool backwards = options is "go-backwards" or "mask-holes" or "all";
        if (options is "mask-post" or "mask-pre-zero" or "mask-holes" or "all")
        {
            mask = new double[batch * time];
            for (int b = 0; b < batch; b++)
            {
                for (int t = 0; t < time; t++)
                {
                    // Row b has b+? valid steps; padding after (post), before (pre) or scattered (holes).
                    int valid = time - b;
                    mask[(b * time) + t] = options switch
                    {
                        "mask-post" => t < valid ? 1 : 0,
                        "mask-pre-zero" => t >= time - valid ? 1 : 0,
                        "all" => b == 1 ? (t >= 1 ? 1 : 0) : b == 2 ? (t < 2 ? 1 : 0) : 1,
                        _ => (t + b) % 3 == 1 ? 0 : 1,
                    };
                }
            }

            zero = options is "mask-pre-zero";
        }

        bool dropout = options is "dropout" or "all";
        bool init = options is "initial-state" or "all" or "state-only";
        return new LstmProblem
        {
            Batch = batch,
            Time = time,
            InputSize = inputSize,
            X = RandomArray(rng, batch * time * inputSize, 1.0),
            Mask = mask,
            ZeroOutputForMask = zero,
            GoBackwards = backwards,
            InputDropout = dropout ? DropoutMask(rng, batch * inputSize, 0.3) : null,
            RecurrentDropout = dropout ? DropoutMask(rng, batch * units, 0.3) : null,
            H0 = init ? RandomArray(rng, batch * units, 0.8) : null,
            C0 = init ? RandomArray(rng, batch * units, 0.8) : null,
        };
    }

    internal static LstmParams RandomParams(LstmLayout layout, Random rng)
    {
        var p = new LstmParams(layout);
        foreach (var (_, values) in p.All)
        {
            Fill(values, rng, 0.6);
        }

        return p;
    }

    internal static double[] RandomArray(Random rng, int n, double scale)
    {
        var a = new double[n];
        Fill(a, rng, scale);
        return a;
    }

    /// <summary>Uniform in [-scale, scale], rounded to float so both paths see the same numbers.</summary>
    private static void Fill(double[] a, Random rng, double scale)
    {
        for (int k = 0; k < a.Length; k++)
        {
            a[k] = (float)(((rng.NextDouble() * 2) - 1) * scale);
        }
    }

    private static double[] DropoutMask(Random rng, int n, double rate)
    {
        var m = new double[n];
        for (int k = 0; k < n; k++)
        {
            m[k] = rng.NextDouble() < rate ? 0 : (float)(1 / (1 - rate));
        }

        return m;
    }
}

/// <summary>Runs the float32 kernel on a double-precision problem and keeps every result.</summary>
internal sealed class KernelRun
{
    private readonly LstmParams p;
    private readonly LstmProblem q;
    private readonly float[] w, u, bias, peep, r, x, mask, mx, mh, h0, c0;

    public KernelRun(LstmLayout layout, LstmParams p, LstmProblem q, LstmKernel? kernel = null, LstmCache? cache = null)
    {
        this.p = p;
        Params = p;
        this.q = q;
        Kernel = kernel ?? new LstmKernel(layout, "test");
        Cache = cache ?? new LstmCache();
        w = F(p.W);
        u = F(p.U);
        bias = F(p.B);
        peep = F(p.P);
        r = F(p.R);
        x = F(q.X);
        mask = F(q.Mask);
        mx = F(q.InputDropout);
        mh = F(q.RecurrentDropout);
        h0 = F(q.H0);
        c0 = F(q.C0);
        int n = layout.Units;
        Sequence = new float[q.Batch * q.Time * n];
        Last = new float[q.Batch * n];
        H = new float[q.Batch * n];
        C = new float[q.Batch * n];
        DW = new float[p.W.Length];
        DU = new float[p.U.Length];
        DB = new float[p.B.Length];
        DP = new float[p.P.Length];
        DR = new float[p.R.Length];
        DX = new float[x.Length];
        DH0 = new float[q.Batch * n];
        DC0 = new float[q.Batch * n];
    }

    public LstmKernel Kernel { get; }

    public LstmParams Params { get; }

    public LstmCache Cache { get; }

    public float[] Sequence { get; }

    public float[] Last { get; }

    public float[] H { get; }

    public float[] C { get; }

    public float[] DW { get; }

    public float[] DU { get; }

    public float[] DB { get; }

    public float[] DP { get; }

    public float[] DR { get; }

    public float[] DX { get; }

    public float[] DH0 { get; }

    public float[] DC0 { get; }

    public SequenceRun Run => new(x, q.Batch, q.Time, q.InputSize)
    {
        Mask = mask,
        InputDropoutMask = mx,
        RecurrentDropoutMask = mh,
        GoBackwards = q.GoBackwards,
        ZeroOutputForMask = q.ZeroOutputForMask,
    };

    /// <summary>W in reduced precision for an inference run (null = float32).</summary>
    public QuantizedMatrix? QuantizedKernel { get; set; }

    /// <summary>U in reduced precision for an inference run (null = float32).</summary>
    public QuantizedMatrix? QuantizedRecurrentKernel { get; set; }

    public LstmWeights Weights => new() { Kernel = w, RecurrentKernel = u, Bias = bias, Peephole = peep, GateRecurrence = r, QuantizedKernel = QuantizedKernel, QuantizedRecurrentKernel = QuantizedRecurrentKernel };

    public void Forward(bool training, bool sequence = true)
    {
        Kernel.Forward(Run, Weights, h0, c0, new RnnOutputs { Sequence = sequence ? Sequence : default, Last = Last, H = H, C = C }, training ? Cache : null);
    }

    public void Backward(double[]? dSeq, double[]? dLast, double[]? dH, double[]? dC) =>
        BackwardCore(new RnnOutputGradients { Sequence = F(dSeq), Last = F(dLast), H = F(dH), C = F(dC) });

    /// <summary>Backward from float output gradients (allocates nothing).</summary>
    public void BackwardFloat(float[] dSeq, float[] dLast) => BackwardCore(new RnnOutputGradients { Sequence = dSeq, Last = dLast });

    private void BackwardCore(in RnnOutputGradients dOut)
    {
        Kernel.Backward(Run, Weights, Cache, dOut, new LstmGradients
        {
            Kernel = DW,
            RecurrentKernel = DU,
            Bias = DB,
            Peephole = DP,
            GateRecurrence = DR,
            Input = DX,
            InitialH = DH0,
            InitialC = DC0,
        });
    }

    internal static float[] F(double[]? a) => a is null ? [] : Array.ConvertAll(a, v => (float)v);
}

/// <summary>Tolerance checks that name the worst element.</summary>
internal static class Close
{
    /// <summary>|a − e| ≤ rel·max(|e|, scale), scale = max(|e|)·floor (so tiny entries of a large tensor get an absolute allowance).</summary>
    public static void Check(string label, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double rel = 1e-4, double floor = 1e-2)
    {
        Assert.True(actual.Length == expected.Length, $"{label}: length {actual.Length}, expected {expected.Length}");
        double scale = 1e-6;
        foreach (double e in expected)
        {
            scale = Math.Max(scale, Math.Abs(e));
        }

        scale *= floor;
        int worst = -1;
        double worstRatio = 0;
        for (int k = 0; k < actual.Length; k++)
        {
            double ratio = Math.Abs(actual[k] - expected[k]) / (rel * Math.Max(Math.Abs(expected[k]), scale));
            if (!(ratio <= worstRatio))
            {
                worstRatio = ratio;
                worst = k;
            }
        }

        Assert.True(worstRatio <= 1, $"{label}: worst element [{worst}] actual {(worst >= 0 ? actual[worst] : 0):G9}, expected {(worst >= 0 ? expected[worst] : 0):G9} ({worstRatio:F2}× the tolerance)");
    }

    public static void Check(string label, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double rel = 1e-4, double floor = 1e-2)
    {
        var e = new double[expected.Length];
        for (int k = 0; k < e.Length; k++) e[k] = expected[k];
        Check(label, actual, e, rel, floor);
    }
}
