using System.Text.Json.Nodes;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// The <see cref="RecurrentOptions"/> a fused <see cref="RecurrentLayer"/> and an autograd
/// <see cref="DenseRecurrentCell"/> both keep, checked once: units, activations, canonical
/// initializer names, dropout rates; their Keras config keys; and the per-sequence dropout masks
/// drawn from them (one generator per layer or cell, seeded by <see cref="RecurrentOptions.Seed"/>).
/// </summary>
internal sealed class RecurrentSettings
{
    private readonly string owner;
    private Rng? dropoutRng;

    /// <param name="options">The options as given.</param>
    /// <param name="owner">The layer or cell in error messages (<c>LSTM 'lstm'</c>).</param>
    internal RecurrentSettings(RecurrentOptions options, string owner)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.owner = owner;
        if (options.Units <= 0)
        {
            throw new ArgumentOutOfRangeException("units", $"{owner}: units must be a positive integer, got {options.Units}.");
        }

        LayerChecks.Rate(options.Dropout, owner, "dropout");
        LayerChecks.Rate(options.RecurrentDropout, owner, "recurrentDropout");
        Options = options;
        Activation = ActivationNames.Parse(options.Activation, $"{owner} activation");
        RecurrentActivation = ActivationNames.Parse(options.RecurrentActivation, $"{owner} recurrent_activation");
        KernelInitializer = LayerChecks.Initializer(options.KernelInitializer, owner, "kernelInitializer");
        RecurrentInitializer = LayerChecks.Initializer(options.RecurrentInitializer, owner, "recurrentInitializer");
        BiasInitializer = LayerChecks.Initializer(options.BiasInitializer, owner, "biasInitializer");
    }

    /// <summary>The options as given (the same instance).</summary>
    internal RecurrentOptions Options { get; }

    internal ActivationKind Activation { get; }

    internal ActivationKind RecurrentActivation { get; }

    internal string KernelInitializer { get; }

    internal string RecurrentInitializer { get; }

    internal string BiasInitializer { get; }

    /// <summary>
    /// Writes the shared keys, units to recurrent_dropout, in Keras's order; a layer's config has
    /// an activity regularizer, a cell's has none.
    /// </summary>
    internal void WriteConfig(JsonObject c, bool activityRegularizer)
    {
        var o = Options;
        c["units"] = o.Units;
        c["activation"] = Activation.ToName();
        c["recurrent_activation"] = RecurrentActivation.ToName();
        c["use_bias"] = o.UseBias;
        c["kernel_initializer"] = KernelInitializer;
        c["recurrent_initializer"] = RecurrentInitializer;
        c["bias_initializer"] = BiasInitializer;
        c["kernel_regularizer"] = LayerConfig.ObjectToJson(o.KernelRegularizer);
        c["recurrent_regularizer"] = LayerConfig.ObjectToJson(o.RecurrentRegularizer);
        c["bias_regularizer"] = LayerConfig.ObjectToJson(o.BiasRegularizer);
        if (activityRegularizer)
        {
            c["activity_regularizer"] = LayerConfig.ObjectToJson(o.ActivityRegularizer);
        }

        c["kernel_constraint"] = LayerConfig.ObjectToJson(o.KernelConstraint);
        c["recurrent_constraint"] = LayerConfig.ObjectToJson(o.RecurrentConstraint);
        c["bias_constraint"] = LayerConfig.ObjectToJson(o.BiasConstraint);
        c["dropout"] = o.Dropout;
        c["recurrent_dropout"] = o.RecurrentDropout;
    }

    /// <summary>
    /// Creates the weights every built-in cell has, in this order: <c>kernel</c>,
    /// <c>recurrent_kernel</c> and, when <paramref name="biasShape"/> is not null, <c>bias</c>,
    /// each with its initializer, regularizer and constraint from the options.
    /// </summary>
    /// <param name="addWeight">The layer's or cell's AddWeight(name, shape, initializer, regularizer, constraint, trainable).</param>
    /// <param name="kernelShape">W's shape.</param>
    /// <param name="recurrentShape">U's shape.</param>
    /// <param name="biasShape">b's shape, or null for no bias.</param>
    internal (Parameter Kernel, Parameter RecurrentKernel, Parameter? Bias) AddCellWeights(
        Func<string, int[], string, IRegularizer?, IConstraint?, bool, Parameter> addWeight, int[] kernelShape, int[] recurrentShape, int[]? biasShape)
    {
        var o = Options;
        var kernel = addWeight("kernel", kernelShape, KernelInitializer, o.KernelRegularizer, o.KernelConstraint, true);
        var recurrentKernel = addWeight("recurrent_kernel", recurrentShape, RecurrentInitializer, o.RecurrentRegularizer, o.RecurrentConstraint, true);
        var bias = biasShape is null ? null : addWeight("bias", biasShape, BiasInitializer, o.BiasRegularizer, o.BiasConstraint, true);
        return (kernel, recurrentKernel, bias);
    }

    /// <summary>
    /// This sequence's dropout masks in training, <c>[batch, features]</c> for the input and
    /// <c>[batch, stateUnits]</c> for the state that feeds the recurrent product (null where the
    /// rate is 0, and both null in inference). A sample stream (<see cref="SampleRandom"/>) named
    /// <paramref name="stream"/> takes precedence over the layer's own generator.
    /// </summary>
    internal (float[]? Input, float[]? Recurrent) DropoutMasks(bool training, int batch, int features, int stateUnits, string stream)
    {
        if (!training)
        {
            return (null, null);
        }

        return (Mask(Options.Dropout, batch * features, stream + "/dropout"), Mask(Options.RecurrentDropout, batch * stateUnits, stream + "/recurrent_dropout"));
    }

    private float[]? Mask(float rate, int length, string stream)
    {
        if (rate <= 0)
        {
            return null;
        }

        var mask = new float[length];
        if (!SampleRandom.TryFill(stream, Options.Seed, mask, rate))
        {
            dropoutRng ??= Options.Seed is { } s ? new Rng(s) : Rng.CreateFromGlobal();
            dropoutRng.DropoutMask(mask, rate);
        }

        return mask;
    }
}
