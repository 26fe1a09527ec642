using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The shapes of a SimpleRNN's parameters and its activation; the equation is in
/// <see cref="SimpleRnnKernel"/>. Kernel W [inputSize, units], recurrent kernel U [units, units],
/// bias [units]. SimpleRNN(128) on 28 inputs has 20,096 parameters.
/// </summary>
public sealed class SimpleRnnLayout : RecurrentLayout
{
    public SimpleRnnLayout(int inputSize, int units, bool useBias = true, ActivationKind activation = ActivationKind.Tanh)
        : base("SimpleRnnLayout", inputSize, units, useBias, 1)
    {
        Activation = Checked("SimpleRnnLayout", nameof(activation), activation);
    }

    /// <summary>Keras <c>activation</c> (default tanh).</summary>
    public ActivationKind Activation { get; }

    public override string ToString() =>
        $"SimpleRNN(input={InputSize}, units={Units}, use_bias={UseBias}, activation={Activation.ToName()})";
}
