using LstmSharp.Kernels;
using LstmSharp.Recurrent;

namespace LstmSharp.Tests.Recurrent;

public class SimpleRnnKernelTests
{
    // Reference and finite-difference checks: Harness/ReferenceHarness.cs (SimpleRnnReferenceTests),
    // every option set and activation variant, for the kernel and the autograd cell alike.

    [Fact]
    public void VectorPathsMatchTheScalarTwin()
    {
        // 45 units: two 512-bit blocks, one 256-bit block, then 5 scalar columns.
        var o = new SeqOptions { Units = 45, Input = 5, Batch = 3, Time = 4, InitialState = true, RecurrentDropout = true, InputDropout = true, Mask = "middle", LastGrad = true, Seed = 42 };
        SeqContract.VectorPathsMatchScalar(w => new SimpleRnnUnderTest(new SimpleRnnKernel(new SimpleRnnLayout(o.Input, o.Units), "simple_rnn", w)), o);
    }

    [Fact]
    public void InferenceForwardEqualsTrainingForward()
    {
        var o = new SeqOptions { InitialState = true, Mask = "left", GoBackwards = true, RecurrentDropout = true, InputDropout = true, Time = 5, Seed = 52 };
        SeqContract.InferenceEqualsTraining(Make(o), o, "SimpleRNN 'simple_rnn' backward");
    }

    [Fact]
    public void BatchOfOneGivesTheSameRowsAsTheBatch()
    {
        var o = new SeqOptions { Units = 20, Input = 6, Batch = 3, Time = 5, InitialState = true, Mask = "left", LastGrad = true, Seed = 62 };
        SeqContract.BatchOfOneMatchesBatch(() => Make(o), o);
    }

    [Fact]
    public void WarmCallsDoNotAllocate()
    {
        var o = new SeqOptions { Units = 32, Input = 8, Batch = 4, Time = 6, InitialState = true, Mask = "middle", RecurrentDropout = true, InputDropout = true, LastGrad = true, Seed = 72 };
        SeqContract.WarmCallsDoNotAllocate(Make(o), o);
    }

    [Fact]
    public void ParameterCountMatchesKeras()
    {
        var layout = new SimpleRnnLayout(28, 128);
        Assert.Equal(20_096, layout.ParameterCount);
        Assert.Equal(20_096, layout.ParameterShapes.Sum(p => p.Shape.Aggregate(1L, (a, d) => a * d)));
        Assert.Equal(20_096 - 128, new SimpleRnnLayout(28, 128, useBias: false).ParameterCount);
    }

    [Fact]
    public void BadShapesGiveClearErrors()
    {
        var k = new SimpleRnnKernel(new SimpleRnnLayout(3, 4), "rnn_1");
        var x = new float[2 * 5 * 3];
        var w = new float[3 * 4];
        var u = new float[4 * 4];
        var b = new float[4];
        var final = new float[2 * 4];

        var e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = new float[3 * 5], RecurrentKernel = u, Bias = b }, default, new RnnOutputs { H = final }, null));
        Assert.Contains("SimpleRNN 'rnn_1'", e.Message);
        Assert.Contains("kernel must be [3, 4]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = w, RecurrentKernel = u }, default, new RnnOutputs { H = final }, null));
        Assert.Contains("bias must be [4]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3) { RecurrentDropoutMask = new float[3] }, new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, default, new RnnOutputs { H = final }, null));
        Assert.Contains("recurrent dropout mask must be [2, 4]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, default, new RnnOutputs { Last = new float[4] }, null));
        Assert.Contains("last output must be [2, 4]", e.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => new SimpleRnnLayout(0, 4));
        var e2 = Assert.Throws<InvalidOperationException>(() => k.Backward(new SequenceRun(x, 2, 5, 3), new RnnWeights { Kernel = w, RecurrentKernel = u, Bias = b }, new SimpleRnnCache(), new RnnOutputGradients { H = final }, new RnnGradients { Kernel = w, RecurrentKernel = u, Bias = b }));
        Assert.Contains("SimpleRNN 'rnn_1' backward", e2.Message);
    }

    private static SimpleRnnUnderTest Make(SeqOptions o) => new(new SimpleRnnKernel(new SimpleRnnLayout(o.Input, o.Units)));
}
