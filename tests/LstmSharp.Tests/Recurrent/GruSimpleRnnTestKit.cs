using LstmSharp.Kernels;
using LstmSharp.Recurrent;
using LstmSharp.Tests.Infrastructure;
using LstmSharp.Tests.Recurrent.Harness;
using LstmSharp.Tests.Recurrent.Reference;
using Xunit.Sdk;

namespace LstmSharp.Tests.Recurrent;

/// <summary>A GRU or SimpleRNN sequence kernel seen through one signature, with its double reference.</summary>
internal interface ISeqKernelUnderTest
{
    int GateWidth { get; }

    int BiasLength { get; }

    void Forward(in SequenceRun run, float[] w, float[] u, float[] b, float[]? h0, bool training, Span<float> seq, Span<float> last, Span<float> final);

    void Backward(
        in SequenceRun run, float[] w, float[] u, float[] b, float[]? dSeq, float[]? dLast, float[]? dFinal,
        Span<float> dx, Span<float> dW, Span<float> dU, Span<float> dB, Span<float> dh0);

    RefOutputs Reference(RefSequence s, double[] w, double[] u, double[]? b);
}

internal sealed class GruUnderTest(GruKernel k) : ISeqKernelUnderTest
{
    private readonly GruCache cache = new();

    public GruKernel Kernel => k;

    public int GateWidth => k.Layout.GateWidth;

    public int BiasLength => k.Layout.BiasLength;

    public void Forward(in SequenceRun run, float[] w, float[] u, float[] b, float[]? h0, bool training, Span<float> seq, Span<float> last, Span<float> final) =>
        k.Forward(run, new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, h0, new RnnOutputs { Sequence = seq, Last = last, H = final }, training ? cache : null);

    public void Backward(in SequenceRun run, float[] w, float[] u, float[] b, float[]? dSeq, float[]? dLast, float[]? dFinal, Span<float> dx, Span<float> dW, Span<float> dU, Span<float> dB, Span<float> dh0) =>
        k.Backward(
            run,
            new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b },
            cache,
            new RnnOutputGradients { Sequence = dSeq, Last = dLast, H = dFinal },
            new RnnGradients { Kernel = dW, RecurrentKernel = dU, Bias = dB, Input = dx, InitialH = dh0 });

    public RefOutputs Reference(RefSequence s, double[] w, double[] u, double[]? b) =>
        GruReference.Forward(s, w, u, b, k.Layout.ResetAfter, k.Layout.Activation, k.Layout.RecurrentActivation);
}

internal sealed class SimpleRnnUnderTest(SimpleRnnKernel k) : ISeqKernelUnderTest
{
    private readonly SimpleRnnCache cache = new();

    public SimpleRnnKernel Kernel => k;

    public int GateWidth => k.Layout.Units;

    public int BiasLength => k.Layout.BiasLength;

    public void Forward(in SequenceRun run, float[] w, float[] u, float[] b, float[]? h0, bool training, Span<float> seq, Span<float> last, Span<float> final) =>
        k.Forward(run, new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, h0, new RnnOutputs { Sequence = seq, Last = last, H = final }, training ? cache : null);

    public void Backward(in SequenceRun run, float[] w, float[] u, float[] b, float[]? dSeq, float[]? dLast, float[]? dFinal, Span<float> dx, Span<float> dW, Span<float> dU, Span<float> dB, Span<float> dh0) =>
        k.Backward(
            run,
            new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b },
            cache,
            new RnnOutputGradients { Sequence = dSeq, Last = dLast, H = dFinal },
            new RnnGradients { Kernel = dW, RecurrentKernel = dU, Bias = dB, Input = dx, InitialH = dh0 });

    public RefOutputs Reference(RefSequence s, double[] w, double[] u, double[]? b) =>
        SimpleRnnReference.Forward(s, w, u, b, k.Layout.Activation);
}

/// <summary>Which options a test case turns on.</summary>
internal sealed record SeqOptions
{
    public int Batch { get; init; } = 3;

    public int Time { get; init; } = 4;

    public int Input { get; init; } = 3;

    public int Units { get; init; } = 4;

    public bool InitialState { get; init; }

