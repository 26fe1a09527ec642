using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// The standard LSTM step written with autograd ops (Keras's <c>LSTMCell</c>), for
/// <see cref="RNN"/>: the same equations, weight layout (gate order i, f, c, o) and options as
/// the fused <see cref="LSTM"/> layer with <see cref="LstmVariant.Standard"/>, so
/// <c>RNN(new LstmAutogradCell(n))</c> given an <c>LSTM(n)</c>'s weights gives its outputs and
/// gradients. A starting point for a custom LSTM-like cell; for speed use <see cref="LSTM"/>.
/// <code>
/// xd = x_t ⊙ m_x,  hd = h_{t−1} ⊙ m_h                       (dropout masks, one per sequence)
/// [z_i, z_f, z_c, z_o] = xd·W + hd·U + b                    (W [features, 4u], U [u, 4u], b [4u])
/// i = σ(z_i),  f = σ(z_f),  c~ = tanh(z_c),  o = σ(z_o)    (σ = recurrent_activation, tanh = activation)
/// c_t = f ⊙ c_{t−1} + i ⊙ c~,   h_t = o ⊙ tanh(c_t);   output h_t, states [h_t, c_t]
/// with projSize P &gt; 0:  h_t = (o ⊙ tanh(c_t))·W_p   (W_p = projection_kernel [u, P]; U [P, 4u], m_h [P])
/// </code>
/// </summary>
public sealed class LstmAutogradCell : DenseRecurrentCell
{
    /// <param name="units">Size of h and c; a positive integer.</param>
    /// <param name="activation">Applied to c~ and to c_t (default tanh).</param>
    /// <param name="recurrentActivation">Applied to the gates (default sigmoid).</param>
    /// <param name="useBias">Adds the bias vector.</param>
    /// <param name="kernelInitializer">Initializer of W (default glorot_uniform).</param>
    /// <param name="recurrentInitializer">Initializer of U (default orthogonal).</param>
    /// <param name="biasInitializer">Initializer of b (default zeros).</param>
    /// <param name="unitForgetBias">Adds 1 to the forget gate's bias at initialisation (Keras default).</param>
    /// <param name="kernelRegularizer">Penalty on W.</param>
    /// <param name="recurrentRegularizer">Penalty on U.</param>
    /// <param name="biasRegularizer">Penalty on b.</param>
    /// <param name="kernelConstraint">Projection of W after each step.</param>
    /// <param name="recurrentConstraint">Projection of U after each step.</param>
    /// <param name="biasConstraint">Projection of b after each step.</param>
    /// <param name="dropout">Fraction of input units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="recurrentDropout">Fraction of recurrent units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="name">Cell name; null = automatic (lstm_cell, lstm_cell_1, ...).</param>
    /// <param name="projSize">Projects h to this many values (PyTorch <c>proj_size</c>, as <see cref="LSTM"/>'s); 0 = none.</param>
    public LstmAutogradCell(
        int units,
        string activation = "tanh",
        string recurrentActivation = "sigmoid",
        bool useBias = true,
        string kernelInitializer = "glorot_uniform",
        string recurrentInitializer = "orthogonal",
        string biasInitializer = "zeros",
        bool unitForgetBias = true,
        IRegularizer? kernelRegularizer = null,
        IRegularizer? recurrentRegularizer = null,
        IRegularizer? biasRegularizer = null,
        IConstraint? kernelConstraint = null,
        IConstraint? recurrentConstraint = null,
        IConstraint? biasConstraint = null,
        float dropout = 0f,
        float recurrentDropout = 0f,
        int? seed = null,
        string? name = null,
        int projSize = 0)
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
                KernelConstraint = kernelConstraint,
                RecurrentConstraint = recurrentConstraint,
                BiasConstraint = biasConstraint,
                Dropout = dropout,
                RecurrentDropout = recurrentDropout,
                Seed = seed,
                Name = name,
            },
            unitForgetBias,
            projSize)
    {
    }

    private LstmAutogradCell(RecurrentOptions options, bool unitForgetBias, int projSize)
        : base(options)
    {
        UnitForgetBias = unitForgetBias;
        ProjSize = LstmFamilyOptions.CheckProjSize(projSize, Describe());
    }

    public override string ClassName => "LSTMCell";

    public bool UnitForgetBias { get; }

    /// <summary>P, the size of h with a projection; 0 = none.</summary>
    public int ProjSize { get; }

    /// <summary>W_p <c>[units, P]</c> (null without a projection or before building).</summary>
    public Parameter? ProjectionKernel { get; private set; }

    /// <summary>Size of h and of the output: <see cref="ProjSize"/> with a projection, else the units.</summary>
    public override int OutputSize => ProjSize > 0 ? ProjSize : Units;

    /// <summary>[h, c]: <c>[batch, OutputSize]</c> and <c>[batch, units]</c>.</summary>
    public override IReadOnlyList<int> StateSizes => [OutputSize, Units];

    public static LstmAutogradCell FromConfig(JsonObject c) =>
        new LstmAutogradCell(ReadCellOptions(c), LstmFamilyOptions.ReadUnitForgetBias(c), LstmFamilyOptions.ReadProjSize(c)).WithBase(c);

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        LstmFamilyOptions.WriteConfig(c, UnitForgetBias, projSize: ProjSize);
        return c;
    }

    public override CellOutput Call(Tensor input, IReadOnlyList<Tensor> states, bool training)
    {
        var (h, c) = (states[0], states[1]);
        var z = Ops.Add(Ops.MatMul(DropInput(input), Kernel!.Value), Ops.MatMul(DropRecurrent(h), RecurrentKernel!.Value));
        if (Bias is not null)
        {
            z = Ops.Add(z, Bias.Value);
        }

        var g = Ops.Split(z, [Units, Units, Units, Units]);
        var i = Ops.Activation(g[0], RecurrentActivation);
        var f = Ops.Activation(g[1], RecurrentActivation);
        var candidate = Ops.Activation(g[2], Activation);
        var o = Ops.Activation(g[3], RecurrentActivation);
        var cNew = Ops.Add(Ops.Mul(f, c), Ops.Mul(i, candidate));
        var hNew = Ops.Mul(o, Ops.Activation(cNew, Activation));
        if (ProjectionKernel is not null)
        {
            hNew = Ops.MatMul(hNew, ProjectionKernel.Value);
        }

        return new CellOutput(hNew, [hNew, cNew]);
    }

    protected override void OnBuild(int[] inputShape)
    {
        AddDenseWeights(inputShape[0], 4, [4 * Units]);
        LstmFamilyOptions.InitForgetBias(Bias, UnitForgetBias, Units, Units);

        if (ProjSize > 0)
        {
            ReserveWeights([("projection_kernel", [Units, ProjSize])]);
            ProjectionKernel = AddWeight("projection_kernel", [Units, ProjSize], KernelInitializer, KernelRegularizer, KernelConstraint);
        }
    }
}
