using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// Long Short-Term Memory layer (Hochreiter &amp; Schmidhuber 1997), Keras semantics and
/// weight layout, with every variant of <see cref="LstmVariant"/> (equations in <see cref="LstmCell"/>).
/// Standard cell: i = σ(xWi + hUi + bi), f = σ(xWf + hUf + bf), c~ = tanh(xWc + hUc + bc),
/// o = σ(xWo + hUo + bo), c_t = f·c_{t−1} + i·c~, h_t = o·tanh(c_t).
/// </summary>
/// <remarks>
/// Input <c>[batch, time, features]</c>; output <c>[batch, units]</c> or, with
/// <c>returnSequences</c>, <c>[batch, time, units]</c>; with <c>returnState</c> followed by
/// h_T and c_T. Weights: <c>kernel [features, G·units]</c>, <c>recurrent_kernel [units, G·units]</c>,
/// <c>bias [G·units]</c> in gate order i, f, c, o (G = 4 for the standard cell; gates a variant
/// lacks have no block), plus <c>peephole [S, units]</c> and <c>gate_recurrence</c> for the
/// variants that have them. LSTM(128) on 28 features has 80,384 weights.
/// <para>With <c>projSize</c> P &gt; 0 (LSTMP, Sak et al. 2014; PyTorch <c>nn.LSTM(proj_size=P)</c>;
/// Keras has no such option) the output and h are <c>[.., P]</c> and c stays <c>[batch, units]</c>:
/// h_t = (o_t ⊙ φ(c_t))·W_p with <c>projection_kernel [units, P]</c> (PyTorch's <c>weight_hr_l0</c>
/// transposed, initialised like <c>kernel</c>), and <c>recurrent_kernel</c> is <c>[P, G·units]</c>.
/// The config key is <c>proj_size</c>. No ONNX or Keras equivalent: exporting it throws.</para>
/// </remarks>
public sealed partial class LSTM : RecurrentLayer
{
    private LstmKernel? kernel;

    /// <param name="units">Size of h and c; a positive integer.</param>
    /// <param name="activation">Applied to c~ and to c_t before the output gate (default tanh).</param>
    /// <param name="recurrentActivation">Applied to the gates (default sigmoid).</param>
    /// <param name="useBias">Adds the bias vector.</param>
    /// <param name="kernelInitializer">Initializer of W (default glorot_uniform).</param>
    /// <param name="recurrentInitializer">Initializer of U (default orthogonal).</param>
    /// <param name="biasInitializer">Initializer of b (default zeros).</param>
    /// <param name="unitForgetBias">Adds 1 to the forget gate's bias at initialisation (Jozefowicz et al. 2015; Keras default).</param>
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
    /// <param name="returnState">Also return h_T and c_T.</param>
    /// <param name="goBackwards">Read the sequence from its end; outputs come in processing order.</param>
    /// <param name="stateful">Carry the final states of batch k into batch k+1 (fixed batch size).</param>
    /// <param name="variant">The cell variant (default <see cref="LstmVariant.Standard"/>); its activations are overridden by <paramref name="activation"/> and <paramref name="recurrentActivation"/>.</param>
    /// <param name="zeroOutputForMask">Masked steps output zeros instead of the previous output.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="name">Layer name; null = automatic (lstm, lstm_1, ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[time, features]</c> (time may be -1).</param>
    /// <param name="projSize">Projects h to this many values (PyTorch <c>proj_size</c>); 0 = no projection.</param>
    public LSTM(
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
        LstmVariant? variant = null,
        bool zeroOutputForMask = false,
        int? seed = null,
        string? name = null,
        int[]? inputShape = null,
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
            unitForgetBias,
            variant,
            projSize)
    {
    }

    /// <summary>An LSTM from a <see cref="RecurrentOptions"/> record, plus its own two options.</summary>
    /// <param name="options">The options every recurrent layer shares.</param>
    /// <param name="unitForgetBias">Adds 1 to the forget gate's bias at initialisation (Keras default).</param>
    /// <param name="variant">The cell variant (default <see cref="LstmVariant.Standard"/>); its activations are overridden by the options'.</param>
    /// <param name="projSize">Projects h to this many values (PyTorch <c>proj_size</c>); 0 = no projection.</param>
    public LSTM(RecurrentOptions options, bool unitForgetBias = true, LstmVariant? variant = null, int projSize = 0)
        : base(options)
    {
        ProjSize = LstmFamilyOptions.CheckProjSize(projSize, Describe());
        Variant = (variant ?? LstmVariant.Standard) with { Activation = Activation, RecurrentActivation = RecurrentActivation };
        try
        {
            Variant.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{Describe()}: {e.Message}", nameof(variant), e);
        }

        UnitForgetBias = unitForgetBias;
    }

    public override string ClassName => "LSTM";

    public LstmVariant Variant { get; }

    public bool UnitForgetBias { get; }

    /// <summary>P, the size of h with a projection (PyTorch <c>proj_size</c>); 0 = none.</summary>
    public int ProjSize { get; }

    /// <summary>W_p <c>[units, P]</c> (null without a projection or before building).</summary>
    public Parameter? ProjectionKernel { get; private set; }

    private protected override int OutputUnits => ProjSize > 0 ? ProjSize : Units;

    private protected override int StateUnits(int state) => state == 0 ? OutputUnits : Units;

    public override int StateCount => 2;

    /// <summary>The weight layout (null before building).</summary>
    public LstmLayout? Layout => kernel?.Layout;

    public Parameter? Kernel { get; private set; }

    public Parameter? RecurrentKernel { get; private set; }