    /// <summary>"right" (trailing padding), "left" (leading padding), "middle", "allmasked-row", "holes", "mixed" or null.</summary>
    public string? Mask { get; init; }

    public bool GoBackwards { get; init; }

    public bool ZeroOutputForMask { get; init; }

    public bool InputDropout { get; init; }

    public bool RecurrentDropout { get; init; }

    /// <summary>Gradient arrives on the whole sequence (return_sequences) besides the final state.</summary>
    public bool SequenceGrad { get; init; } = true;

    public bool LastGrad { get; init; }

    public bool FinalGrad { get; init; } = true;

    /// <summary>Gradient on the second final state (LSTM's c_T); null = as <see cref="FinalGrad"/>.</summary>
    public bool? SecondFinalGrad { get; init; }

    public int Seed { get; init; } = 1;

    public override string ToString() =>
        $"B{Batch}T{Time}I{Input}U{Units}{(InitialState ? " h0" : "")}{(Mask is null ? "" : " mask=" + Mask)}{(GoBackwards ? " back" : "")}{(ZeroOutputForMask ? " zeroOut" : "")}{(InputDropout ? " inDrop" : "")}{(RecurrentDropout ? " recDrop" : "")}{(SequenceGrad ? " dSeq" : "")}{(LastGrad ? " dLast" : "")}{(FinalGrad ? " dFinal" : "")}";
}

/// <summary>Random data for one case, in float (what the kernel sees) and double (the same values).</summary>
internal sealed class SeqCase
{
    public SeqCase(SeqOptions o, int gateWidth, int biasLength)
    {
        O = o;
        var rng = new Random(o.Seed);
        int b = o.Batch, t = o.Time, n = o.Input, u = o.Units;
        X = Uniform(rng, b * t * n, 1f);
        W = Uniform(rng, n * gateWidth, 0.6f);
        U = Uniform(rng, u * gateWidth, 0.6f);
        B = Uniform(rng, biasLength, 0.4f);
        H0 = o.InitialState ? Uniform(rng, b * u, 0.8f) : null;
        Mask = o.Mask is null ? null : MakeMask(o.Mask, b, t);
        InDrop = o.InputDropout ? DropMask(rng, b * n, 0.3f) : null;
        RecDrop = o.RecurrentDropout ? DropMask(rng, b * u, 0.3f) : null;
        GSeq = o.SequenceGrad ? Uniform(rng, b * t * u, 1f) : null;
        GLast = o.LastGrad ? Uniform(rng, b * u, 1f) : null;
        GFinal = o.FinalGrad ? Uniform(rng, b * u, 1f) : null;
    }

    public SeqOptions O { get; }

    public float[] X { get; }

    public float[] W { get; }

    public float[] U { get; }

    public float[] B { get; }

    public float[]? H0 { get; }

    public float[]? Mask { get; }

    public float[]? InDrop { get; }

    public float[]? RecDrop { get; }

    public float[]? GSeq { get; }

    public float[]? GLast { get; }

    public float[]? GFinal { get; }

    public SequenceRun Run() => new(X, O.Batch, O.Time, O.Input)
    {
        Mask = Mask,
        InputDropoutMask = InDrop,
        RecurrentDropoutMask = RecDrop,
        GoBackwards = O.GoBackwards,
        ZeroOutputForMask = O.ZeroOutputForMask,
    };

    public RefSequence Ref(double[] x, double[]? h0) => new()
    {
        Batch = O.Batch,
        Time = O.Time,
        Input = O.Input,
        Units = O.Units,
        X = x,
        H0 = h0,
        Mask = D(Mask),
        InputDropMask = D(InDrop),
        RecurrentDropMask = D(RecDrop),
        GoBackwards = O.GoBackwards,
        ZeroOutputForMask = O.ZeroOutputForMask,
    };

    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(a))]
    public static double[]? D(float[]? a) => a is null ? null : Array.ConvertAll(a, v => (double)v);

    public static float[] Uniform(Random rng, int count, float scale)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++)
        {
            a[i] = (float)(((rng.NextDouble() * 2) - 1) * scale);
        }

        return a;
    }

    public static float[] DropMask(Random rng, int count, float rate)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++)
        {
            a[i] = rng.NextDouble() < rate ? 0f : 1f / (1f - rate);
        }

        return a;
    }

    public static float[] MakeMask(string kind, int b, int t)
    {
        var m = new float[b * t];
        for (int r = 0; r < b; r++)
        {
            for (int s = 0; s < t; s++)
            {
                bool valid = kind switch
                {
                    // Row r has r steps of padding at the end / start (row 0 none).
                    "right" => s < t - r,
                    "left" => s >= r,
                    "middle" => !(r > 0 && (s == 1 || (r == 2 && s == 2))),
                    "allmasked-row" => r != 1 && s != t - 1,
                    "holes" => (s + r) % 3 != 1,
                    "mixed" => r == 1 ? s >= 1 : r != 2 || s < 2,
                    _ => throw new ArgumentException(kind),
                };
                m[(r * t) + s] = valid ? 1f : 0f;
            }
        }

        return m;
    }
}

