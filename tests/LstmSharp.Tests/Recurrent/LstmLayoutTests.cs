using LstmSharp.Recurrent;

namespace LstmSharp.Tests.Recurrent;

public class LstmLayoutTests
{
    [Fact]
    public void StandardParameterCountsMatchKeras()
    {
        Assert.Equal(80_384, new LstmLayout(LstmVariant.Standard, 28, 128).ParameterCount);
        Assert.Equal(1_040, new LstmLayout(LstmVariant.Standard, 15, 10).ParameterCount);
        Assert.Equal(1_000, new LstmLayout(LstmVariant.Standard, 15, 10, useBias: false).ParameterCount);
    }

    [Theory]
    [InlineData("standard", 4, 0, 0)]
    [InlineData("vanilla", 4, 3, 0)]
    [InlineData("original1997", 3, 0, 0)]
    [InlineData("NIG", 3, 2, 0)]
    [InlineData("NFG", 3, 2, 0)]
    [InlineData("NOG", 3, 2, 0)]
    [InlineData("NIAF", 4, 3, 0)]
    [InlineData("NOAF", 4, 3, 0)]
    [InlineData("NP", 4, 0, 0)]
    [InlineData("CIFG", 3, 2, 0)]
    [InlineData("FGR", 4, 3, 3)]
    public void ParameterShapesFollowTheGatesThatHaveWeights(string name, int gates, int peepRows, int fgrBlocks)
    {
        int n = 10, inputs = 15;
        var layout = new LstmLayout(LstmVariant.FromName(name), inputs, n);
        Assert.Equal(gates, layout.GateCount);
        Assert.Equal(new[] { inputs, gates * n }, layout.KernelShape);
        Assert.Equal(new[] { n, gates * n }, layout.RecurrentKernelShape);
        Assert.Equal(new[] { gates * n }, layout.BiasShape);
        if (peepRows > 0) Assert.Equal(new[] { peepRows, n }, layout.PeepholeShape);
        else Assert.Null(layout.PeepholeShape);
        if (fgrBlocks > 0) Assert.Equal(new[] { fgrBlocks * n, fgrBlocks * n }, layout.GateRecurrenceShape);
        else Assert.Null(layout.GateRecurrenceShape);
        long expected = ((long)(inputs + n + 1) * gates * n) + (peepRows * n) + ((long)fgrBlocks * n * fgrBlocks * n);
        Assert.Equal(expected, layout.ParameterCount);
        Assert.Equal(expected, layout.ParameterShapes.Sum(s => s.Shape.Aggregate(1L, (a, d) => a * d)));
    }

    [Fact]
    public void BlockOffsetsAreTheSubsequenceOfIfco()
    {
        var std = new LstmLayout(LstmVariant.Standard, 3, 5);
        Assert.Equal([0, 5, 10, 15], new[] { LstmGate.Input, LstmGate.Forget, LstmGate.Candidate, LstmGate.Output }.Select(std.BlockOffset));
        var cifg = new LstmLayout(LstmVariant.Cifg, 3, 5);
        Assert.Equal([0, -1, 5, 10], new[] { LstmGate.Input, LstmGate.Forget, LstmGate.Candidate, LstmGate.Output }.Select(cifg.BlockOffset));
        Assert.Equal([0, -1, -1, 1], new[] { LstmGate.Input, LstmGate.Forget, LstmGate.Candidate, LstmGate.Output }.Select(cifg.WeightedGateIndex));
        var nig = new LstmLayout(LstmVariant.Nig, 3, 5);
        Assert.Equal([-1, 0, 5, 10], new[] { LstmGate.Input, LstmGate.Forget, LstmGate.Candidate, LstmGate.Output }.Select(nig.BlockOffset));
    }

    [Fact]
    public void InvalidCombinationsNameTheOptions()
    {
        var e1 = Assert.Throws<ArgumentException>(() => new LstmLayout(LstmVariant.Cifg with { InputGate = false }, 3, 4));
        Assert.Contains("CoupledInputForget", e1.Message);
        Assert.Contains("InputGate", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => new LstmLayout(LstmVariant.Cifg with { ForgetGate = false }, 3, 4));
        Assert.Contains("ForgetGate", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => new LstmLayout(LstmVariant.Vanilla with { InputGate = false, ForgetGate = false, OutputGate = false }, 3, 4));
        Assert.Contains("Peepholes", e3.Message);
        var e4 = Assert.Throws<ArgumentOutOfRangeException>(() => new LstmLayout(LstmVariant.Standard, 3, 0));
        Assert.Contains("units", e4.Message);
        Assert.Contains("got 0", e4.Message);
        var e5 = Assert.Throws<ArgumentException>(() => LstmVariant.FromName("XYZ"));
        Assert.Contains("XYZ", e5.Message);
    }
}
