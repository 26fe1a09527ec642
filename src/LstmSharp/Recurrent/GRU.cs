using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// Gated Recurrent Unit layer (Cho et al. 2014), Keras semantics and weight layout; equations
/// in <see cref="GruKernel"/>. z = σ(xWz + hUz + bz), r = σ(xWr + hUr + br),
/// h_t = z·h_{t−1} + (1 − z)·h~ (Keras's convention for z), with
/// h~ = tanh(xWh + (r·h_{t−1})Uh + bh) when <c>resetAfter</c> is false (the articles'
/// formulation; GRU(128) on 28 inputs = 60,288 weights) or
/// h~ = tanh(xWh + bh_in + r·(h_{t−1}Uh + bh_rec)) when true (Keras 3's default, cuDNN/PyTorch
/// style; bias [2, 3·units]; 60,672 weights).
/// </summary>
/// <remarks>
/// Input <c>[batch, time, features]</c>; output <c>[batch, units]</c> or <c>[batch, time, units]</c>
/// (<c>returnSequences</c>); with <c>returnState</c> followed by h_T. Blocks in order z, r, h.
/// </remarks>
public sealed class GRU : SingleStateLayer
{
    /// <param name="units">Size of h; a positive integer.</param>
    /// <param name="activation">Applied to h~ (default tanh).</param>
    /// <param name="recurrentActivation">Applied to z and r (default sigmoid).</param>
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
    /// <param name="resetAfter">Apply the reset gate after the recurrent product (Keras 3 default true; the articles' GRU is false).</param>
    /// <param name="zeroOutputForMask">Masked steps output zeros instead of the previous output.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="name">Layer name; null = automatic (gru, gru_1, ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[time, features]</c> (time may be -1).</param>
    public GRU(
        int units,
        string activation = "tanh",
        string recurrentActivation = "sigmoid",
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
        bool resetAfter = true,
        bool zeroOutputForMask = false,
        int? seed = null,
        string? name = null,
        int[]? inputShape = null)
        : this(
            new RecurrentOptions
            {
                Units = units,
                Activation = activation,
                RecurrentActivation = recurrentActivation,
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
            },
            resetAfter)
    {
    }

    /// <summary>A GRU from a <see cref="RecurrentOptions"/> record, plus its own option.</summary>
    /// <param name="options">The options every recurrent layer shares.</param>
    /// <param name="resetAfter">Apply the reset gate after the recurrent product (Keras 3 default true).</param>
    public GRU(RecurrentOptions options, bool resetAfter = true)
        : base(options)
    {
        ResetAfter = resetAfter;
    }

    public override string ClassName => "GRU";

    public bool ResetAfter { get; }

    public GruLayout? Layout { get; private set; }

    public static GRU FromConfig(JsonObject c) =>
        new GRU(ReadOptions(c), resetAfter: c.GetBool("reset_after", true)).WithBase(c);

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["reset_after"] = ResetAfter;
        return c;
    }

    private protected override (SingleStateKernel Kernel, int[] KernelShape, int[] RecurrentShape, int[]? BiasShape) CreateKernel(int inputSize)
    {
        var layout = new GruLayout(inputSize, Units, ResetAfter, UseBias, Activation, RecurrentActivation);
        Layout = layout;
        ReserveWeights(layout.ParameterShapes);
        return (new GruKernel(layout, Name), layout.KernelShape, layout.RecurrentKernelShape, layout.BiasShape);
    }
}