internal static class SeqCheck
{
    /// <summary>
    /// |a − e| ≤ rel · max(|e|, floor · max|e|) element-wise; on failure reports the worst element.
    /// The floor keeps elements that cancel to ~0 from demanding a relative accuracy no float
    /// computation has; it is small (1e-2 of the array's largest value).
    /// </summary>
    public static double Close(string label, ReadOnlySpan<float> actual, double[] expected, double rel = 1e-4, double floor = 1e-2)
    {
        if (actual.Length != expected.Length)
        {
            throw new XunitException($"{label}: length {actual.Length}, expected {expected.Length}.");
        }

        double scale = 0;
        foreach (double e in expected)
        {
            scale = Math.Max(scale, Math.Abs(e));
        }

        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double denom = Math.Max(Math.Abs(expected[i]), Math.Max(floor * scale, 1e-30));
            double err = Math.Abs(actual[i] - expected[i]) / denom;
            if (!(err <= worst))
            {
                worst = err;
                at = i;
            }
        }

        if (!(worst <= rel))
        {
            throw new XunitException($"{label}: worst relative error {worst:E3} > {rel:E1} at [{at}]: actual {actual[at]:R}, expected {expected[at]:R} (max |expected| {scale:G4}).");
        }

        return worst;
    }

    public static double Close(string label, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double rel) =>
        Close(label, actual, Array.ConvertAll(expected.ToArray(), v => (double)v), rel);

    /// <summary>The worst element of two float arrays, for failure messages.</summary>
    public static string Describe(float[] actual, float[] expected)
    {
        int at = 0;
        double worst = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            if (!(d <= worst))
            {
                worst = d;
                at = i;
            }
        }

        return $"worst at [{at}]: {actual[at]:R} vs {expected[at]:R}";
    }

    /// <summary>The harness's reference and finite-difference check (Harness/ReferenceHarness.cs) of one GRU or SimpleRNN kernel.</summary>
    public static void ForwardAndGradients(ISeqKernelUnderTest k, SeqOptions o, double rel = 1e-4) =>
        ReferenceHarness.Check(
            o.ToString(),
            new SingleStateReferenceCell(o.Input, o.Units, k.GateWidth / o.Units, k.BiasLength, k.Reference),
            new SingleStateKernelUnderTest(k),
            o,
            stateCount: 1,
            rel);

    /// <summary>The option sets that change the math, each checked for every cell.</summary>
    public static IEnumerable<SeqOptions> OptionMatrix() =>
    [
        new SeqOptions(),
        new SeqOptions { InitialState = true, Seed = 2 },
        new SeqOptions { SequenceGrad = false, LastGrad = true, FinalGrad = false, Seed = 3 },
        new SeqOptions { Mask = "right", InitialState = true, SequenceGrad = true, LastGrad = true, Seed = 4 },
        new SeqOptions { Mask = "left", Seed = 5, Time = 5, LastGrad = true },
        new SeqOptions { Mask = "middle", ZeroOutputForMask = true, LastGrad = true, InitialState = true, Seed = 6 },
        new SeqOptions { Mask = "allmasked-row", InitialState = true, LastGrad = true, Seed = 7 },
        new SeqOptions { GoBackwards = true, Seed = 8, Batch = 2, Time = 5 },
        new SeqOptions { GoBackwards = true, Mask = "right", InitialState = true, LastGrad = true, Seed = 9 },
        new SeqOptions { GoBackwards = true, Mask = "left", ZeroOutputForMask = true, Seed = 10 },
        new SeqOptions { InputDropout = true, RecurrentDropout = true, InitialState = true, Seed = 11 },
        new SeqOptions { InputDropout = true, RecurrentDropout = true, Mask = "middle", GoBackwards = true, InitialState = true, LastGrad = true, Seed = 12 },
    ];
}

