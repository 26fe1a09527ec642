using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// What SimpleRNN, LSTM and GRU share as Keras layers: time, masks, states, directions.
/// The math of one step lives in the cell kernels (<see cref="LstmKernel"/>, ...); this class
/// turns a kernel into a layer: it validates options, draws the dropout masks (one per
/// sequence, reused at every step), carries state across batches when <see cref="Layer.Stateful"/>,
/// and records the whole sequence as ONE op on the tape whose backward is the kernel's BPTT.
/// </summary>
/// <remarks>
/// <para>Call inputs: <c>x [batch, time, features]</c>, then optionally the initial states
/// (Keras <c>initial_state</c>: <c>[h]</c> for SimpleRNN/GRU, <c>[h, c]</c> for LSTM, each
/// <c>[batch, units]</c>). A mask <c>[batch, time]</c> (from <c>Embedding(maskZero)</c> or
/// <c>Masking</c>) makes padded steps carry the state through unchanged.</para>
/// <para>Outputs: <c>[batch, time, units]</c> with <see cref="SequenceLayer.ReturnSequences"/>, else the last
/// output <c>[batch, units]</c>; with <see cref="SequenceLayer.ReturnState"/> followed by the final states.</para>
/// </remarks>
public abstract class RecurrentLayer : SequenceLayer
{
    private readonly Stack<object> freeCaches = new();
    private readonly RecurrentSettings settings;

    /// <summary>Validates and keeps the options every recurrent layer shares (the leaf classes take them as Keras-named arguments).</summary>
    private protected RecurrentLayer(RecurrentOptions options)
        : base(options?.Name, options?.InputShape)
    {
        settings = new RecurrentSettings(options!, Describe());
        ActivityRegularizer = options!.ActivityRegularizer;
        ReturnSequences = options.ReturnSequences;
        ReturnState = options.ReturnState;
        GoBackwards = options.GoBackwards;
        IsStateful = options.Stateful;
        ZeroOutputForMask = options.ZeroOutputForMask;
    }

    /// <summary>The options the layer was created with (its name and input shape as given, null when automatic).</summary>
    public RecurrentOptions Options => settings.Options;

    public int Units => Options.Units;

    public ActivationKind Activation => settings.Activation;

    public ActivationKind RecurrentActivation => settings.RecurrentActivation;

    public bool UseBias => Options.UseBias;

    public string KernelInitializer => settings.KernelInitializer;

    public string RecurrentInitializer => settings.RecurrentInitializer;

    public string BiasInitializer => settings.BiasInitializer;

    public IRegularizer? KernelRegularizer => Options.KernelRegularizer;

    public IRegularizer? RecurrentRegularizer => Options.RecurrentRegularizer;

    public IRegularizer? BiasRegularizer => Options.BiasRegularizer;

    public IConstraint? KernelConstraint => Options.KernelConstraint;

    public IConstraint? RecurrentConstraint => Options.RecurrentConstraint;

    public IConstraint? BiasConstraint => Options.BiasConstraint;

    /// <summary>Fraction of the input units dropped (one mask per sequence), in [0, 1).</summary>
    public float Dropout => Options.Dropout;

    /// <summary>Fraction of the recurrent state units dropped (one mask per sequence), in [0, 1).</summary>
    public float RecurrentDropout => Options.RecurrentDropout;

    /// <summary>Seed of the dropout masks; null draws one from the global seed.</summary>
    public int? Seed => Options.Seed;

    /// <summary>Size of one step's output (and of h): <see cref="Units"/>, or an LSTM's projection size.</summary>
    private protected override int OutputUnits => Units;

    /// <summary>Size of state <paramref name="state"/> (each is <c>[batch, size]</c>).</summary>
    private protected override int StateUnits(int state) => Units;

