using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// Fully connected recurrent layer (Elman), Keras's <c>SimpleRNN</c>:
/// h_t = activation(x_t·W + h_{t−1}·U + b), activation tanh by default; equations in
/// <see cref="SimpleRnnKernel"/>. Weights <c>kernel [features, units]</c>,
/// <c>recurrent_kernel [units, units]</c>, <c>bias [units]</c>: SimpleRNN(128) on 28 inputs
/// has 20,096.
/// </summary>
/// <remarks>
/// Input <c>[batch, time, features]</c>; output <c>[batch, units]</c> or <c>[batch, time, units]</c>
/// (<c>returnSequences</c>); with <c>returnState</c> followed by h_T.
/// </remarks>
public sealed class SimpleRNN : SingleStateLayer
{
    /// <param name="units">Size of h; a positive integer.</param>
    /// <param name="activation">Applied to the new state (default tanh).</param>
    /// <param name="useBias">Adds the biases.</param>
    /// <param name="kernelInitializer">Initializer of W (default glorot_uniform).</param>
    /// <param name="recurrentInitializer">Initializer of U (default orthogonal).</param>
    /// <param name="biasInitializer">Initializer of b (default zeros).</param>
    /// <param name="kernelRegularizer">Penalty on W.</param>
    /// <param name="recurrentRegularizer">Penalty on U.</param>
    /// <param name="biasRegularizer">Penalty on b.</param>
    /// <param name="activityRegularizer">Penalty on the output.</param>
    /// <param name="kernelConstraint">Projection of W after each step.</param>
    /// <param name="recurrentConstraint">Projection of U after each step.</param>
    /// <param name="biasConstraint">Projection of b after each step.</param>
    /// <param name="dropout">Fraction of input units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="recurrentDropout">Fraction of recurrent units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="returnSequences">Return the output of every step.</param>
    /// <param name="returnState">Also return h_T.</param>
    /// <param name="goBackwards">Read the sequence from its end; outputs come in processing order.</param>
    /// <param name="stateful">Carry the final state of batch k into batch k+1 (fixed batch size).</param>
    /// <param name="zeroOutputForMask">Masked steps output zeros instead of the previous output.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="name">Layer name; null = automatic (simple_rnn, simple_rnn_1, ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[time, features]</c> (time may be -1).</param>
    public SimpleRNN(
        int units,
        string activation = "tanh",
        bool useBias = true,
        string kernelInitializer = "glorot_uniform",
        string recurrentInitializer = "orthogonal",
        string biasInitializer = "zeros",
        IRegularizer? kernelRegularizer = null,
        IRegularizer? recurrentRegularizer = null,
        IRegularizer? biasRegularizer = null,
        IRegularizer? activityRegularizer = null,
        IConstraint? kernelConstraint = null,
        IConstraint? recurrentConstraint = null,
        IConstraint? biasConstraint = null,
        float dropout = 0f,
        float recurrentDropout = 0f,
        bool returnSequences = false,
        bool returnState = false,
        bool goBackwards = false,
        bool stateful = false,
        bool zeroOutputForMask = false,
        int? seed = null,
        string? name = null,
        int[]? inputShape = null)
        : this(new RecurrentOptions
        {
            Units = units,
            Activation = activation,
            UseBias = useBias,
            KernelInitializer = kernelInitializer,
            RecurrentInitializer = recurrentInitializer,
            BiasInitializer = biasInitializer,
            KernelRegularizer = kernelRegularizer,
            RecurrentRegularizer = recurrentRegularizer,
            BiasRegularizer = biasRegularizer,
            ActivityRegularizer = activityRegularizer,
            KernelConstraint = kernelConstraint,
            RecurrentConstraint = recurrentConstraint,
            BiasConstraint = biasConstraint,
            Dropout = dropout,
            RecurrentDropout = recurrentDropout,
            ReturnSequences = returnSequences,
            ReturnState = returnState,
            GoBackwards = goBackwards,
            Stateful = stateful,
            ZeroOutputForMask = zeroOutputForMask,
            Seed = seed,
            Name = name,
            InputShape = inputShape,
        })
    {
    }

    /// <summary>A SimpleRNN from a <see cref="RecurrentOptions"/> record (its <c>RecurrentActivation</c> is unused).</summary>
    public SimpleRNN(RecurrentOptions options)
        : base(options)
    {
    }

    public override string ClassName => "SimpleRNN";

    public SimpleRnnLayout? Layout { get; private set; }

    public static SimpleRNN FromConfig(JsonObject c) => new SimpleRNN(ReadOptions(c)).WithBase(c);

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c.Remove("recurrent_activation");
        return c;
    }

    private protected override (SingleStateKernel Kernel, int[] KernelShape, int[] RecurrentShape, int[]? BiasShape) CreateKernel(int inputSize)
    {
        var layout = new SimpleRnnLayout(inputSize, Units, UseBias, Activation);
        Layout = layout;
        ReserveWeights(layout.ParameterShapes);
        return (new SimpleRnnKernel(layout, Name), layout.KernelShape, layout.RecurrentKernelShape, layout.BiasShape);
    }
}