/// <summary>Checks every single-state sequence kernel must pass, given a factory for it.</summary>
internal static class SeqContract
{
    /// <summary>seq, last, final, dx, dW, dU, dB, dh0 of one training forward + backward.</summary>
    public static float[][] RunAll(ISeqKernelUnderTest k, SeqOptions o)
    {
        var c = new SeqCase(o, k.GateWidth, k.BiasLength);
        var seq = new float[o.Batch * o.Time * o.Units];
        var last = new float[o.Batch * o.Units];
        var final = new float[o.Batch * o.Units];
        k.Forward(c.Run(), c.W, c.U, c.B, c.H0, true, seq, last, final);
        var dx = new float[c.X.Length];
        var dW = new float[c.W.Length];
        var dU = new float[c.U.Length];
        var dB = new float[c.B.Length];
        var dh0 = new float[o.Batch * o.Units];
        k.Backward(c.Run(), c.W, c.U, c.B, c.GSeq, c.GLast, c.GFinal, dx, dW, dU, dB, dh0);
        return [seq, last, final, dx, dW, dU, dB, dh0];
    }

    /// <summary>
    /// Each available SIMD width against the scalar twin, all outputs and gradients. The widths
    /// run the same IEEE operations (VecMath guarantees it for the activations), so the results
    /// are the same bits.
    /// </summary>
    public static void VectorPathsMatchScalar(Func<LaneWidth, ISeqKernelUnderTest> make, SeqOptions o)
    {
        var widths = new List<LaneWidth> { LaneWidth.Scalar };
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            widths.Add(LaneWidth.Vector256);
        }

        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            widths.Add(LaneWidth.Vector512);
        }

        var results = widths.Select(w => RunAll(make(w), o)).ToList();
        string[] names = ["sequence", "last", "final", "dx", "dW", "dU", "db", "dh0"];
        for (int i = 1; i < results.Count; i++)
        {
            for (int a = 0; a < names.Length; a++)
            {
                Assert.True(results[0][a].AsSpan().SequenceEqual(results[i][a]), $"{widths[i]} differs from the scalar twin in {names[a]}: {SeqCheck.Describe(results[i][a], results[0][a])}");
            }
        }
    }

    /// <summary>An inference forward gives the same bits as a training forward and leaves nothing to differentiate.</summary>
    public static void InferenceEqualsTraining(ISeqKernelUnderTest k, SeqOptions o, string owner)
    {
        var c = new SeqCase(o, k.GateWidth, k.BiasLength);
        var outs = new float[2][][];
        foreach (bool training in new[] { true, false })
        {
            var seq = new float[o.Batch * o.Time * o.Units];
            var last = new float[o.Batch * o.Units];
            var final = new float[o.Batch * o.Units];
            k.Forward(c.Run(), c.W, c.U, c.B, c.H0, training, seq, last, final);
            outs[training ? 0 : 1] = [seq, last, final];
        }

        for (int a = 0; a < 3; a++)
        {
            Assert.Equal(outs[0][a], outs[1][a]);
        }

        // The training forward's cache is consumed by one backward; a second one is refused.
        var dh = new float[o.Batch * o.Units];
        k.Backward(c.Run(), c.W, c.U, c.B, null, null, dh, null, new float[c.W.Length], new float[c.U.Length], new float[c.B.Length], null);
        var ex = Assert.Throws<InvalidOperationException>(() => k.Backward(c.Run(), c.W, c.U, c.B, null, null, dh, null, new float[c.W.Length], new float[c.U.Length], new float[c.B.Length], null));
        Assert.Contains(owner, ex.Message);
        Assert.Contains("training-mode forward", ex.Message);
    }

    /// <summary>Running each sequence alone (batch 1, the latency path) gives the batch's rows.</summary>
    public static void BatchOfOneMatchesBatch(Func<ISeqKernelUnderTest> make, SeqOptions o)
    {
        var k = make();
        var c = new SeqCase(o, k.GateWidth, k.BiasLength);
        var full = RunAll(k, o);
        int tu = o.Time * o.Units, ti = o.Time * o.Input;
        for (int r = 0; r < o.Batch; r++)
        {
            var x1 = c.X.AsSpan(r * ti, ti).ToArray();
            var h1 = c.H0?.AsSpan(r * o.Units, o.Units).ToArray();
            var m1 = c.Mask?.AsSpan(r * o.Time, o.Time).ToArray();
            var run = new SequenceRun(x1, 1, o.Time, o.Input) { Mask = m1, GoBackwards = o.GoBackwards, ZeroOutputForMask = o.ZeroOutputForMask };
            var seq = new float[tu];
            var last = new float[o.Units];
            var final = new float[o.Units];
            var k1 = make();
            k1.Forward(run, c.W, c.U, c.B, h1, true, seq, last, final);
            var dx = new float[ti];
            var dW = new float[c.W.Length];
            var dU = new float[c.U.Length];
            var dB = new float[c.B.Length];
            var dh0 = new float[o.Units];
            k1.Backward(run, c.W, c.U, c.B, c.GSeq?.AsSpan(r * tu, tu).ToArray(), c.GLast?.AsSpan(r * o.Units, o.Units).ToArray(), c.GFinal?.AsSpan(r * o.Units, o.Units).ToArray(), dx, dW, dU, dB, dh0);
            SeqCheck.Close($"row {r} sequence", seq, full[0].AsSpan(r * tu, tu), 1e-4);
            SeqCheck.Close($"row {r} last", last, full[1].AsSpan(r * o.Units, o.Units), 1e-4);
            SeqCheck.Close($"row {r} final", final, full[2].AsSpan(r * o.Units, o.Units), 1e-4);
            SeqCheck.Close($"row {r} dx", dx, full[3].AsSpan(r * ti, ti), 1e-4);
            SeqCheck.Close($"row {r} dh0", dh0, full[7].AsSpan(r * o.Units, o.Units), 1e-4);
        }
    }

    /// <summary>Once warm, inference forward + training forward + backward allocate nothing.</summary>
    public static void WarmCallsDoNotAllocate(ISeqKernelUnderTest k, SeqOptions o) => WarmCallsDoNotAllocate(k, o, null, null);

    /// <summary>
    /// As <see cref="WarmCallsDoNotAllocate(ISeqKernelUnderTest, SeqOptions)"/>, with
    /// <paramref name="beforeWindow"/> run just before the measured calls (a test starts a
    /// background GC there) and the calls repeated, after the first five, while
    /// <paramref name="keepGoing"/> says so.
    /// </summary>
    public static void WarmCallsDoNotAllocate(ISeqKernelUnderTest k, SeqOptions o, Action? beforeWindow, Func<bool>? keepGoing)
    {
        var c = new SeqCase(o, k.GateWidth, k.BiasLength);
        var seq = new float[o.Batch * o.Time * o.Units];
        var last = new float[o.Batch * o.Units];
        var final = new float[o.Batch * o.Units];
        var dx = new float[c.X.Length];
        var dW = new float[c.W.Length];
        var dU = new float[c.U.Length];
        var dB = new float[c.B.Length];
        var dh0 = new float[o.Batch * o.Units];
        void Once()
        {
            k.Forward(c.Run(), c.W, c.U, c.B, c.H0, false, seq, last, final);
            k.Forward(c.Run(), c.W, c.U, c.B, c.H0, true, seq, last, final);
            k.Backward(c.Run(), c.W, c.U, c.B, c.GSeq, c.GLast, c.GFinal, dx, dW, dU, dB, dh0);
        }

        Once();
        Once();
        beforeWindow?.Invoke();
        int calls = 0;
        long allocated = ThreadAllocations.Measure(() =>
        {
            while (calls < 5 || (keepGoing is not null && keepGoing()))
            {
                Once();
                calls++;
            }
        });
        Assert.True(allocated == 0, $"{calls} warm forward+forward+backward calls allocated {allocated} bytes");
    }
}