    public Parameter? Bias { get; private set; }

    public Parameter? Peephole { get; private set; }

    public Parameter? GateRecurrence { get; private set; }

    public static LSTM FromConfig(JsonObject c)
    {
        var variant = c["variant"] is JsonObject v ? VariantFromJson(v) : null;
        var lstm = new LSTM(ReadOptions(c), unitForgetBias: LstmFamilyOptions.ReadUnitForgetBias(c), variant: variant, projSize: LstmFamilyOptions.ReadProjSize(c)).WithBase(c);
        lstm.pendingQuantization = QuantizedWeights.ReadConfig(c);
        return lstm;
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        LstmFamilyOptions.WriteConfig(c, UnitForgetBias, projSize: ProjSize);
        c["variant"] = new JsonObject
        {
            ["input_gate"] = Variant.InputGate,
            ["forget_gate"] = Variant.ForgetGate,
            ["output_gate"] = Variant.OutputGate,
            ["peepholes"] = Variant.Peepholes,
            ["coupled_input_forget"] = Variant.CoupledInputForget,
            ["full_gate_recurrence"] = Variant.FullGateRecurrence,
            ["input_activation"] = Variant.InputActivation,
            ["output_activation"] = Variant.OutputActivation,
        };
        QuantizedWeights.WriteConfig(c, Quantization ?? pendingQuantization);
        return c;
    }

    private protected override void BuildCell(int inputSize)
    {
        var layout = new LstmLayout(Variant, inputSize, Units, UseBias, ProjSize);
        ReserveWeights(layout.ParameterShapes);
        kernel = new LstmKernel(layout, Name);
        (Kernel, RecurrentKernel, Bias) = AddCellWeights(layout.KernelShape, layout.RecurrentKernelShape, layout.BiasShape);
        LstmFamilyOptions.InitForgetBias(Bias, UnitForgetBias, layout.BlockOffset(LstmGate.Forget), Units);

        if (layout.PeepholeShape is { } peepShape)
        {
            // Diagonal weights, one vector per gate: initialised like a [units] kernel (as TensorFlow's peephole cell).
            Peephole = AddWeight("peephole", peepShape, "zeros");
            var rows = new Tensor(Units);
            for (int s = 0; s < peepShape[0]; s++)
            {
                WeightInitializers.Fill(KernelInitializer, rows, InitRandom, $"{Describe()} weight 'peephole'");
                rows.Span.CopyTo(Peephole.Value.Span.Slice(s * Units, Units));
            }
        }

        if (layout.GateRecurrenceShape is { } fgrShape)
        {
            GateRecurrence = AddWeight("gate_recurrence", fgrShape, RecurrentInitializer, RecurrentRegularizer, RecurrentConstraint);
        }

        if (layout.ProjectionShape is { } projShape)
        {
            ProjectionKernel = AddWeight("projection_kernel", projShape, KernelInitializer, KernelRegularizer, KernelConstraint);
        }

        if (pendingQuantization is { } mode)
        {
            QuantizedWeights.Prepare(this, mode);
        }
    }

    private protected override bool ReadsTokens => Quantization is null;

    private protected override object CreateCache() => new LstmCache();

    private protected override void ForwardKernel(in SequenceRun run, IReadOnlyList<Tensor?> initialStates, in RnnOutputs outputs, object? cache)
    {
        ThrowIfQuantizedTraining(cache);
        kernel!.Forward(run, Weights(), SpanOf(initialStates[0]), SpanOf(initialStates[1]), outputs, (LstmCache?)cache);
    }

    private protected override void BackwardKernel(in SequenceRun run, object cache, in RnnOutputGradients dOutputs, Tensor? dx, Tensor? dTable, IReadOnlyList<Tensor?> dInitialStates)
    {
        kernel!.Backward(
            run,
            Weights(),
            (LstmCache)cache,
            dOutputs,
            new LstmGradients
            {
                Kernel = Kernel!.Grad.Span,
                RecurrentKernel = RecurrentKernel!.Grad.Span,
                Bias = SpanOf(Bias?.Grad),
                Peephole = SpanOf(Peephole?.Grad),
                GateRecurrence = SpanOf(GateRecurrence?.Grad),
                Projection = SpanOf(ProjectionKernel?.Grad),
                Input = SpanOf(dx),
                Table = SpanOf(dTable),
                InitialH = SpanOf(dInitialStates[0]),
                InitialC = SpanOf(dInitialStates[1]),
            });
    }

    private LstmWeights Weights() => new()
    {
        Kernel = Kernel!.Value.Span,
        RecurrentKernel = RecurrentKernel!.Value.Span,
        Bias = SpanOf(Bias?.Value),
        Peephole = SpanOf(Peephole?.Value),
        GateRecurrence = SpanOf(GateRecurrence?.Value),
        Projection = SpanOf(ProjectionKernel?.Value),
        QuantizedKernel = Kernel.Quantized,
        QuantizedRecurrentKernel = RecurrentKernel.Quantized,
    };

    private static LstmVariant VariantFromJson(JsonObject v) => new()
    {
        InputGate = v.GetBool("input_gate", true),
        ForgetGate = v.GetBool("forget_gate", true),
        OutputGate = v.GetBool("output_gate", true),
        Peepholes = v.GetBool("peepholes", false),
        CoupledInputForget = v.GetBool("coupled_input_forget", false),
        FullGateRecurrence = v.GetBool("full_gate_recurrence", false),
        InputActivation = v.GetBool("input_activation", true),
        OutputActivation = v.GetBool("output_activation", true),
    };
}
