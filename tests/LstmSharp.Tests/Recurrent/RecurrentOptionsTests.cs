using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Recurrent;
using LstmSharp.Training;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// The recurrent layers take their shared options as one <see cref="RecurrentOptions"/> record:
/// the Keras-named arguments, the record and a config give the same layer, option by option.
/// </summary>
public class RecurrentOptionsTests
{
    /// <summary>Every shared option set away from its default (so a swapped pair would show).</summary>
    private static RecurrentOptions NonDefault(string name) => new()
    {
        Units = 7,
        Activation = "relu",
        RecurrentActivation = "hard_sigmoid",
        UseBias = false,
        KernelInitializer = "he_normal",
        RecurrentInitializer = "glorot_normal",
        BiasInitializer = "ones",
        KernelRegularizer = new L1(0.01f),
        RecurrentRegularizer = new L2(0.02f),
        BiasRegularizer = new L1L2(0.03f, 0.04f),
        ActivityRegularizer = new L2(0.05f),
        KernelConstraint = new MaxNorm(2f),
        RecurrentConstraint = new NonNeg(),
        BiasConstraint = new UnitNorm(),
        Dropout = 0.1f,
        RecurrentDropout = 0.2f,
        ReturnSequences = true,
        ReturnState = true,
        GoBackwards = true,
        Stateful = true,
        ZeroOutputForMask = true,
        Seed = 11,
        Name = name,
        InputShape = [5, 3],
    };

