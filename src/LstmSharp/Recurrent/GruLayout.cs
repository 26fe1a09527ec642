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
public sealed class GruLayout
{
    public GruLayout(int inputSize, int units, bool resetAfter = true, bool useBias = true, ActivationKind activation = ActivationKind.Tanh, ActivationKind recurrentActivation = ActivationKind.Sigmoid)
    {
        if (inputSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSize), $"GruLayout: inputSize must be a positive integer, got {inputSize}.");
        }

        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), $"GruLayout: units must be a positive integer, got {units}.");
        }

        if (!Enum.IsDefined(activation))
        {
            throw new ArgumentException($"GruLayout: activation={(int)activation} is not an ActivationKind.", nameof(activation));
        }

        if (!Enum.IsDefined(recurrentActivation))
        {
            throw new ArgumentException($"GruLayout: recurrentActivation={(int)recurrentActivation} is not an ActivationKind.", nameof(recurrentActivation));
        }

        GateWidth = LayoutLimits.GateWidth("GruLayout", 3, units, inputSize);
        InputSize = inputSize;
        Units = units;
        ResetAfter = resetAfter;
        UseBias = useBias;
        Activation = activation;
        RecurrentActivation = recurrentActivation;
    }

    public int InputSize { get; }

    public int Units { get; }

    /// <summary>Keras <c>reset_after</c>: r multiplies (h_{t-1} Uh + bh_rec) instead of h_{t-1} before Uh.</summary>
    public bool ResetAfter { get; }

    public bool UseBias { get; }

    /// <summary>Keras <c>activation</c> of the candidate h~ (default tanh).</summary>
    public ActivationKind Activation { get; }

    /// <summary>Keras <c>recurrent_activation</c> of z and r (default sigmoid).</summary>
    public ActivationKind RecurrentActivation { get; }

    /// <summary>G = 3 blocks: z, r, h.</summary>
    public int GateCount => 3;

    /// <summary>3·units: the width of W, U and of each bias row.</summary>
    public int GateWidth { get; }

    /// <summary>First column of the z, r and h blocks.</summary>
    public int ZOffset => 0;

    public int ROffset => Units;

    public int HOffset => 2 * Units;

    public int[] KernelShape => [InputSize, GateWidth];

    public int[] RecurrentKernelShape => [Units, GateWidth];

    /// <summary>[3·units], [2, 3·units] with <see cref="ResetAfter"/>, or null without bias.</summary>
    public int[]? BiasShape => !UseBias ? null : ResetAfter ? [2, GateWidth] : [GateWidth];

    /// <summary>Number of floats in the bias (0 without).</summary>
    public int BiasLength => !UseBias ? 0 : ResetAfter ? 2 * GateWidth : GateWidth;

    /// <summary>Number of trainable floats: W, U and b.</summary>
    public long ParameterCount => (((long)InputSize + Units) * GateWidth) + BiasLength;

    /// <summary>Named parameter shapes in Keras order: kernel, recurrent_kernel, bias (absent left out).</summary>
    public IReadOnlyList<(string Name, int[] Shape)> ParameterShapes => BiasShape is null
        ? [("kernel", KernelShape), ("recurrent_kernel", RecurrentKernelShape)]
        : [("kernel", KernelShape), ("recurrent_kernel", RecurrentKernelShape), ("bias", BiasShape)];

    public override string ToString() =>
        $"GRU(input={InputSize}, units={Units}, reset_after={ResetAfter}, use_bias={UseBias}, activation={Activation.ToName()}, recurrent_activation={RecurrentActivation.ToName()})";
}
