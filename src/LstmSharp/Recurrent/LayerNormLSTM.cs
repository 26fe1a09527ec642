using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// Layer-normalised LSTM (Ba, Kiros &amp; Hinton 2016): the input and recurrent pre-activations of
/// each gate are normalised separately, and the cell state before the output's tanh
/// (equations, forward and backward, in <see cref="LayerNormLstmCell"/>). Neither Keras nor
/// PyTorch ships one; the options are Keras's LSTM's.
/// </summary>
/// <remarks>
/// <para>Input <c>[batch, time, features]</c>; output <c>[batch, units]</c> or, with
/// <c>returnSequences</c>, <c>[batch, time, units]</c>; with <c>returnState</c> followed by h_T
/// and c_T (the unnormalised cell). Weights: <c>kernel [features, 4·units]</c>,
/// <c>recurrent_kernel [units, 4·units]</c>, <c>bias [4·units]</c> (gate order i, f, c, o, as
/// <see cref="LSTM"/>), <c>input_gamma</c> and <c>recurrent_gamma [4·units]</c> (ones),
/// <c>cell_gamma</c> (ones) and <c>cell_beta [units]</c> (zeros): LSTM's count plus 10·units.</para>
/// <para>A layer of its own rather than an <see cref="LSTM"/> option: its kernel keeps x·W and
/// h·U apart (the LSTM kernel adds them into one buffer), saves per-gate statistics and a
/// normalised cell, and its cell is not one of <see cref="LstmVariant"/>'s; so <see cref="LSTM"/>'s
/// config, ONNX and Keras mappings stay as they are, and this class name says what the file holds.
/// ONNX and Keras have no such layer: exporting one throws naming it.</para>
/// </remarks>
public sealed class LayerNormLSTM : RecurrentLayer
{
    private LayerNormLstmKernel? kernel;

