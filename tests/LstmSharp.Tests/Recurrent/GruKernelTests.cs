using LstmSharp.Kernels;
using LstmSharp.Recurrent;

namespace LstmSharp.Tests.Recurrent;

public class GruKernelTests
{
    // Reference and finite-difference checks: Harness/ReferenceHarness.cs (GruReferenceTests),
    // every option set and activation variant, for the kernel and the autograd cell alike.

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void VectorPathsMatchTheScalarTwin(bool resetAfter)
    {
        // 45 units: two 512-bit blocks, one 256-bit block, then 5 scalar columns.
        var o = new SeqOptions { Units = 45, Input = 5, Batch = 3, Time = 4, InitialState = true, RecurrentDropout = true, InputDropout = true, Mask = "middle", LastGrad = true, Seed = 41 };
        SeqContract.VectorPathsMatchScalar(w => new GruUnderTest(new GruKernel(new GruLayout(o.Input, o.Units, resetAfter), "gru", w)), o);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InferenceForwardEqualsTrainingForward(bool resetAfter)
    {
        var o = new SeqOptions { InitialState = true, Mask = "left", GoBackwards = true, RecurrentDropout = true, InputDropout = true, Time = 5, Seed = 51 };
        SeqContract.InferenceEqualsTraining(Make(o, resetAfter), o, "GRU 'gru' backward");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BatchOfOneGivesTheSameRowsAsTheBatch(bool resetAfter)
    {
        var o = new SeqOptions { Units = 20, Input = 6, Batch = 3, Time = 5, InitialState = true, Mask = "right", GoBackwards = true, LastGrad = true, Seed = 61 };
        SeqContract.BatchOfOneMatchesBatch(() => Make(o, resetAfter), o);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WarmCallsDoNotAllocate(bool resetAfter)
    {
        var o = new SeqOptions { Units = 32, Input = 8, Batch = 4, Time = 6, InitialState = true, Mask = "middle", RecurrentDropout = true, InputDropout = true, LastGrad = true, Seed = 71 };
        SeqContract.WarmCallsDoNotAllocate(Make(o, resetAfter), o);
    }

    [Theory]
    [InlineData(28, 128, false, 60_288)]
    [InlineData(28, 128, true, 60_672)]
    public void ParameterCountsMatchKeras(int input, int units, bool resetAfter, long expected)
    {
        var layout = new GruLayout(input, units, resetAfter);
        Assert.Equal(expected, layout.ParameterCount);
        Assert.Equal(expected, layout.ParameterShapes.Sum(p => p.Shape.Aggregate(1L, (a, d) => a * d)));
        Assert.Equal(resetAfter ? new[] { 2, 384 } : new[] { 384 }, layout.BiasShape);
        Assert.Equal(new[] { 28, 384 }, layout.KernelShape);
        Assert.Equal(new[] { 128, 384 }, layout.RecurrentKernelShape);
        Assert.Equal(60_288 - 384, new GruLayout(input, units, resetAfter, useBias: false).ParameterCount);
    }

    [Fact]
    public void BadShapesGiveClearErrors()
    {
        var k = new GruKernel(new GruLayout(3, 4, resetAfter: true), "gru_1");
        var x = new float[2 * 5 * 3];
        var w = new float[3 * 12];
        var u = new float[4 * 12];
        var b = new float[2 * 12];
        var final = new float[2 * 4];

        var e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 4), new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, default, new RnnOutputs { H = final }, null));
        Assert.Contains("GRU 'gru_1'", e.Message);
        Assert.Contains("[*, *, 3]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = new float[12] }, default, new RnnOutputs { H = final }, null));
        Assert.Contains("bias must be [2, 12]", e.Message);
        Assert.Contains("got 12", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = w, RecurrentKernel = new float[16], Bias = b }, default, new RnnOutputs { H = final }, null));
        Assert.Contains("recurrent_kernel must be [4, 12]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3) { Mask = new float[5] }, new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, default, new RnnOutputs { H = final }, null));
        Assert.Contains("mask must be [2, 5]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, new float[3], new RnnOutputs { H = final }, null));
        Assert.Contains("initial h must be [2, 4]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, default, new RnnOutputs { Sequence = new float[7] }, null));
        Assert.Contains("output sequence must be [2, 5, 4]", e.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => new GruLayout(3, 0));
        var cache = new GruCache();
        var e2 = Assert.Throws<InvalidOperationException>(() => k.Backward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, cache, new RnnOutputGradients { H = final }, new RnnGradients { Kernel = w, RecurrentKernel = u, Bias = b }));
        Assert.Contains("training-mode forward", e2.Message);

        // A backward with another run than the cached forward's is refused.
        k.Forward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, default, new RnnOutputs { H = final }, cache);
        e = Assert.Throws<ArgumentException>(() => k.Backward(new SequenceRun(x, 2, 5, 3) { GoBackwards = true }, new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, cache, new RnnOutputGradients { H = final }, new RnnGradients { Kernel = w, RecurrentKernel = u, Bias = b }));
        Assert.Contains("does not match the cached forward", e.Message);
        e = Assert.Throws<ArgumentException>(() => k.Backward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, cache, new RnnOutputGradients { H = final }, new RnnGradients { Kernel = w, RecurrentKernel = u, Bias = new float[12] }));
        Assert.Contains("d(bias) must be [24]", e.Message);
    }

    private static GruUnderTest Make(SeqOptions o, bool resetAfter) => new(new GruKernel(new GruLayout(o.Input, o.Units, resetAfter)));
}
