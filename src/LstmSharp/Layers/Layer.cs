using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// Base of every layer, with Keras semantics.
/// <list type="bullet">
/// <item>Shapes given to <see cref="Build(int[])"/>, <see cref="ComputeOutputShape"/> and the
/// constructor's <c>inputShape</c> exclude the batch axis; -1 marks an unknown size (a variable
/// number of time steps). Tensors passed to <see cref="Apply(Tensor, bool)"/> include it.</item>
/// <item>A layer builds its weights lazily on the first call, from the input's shape (or earlier,
/// from a declared <see cref="InputShape"/>, when a model or <see cref="CountParams"/> asks).</item>
/// <item>Most layers override <see cref="Call(Tensor, Tensor?, bool)"/> (one input, one output);
/// layers with several inputs or outputs (Concatenate, an LSTM with <c>initial_state</c> or
/// <c>return_state</c>) override <see cref="Call(IReadOnlyList{Tensor}, IReadOnlyList{Tensor?}, bool)"/>.</item>
/// <item>Masks are float tensors of 0/1, <c>[batch, time]</c>. A mask arrives in Call; the mask of
/// each output comes from <see cref="ComputeMask(Tensor, Tensor?)"/> (by default the input's mask
/// when <see cref="SupportsMasking"/>, else none).</item>
/// <item>Names come from per-type counters (<c>dense</c>, <c>dense_1</c>, ...), reset by <see cref="ClearSession"/>.</item>
/// <item>Weights are <see cref="Parameter"/>s in creation order; sublayers' follow the layer's own.</item>
/// <item><see cref="GetConfig"/> lists every constructor option; <see cref="LayerRegistry.FromConfig"/> rebuilds the layer.</item>
/// </list>
/// </summary>
/// <remarks>
/// A new layer in ten lines:
/// <code>
/// public sealed class Scale : Layer
/// {
///     public Scale(string? name = null) : base(name) => SupportsMasking = true;
///     public Parameter? Gain { get; private set; }
///     protected override void OnBuild(int[] inputShape) =>
///         Gain = AddWeight("gain", [inputShape[^1]], "ones");
///     protected override Tensor Call(Tensor input, Tensor? mask, bool training) =>
///         Ops.Mul(input, Gain!.Value);
/// }
/// </code>
/// </remarks>
public abstract partial class Layer
{
    [ThreadStatic]
    private static Rng? threadRandom;

    private readonly List<Parameter> ownParameters = new();
    private readonly List<Layer> sublayers = new();
    private readonly List<Tensor> activityLosses = new();
    private readonly int[]? inputShape;
    private int[][]? builtInputShapes;
    private Layer? parent;
    private bool trainable;

    protected Layer(string? name = null, int[]? inputShape = null, bool trainable = true)
    {
        Name = string.IsNullOrEmpty(name) ? LayerNames.Unique(LayerNames.ToSnakeCase(ClassName)) : name;
        if (inputShape is not null)
        {
            foreach (int d in inputShape)
            {
                if (d == 0 || d < -1)
                {
                    throw new ArgumentException($"{Describe()}: inputShape must hold positive sizes or -1 (unknown), got {Tensor.FormatShape(inputShape)}.", nameof(inputShape));
                }
            }

            this.inputShape = (int[])inputShape.Clone();
        }

        this.trainable = trainable;
    }

    /// <summary>The Keras class name ("Dense", "LSTM"), used in configs and the registry.</summary>
    public virtual string ClassName => GetType().Name;

    public string Name { get; }

    /// <summary>
    /// The key of this layer's per-sample dropout masks (<see cref="Tensors.SampleRandom"/>): its
    /// position in the model, set by distributed training so the masks do not depend on the
    /// automatic names a process happened to give; the name when unset.
    /// </summary>
    internal string? SampleStream { get; set; }

    internal string SampleStreamOrName => SampleStream ?? Name;

    /// <summary>The shape declared at construction (batch excluded, -1 = unknown), or null.</summary>
    public int[]? InputShape => (int[]?)inputShape?.Clone();

    /// <summary>A fixed batch size (Keras <c>batch_size</c>/<c>batch_input_shape</c>; needed by stateful recurrent layers), or null.</summary>
    public int? BatchSize { get; set; }

    public bool Built { get; private set; }

