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
    private Rng? dropoutRng;
    private Tensor? inputMask;
    private Tensor? recurrentMask;

    /// <summary>Checks and keeps the options a cell uses (the layer-only ones: sequences, states, directions, activity regularizer, are not a cell's).</summary>
    private protected DenseRecurrentCell(RecurrentOptions options)
        : base(options?.Name)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Units <= 0)
        {
            throw new ArgumentOutOfRangeException("units", $"{Describe()}: units must be a positive integer, got {options.Units}.");
        }

        CheckRate(options.Dropout, "dropout");
        CheckRate(options.RecurrentDropout, "recurrentDropout");
        Units = options.Units;
        Activation = ActivationNames.Parse(options.Activation, $"{Describe()} activation");
        RecurrentActivation = ActivationNames.Parse(options.RecurrentActivation, $"{Describe()} recurrent_activation");
        UseBias = options.UseBias;
        KernelInitializer = LayerChecks.Initializer(options.KernelInitializer, Describe(), "kernelInitializer");
        RecurrentInitializer = LayerChecks.Initializer(options.RecurrentInitializer, Describe(), "recurrentInitializer");
        BiasInitializer = LayerChecks.Initializer(options.BiasInitializer, Describe(), "biasInitializer");
        KernelRegularizer = options.KernelRegularizer;
        RecurrentRegularizer = options.RecurrentRegularizer;
        BiasRegularizer = options.BiasRegularizer;
        KernelConstraint = options.KernelConstraint;
        RecurrentConstraint = options.RecurrentConstraint;
        BiasConstraint = options.BiasConstraint;
        Dropout = options.Dropout;
        RecurrentDropout = options.RecurrentDropout;
        Seed = options.Seed;
    }

    public int Units { get; }

    public ActivationKind Activation { get; }

    public ActivationKind RecurrentActivation { get; }

    public bool UseBias { get; }

    public string KernelInitializer { get; }

    public string RecurrentInitializer { get; }

    public string BiasInitializer { get; }

    public IRegularizer? KernelRegularizer { get; }

    public IRegularizer? RecurrentRegularizer { get; }

    public IRegularizer? BiasRegularizer { get; }

    public IConstraint? KernelConstraint { get; }

    public IConstraint? RecurrentConstraint { get; }

    public IConstraint? BiasConstraint { get; }

    /// <summary>Fraction of the input units dropped (one mask per sequence), in [0, 1).</summary>
    public float Dropout { get; }

    /// <summary>Fraction of the recurrent state units dropped (one mask per sequence), in [0, 1).</summary>
    public float RecurrentDropout { get; }

    /// <summary>Seed of the dropout masks; null draws one from the global seed.</summary>
    public int? Seed { get; }

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

        if (training && Dropout > 0)
        {
            int features = BuiltInputShapes?[0][0] ?? throw new InvalidOperationException($"{Describe()}: not built yet; an RNN builds its cell from the input's shape.");
            inputMask = new Tensor(batchSize, features);
            if (!SampleRandom.TryFill(SampleStreamOrName + "/dropout", Seed, inputMask.Span, Dropout))
            {
                DropoutRandom.DropoutMask(inputMask.Span, Dropout);
            }
        }

        if (training && RecurrentDropout > 0)
        {
            recurrentMask = new Tensor(batchSize, OutputSize);
            if (!SampleRandom.TryFill(SampleStreamOrName + "/recurrent_dropout", Seed, recurrentMask.Span, RecurrentDropout))
            {
                DropoutRandom.DropoutMask(recurrentMask.Span, RecurrentDropout);
            }
        }
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["units"] = Units;
        c["activation"] = Activation.ToName();
        c["recurrent_activation"] = RecurrentActivation.ToName();
        c["use_bias"] = UseBias;
        c["kernel_initializer"] = KernelInitializer;
        c["recurrent_initializer"] = RecurrentInitializer;
        c["bias_initializer"] = BiasInitializer;
        c["kernel_regularizer"] = LayerConfig.ObjectToJson(KernelRegularizer);
        c["recurrent_regularizer"] = LayerConfig.ObjectToJson(RecurrentRegularizer);
        c["bias_regularizer"] = LayerConfig.ObjectToJson(BiasRegularizer);
        c["kernel_constraint"] = LayerConfig.ObjectToJson(KernelConstraint);
        c["recurrent_constraint"] = LayerConfig.ObjectToJson(RecurrentConstraint);
        c["bias_constraint"] = LayerConfig.ObjectToJson(BiasConstraint);
        c["dropout"] = Dropout;
        c["recurrent_dropout"] = RecurrentDropout;
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
        Kernel = AddWeight("kernel", [features, gates * Units], KernelInitializer, KernelRegularizer, KernelConstraint);
        RecurrentKernel = AddWeight("recurrent_kernel", [OutputSize, gates * Units], RecurrentInitializer, RecurrentRegularizer, RecurrentConstraint);
        if (UseBias)
        {
            Bias = AddWeight("bias", biasShape, BiasInitializer, BiasRegularizer, BiasConstraint);
        }
    }

    /// <summary>x ⊙ m_x when input dropout is on for this sequence, else x.</summary>
    private protected Tensor DropInput(Tensor x) => inputMask is null ? x : Ops.Mul(x, inputMask);

    /// <summary>h ⊙ m_h (the state that feeds the recurrent product) when recurrent dropout is on, else h.</summary>
    private protected Tensor DropRecurrent(Tensor h) => recurrentMask is null ? h : Ops.Mul(h, recurrentMask);

    /// <summary>Reads a cell's options from its config, each by its Keras name.</summary>
    private protected static RecurrentOptions ReadCellOptions(JsonObject c) => RecurrentOptions.Read(c) with { InputShape = null };

    private Rng DropoutRandom => dropoutRng ??= Seed is { } s ? new Rng(s) : Rng.CreateFromGlobal();

    private void CheckRate(float rate, string argument)
    {
        if (!(rate >= 0f && rate < 1f))
        {
            throw new ArgumentOutOfRangeException(argument, $"{Describe()}: {argument} must be in [0, 1), got {rate}.");
        }
    }
}
