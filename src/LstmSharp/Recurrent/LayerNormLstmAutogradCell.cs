using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// The layer-normalised LSTM step (<see cref="LayerNormLstmCell"/>'s equations) written with
/// autograd ops, for <see cref="RNN"/>: the same weights, names and order as
/// <see cref="LayerNormLSTM"/>, so <c>RNN(new LayerNormLstmAutogradCell(n))</c> given a
/// LayerNormLSTM's weights gives its outputs and gradients (the slow oracle of the fused kernel).
/// <code>
/// x̂ = LN_gate(xd·W),  ĥ = LN_gate(hd·U)                 (each gate block of n normalised on its own)
/// [z_i, z_f, z_c, z_o] = γx ⊙ x̂ + γh ⊙ ĥ + b
/// c_t = σ(z_f) ⊙ c_{t−1} + σ(z_i) ⊙ φ(z_c),   h_t = σ(z_o) ⊙ φ(γc ⊙ LN(c_t) + βc)
/// </code>
/// </summary>
public sealed class LayerNormLstmAutogradCell : DenseRecurrentCell
{
    /// <param name="units">Size of h and c; a positive integer.</param>
    /// <param name="activation">φ (default tanh).</param>
    /// <param name="recurrentActivation">σ (default sigmoid).</param>
    /// <param name="useBias">Adds the bias vector.</param>
    /// <param name="unitForgetBias">Adds 1 to the forget gate's bias at initialisation.</param>
    /// <param name="dropout">Fraction of input units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="recurrentDropout">Fraction of recurrent units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="name">Cell name; null = automatic.</param>
    /// <param name="normEpsilon">ε of the normalisations (default 1e-3).</param>
    public LayerNormLstmAutogradCell(
        int units,
        string activation = "tanh",
        string recurrentActivation = "sigmoid",
        bool useBias = true,
        bool unitForgetBias = true,
        float dropout = 0f,
        float recurrentDropout = 0f,
        int? seed = null,
        string? name = null,
        float normEpsilon = LayerNormLstmCell.DefaultEpsilon)
        : this(
            new RecurrentOptions
            {
                Units = units,
                Activation = activation,
                RecurrentActivation = recurrentActivation,
                UseBias = useBias,
                Dropout = dropout,
                RecurrentDropout = recurrentDropout,
                Seed = seed,
                Name = name,
            },
            unitForgetBias,
            normEpsilon)
    {
    }

    private LayerNormLstmAutogradCell(RecurrentOptions options, bool unitForgetBias, float normEpsilon)
        : base(options)
    {
        UnitForgetBias = unitForgetBias;
        NormEpsilon = LstmFamilyOptions.CheckNormEpsilon(normEpsilon, Describe());
    }

    public override string ClassName => "LayerNormLSTMCell";

    public bool UnitForgetBias { get; }

    /// <summary>ε of the normalisations (config key <c>norm_epsilon</c>).</summary>
    public float NormEpsilon { get; }

    /// <summary>[h, c], each <c>[batch, units]</c>.</summary>
    public override IReadOnlyList<int> StateSizes => [Units, Units];

    public Parameter? InputGamma { get; private set; }

    public Parameter? RecurrentGamma { get; private set; }

    public Parameter? CellGamma { get; private set; }

    public Parameter? CellBeta { get; private set; }

    public static LayerNormLstmAutogradCell FromConfig(JsonObject c) =>
        new LayerNormLstmAutogradCell(ReadCellOptions(c), LstmFamilyOptions.ReadUnitForgetBias(c), LstmFamilyOptions.ReadNormEpsilon(c)).WithBase(c);

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        LstmFamilyOptions.WriteConfig(c, UnitForgetBias, normEpsilon: NormEpsilon);
        return c;
    }

    public override CellOutput Call(Tensor input, IReadOnlyList<Tensor> states, bool training)
    {
        var (h, c) = (states[0], states[1]);
        int batch = input.Dim(0), n = Units;
        var xn = GateNorm(Ops.MatMul(DropInput(input), Kernel!.Value), batch);
        var hn = GateNorm(Ops.MatMul(DropRecurrent(h), RecurrentKernel!.Value), batch);
        var z = Ops.Add(Ops.Mul(xn, InputGamma!.Value), Ops.Mul(hn, RecurrentGamma!.Value));
        if (Bias is not null)
        {
            z = Ops.Add(z, Bias.Value);
        }

        var g = Ops.Split(z, [n, n, n, n]);
        var i = Ops.Activation(g[0], RecurrentActivation);
        var f = Ops.Activation(g[1], RecurrentActivation);
        var candidate = Ops.Activation(g[2], Activation);
        var o = Ops.Activation(g[3], RecurrentActivation);
        var cNew = Ops.Add(Ops.Mul(f, c), Ops.Mul(i, candidate));
        var l = Ops.LayerNorm(cNew, CellGamma!.Value, CellBeta!.Value, NormEpsilon, n);
        var hNew = Ops.Mul(o, Ops.Activation(l, Activation));
        return new CellOutput(hNew, [hNew, cNew]);
    }

    protected override void OnBuild(int[] inputShape)
    {
        int n = Units;
        AddDenseWeights(inputShape[0], 4, [4 * n]);
        LstmFamilyOptions.InitForgetBias(Bias, UnitForgetBias, n, n);

        ReserveWeights([("norms", [10 * n])]);
        (InputGamma, RecurrentGamma, CellGamma, CellBeta) = LstmFamilyOptions.AddNormWeights(n, (name, shape, init) => AddWeight(name, shape, init));
    }

    /// <summary>Each gate block of a [batch, 4n] pre-activation normalised over its own n values.</summary>
    private Tensor GateNorm(Tensor a, int batch) =>
        Ops.Reshape(Ops.LayerNorm(Ops.Reshape(a, batch, 4, Units), null, null, NormEpsilon, Units), batch, 4 * Units);
}
