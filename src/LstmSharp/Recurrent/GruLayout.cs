using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The shapes of a GRU's parameters and the options that change its math; the equations are in
/// <see cref="GruKernel"/>.
/// </summary>
/// <remarks>
/// Kernel W [inputSize, 3·units] and recurrent kernel U [units, 3·units] hold the column blocks
/// z, r, h in that order (Keras). Bias [3·units] with reset_after = false; [2, 3·units] with
/// reset_after = true (row 0 input bias, row 1 recurrent bias). GRU(128) on 28 inputs has 60,288
/// parameters (reset_after = false) or 60,672 (true).
/// </remarks>
public sealed class GruLayout : RecurrentLayout
{
    public GruLayout(int inputSize, int units, bool resetAfter = true, bool useBias = true, ActivationKind activation = ActivationKind.Tanh, ActivationKind recurrentActivation = ActivationKind.Sigmoid)
        : base("GruLayout", inputSize, units, useBias, 3, resetAfter ? 2 : 1)
    {
        ResetAfter = resetAfter;
        Activation = Checked("GruLayout", nameof(activation), activation);
        RecurrentActivation = Checked("GruLayout", nameof(recurrentActivation), recurrentActivation);
    }

    /// <summary>Keras <c>reset_after</c>: r multiplies (h_{t-1} Uh + bh_rec) instead of h_{t-1} before Uh.</summary>
    public bool ResetAfter { get; }

    /// <summary>Keras <c>activation</c> of the candidate h~ (default tanh).</summary>
    public ActivationKind Activation { get; }

    /// <summary>Keras <c>recurrent_activation</c> of z and r (default sigmoid).</summary>
    public ActivationKind RecurrentActivation { get; }

    /// <summary>First column of the z, r and h blocks.</summary>
    public int ZOffset => 0;

    public int ROffset => Units;

    public int HOffset => 2 * Units;

    public override string ToString() =>
        $"GRU(input={InputSize}, units={Units}, reset_after={ResetAfter}, use_bias={UseBias}, activation={Activation.ToName()}, recurrent_activation={RecurrentActivation.ToName()})";
}
