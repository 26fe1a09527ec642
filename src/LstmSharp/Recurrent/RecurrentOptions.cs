using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// The options every recurrent layer shares, by their Keras names, with Keras's defaults: what
/// <see cref="LSTM"/>, <see cref="GRU"/> and <see cref="SimpleRNN"/> take as optional
/// arguments, and what their <c>FromConfig</c> reads. A layer can also be made from a record,
/// <c>new LSTM(new RecurrentOptions { Units = 64, ReturnSequences = true })</c>, and a variation
/// of one with <c>layer.Options with { GoBackwards = true }</c>.
/// </summary>
public sealed record RecurrentOptions
{
    /// <summary>Size of the state; a positive integer.</summary>
    public required int Units { get; init; }

    /// <summary>Activation of the candidate and the output (Keras <c>activation</c>, default tanh).</summary>
    public string Activation { get; init; } = "tanh";

    /// <summary>Activation of the gates (Keras <c>recurrent_activation</c>, default sigmoid; SimpleRNN has none).</summary>
    public string RecurrentActivation { get; init; } = "sigmoid";

    public bool UseBias { get; init; } = true;

    public string KernelInitializer { get; init; } = "glorot_uniform";

    public string RecurrentInitializer { get; init; } = "orthogonal";

    public string BiasInitializer { get; init; } = "zeros";

    public IRegularizer? KernelRegularizer { get; init; }

    public IRegularizer? RecurrentRegularizer { get; init; }

    public IRegularizer? BiasRegularizer { get; init; }

    public IRegularizer? ActivityRegularizer { get; init; }

    public IConstraint? KernelConstraint { get; init; }

    public IConstraint? RecurrentConstraint { get; init; }

    public IConstraint? BiasConstraint { get; init; }

    /// <summary>Fraction of the input units dropped, one mask per sequence, in [0, 1).</summary>
    public float Dropout { get; init; }

    /// <summary>Fraction of the recurrent units dropped, one mask per sequence, in [0, 1).</summary>
    public float RecurrentDropout { get; init; }

    public bool ReturnSequences { get; init; }

    public bool ReturnState { get; init; }

    public bool GoBackwards { get; init; }

    public bool Stateful { get; init; }

    public bool ZeroOutputForMask { get; init; }

    /// <summary>Seed of the dropout masks; null draws one from the global seed.</summary>
    public int? Seed { get; init; }

    /// <summary>Layer name; null = automatic.</summary>
    public string? Name { get; init; }

    /// <summary>Per-sample input shape <c>[time, features]</c> (time may be -1), or null.</summary>
    public int[]? InputShape { get; init; }

    /// <summary>
    /// Reads the options from a Keras config, each by its Keras name, with Keras's defaults: the
    /// FromConfig of the recurrent layers and of the autograd cells (whose configs lack the
    /// layer-only keys, which then keep their defaults).
    /// </summary>
    internal static RecurrentOptions Read(JsonObject c)
    {
        var (name, inputShape, _, _) = c.GetBase();
        return new RecurrentOptions
        {
            Units = c.GetInt("units"),
            Activation = c.GetStringOrNull("activation") ?? "tanh",
            RecurrentActivation = c.GetStringOrNull("recurrent_activation") ?? "sigmoid",
            UseBias = c.GetBool("use_bias", true),
            KernelInitializer = c.GetStringOrNull("kernel_initializer") ?? "glorot_uniform",
            RecurrentInitializer = c.GetStringOrNull("recurrent_initializer") ?? "orthogonal",
            BiasInitializer = c.GetStringOrNull("bias_initializer") ?? "zeros",
            KernelRegularizer = c.GetRegularizer("kernel_regularizer"),
            RecurrentRegularizer = c.GetRegularizer("recurrent_regularizer"),
            BiasRegularizer = c.GetRegularizer("bias_regularizer"),
            ActivityRegularizer = c.GetRegularizer("activity_regularizer"),
            KernelConstraint = c.GetConstraint("kernel_constraint"),
            RecurrentConstraint = c.GetConstraint("recurrent_constraint"),
            BiasConstraint = c.GetConstraint("bias_constraint"),
            Dropout = c["dropout"] is null ? 0f : c.GetFloat("dropout"),
            RecurrentDropout = c["recurrent_dropout"] is null ? 0f : c.GetFloat("recurrent_dropout"),
            ReturnSequences = c.GetBool("return_sequences", false),
            ReturnState = c.GetBool("return_state", false),
            GoBackwards = c.GetBool("go_backwards", false),
            Stateful = c.GetBool("stateful", false),
            ZeroOutputForMask = c.GetBool("zero_output_for_mask", false),
            Seed = c.GetIntOrNull("seed"),
            Name = name,
            InputShape = inputShape,
        };
    }
}