    /// <summary>The shapes the layer was built for (batch excluded), or null before building.</summary>
    public IReadOnlyList<int[]>? BuiltInputShapes => builtInputShapes;

    /// <summary>When false, the layer's parameters get no gradients and optimizers skip them.</summary>
    public bool Trainable
    {
        get => trainable && (parent?.Trainable ?? true);
        set
        {
            trainable = value;
            SyncTrainable();
        }
    }

    /// <summary>True when the layer passes its input mask on unchanged (Dense, Dropout, Activation).</summary>
    public bool SupportsMasking { get; protected set; }

    /// <summary>True for layers that carry state across batches (stateful recurrent layers).</summary>
    public virtual bool Stateful => false;

    /// <summary>Keras <c>activity_regularizer</c>: a penalty on the layer's outputs, divided by the batch size.</summary>
    public IRegularizer? ActivityRegularizer { get; protected set; }

    /// <summary>Layers this one owns (an RNN wrapper's cell, Bidirectional's two directions).</summary>
    public IReadOnlyList<Layer> Sublayers => sublayers;

    /// <summary>Activity penalties recorded by calls since the last <see cref="ClearLosses"/> (scalars).</summary>
    public IReadOnlyList<Tensor> ActivityLosses => activityLosses;

    /// <summary>Resets this thread's automatic-name counters and its <see cref="SetRandomSeed"/> generator (Keras <c>clear_session</c>).</summary>
    public static void ClearSession()
    {
        LayerNames.Reset();
        threadRandom = null;
    }

    /// <summary>
    /// Seeds weight initialisation and unseeded dropout for layers created on this thread
    /// (Keras <c>set_random_seed</c>), taking precedence over the process-wide
    /// <see cref="Rng.SetGlobalSeed"/>. Per thread, so models built in parallel (tests) stay reproducible.
    /// </summary>
    public static void SetRandomSeed(int seed) => threadRandom = new Rng(seed);

    /// <summary>A fresh generator for initialising one weight: forked from this thread's seed if set, else from the global generator.</summary>
    internal static Rng InitRandom => threadRandom?.Fork() ?? Rng.CreateFromGlobal();

    /// <summary>A generator for a layer's masks: seeded by <paramref name="seed"/>, else forked as <see cref="InitRandom"/>.</summary>
    private protected static Rng SeededRandom(int? seed) => seed is { } s ? new Rng(s) : InitRandom;

    /// <summary>Creates the weights for an input of shape <paramref name="inputShape"/> (batch excluded). Idempotent.</summary>
    public void Build(int[] inputShape) => Build(new[] { inputShape });

    /// <summary>Creates the weights for several inputs (batch excluded). Idempotent.</summary>
    public void Build(IReadOnlyList<int[]> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        if (Built)
        {
            return;
        }

        var shapes = inputShapes.Select(s => (int[])s.Clone()).ToArray();
        using (Tape.InLayer(Name))
        {
            OnBuild(shapes);
        }

        builtInputShapes = shapes;
        Built = true;
        SyncTrainable();
    }

    /// <summary>Output shape (batch excluded) for an input shape (batch excluded). Default: unchanged.</summary>
    public virtual int[] ComputeOutputShape(int[] inputShape) => (int[])inputShape.Clone();

    /// <summary>Output shapes for several inputs; by default one input and <see cref="ComputeOutputShape"/>.</summary>
    public virtual IReadOnlyList<int[]> ComputeOutputShapes(IReadOnlyList<int[]> inputShapes)
    {
        ExpectInputCount(inputShapes.Count, 1);
        return [ComputeOutputShape(inputShapes[0])];
    }

    /// <summary>Runs the layer on one input with no mask (inference unless <paramref name="training"/>).</summary>
    public Tensor Apply(Tensor input, bool training = false) => Apply(input, null, training, out _);

    /// <summary>Runs the layer on one input and mask; <paramref name="outputMask"/> is the mask of the output.</summary>
    public Tensor Apply(Tensor input, Tensor? mask, bool training, out Tensor? outputMask)
    {
        ArgumentNullException.ThrowIfNull(input);
        var outputs = Apply([input], [mask], training, out var masks);
        if (outputs.Count != 1)
        {
            throw new InvalidOperationException($"{Describe()}: returns {outputs.Count} outputs; call the overload that takes and returns lists.");
        }

        outputMask = masks[0];
        return outputs[0];
    }

