using System.Text.Json.Nodes;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// What <see cref="Dense"/> and <see cref="Conv1D"/> share as Keras layers: an activation on a
/// product with a kernel plus an optional bias, the two weights' initializers, regularizers and
/// constraints, and an activity regularizer. Their checks, config keys and weight creation live
/// here once; the leaf keeps its own geometry (units, or filters and taps).
/// </summary>
public abstract class KernelBiasLayer : Layer
{
    private WeightOptions kernel = new("glorot_uniform", null, null);
    private WeightOptions bias = new("zeros", null, null);

    private protected KernelBiasLayer(string? name, int[]? inputShape)
        : base(name, inputShape)
    {
    }

    /// <summary>Keras name of the activation on the output ("linear" when none).</summary>
    public string Activation { get; private set; } = "linear";

    public bool UseBias { get; private set; }

    public string KernelInitializer => kernel.Initializer;

    public string BiasInitializer => bias.Initializer;

    public IRegularizer? KernelRegularizer => kernel.Regularizer;

    public IRegularizer? BiasRegularizer => bias.Regularizer;

    public IConstraint? KernelConstraint => kernel.Constraint;

    public IConstraint? BiasConstraint => bias.Constraint;

    /// <summary>The kernel; null before building.</summary>
    public Parameter? Kernel { get; private set; }

    /// <summary>The bias, one value per output channel; null before building or without bias.</summary>
    public Parameter? Bias { get; private set; }

    /// <summary>Checks and keeps the shared options (after the leaf's own checks, so a bad argument is reported in the constructor's argument order).</summary>
    private protected void SetKernelBiasOptions(KernelBiasOptions o)
    {
        Activation = LayerChecks.ActivationName(o.Activation, Describe());
        UseBias = o.UseBias;
        kernel = o.Kernel.Checked(Describe(), "kernelInitializer");
        bias = o.Bias.Checked(Describe(), "biasInitializer");
        ActivityRegularizer = o.ActivityRegularizer;
    }

    /// <summary>Writes the shared options by their Keras names (after the leaf's own keys, in Keras's order).</summary>
    private protected void WriteKernelBiasConfig(JsonObject c)
    {
        c["activation"] = Activation;
        c["use_bias"] = UseBias;
        WeightOptions.WriteConfig(c, ActivityRegularizer, ("kernel", kernel), ("bias", bias));
    }

    /// <summary>Creates the kernel of <paramref name="kernelShape"/> and, with a bias, the bias <c>[outputs]</c>.</summary>
    private protected void AddKernelAndBias(int[] kernelShape, int outputs)
    {
        Kernel = AddWeight("kernel", kernelShape, kernel);
        if (UseBias)
        {
            Bias = AddWeight("bias", [outputs], bias);
        }
    }
}

/// <summary>The options of a <see cref="KernelBiasLayer"/> as its constructors take them, and as a Keras config names them.</summary>
internal sealed record KernelBiasOptions(string? Activation, bool UseBias, WeightOptions Kernel, WeightOptions Bias, IRegularizer? ActivityRegularizer)
{
    /// <summary>Reads the options from a Keras config, with Keras's defaults for absent keys.</summary>
    public static KernelBiasOptions Read(JsonObject c) => new(
        c.GetStringOrNull("activation"),
        c.GetBool("use_bias", true),
        WeightOptions.Read(c, "kernel", "glorot_uniform"),
        WeightOptions.Read(c, "bias", "zeros"),
        c.GetRegularizer("activity_regularizer"));
}
