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
    private protected KernelBiasLayer(string? name, int[]? inputShape)
        : base(name, inputShape)
    {
    }

    /// <summary>Keras name of the activation on the output ("linear" when none).</summary>
    public string Activation { get; private set; } = "linear";

    public bool UseBias { get; private set; }

    public string KernelInitializer { get; private set; } = "glorot_uniform";

    public string BiasInitializer { get; private set; } = "zeros";

    public IRegularizer? KernelRegularizer { get; private set; }

    public IRegularizer? BiasRegularizer { get; private set; }

    public IConstraint? KernelConstraint { get; private set; }

    public IConstraint? BiasConstraint { get; private set; }

    /// <summary>The kernel; null before building.</summary>
    public Parameter? Kernel { get; private set; }

    /// <summary>The bias, one value per output channel; null before building or without bias.</summary>
    public Parameter? Bias { get; private set; }

    /// <summary>Checks and keeps the shared options (after the leaf's own checks, so a bad argument is reported in the constructor's argument order).</summary>
    private protected void SetKernelBiasOptions(KernelBiasOptions o)
    {
        Activation = LayerChecks.ActivationName(o.Activation, Describe());
        UseBias = o.UseBias;
        KernelInitializer = LayerChecks.Initializer(o.KernelInitializer, Describe(), "kernelInitializer");
        BiasInitializer = LayerChecks.Initializer(o.BiasInitializer, Describe(), "biasInitializer");
        KernelRegularizer = o.KernelRegularizer;
        BiasRegularizer = o.BiasRegularizer;
        ActivityRegularizer = o.ActivityRegularizer;
        KernelConstraint = o.KernelConstraint;
        BiasConstraint = o.BiasConstraint;
    }

    /// <summary>Writes the shared options by their Keras names (after the leaf's own keys, in Keras's order).</summary>
    private protected void WriteKernelBiasConfig(JsonObject c)
    {
        c["activation"] = Activation;
        c["use_bias"] = UseBias;
        c["kernel_initializer"] = KernelInitializer;
        c["bias_initializer"] = BiasInitializer;
        c["kernel_regularizer"] = LayerConfig.ObjectToJson(KernelRegularizer);
        c["bias_regularizer"] = LayerConfig.ObjectToJson(BiasRegularizer);
        c["activity_regularizer"] = LayerConfig.ObjectToJson(ActivityRegularizer);
        c["kernel_constraint"] = LayerConfig.ObjectToJson(KernelConstraint);
        c["bias_constraint"] = LayerConfig.ObjectToJson(BiasConstraint);
    }

    /// <summary>Creates the kernel of <paramref name="kernelShape"/> and, with a bias, the bias <c>[outputs]</c>.</summary>
    private protected void AddKernelAndBias(int[] kernelShape, int outputs)
    {
        Kernel = AddWeight("kernel", kernelShape, KernelInitializer, KernelRegularizer, KernelConstraint);
        if (UseBias)
        {
            Bias = AddWeight("bias", [outputs], BiasInitializer, BiasRegularizer, BiasConstraint);
        }
    }
}

/// <summary>The options of a <see cref="KernelBiasLayer"/> as its constructors take them, and as a Keras config names them.</summary>
internal sealed record KernelBiasOptions(
    string? Activation,
    bool UseBias,
    string KernelInitializer,
    string BiasInitializer,
    IRegularizer? KernelRegularizer,
    IRegularizer? BiasRegularizer,
    IRegularizer? ActivityRegularizer,
    IConstraint? KernelConstraint,
    IConstraint? BiasConstraint)
{
    /// <summary>Reads the options from a Keras config, with Keras's defaults for absent keys.</summary>
    public static KernelBiasOptions Read(JsonObject c) => new(
        c.GetStringOrNull("activation"),
        c.GetBool("use_bias", true),
        c.GetStringOrNull("kernel_initializer") ?? "glorot_uniform",
        c.GetStringOrNull("bias_initializer") ?? "zeros",
        c.GetRegularizer("kernel_regularizer"),
        c.GetRegularizer("bias_regularizer"),
        c.GetRegularizer("activity_regularizer"),
        c.GetConstraint("kernel_constraint"),
        c.GetConstraint("bias_constraint"));
}
