using LstmSharp.Kernels;
using LstmSharp.Recurrent;

namespace LstmSharp.Tests.Recurrent;

public class GruKernelTests
{
    public static TheoryData<bool, int> Cases()
    {
        var data = new TheoryData<bool, int>();
        int count = SeqCheck.OptionMatrix().Count();
        foreach (bool resetAfter in new[] { false, true })
        {
            for (int i = 0; i < count; i++)
            {
                data.Add(resetAfter, i);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesReferenceAndFiniteDifferences(bool resetAfter, int optionIndex)
    {
        var o = SeqCheck.OptionMatrix().ElementAt(optionIndex);
        var k = new GruKernel(o.Input, o.Units, resetAfter);
        SeqCheck.ForwardAndGradients(new GruUnderTest(k), o);
    }

    [Theory]
    [InlineData(false, ActivationKind.Relu, ActivationKind.HardSigmoid, true)]
    [InlineData(true, ActivationKind.Relu, ActivationKind.HardSigmoid, true)]
    [InlineData(false, ActivationKind.Sigmoid, ActivationKind.Tanh, false)]
    [InlineData(true, ActivationKind.Linear, ActivationKind.Sigmoid, false)]
    public void OtherActivationsAndNoBias(bool resetAfter, ActivationKind activation, ActivationKind recurrentActivation, bool useBias)
    {
        var o = new SeqOptions { InitialState = true, Mask = "middle", LastGrad = true, Seed = 21 };
        var k = new GruKernel(o.Input, o.Units, resetAfter, activation, recurrentActivation, useBias);
        SeqCheck.ForwardAndGradients(new GruUnderTest(k), o);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UnitsNotAMultipleOfTheVectorWidthUseTheTail(bool resetAfter)
    {
        // 37 = 2·16 + 5 (Vector512) = 4·8 + 5 (Vector256): vector body and scalar tail both run.
        var o = new SeqOptions { Units = 37, Input = 5, Batch = 2, Time = 3, InitialState = true, RecurrentDropout = true, Mask = "middle", Seed = 31 };
        var k = new GruKernel(o.Input, o.Units, resetAfter);
        SeqCheck.ForwardAndGradients(new GruUnderTest(k), o);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void VectorPathsMatchTheScalarTwin(bool resetAfter)
    {
        var o = new SeqOptions { Units = 37, Input = 5, Batch = 3, Time = 4, InitialState = true, RecurrentDropout = true, InputDropout = true, Mask = "middle", LastGrad = true, Seed = 41 };
        var widths = new List<LaneWidth> { LaneWidth.Scalar };
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            widths.Add(LaneWidth.Vector256);
        }

        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            widths.Add(LaneWidth.Vector512);
        }

        var results = widths.Select(w => RunAll(new GruKernel(o.Input, o.Units, resetAfter, ActivationKind.Tanh, ActivationKind.Sigmoid, true, w), o)).ToList();
        for (int i = 1; i < results.Count; i++)
        {
            for (int a = 0; a < results[0].Length; a++)
            {
                SeqCheck.Close($"{widths[i]} vs scalar, array {a}", results[i][a], results[0][a], 1e-5);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InferenceForwardEqualsTrainingForward(bool resetAfter)
    {
        var o = new SeqOptions { InitialState = true, Mask = "left", GoBackwards = true, RecurrentDropout = true, InputDropout = true, Time = 5, Seed = 51 };
        var k = new GruKernel(o.Input, o.Units, resetAfter);
        var c = new SeqCase(o, 3 * o.Units, resetAfter ? 6 * o.Units : 3 * o.Units);
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

        // An inference forward leaves nothing to differentiate.
        var ex = Assert.Throws<InvalidOperationException>(() => k.Backward(c.Run(), c.W, c.U, null, null, new float[o.Batch * o.Units], null, new float[c.W.Length], new float[c.U.Length], new float[c.B.Length], null));
        Assert.Contains("GruKernel.Backward", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BatchOfOneGivesTheSameRowsAsTheBatch(bool resetAfter)
    {
        var o = new SeqOptions { Units = 20, Input = 6, Batch = 3, Time = 5, InitialState = true, Mask = "right", LastGrad = true, Seed = 61 };
        var k = new GruKernel(o.Input, o.Units, resetAfter);
        var c = new SeqCase(o, 3 * o.Units, resetAfter ? 6 * o.Units : 3 * o.Units);
        var full = RunAll(k, o);
        for (int r = 0; r < o.Batch; r++)
        {
            var o1 = o with { Batch = 1 };
            var x1 = c.X.AsSpan(r * o.Time * o.Input, o.Time * o.Input).ToArray();
            var h1 = c.H0!.AsSpan(r * o.Units, o.Units).ToArray();
            var m1 = c.Mask!.AsSpan(r * o.Time, o.Time).ToArray();
            var run = new SequenceRun(x1, 1, o.Time, o.Input) { Mask = m1 };
            var seq = new float[o.Time * o.Units];
            var final = new float[o.Units];
            var k1 = new GruKernel(o.Input, o.Units, resetAfter);
            k1.Forward(run, c.W, c.U, c.B, h1, true, seq, default, final);
            var gSeq = c.GSeq!.AsSpan(r * o.Time * o.Units, o.Time * o.Units).ToArray();
            var gLast = c.GLast!.AsSpan(r * o.Units, o.Units).ToArray();
            var gFinal = c.GFinal!.AsSpan(r * o.Units, o.Units).ToArray();
            var dx = new float[x1.Length];
            var dh0 = new float[o.Units];
            k1.Backward(run, c.W, c.U, gSeq, gLast, gFinal, dx, new float[c.W.Length], new float[c.U.Length], new float[c.B.Length], dh0);
            SeqCheck.Close($"row {r} sequence", seq, full[0].AsSpan(r * o.Time * o.Units, o.Time * o.Units), 1e-5);
            SeqCheck.Close($"row {r} final", final, full[2].AsSpan(r * o.Units, o.Units), 1e-5);
            SeqCheck.Close($"row {r} dx", dx, full[3].AsSpan(r * o.Time * o.Input, o.Time * o.Input), 1e-5);
            SeqCheck.Close($"row {r} dh0", dh0, full[7].AsSpan(r * o.Units, o.Units), 1e-5);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WarmCallsDoNotAllocate(bool resetAfter)
    {
        var o = new SeqOptions { Units = 32, Input = 8, Batch = 4, Time = 6, InitialState = true, Mask = "middle", RecurrentDropout = true, InputDropout = true, LastGrad = true, Seed = 71 };
        var k = new GruKernel(o.Input, o.Units, resetAfter);
        var c = new SeqCase(o, 3 * o.Units, resetAfter ? 6 * o.Units : 3 * o.Units);
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
            k.Backward(c.Run(), c.W, c.U, c.GSeq, c.GLast, c.GFinal, dx, dW, dU, dB, dh0);
        }

        Once();
        Once();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            Once();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"warm GruKernel forward+backward allocated {allocated} bytes in 5 calls");
    }

    [Theory]
    [InlineData(28, 128, false, 60_288)]
    [InlineData(28, 128, true, 60_672)]
    public void ParameterCountsMatchKeras(int input, int units, bool resetAfter, long expected)
    {
        Assert.Equal(expected, GruKernel.ParameterCount(input, units, resetAfter));
        var k = new GruKernel(input, units, resetAfter);
        long fromShapes = k.KernelShape.Aggregate(1L, (a, d) => a * d) + k.RecurrentKernelShape.Aggregate(1L, (a, d) => a * d) + k.BiasShape.Aggregate(1L, (a, d) => a * d);
        Assert.Equal(expected, fromShapes);
        Assert.Equal(resetAfter ? new[] { 2, 384 } : new[] { 384 }, k.BiasShape);
    }

    [Fact]
    public void BadShapesGiveClearErrors()
    {
        var k = new GruKernel(3, 4, resetAfter: true);
        var x = new float[2 * 5 * 3];
        var w = new float[3 * 12];
        var u = new float[4 * 12];
        var b = new float[2 * 12];
        var final = new float[2 * 4];

        var e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 4), w, u, b, null, false, default, default, final));
        Assert.Contains("GruKernel", e.Message);
        Assert.Contains("[*, *, 3]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), w, u, new float[12], null, false, default, default, final));
        Assert.Contains("bias must be [2, 12]", e.Message);
        Assert.Contains("got 12", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), w, new float[4 * 4], b, null, false, default, default, final));
        Assert.Contains("recurrentKernel must be [4, 12]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3) { Mask = new float[5] }, w, u, b, null, false, default, default, final));
        Assert.Contains("mask must be [2, 5]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), w, u, b, new float[3], false, default, default, final));
        Assert.Contains("initialState must be [2, 4]", e.Message);

        e = Assert.Throws<ArgumentException>(() => k.Forward(new SequenceRun(x, 2, 5, 3), w, u, b, null, false, new float[7], default, final));
        Assert.Contains("sequence must be [2, 5, 4]", e.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => new GruKernel(3, 0));
        var e2 = Assert.Throws<InvalidOperationException>(() => k.Backward(new SequenceRun(x, 2, 5, 3), w, u, null, null, final, null, w, u, b, null));
        Assert.Contains("no training forward", e2.Message);
    }

    /// <summary>seq, last, final, dx, dW, dU, dB, dh0 of one training forward + backward.</summary>
    internal static float[][] RunAll(GruKernel k, SeqOptions o)
    {
        var c = new SeqCase(o, 3 * o.Units, !k.UseBias ? 0 : k.ResetAfter ? 6 * o.Units : 3 * o.Units);
        var seq = new float[o.Batch * o.Time * o.Units];
        var last = new float[o.Batch * o.Units];
        var final = new float[o.Batch * o.Units];
        k.Forward(c.Run(), c.W, c.U, c.B, c.H0, true, seq, last, final);
        var dx = new float[c.X.Length];
        var dW = new float[c.W.Length];
        var dU = new float[c.U.Length];
        var dB = new float[c.B.Length];
        var dh0 = new float[o.Batch * o.Units];
        k.Backward(c.Run(), c.W, c.U, c.GSeq, c.GLast, c.GFinal, dx, dW, dU, dB, dh0);
        return [seq, last, final, dx, dW, dU, dB, dh0];
    }
}
