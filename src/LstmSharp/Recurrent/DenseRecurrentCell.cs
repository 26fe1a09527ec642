using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// What the built-in autograd cells share (Keras's <c>LSTMCell</c>, <c>GRUCell</c>,
/// <c>SimpleRNNCell</c>): units, activations, weights <c>kernel [features, G·units]</c>,
/// <c>recurrent_kernel [units, G·units]</c> and a bias, their initializers, regularizers and
/// constraints, and dropout with one mask per sequence (drawn in <see cref="BeginSequence"/>):
/// the input is multiplied by <c>m_x</c> and the state that feeds the recurrent product by
/// <c>m_h</c>, exactly as the fused layers do.
/// </summary>
public abstract class DenseRecurrentCell : RecurrentCell
{
    private readonly RecurrentSettings settings;
    private Tensor? inputMask;
    private Tensor? recurrentMask;

    /// <summary>Checks and keeps the options a cell uses (the layer-only ones: sequences, states, directions, activity regularizer, are not a cell's).</summary>
    private protected DenseRecurrentCell(RecurrentOptions options)
        : base(options?.Name)
    {
        settings = new RecurrentSettings(options!, Describe());
    }

    public int Units => settings.Options.Units;

    public ActivationKind Activation => settings.Activation;

    public ActivationKind RecurrentActivation => settings.RecurrentActivation;

    public bool UseBias => settings.Options.UseBias;

    public string KernelInitializer => settings.KernelInitializer;

    public string RecurrentInitializer => settings.RecurrentInitializer;

    public string BiasInitializer => settings.BiasInitializer;

    public IRegularizer? KernelRegularizer => settings.Options.KernelRegularizer;

    public IRegularizer? RecurrentRegularizer => settings.Options.RecurrentRegularizer;

    public IRegularizer? BiasRegularizer => settings.Options.BiasRegularizer;

    public IConstraint? KernelConstraint => settings.Options.KernelConstraint;

    public IConstraint? RecurrentConstraint => settings.Options.RecurrentConstraint;

    public IConstraint? BiasConstraint => settings.Options.BiasConstraint;

    /// <summary>Fraction of the input units dropped (one mask per sequence), in [0, 1).</summary>
    public float Dropout => settings.Options.Dropout;

    /// <summary>Fraction of the recurrent state units dropped (one mask per sequence), in [0, 1).</summary>
    public float RecurrentDropout => settings.Options.RecurrentDropout;

    /// <summary>Seed of the dropout masks; null draws one from the global seed.</summary>
    public int? Seed => settings.Options.Seed;

    public override int OutputSize => Units;

    public Parameter? Kernel { get; private set; }

    public Parameter? RecurrentKernel { get; private set; }

    public Parameter? Bias { get; private set; }

    /// <summary>Draws this sequence's dropout masks (training only), or clears them.</summary>
    public override void BeginSequence(int batchSize, bool training)
    {
        (inputMask, recurrentMask) = FixedDropoutMasks ?? (null, null);
        if (FixedDropoutMasks is not null)
        {
            return;
        }

        int features = training && Dropout > 0
            ? BuiltInputShapes?[0][0] ?? throw new InvalidOperationException($"{Describe()}: not built yet; an RNN builds its cell from the input's shape.")
            : 0;
        var (input, recurrent) = settings.DropoutMasks(training, batchSize, features, OutputSize, SampleStreamOrName);
        inputMask = input is null ? null : new Tensor(input, batchSize, features);
        recurrentMask = recurrent is null ? null : new Tensor(recurrent, batchSize, OutputSize);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        settings.WriteConfig(c, activityRegularizer: false);
        c["seed"] = Seed;
        return c;
    }

    /// <summary>
    /// Dropout masks every sequence uses instead of drawn ones, in training and inference (tests
    /// hold the cell to a reference run with known masks); null draws them as usual.
    /// </summary>
    internal (Tensor? Input, Tensor? Recurrent)? FixedDropoutMasks { get; set; }

    /// <summary>Creates kernel <c>[features, gates·units]</c>, recurrent_kernel <c>[h, gates·units]</c> (h = <see cref="OutputSize"/>, the units unless an LSTM projects) and, with a bias, <paramref name="biasShape"/>.</summary>
    private protected void AddDenseWeights(int features, int gates, int[] biasShape)
    {
        LayoutLimits.GateWidth(Describe(), gates, Units, Math.Max(features, OutputSize));
        ReserveWeights([("kernel", [features, gates * Units]), ("recurrent_kernel", [OutputSize, gates * Units]), ("bias", UseBias ? biasShape : [0])]);
        (Kernel, RecurrentKernel, Bias) = settings.AddCellWeights(AddWeight, [features, gates * Units], [OutputSize, gates * Units], UseBias ? biasShape : null);
    }

    /// <summary>x ⊙ m_x when input dropout is on for this sequence, else x.</summary>
    private protected Tensor DropInput(Tensor x) => inputMask is null ? x : Ops.Mul(x, inputMask);

    /// <summary>h ⊙ m_h (the state that feeds the recurrent product) when recurrent dropout is on, else h.</summary>
    private protected Tensor DropRecurrent(Tensor h) => recurrentMask is null ? h : Ops.Mul(h, recurrentMask);

    /// <summary>Reads a cell's options from its config, each by its Keras name.</summary>
    private protected static RecurrentOptions ReadCellOptions(JsonObject c) => RecurrentOptions.Read(c) with { InputShape = null };
}