    public static TheoryData<string> Kinds => new() { "LSTM", "GRU", "SimpleRNN" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ArgumentsRecordAndConfigGiveTheSameLayer(string kind)
    {
        var o = NonDefault("rec_" + kind.ToLowerInvariant());
        RecurrentLayer fromArguments = kind switch
        {
            "LSTM" => new LSTM(
                o.Units, o.Activation, o.RecurrentActivation, useBias: o.UseBias, kernelInitializer: o.KernelInitializer,
                recurrentInitializer: o.RecurrentInitializer, biasInitializer: o.BiasInitializer, unitForgetBias: false,
                kernelRegularizer: o.KernelRegularizer, recurrentRegularizer: o.RecurrentRegularizer, biasRegularizer: o.BiasRegularizer,
                activityRegularizer: o.ActivityRegularizer, kernelConstraint: o.KernelConstraint, recurrentConstraint: o.RecurrentConstraint,
                biasConstraint: o.BiasConstraint, dropout: o.Dropout, recurrentDropout: o.RecurrentDropout, returnSequences: true,
                returnState: true, goBackwards: true, stateful: true, variant: LstmVariant.FromName("CIFG"), zeroOutputForMask: true,
                seed: o.Seed, name: o.Name, inputShape: o.InputShape),
            "GRU" => new GRU(
                o.Units, o.Activation, o.RecurrentActivation, useBias: o.UseBias, kernelInitializer: o.KernelInitializer,
                recurrentInitializer: o.RecurrentInitializer, biasInitializer: o.BiasInitializer,
                kernelRegularizer: o.KernelRegularizer, recurrentRegularizer: o.RecurrentRegularizer, biasRegularizer: o.BiasRegularizer,
                activityRegularizer: o.ActivityRegularizer, kernelConstraint: o.KernelConstraint, recurrentConstraint: o.RecurrentConstraint,
                biasConstraint: o.BiasConstraint, dropout: o.Dropout, recurrentDropout: o.RecurrentDropout, returnSequences: true,
                returnState: true, goBackwards: true, stateful: true, resetAfter: false, zeroOutputForMask: true,
                seed: o.Seed, name: o.Name, inputShape: o.InputShape),
            _ => new SimpleRNN(
                o.Units, o.Activation, useBias: o.UseBias, kernelInitializer: o.KernelInitializer,
                recurrentInitializer: o.RecurrentInitializer, biasInitializer: o.BiasInitializer,
                kernelRegularizer: o.KernelRegularizer, recurrentRegularizer: o.RecurrentRegularizer, biasRegularizer: o.BiasRegularizer,
                activityRegularizer: o.ActivityRegularizer, kernelConstraint: o.KernelConstraint, recurrentConstraint: o.RecurrentConstraint,
                biasConstraint: o.BiasConstraint, dropout: o.Dropout, recurrentDropout: o.RecurrentDropout, returnSequences: true,
                returnState: true, goBackwards: true, stateful: true, zeroOutputForMask: true,
                seed: o.Seed, name: o.Name, inputShape: o.InputShape),
        };
        RecurrentLayer fromRecord = kind switch
        {
            "LSTM" => new LSTM(o, unitForgetBias: false, variant: LstmVariant.FromName("CIFG")),
            "GRU" => new GRU(o, resetAfter: false),
            _ => new SimpleRNN(o),
        };
        var config = fromArguments.GetConfig();
        var fromConfig = (RecurrentLayer)LayerRegistry.FromConfig(kind, (JsonObject)config.DeepClone());

        Assert.Equal(config.ToJsonString(), fromRecord.GetConfig().ToJsonString());
        Assert.Equal(config.ToJsonString(), fromConfig.GetConfig().ToJsonString());
        foreach (var layer in new[] { fromArguments, fromRecord, fromConfig })
        {
            Assert.Equal(7, layer.Units);
            Assert.Equal(LstmSharp.Kernels.ActivationKind.Relu, layer.Activation);
            Assert.False(layer.UseBias);
            Assert.Equal("he_normal", layer.KernelInitializer);
            Assert.Equal("glorot_normal", layer.RecurrentInitializer);
            Assert.Equal("ones", layer.BiasInitializer);
            Assert.Equal(0.1f, layer.Dropout);
            Assert.Equal(0.2f, layer.RecurrentDropout);
            Assert.True(layer.ReturnSequences && layer.ReturnState && layer.GoBackwards && layer.IsStateful && layer.ZeroOutputForMask);
            Assert.Equal(11, layer.Seed);
            Assert.IsType<L1L2>(layer.BiasRegularizer);
            Assert.IsType<NonNeg>(layer.RecurrentConstraint);
            Assert.Equal(o.Name, layer.Name);
            Assert.Equal(o.InputShape, layer.InputShape);
        }

        Assert.Same(o, fromRecord.Options);
        Assert.Equal(7, fromConfig.Options.Units);
        Assert.True(fromConfig.Options.Stateful);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AConfigWithOnlyUnitsGetsKerasDefaults(string kind)
    {
        var layer = (RecurrentLayer)LayerRegistry.FromConfig(kind, new JsonObject { ["units"] = 4 });
        var defaults = new RecurrentOptions { Units = 4 };
        Assert.Equal(defaults with { Name = layer.Options.Name }, layer.Options);
        Assert.Equal(LstmSharp.Kernels.ActivationKind.Tanh, layer.Activation);
        Assert.True(layer.UseBias);
        Assert.Equal("glorot_uniform", layer.KernelInitializer);
        Assert.StartsWith("orthogonal", layer.RecurrentInitializer, StringComparison.Ordinal);
        Assert.False(layer.ReturnSequences || layer.ReturnState || layer.GoBackwards || layer.IsStateful);
    }

    [Fact]
    public void ARecordVariationMakesAnotherLayer()
    {
        var lstm = new LSTM(new RecurrentOptions { Units = 3, ReturnSequences = true });
        var backwards = new LSTM(lstm.Options with { GoBackwards = true });
        Assert.True(backwards.GoBackwards && backwards.ReturnSequences);
        Assert.False(lstm.GoBackwards);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new GRU(new RecurrentOptions { Units = 3, Dropout = 1.5f, Name = "gru_bad" }));
        Assert.Contains("GRU 'gru_bad': dropout must be in [0, 1), got 1.5", e.Message);
        Assert.Throws<ArgumentNullException>(() => new SimpleRNN((RecurrentOptions)null!));
    }
}
