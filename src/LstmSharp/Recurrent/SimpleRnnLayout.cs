using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The shapes of a SimpleRNN's parameters and its activation; the equation is in
/// <see cref="SimpleRnnKernel"/>. Kernel W [inputSize, units], recurrent kernel U [units, units],
/// bias [units]. SimpleRNN(128) on 28 inputs has 20,096 parameters.
/// </summary>
public sealed class SimpleRnnLayout
{
    public SimpleRnnLayout(int inputSize, int units, bool useBias = true, ActivationKind activation = ActivationKind.Tanh)
    {
        if (inputSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSize), $"SimpleRnnLayout: inputSize must be a positive integer, got {inputSize}.");
        }

        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), $"SimpleRnnLayout: units must be a positive integer, got {units}.");
        }

        if (!Enum.IsDefined(activation))
        {
            throw new ArgumentException($"SimpleRnnLayout: activation={(int)activation} is not an ActivationKind.", nameof(activation));
        }

        LayoutLimits.GateWidth("SimpleRnnLayout", 1, units, inputSize);
        InputSize = inputSize;
        Units = units;
        UseBias = useBias;
        Activation = activation;
    }

    public int InputSize { get; }

    public int Units { get; }

    public bool UseBias { get; }

    /// <summary>Keras <c>activation</c> (default tanh).</summary>
    public ActivationKind Activation { get; }

    /// <summary>Width of W, U and b: units.</summary>
    public int GateWidth => Units;

    public int[] KernelShape => [InputSize, Units];

    public int[] RecurrentKernelShape => [Units, Units];

    /// <summary>[units], or null without bias.</summary>
    public int[]? BiasShape => UseBias ? [Units] : null;

    public int BiasLength => UseBias ? Units : 0;

    /// <summary>Number of trainable floats: W, U and b.</summary>
    public long ParameterCount => (((long)InputSize + Units) * Units) + BiasLength;

    /// <summary>Named parameter shapes in Keras order: kernel, recurrent_kernel, bias (absent left out).</summary>
    public IReadOnlyList<(string Name, int[] Shape)> ParameterShapes => BiasShape is null
        ? [("kernel", KernelShape), ("recurrent_kernel", RecurrentKernelShape)]
        : [("kernel", KernelShape), ("recurrent_kernel", RecurrentKernelShape), ("bias", BiasShape)];

    public override string ToString() =>
        $"SimpleRNN(input={InputSize}, units={Units}, use_bias={UseBias}, activation={Activation.ToName()})";
}
