using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// The Elman step written with autograd ops (Keras's <c>SimpleRNNCell</c>), for <see cref="RNN"/>:
/// the equation, weights and options of the fused <see cref="SimpleRNN"/> layer.
/// <code>
/// h_t = tanh((x_t ⊙ m_x) W + (h_{t−1} ⊙ m_h) U + b);   output h_t, state [h_t]
/// </code>
/// </summary>
public sealed class SimpleRnnAutogradCell : DenseRecurrentCell
{
    /// <param name="units">Size of h; a positive integer.</param>
    /// <param name="activation">Applied to the new state (default tanh).</param>
    /// <param name="useBias">Adds the bias.</param>
    /// <param name="kernelInitializer">Initializer of W (default glorot_uniform).</param>
    /// <param name="recurrentInitializer">Initializer of U (default orthogonal).</param>
    /// <param name="biasInitializer">Initializer of b (default zeros).</param>
    /// <param name="kernelRegularizer">Penalty on W.</param>
    /// <param name="recurrentRegularizer">Penalty on U.</param>
    /// <param name="biasRegularizer">Penalty on b.</param>
    /// <param name="kernelConstraint">Projection of W after each step.</param>
    /// <param name="recurrentConstraint">Projection of U after each step.</param>
    /// <param name="biasConstraint">Projection of b after each step.</param>
    /// <param name="dropout">Fraction of input units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="recurrentDropout">Fraction of recurrent units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="name">Cell name; null = automatic (simple_rnn_cell, ...).</param>
    public SimpleRnnAutogradCell(
        int units,
        string activation = "tanh",
        bool useBias = true,
        string kernelInitializer = "glorot_uniform",
        string recurrentInitializer = "orthogonal",
        string biasInitializer = "zeros",
        IRegularizer? kernelRegularizer = null,
        IRegularizer? recurrentRegularizer = null,
        IRegularizer? biasRegularizer = null,
        IConstraint? kernelConstraint = null,
        IConstraint? recurrentConstraint = null,
        IConstraint? biasConstraint = null,
        float dropout = 0f,
        float recurrentDropout = 0f,
        int? seed = null,
        string? name = null)
        : this(
            new RecurrentOptions
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
                KernelConstraint = kernelConstraint,
                RecurrentConstraint = recurrentConstraint,
                BiasConstraint = biasConstraint,
                Dropout = dropout,
                RecurrentDropout = recurrentDropout,
                Seed = seed,
                Name = name,
            })
    {
    }

    private SimpleRnnAutogradCell(RecurrentOptions options)
        : base(options with { RecurrentActivation = "sigmoid" })
    {
    }

    public override string ClassName => "SimpleRNNCell";

    public override IReadOnlyList<int> StateSizes => [Units];

    public static SimpleRnnAutogradCell FromConfig(JsonObject c) => new SimpleRnnAutogradCell(ReadCellOptions(c)).WithBase(c);

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c.Remove("recurrent_activation");
        return c;
    }

    public override CellOutput Call(Tensor input, IReadOnlyList<Tensor> states, bool training)
    {
        var z = Ops.Add(Ops.MatMul(DropInput(input), Kernel!.Value), Ops.MatMul(DropRecurrent(states[0]), RecurrentKernel!.Value));
        if (Bias is not null)
        {
            z = Ops.Add(z, Bias.Value);
        }

        var h = Ops.Activation(z, Activation);
        return new CellOutput(h, [h]);
    }

    protected override void OnBuild(int[] inputShape) => AddDenseWeights(inputShape[0], 1, [Units]);
}
