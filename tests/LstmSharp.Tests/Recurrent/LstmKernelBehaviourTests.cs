using LstmSharp.Recurrent;
using LstmSharp.Tests.Infrastructure;
using LstmSharp.Tests.Recurrent.Reference;

namespace LstmSharp.Tests.Recurrent;

public class LstmKernelBehaviourTests
{
    [Theory]
    [InlineData("standard", "all")]
    [InlineData("FGR", "mask-holes")]
    [InlineData("vanilla", "dropout")]
    public void InferenceEqualsTrainingForward(string variantName, string options)
    {
        var (run, _) = Setup(variantName, options, batch: 4, units: 20);
        run.Forward(training: true);
        var seq = (float[])run.Sequence.Clone();
        var last = (float[])run.Last.Clone();
        var h = (float[])run.H.Clone();
        var c = (float[])run.C.Clone();
        Array.Clear(run.Sequence);
        run.Forward(training: false);
        Assert.Equal(seq, run.Sequence);
        Assert.Equal(last, run.Last);
        Assert.Equal(h, run.H);
        Assert.Equal(c, run.C);
    }

    [Theory]
    [InlineData("standard", "plain")]
    [InlineData("vanilla", "all")]
    [InlineData("FGR", "initial-state")]
    public void BatchOfOneEqualsTheSameRowOfABatch(string variantName, string options)
    {
        const int batch = 3, units = 20;
        var (full, q) = Setup(variantName, options, batch, units);
        full.Forward(training: false);
        var layout = full.Kernel.Layout;
        var single = new LstmKernel(layout, "single");
        for (int b = 0; b < batch; b++)
        {
            var qb = new LstmProblem
            {
                Batch = 1,
                Time = q.Time,
                InputSize = q.InputSize,
                X = q.X.AsSpan(b * q.Time * q.InputSize, q.Time * q.InputSize).ToArray(),
                Mask = q.Mask?.AsSpan(b * q.Time, q.Time).ToArray(),
                InputDropout = q.InputDropout?.AsSpan(b * q.InputSize, q.InputSize).ToArray(),
                RecurrentDropout = q.RecurrentDropout?.AsSpan(b * units, units).ToArray(),
                H0 = q.H0?.AsSpan(b * units, units).ToArray(),
                C0 = q.C0?.AsSpan(b * units, units).ToArray(),
                GoBackwards = q.GoBackwards,
                ZeroOutputForMask = q.ZeroOutputForMask,
            };
            var one = new KernelRun(layout, full.Params, qb, single);
            one.Forward(training: false);
            Close.Check($"row {b} sequence", one.Sequence, full.Sequence.AsSpan(b * q.Time * units, q.Time * units), rel: 1e-5);
            Close.Check($"row {b} h", one.H, full.H.AsSpan(b * units, units), rel: 1e-5);
            Close.Check($"row {b} c", one.C, full.C.AsSpan(b * units, units), rel: 1e-5);
        }
    }

    [Theory]
    [InlineData("standard", "plain", 16)]
    [InlineData("FGR", "all", 16)]
    [InlineData("standard", "plain", 1)]
    [InlineData("FGR", "all", 130)] // split into row chunks (BatchChunks)
    public void WarmCallsDoNotAllocate(string variantName, string options, int batch)
    {
        var (run, q) = Setup(variantName, options, batch, units: 24);
        var dSeq = new double[run.Sequence.Length];
        var dLast = new double[run.Last.Length];
        var wSeq = KernelRun.F(dSeq);
        var wLast = KernelRun.F(dLast);

        void TrainStep()
        {
            run.Forward(training: true);
            run.BackwardFloat(wSeq, wLast);
        }

        TrainStep();
        TrainStep();
        long training = ThreadAllocations.Measure(TrainStep);

        run.Forward(training: false);
        long inference = ThreadAllocations.Measure(() => run.Forward(training: false));

        // A few hundred bytes of slack: one step's buffer alone would be kilobytes. The count is exact
        // (ThreadAllocations), yet a warm training step was once charged 56 bytes (FGR, "all", batch 16,
        // 1 of 40 filtered runs at load 7, issue 19 defect 9 follow-up), so an exact zero is not claimed here.
        Assert.True(training <= 512, $"a warm training forward+backward allocated {training} bytes");
        Assert.True(inference <= 512, $"a warm inference forward allocated {inference} bytes");
        Assert.True(q.Time > 1);
    }