    /// <param name="units">Size of h and c; a positive integer.</param>
    /// <param name="activation">φ: applied to c~ and to the normalised cell (default tanh).</param>
    /// <param name="recurrentActivation">σ: applied to the gates (default sigmoid).</param>
    /// <param name="useBias">Adds the bias vector b.</param>
    /// <param name="kernelInitializer">Initializer of W (default glorot_uniform).</param>
    /// <param name="recurrentInitializer">Initializer of U (default orthogonal).</param>
    /// <param name="biasInitializer">Initializer of b (default zeros).</param>
    /// <param name="unitForgetBias">Adds 1 to the forget gate's bias at initialisation.</param>
    /// <param name="kernelRegularizer">Penalty on W.</param>
    /// <param name="recurrentRegularizer">Penalty on U.</param>
    /// <param name="biasRegularizer">Penalty on b.</param>
    /// <param name="activityRegularizer">Penalty on the output.</param>
    /// <param name="dropout">Fraction of input units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="recurrentDropout">Fraction of recurrent units dropped, one mask per sequence, in [0, 1).</param>
    /// <param name="returnSequences">Return the output of every step.</param>
    /// <param name="returnState">Also return h_T and c_T.</param>
    /// <param name="goBackwards">Read the sequence from its end; outputs come in processing order.</param>
    /// <param name="stateful">Carry the final states of batch k into batch k+1.</param>
    /// <param name="zeroOutputForMask">Masked steps output zeros instead of the previous output.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="name">Layer name; null = automatic (layer_norm_lstm, ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[time, features]</c>.</param>
    /// <param name="normEpsilon">ε of the normalisations (default 1e-3; see <see cref="LayerNormLstmCell"/>).</param>
    public LayerNormLSTM(
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
        float dropout = 0f,
        float recurrentDropout = 0f,
        bool returnSequences = false,
        bool returnState = false,
        bool goBackwards = false,
        bool stateful = false,
        bool zeroOutputForMask = false,
        int? seed = null,
        string? name = null,
        int[]? inputShape = null,
        float normEpsilon = LayerNormLstmCell.DefaultEpsilon)
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
            normEpsilon)
    {
    }

    /// <summary>A LayerNormLSTM from a <see cref="RecurrentOptions"/> record (constraints are not supported on the gains).</summary>
    public LayerNormLSTM(RecurrentOptions options, bool unitForgetBias = true, float normEpsilon = LayerNormLstmCell.DefaultEpsilon)
        : base(options)
    {
        UnitForgetBias = unitForgetBias;
        NormEpsilon = LstmFamilyOptions.CheckNormEpsilon(normEpsilon, Describe());
    }

    public override string ClassName => "LayerNormLSTM";

    public bool UnitForgetBias { get; }

    /// <summary>ε of the normalisations (config key <c>norm_epsilon</c>).</summary>
    public float NormEpsilon { get; }

    public override int StateCount => 2;

    public Parameter? Kernel { get; private set; }

    public Parameter? RecurrentKernel { get; private set; }

    public Parameter? Bias { get; private set; }

    /// <summary>γx [4·units].</summary>
    public Parameter? InputGamma { get; private set; }

    /// <summary>γh [4·units].</summary>
    public Parameter? RecurrentGamma { get; private set; }

    /// <summary>γc [units].</summary>
    public Parameter? CellGamma { get; private set; }

    /// <summary>βc [units].</summary>
    public Parameter? CellBeta { get; private set; }

    public static LayerNormLSTM FromConfig(JsonObject c) =>
        new LayerNormLSTM(ReadOptions(c), LstmFamilyOptions.ReadUnitForgetBias(c), LstmFamilyOptions.ReadNormEpsilon(c)).WithBase(c);

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        LstmFamilyOptions.WriteConfig(c, UnitForgetBias, normEpsilon: NormEpsilon);
        return c;
    }

    private protected override void BuildCell(int inputSize)
    {
        int n = Units;
        LayoutLimits.GateWidth(Describe(), 4, n, inputSize);
        ReserveWeights([("kernel", [inputSize, 4 * n]), ("recurrent_kernel", [n, 4 * n]), ("bias", UseBias ? [4 * n] : [0]), ("norms", [10 * n])]);
        kernel = new LayerNormLstmKernel(inputSize, n, UseBias, Activation, RecurrentActivation, NormEpsilon, Name);
        (Kernel, RecurrentKernel, Bias) = AddCellWeights([inputSize, 4 * n], [n, 4 * n], UseBias ? [4 * n] : null);
        LstmFamilyOptions.InitForgetBias(Bias, UnitForgetBias, n, n);
        (InputGamma, RecurrentGamma, CellGamma, CellBeta) = LstmFamilyOptions.AddNormWeights(n, (name, shape, init) => AddWeight(name, shape, init));
    }

    private protected override object CreateCache() => new LayerNormLstmCache();

    private protected override void ForwardKernel(in SequenceRun run, IReadOnlyList<Tensor?> initialStates, in RnnOutputs outputs, object? cache) =>
        kernel!.Forward(run, Weights(), SpanOf(initialStates[0]), SpanOf(initialStates[1]), outputs, (LayerNormLstmCache?)cache);

    private protected override void BackwardKernel(in SequenceRun run, object cache, in RnnOutputGradients dOutputs, Tensor? dx, Tensor? dTable, IReadOnlyList<Tensor?> dInitialStates) =>
        kernel!.Backward(
            run,
            Weights(),
            (LayerNormLstmCache)cache,
            dOutputs,
            new LayerNormLstmGradients
            {
                Kernel = Kernel!.Grad.Span,
                RecurrentKernel = RecurrentKernel!.Grad.Span,
                Bias = SpanOf(Bias?.Grad),
                InputGamma = InputGamma!.Grad.Span,
                RecurrentGamma = RecurrentGamma!.Grad.Span,
                CellGamma = CellGamma!.Grad.Span,
                CellBeta = CellBeta!.Grad.Span,
                Input = SpanOf(dx),
                InitialH = SpanOf(dInitialStates[0]),
                InitialC = SpanOf(dInitialStates[1]),
            });

    private LayerNormLstmWeights Weights() => new()
    {
        Kernel = Kernel!.Value.Span,
        RecurrentKernel = RecurrentKernel!.Value.Span,
        Bias = SpanOf(Bias?.Value),
        InputGamma = InputGamma!.Value.Span,
        RecurrentGamma = RecurrentGamma!.Value.Span,
        CellGamma = CellGamma!.Value.Span,
        CellBeta = CellBeta!.Value.Span,
    };
}
