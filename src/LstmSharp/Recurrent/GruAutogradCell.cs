using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// The GRU step written with autograd ops (Keras's <c>GRUCell</c>), for <see cref="RNN"/>: the
/// equations, weight layout (blocks z, r, h) and options of the fused <see cref="GRU"/> layer.
/// <code>
/// xd = x_t ⊙ m_x,  hd = h_{t−1} ⊙ m_h
/// z = σ(xd Wz + hd Uz + bz),  r = σ(xd Wr + hd Ur + br)
/// resetAfter = false:  h~ = tanh(xd Wh + (r ⊙ hd) Uh + bh)                  b [3u]
/// resetAfter = true:   h~ = tanh(xd Wh + bh_in + r ⊙ (hd Uh + bh_rec))      b [2, 3u]
/// h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h~;   output h_t, state [h_t]
/// </code>
/// </summary>
public sealed class GruAutogradCell : DenseRecurrentCell
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
    /// <param name="kernelConstraint">Projection of W after each step.</param>
    /// <param name="recurrentConstraint">Projection of U after each step.</param>
    /// <param name="biasConstraint">Projection of b after each step.</param>
    /// <param name="dropout">Fraction of input units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="recurrentDropout">Fraction of recurrent units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="resetAfter">Apply the reset gate after the recurrent product (Keras 3 default true).</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="name">Cell name; null = automatic (gru_cell, gru_cell_1, ...).</param>
    public GruAutogradCell(
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
        IConstraint? kernelConstraint = null,
        IConstraint? recurrentConstraint = null,
        IConstraint? biasConstraint = null,
        float dropout = 0f,
        float recurrentDropout = 0f,
        bool resetAfter = true,
        int? seed = null,
        string? name = null)
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
            resetAfter)
    {
    }

    private GruAutogradCell(RecurrentOptions options, bool resetAfter)
        : base(options)
    {
        ResetAfter = resetAfter;
    }

    public override string ClassName => "GRUCell";

    public bool ResetAfter { get; }

    public override IReadOnlyList<int> StateSizes => [Units];

    public static GruAutogradCell FromConfig(JsonObject c) =>
        new GruAutogradCell(ReadCellOptions(c), c.GetBool("reset_after", true)).WithBase(c);

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["reset_after"] = ResetAfter;
        return c;
    }

    public override CellOutput Call(Tensor input, IReadOnlyList<Tensor> states, bool training)
    {
        var h = states[0];
        var hd = DropRecurrent(h);
        var xw = Ops.MatMul(DropInput(input), Kernel!.Value);
        var hu = Ops.MatMul(hd, RecurrentKernel!.Value);
        if (Bias is not null)
        {
            xw = Ops.Add(xw, ResetAfter ? Ops.Select(Bias.Value, 0, 0) : Bias.Value);
            if (ResetAfter)
            {
                hu = Ops.Add(hu, Ops.Select(Bias.Value, 0, 1));
            }
        }

        int[] blocks = [Units, Units, Units];
        var x3 = Ops.Split(xw, blocks);
        var h3 = Ops.Split(hu, blocks);
        var z = Ops.Activation(Ops.Add(x3[0], h3[0]), RecurrentActivation);
        var r = Ops.Activation(Ops.Add(x3[1], h3[1]), RecurrentActivation);
        Tensor candidatePre;
        if (ResetAfter)
        {
            candidatePre = Ops.Add(x3[2], Ops.Mul(r, h3[2]));
        }
        else
        {
            // The reset gate scales the state before its product with Uh, so Uh's product is a second one.
            var uh = Ops.Split(RecurrentKernel.Value, [2 * Units, Units])[1];
            candidatePre = Ops.Add(x3[2], Ops.MatMul(Ops.Mul(r, hd), uh));
        }

        var candidate = Ops.Activation(candidatePre, Activation);
        var hNew = Ops.Add(candidate, Ops.Mul(z, Ops.Subtract(h, candidate)));
        return new CellOutput(hNew, [hNew]);
    }

    protected override void OnBuild(int[] inputShape) =>
        AddDenseWeights(inputShape[0], 3, ResetAfter ? [2, 3 * Units] : [3 * Units]);
}