    [Fact]
    public void BadShapesNameExpectedAndActual()
    {
        var (run, q) = Setup("standard", "plain", batch: 2, units: 4);
        var kernel = run.Kernel;
        var x = new float[q.X.Length];
        var w = KernelRun.F(run.Params.W);
        var u = KernelRun.F(run.Params.U);
        var bias = KernelRun.F(run.Params.B);
        LstmWeights Weights() => new() { Kernel = w, RecurrentKernel = u, Bias = bias };

        var e1 = Assert.Throws<ArgumentException>(() => kernel.Forward(new SequenceRun(x, q.Batch, q.Time, q.InputSize + 1), Weights(), default, default, default, null));
        Assert.Contains($"expected input [*, *, {q.InputSize}]", e1.Message);
        Assert.Contains($"got [{q.Batch}, {q.Time}, {q.InputSize + 1}]", e1.Message);

        var e2 = Assert.Throws<ArgumentException>(() => kernel.Forward(new SequenceRun(x, q.Batch, q.Time, q.InputSize), new LstmWeights { Kernel = w, RecurrentKernel = u.AsSpan(1), Bias = bias }, default, default, default, null));
        Assert.Contains("recurrent_kernel must be [4, 16]", e2.Message);
        Assert.Contains($"got {u.Length - 1}", e2.Message);

        var e3 = Assert.Throws<ArgumentException>(() => kernel.Forward(new SequenceRun(x, q.Batch, q.Time, q.InputSize) { Mask = new float[3] }, Weights(), default, default, default, null));
        Assert.Contains($"mask must be [{q.Batch}, {q.Time}]", e3.Message);

        var e4 = Assert.Throws<ArgumentException>(() => kernel.Forward(new SequenceRun(x, q.Batch, q.Time, q.InputSize), Weights(), new float[3], default, default, null));
        Assert.Contains($"initial h must be [{q.Batch}, 4]", e4.Message);

        var e5 = Assert.Throws<ArgumentException>(() => kernel.Forward(new SequenceRun(x, q.Batch, q.Time, q.InputSize), Weights(), default, default, new RnnOutputs { Sequence = new float[5] }, null));
        Assert.Contains($"output sequence must be [{q.Batch}, {q.Time}, 4]", e5.Message);

        var cache = new LstmCache();
        var e6 = Assert.Throws<InvalidOperationException>(() => kernel.Backward(new SequenceRun(x, q.Batch, q.Time, q.InputSize), Weights(), cache, default, new LstmGradients { Kernel = new float[w.Length], RecurrentKernel = new float[u.Length], Bias = new float[bias.Length] }));
        Assert.Contains("training-mode forward", e6.Message);

        kernel.Forward(new SequenceRun(x, q.Batch, q.Time, q.InputSize), Weights(), default, default, default, cache);
        var e7 = Assert.Throws<ArgumentException>(() => kernel.Backward(new SequenceRun(x, q.Batch, q.Time, q.InputSize) { GoBackwards = true }, Weights(), cache, default, new LstmGradients { Kernel = new float[w.Length], RecurrentKernel = new float[u.Length], Bias = new float[bias.Length] }));
        Assert.Contains("does not match the cached forward", e7.Message);

        var e8 = Assert.Throws<ArgumentException>(() => kernel.Backward(new SequenceRun(x, q.Batch, q.Time, q.InputSize), Weights(), cache, default, new LstmGradients { Kernel = new float[w.Length], RecurrentKernel = new float[u.Length] }));
        Assert.Contains("d(bias) must be [16]", e8.Message);
    }

    [Fact]
    public void RowsSplitOverThreadsMatchTheReference()
    {
        int keep = LstmKernel.ParallelRowMinFloats;
        LstmKernel.ParallelRowMinFloats = 0;
        try
        {
            LstmKernelTests.CheckAgainstReference("FGR", "all", batch: 3, time: 4, inputSize: 3, units: 5);
            LstmKernelTests.CheckAgainstReference("FGR", "mask-holes", batch: 3, time: 4, inputSize: 3, units: 5);
            LstmKernelTests.CheckAgainstReference("vanilla", "mask-holes", batch: 3, time: 4, inputSize: 3, units: 5);
            LstmKernelTests.CheckAgainstReference("standard", "mask-post", batch: 5, time: 3, inputSize: 2, units: 17);
        }
        finally
        {
            LstmKernel.ParallelRowMinFloats = keep;
        }
    }

    [Fact]
    public void ParameterGradientsAccumulate()
    {
        var (run, _) = Setup("vanilla", "plain", batch: 2, units: 5);
        var wLast = new float[run.Last.Length];
        wLast.AsSpan().Fill(1f);
        run.Forward(training: true);
        run.BackwardFloat([], wLast);
        var once = (float[])run.DU.Clone();
        var dxOnce = (float[])run.DX.Clone();
        run.Forward(training: true);
        run.BackwardFloat([], wLast);
        for (int k = 0; k < once.Length; k++)
        {
            Assert.Equal(2 * once[k], run.DU[k], 1e-5f * Math.Max(1f, Math.Abs(once[k])));
        }

        Assert.Equal(dxOnce, run.DX);
    }

    private static (KernelRun Run, LstmProblem Problem) Setup(string variantName, string options, int batch, int units)
    {
        var (variant, useBias) = LstmKernelTests.Variant(variantName);
        var layout = new LstmLayout(variant, 3, units, useBias);
        var rng = new Random(7);
        var p = LstmKernelTests.RandomParams(layout, rng);
        var q = LstmKernelTests.Problem(options, rng, batch, time: 5, inputSize: 3, units: units);
        return (new KernelRun(layout, p, q), q);
    }
}