    /// <summary>
    /// The general call: builds on first use (from the inputs' shapes without the batch axis),
    /// runs <see cref="Call(IReadOnlyList{Tensor}, IReadOnlyList{Tensor?}, bool)"/> with ops
    /// tagged by this layer's name, records activity penalties, and computes the output masks.
    /// </summary>
    public IReadOnlyList<Tensor> Apply(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?>? masks, bool training, out IReadOnlyList<Tensor?> outputMasks)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
        {
            throw new ArgumentException($"{Describe()}: expected at least one input, got none.", nameof(inputs));
        }

        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i] is null)
            {
                throw new ArgumentNullException(nameof(inputs), $"{Describe()}: input {i} is null.");
            }

            if (inputs[i].Rank == 0)
            {
                throw new ArgumentException($"{Describe()}: input {i} is a scalar; expected a batch [batch, ...].", nameof(inputs));
            }
        }

        var maskList = masks ?? new Tensor?[inputs.Count];
        if (maskList.Count != inputs.Count)
        {
            throw new ArgumentException($"{Describe()}: got {maskList.Count} masks for {inputs.Count} inputs.", nameof(masks));
        }

        if (inputShape is not null && inputs.Count == 1)
        {
            CheckCompatible(inputs[0], inputShape);
        }

        if (!Built)
        {
            Build(inputs.Select(t => t.ShapeArray[1..]).ToArray());
        }

        // Parameter.Trainable may have been flipped since the last call.
        SyncTrainable();
        IReadOnlyList<Tensor> outputs;
        using (Tape.InLayer(Name))
        {
            outputs = Call(inputs, maskList, training);
            if (ActivityRegularizer is not null)
            {
                foreach (var y in outputs)
                {
                    activityLosses.Add(Regularization.Penalty(y, ActivityRegularizer, 1f / y.Dim(0)));
                }
            }

            var computed = ComputeMasks(inputs, maskList);
            var padded = new Tensor?[outputs.Count];
            for (int i = 0; i < padded.Length && i < computed.Count; i++)
            {
                padded[i] = computed[i];
            }

            outputMasks = padded;
        }

        return outputs;
    }

    /// <summary>The mask of the output for one input. Default: the input's mask if <see cref="SupportsMasking"/>, else null.</summary>
    public virtual Tensor? ComputeMask(Tensor input, Tensor? mask) => SupportsMasking ? mask : null;

    /// <summary>
    /// Masks of the outputs for several inputs. Default: one input → <see cref="ComputeMask(Tensor, Tensor?)"/>;
    /// several → the first input's mask if <see cref="SupportsMasking"/>. Outputs beyond the list get no mask
    /// (a recurrent layer's returned states).
    /// </summary>
    public virtual IReadOnlyList<Tensor?> ComputeMasks(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks) =>
        inputs.Count == 1 ? [ComputeMask(inputs[0], masks[0])] : [SupportsMasking ? masks[0] : null];

    /// <summary>Clears the state of a stateful layer (no-op otherwise).</summary>
    public virtual void ResetStates()
    {
    }

    /// <summary>Zeroes the gradient of every parameter.</summary>
    public void ZeroGrad() => Tape.ZeroGrad(Parameters.Select(p => p.Value));

    /// <summary>Forgets the activity penalties recorded so far (a model does this at the start of each step).</summary>
    public void ClearLosses()
    {
        activityLosses.Clear();
        foreach (var s in sublayers)
        {
            s.ClearLosses();
        }
    }

    /// <summary>
    /// Keras <c>layer.losses</c>: the weight penalties of every parameter with a regularizer
    /// (differentiable when a tape records) followed by the recorded activity penalties.
    /// </summary>
    public IReadOnlyList<Tensor> Losses()
    {
        var losses = new List<Tensor>();
        foreach (var p in ownParameters)
        {
            if (p.Regularizer is not null)
            {
                using (Tape.InLayer(Name))
                {
                    losses.Add(Regularization.Penalty(p.Value, p.Regularizer));
                }
            }
        }

        losses.AddRange(activityLosses);
        foreach (var s in sublayers)
        {
            losses.AddRange(s.Losses());
        }

        return losses;
    }

    /// <summary>
    /// Every constructor option, Keras-style (snake_case keys). Subclasses add theirs to the
    /// base object. <c>batch_input_shape</c> holds the declared input shape with the batch
    /// axis first; null marks an unknown size.
    /// </summary>
    public virtual JsonObject GetConfig()
    {
        var config = new JsonObject
        {
            ["name"] = Name,
            ["trainable"] = trainable,
            ["dtype"] = "float32",
        };
        if (inputShape is not null)
        {
            var shape = new JsonArray { (JsonNode?)(BatchSize is { } b ? JsonValue.Create(b) : null) };
            foreach (int d in inputShape)
            {
                shape.Add((JsonNode?)(d < 0 ? null : JsonValue.Create(d)));
            }

            config["batch_input_shape"] = shape;
        }
        else if (BatchSize is { } batch)
        {
            config["batch_size"] = batch;
        }

        return config;
    }

    public override string ToString() => Describe();

    /// <summary>The error-message prefix, e.g. <c>Dense 'dense_1'</c>.</summary>
    protected string Describe() => $"{ClassName} '{Name}'";

    /// <summary>One input (the common case). Override this, or the list overload for several inputs/outputs.</summary>
    protected virtual Tensor Call(Tensor input, Tensor? mask, bool training) =>
        throw new NotSupportedException($"{Describe()}: the layer overrides neither Call overload.");

    /// <summary>Several inputs and/or outputs. The default accepts exactly one input and forwards to the single-tensor Call.</summary>
    protected virtual IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        ExpectInputCount(inputs.Count, 1);
        return [Call(inputs[0], masks[0], training)];
    }

    /// <summary>Creates weights for several inputs. Default: exactly one input, forwarded to <see cref="OnBuild(int[])"/>.</summary>
    protected virtual void OnBuild(IReadOnlyList<int[]> inputShapes)
    {
        ExpectInputCount(inputShapes.Count, 1);
        OnBuild(inputShapes[0]);
    }

    /// <summary>Creates weights for one input shape (batch excluded). Default: no weights.</summary>
    protected virtual void OnBuild(int[] inputShape)
    {
    }

    /// <summary>Throws unless the layer got <paramref name="expected"/> inputs.</summary>
    protected void ExpectInputCount(int actual, int expected)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{Describe()}: expected {expected} input{(expected == 1 ? string.Empty : "s")}, got {actual}.");
        }
    }

    /// <summary>An error <c>Dense 'dense_1': expected input [*, 128], got [32, 64]</c>.</summary>
    protected ArgumentException ShapeError(string expected, ReadOnlySpan<int> actual, string what = "input") =>
        new($"{Describe()}: expected {what} {expected}, got {Tensor.FormatShape(actual)}.");

    /// <summary>
    /// A call's step mask, checked to be <c>[batch, steps]</c> (null passes): the error names it as
    /// <paramref name="what"/> (<c>mask</c>, <c>query mask as</c>, ...).
    /// </summary>
    private protected Tensor? CheckStepMask(Tensor? mask, int batch, int steps, string what = "mask")
    {
        if (mask is not null && (mask.Rank != 2 || mask.Dim(0) != batch || mask.Dim(1) != steps))
        {
            throw ShapeError($"[{batch}, {steps}]", mask.Shape, what);
        }

        return mask;
    }

    /// <summary>Throws unless a per-sample shape is <c>[steps, channels]</c> (the 1-D convolution, pooling and spatial dropout layers).</summary>
    private protected void ExpectStepsAndChannels(int[] inputShape)
    {
        if (inputShape.Length != 2)
        {
            throw ShapeError("[*, steps, channels] (rank 3)", [-1, .. inputShape]);
        }
    }

    /// <summary>Formats a shape without the batch axis as a full shape with <c>*</c> for the batch.</summary>
    protected static string WithBatch(ReadOnlySpan<int> shapeWithoutBatch) => Tensor.FormatShape([-1, .. shapeWithoutBatch]);

    private void TryBuildFromDeclaredShape()
    {
        if (!Built && inputShape is not null)
        {
            Build(inputShape);
        }
    }

    private void CheckCompatible(Tensor input, int[] declared)
    {
        bool ok = input.Rank == declared.Length + 1;
        for (int i = 0; ok && i < declared.Length; i++)
        {
            ok = declared[i] < 0 || declared[i] == input.Dim(i + 1);
        }

        if (!ok)
        {
            throw ShapeError(WithBatch(declared), input.Shape);
        }
    }
}
