using LstmSharp.Kernels;
using LstmSharp.Recurrent;

namespace LstmSharp.Tests.Recurrent;

/// <summary>The contract every cell's layout keeps through <see cref="RecurrentLayout"/>: one shape list, one count, one size check.</summary>
public class RecurrentLayoutTests
{
    public static TheoryData<string> Layouts => ["lstm", "lstm-fgr-proj", "lstm-cifg-nobias", "gru-after", "gru-before", "gru-after-nobias", "simple-rnn", "simple-rnn-nobias"];

    private static RecurrentLayout Make(string kind, int inputs, int units) => kind switch
    {
        "lstm" => new LstmLayout(LstmVariant.Standard, inputs, units),
        "lstm-fgr-proj" => new LstmLayout(LstmVariant.FromName("FGR"), inputs, units, true, 3),
        "lstm-cifg-nobias" => new LstmLayout(LstmVariant.FromName("CIFG"), inputs, units, useBias: false),
        "gru-after" => new GruLayout(inputs, units, resetAfter: true),
        "gru-before" => new GruLayout(inputs, units, resetAfter: false),
        "gru-after-nobias" => new GruLayout(inputs, units, resetAfter: true, useBias: false),
        "simple-rnn" => new SimpleRnnLayout(inputs, units),
        _ => new SimpleRnnLayout(inputs, units, useBias: false, ActivationKind.Relu),
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void ShapesCountsAndBiasAgree(string kind)
    {
        var layout = Make(kind, 7, 5);
        Assert.Equal(layout.GateCount * 5, layout.GateWidth);
        Assert.Equal(new[] { 7, layout.GateWidth }, layout.KernelShape);
        Assert.Equal(new[] { layout.OutputSize, layout.GateWidth }, layout.RecurrentKernelShape);
        Assert.Equal(layout.BiasShape is null ? 0 : layout.BiasShape.Aggregate(1, (n, d) => n * d), layout.BiasLength);
        Assert.Equal(layout.UseBias, layout.BiasShape is not null);

        var shapes = layout.ParameterShapes;
        Assert.Equal(["kernel", "recurrent_kernel"], shapes.Take(2).Select(p => p.Name));
        Assert.Equal(layout.UseBias, shapes.Any(p => p.Name == "bias"));
        Assert.Equal(shapes.Sum(p => p.Shape.Aggregate(1L, (n, d) => n * d)), layout.ParameterCount);
    }

    [Fact]
    public void CellsKeepTheirOwnShapes()
    {
        Assert.Equal(new[] { 2, 15 }, new GruLayout(7, 5, resetAfter: true).BiasShape);
        Assert.Equal(new[] { 15 }, new GruLayout(7, 5, resetAfter: false).BiasShape);
        Assert.Equal(60_672, new GruLayout(28, 128, resetAfter: true).ParameterCount);
        Assert.Equal(20_096, new SimpleRnnLayout(28, 128).ParameterCount);

        var proj = new LstmLayout(LstmVariant.FromName("FGR"), 7, 5, true, 3);
        Assert.Equal(3, proj.OutputSize);
        Assert.Equal(["kernel", "recurrent_kernel", "bias", "peephole", "gate_recurrence", "projection_kernel"], proj.ParameterShapes.Select(p => p.Name));
    }

    [Fact]
    public void SizesAreCheckedByName()
    {
        Assert.Contains("GruLayout: inputSize must be a positive integer, got 0", Assert.Throws<ArgumentOutOfRangeException>(() => new GruLayout(0, 4)).Message);
        Assert.Contains("SimpleRnnLayout: units must be a positive integer, got -2", Assert.Throws<ArgumentOutOfRangeException>(() => new SimpleRnnLayout(3, -2)).Message);
        Assert.Contains("LstmLayout: units must be a positive integer, got 0", Assert.Throws<ArgumentOutOfRangeException>(() => new LstmLayout(LstmVariant.Standard, 3, 0)).Message);
        Assert.Contains("GruLayout: recurrentActivation=99 is not an ActivationKind", Assert.Throws<ArgumentException>(() => new GruLayout(3, 4, recurrentActivation: (ActivationKind)99)).Message);
        Assert.Throws<ArgumentNullException>(() => new LstmLayout(null!, 3, 4));
    }
}