    private protected override string StateNames => StateCount == 1 ? " (h)" : " (h, c)";

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        settings.WriteConfig(c, activityRegularizer: true);
        WriteSequenceConfig(c);
        c["seed"] = Seed;
        return c;
    }

    /// <summary>Reads the options every recurrent layer shares from a config, each by its Keras name (for FromConfig).</summary>
    private protected static RecurrentOptions ReadOptions(JsonObject c) => RecurrentOptions.Read(c);

    protected override void OnBuild(IReadOnlyList<int[]> inputShapes)
    {
        int features = CheckBuildInput(inputShapes);

        // Every cell has W [features, G·units] and U [units, G·units] with G >= 1: a lower bound on
        // its weights, checked against a model file's budget before any shape is even formed.
        long atLeast = ((long)OutputUnits * Units) + Math.Min((long)Units * features, long.MaxValue - ((long)OutputUnits * Units));
        ReserveWeightValues("kernel and recurrent_kernel", atLeast);
        try
        {
            BuildCell(features);
        }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == "units")
        {
            throw new ArgumentOutOfRangeException("units", $"{Describe()}: {e.Message.Replace(" (Parameter 'units')", string.Empty, StringComparison.Ordinal)}");
        }
    }

    /// <summary>Creates the cell's weights for <paramref name="inputSize"/> features.</summary>
    private protected abstract void BuildCell(int inputSize);

    /// <summary>A new, empty cache for the buffers BPTT needs.</summary>
    private protected abstract object CreateCache();

    /// <summary>
    /// Runs the kernel. <paramref name="initialStates"/> has <see cref="SequenceLayer.StateCount"/> entries
    /// (null = zeros); <paramref name="outputs"/> has no sequence unless the whole sequence is
    /// wanted, and a final c only for two states; <paramref name="cache"/> is null in inference.
    /// </summary>
    private protected abstract void ForwardKernel(in SequenceRun run, IReadOnlyList<Tensor?> initialStates, in RnnOutputs outputs, object? cache);

    /// <summary>
    /// BPTT: accumulates the weight gradients, writes <paramref name="dx"/> and
    /// <paramref name="dInitialStates"/> when not null, and accumulates the token table's
    /// gradient into <paramref name="dTable"/> when not null (only for a run with tokens).
    /// Empty output gradients are zero.
    /// </summary>
    private protected abstract void BackwardKernel(in SequenceRun run, object cache, in RnnOutputGradients dOutputs, Tensor? dx, Tensor? dTable, IReadOnlyList<Tensor?> dInitialStates);

    /// <summary>The values of <paramref name="t"/>, or an empty span for null (a kernel's "not given").</summary>
    private protected static Span<float> SpanOf(Tensor? t) => t is null ? default : t.Span;

    /// <summary>
    /// Creates <c>kernel</c>, <c>recurrent_kernel</c> and, when <paramref name="biasShape"/> is
    /// not null, <c>bias</c>, in this order, with the layer's initializers, regularizers and constraints.
    /// </summary>
    private protected (Parameter Kernel, Parameter RecurrentKernel, Parameter? Bias) AddCellWeights(int[] kernelShape, int[] recurrentShape, int[]? biasShape) =>
        settings.AddCellWeights(AddWeight, kernelShape, recurrentShape, biasShape);

    /// <summary>
    /// True when the kernel reads an embedding-lookup input through its table
    /// (<see cref="SequenceRun.Tokens"/>); the layer then passes the tokens whenever that pays.
    /// </summary>
    private protected virtual bool ReadsTokens => false;

    protected override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        var x = inputs[0];
        var (batch, time) = CheckInput(x);
        int features = x.Dim(2);
        var initial = InitialStates(inputs, batch);
        var mask = CheckMask(masks, batch, time);

        var (inputDrop, recurrentDrop) = settings.DropoutMasks(training, batch, features, OutputUnits, SampleStreamOrName);

        var sequence = ReturnSequences ? new Tensor(batch, time, OutputUnits) : null;
        var last = new Tensor(batch, OutputUnits);
        var finals = new Tensor[StateCount];
        for (int s = 0; s < StateCount; s++)
        {
            finals[s] = new Tensor(batch, StateUnits(s));
        }

        // An embedding output is read through its table: the input projection and its
        // gradient run over vocabulary rows, and the table's gradient is accumulated here
        // directly (x's own gradient is never formed, so the embedding op adds nothing).
        var lookup = x.LookedUpFrom is { } l && ReadsTokens && inputDrop is null && l.Rows.Length == batch * time
            && l.Table.Rank == 2 && l.Table.Dim(1) == features && TokenProjection.Pays(l.Table.Dim(0), batch * time) ? l : null;
        var opInputs = new List<Tensor> { x };
        opInputs.AddRange(initial.Where(t => t is not null)!);

        // The op reads every weight the cell created (a recurrent layer has no sublayers);
        // BackwardKernel accumulates their gradients.
        opInputs.AddRange(Parameters.Select(p => p.Value));
        if (lookup is not null)
        {
            opInputs.Add(lookup.Table);
        }
        bool record = Tape.ShouldRecord(opInputs);
        object? cache = record ? (freeCaches.Count > 0 ? freeCaches.Pop() : CreateCache()) : null;

        var run = MakeRun(x, mask, inputDrop, recurrentDrop, lookup);
        ForwardKernel(run, initial, new RnnOutputs { Sequence = SpanOf(sequence), Last = last.Span, H = finals[0].Span, C = StateCount > 1 ? finals[1].Span : default }, cache);

        if (IsStateful)
        {
            for (int s = 0; s < StateCount; s++)
            {
                finals[s].Span.CopyTo(CarriedStates![s].Span);
            }
        }

        var outputs = new List<Tensor> { sequence ?? last };
        if (ReturnState)
        {
            outputs.AddRange(finals);
        }

        // With return_sequences the last output is not an output of the op; its gradient is zero.
        var tracked = outputs.ToArray();
        Tape.Track(ClassName.ToLowerInvariant(), tracked, opInputs.ToArray(), () =>
        {
            var backRun = MakeRun(x, mask, inputDrop, recurrentDrop, lookup);
            var dFinals = new Tensor?[StateCount];
            if (ReturnState)
            {
                for (int s = 0; s < StateCount; s++)
                {
                    dFinals[s] = finals[s].Grad;
                }
            }

            // The kernel writes dx whole; when x has no gradient yet it can write straight into
            // x's (zeroed) gradient instead of a temporary that is then added.
            bool wantDx = x.RequiresGrad && lookup is null;
            bool dxInPlace = wantDx && x.Grad is null;
            Tensor? dx = !wantDx ? null : dxInPlace ? x.EnsureGrad() : new Tensor(x.ShapeArray);
            Tensor? dTable = lookup is { Table.RequiresGrad: true } ? lookup.Table.EnsureGrad() : null;
            var dInitial = new Tensor?[StateCount];
            for (int s = 0; s < StateCount; s++)
            {
                if (initial[s] is { RequiresGrad: true } init)
                {
                    dInitial[s] = new Tensor(init.ShapeArray);
                }
            }

            var dOutputs = new RnnOutputGradients
            {
                Sequence = SpanOf(sequence?.Grad),
                Last = sequence is null ? SpanOf(last.Grad) : default,
                H = SpanOf(dFinals[0]),
                C = StateCount > 1 ? SpanOf(dFinals[1]) : default,
            };
            BackwardKernel(backRun, cache!, dOutputs, dx, dTable, dInitial);
            if (dx is not null && !dxInPlace)
            {
                System.Numerics.Tensors.TensorPrimitives.Add(x.Grad!.Span, dx.Span, x.Grad.Span);
            }

            for (int s = 0; s < StateCount; s++)
            {
                if (dInitial[s] is { } d)
                {
                    var init = initial[s]!;
                    System.Numerics.Tensors.TensorPrimitives.Add(init.EnsureGrad().Span, d.Span, init.Grad!.Span);
                }
            }

            freeCaches.Push(cache!);
        });

        return outputs;
    }

    private SequenceRun MakeRun(Tensor x, Tensor? mask, float[]? inputDrop, float[]? recurrentDrop, TableLookup? lookup) =>
        new(x.Span, x.Dim(0), x.Dim(1), x.Dim(2))
        {
            Tokens = lookup is null ? default : lookup.Rows,
            TokenTable = lookup is null ? default : lookup.Table.Span,
            GoBackwards = GoBackwards,
            ZeroOutputForMask = ZeroOutputForMask,
            Mask = mask is null ? default : mask.Span,
            InputDropoutMask = inputDrop,
            RecurrentDropoutMask = recurrentDrop,
        };
}
