using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Models;

/// <summary>
/// Keras's <c>Model</c>: layers wired into a graph, compiled with an optimizer, a loss and
/// metrics, then trained with <see cref="Fit(Tensor, Tensor, int, int, int, double, ValueTuple{Tensor, Tensor}?, bool, int, IReadOnlyDictionary{int, float}?, IReadOnlyList{Callback}?, int?)"/>,
/// measured with <see cref="Evaluate(Tensor, Tensor, int, int)"/> and used with
/// <see cref="Predict(Tensor, int)"/>. Subclasses: <see cref="Sequential"/> and the functional
/// <see cref="Functional"/>.
/// </summary>
public abstract partial class Model
{
    private readonly StepArena stepArena = new();
    private Rng? shuffleRng;

    protected Model(string? name)
    {
        Name = string.IsNullOrEmpty(name) ? LayerNames.Unique(DefaultNamePrefix) : name;
    }

    public string Name { get; }

    /// <summary>The layers in the order they run (input layers excluded).</summary>
    public abstract IReadOnlyList<Layer> Layers { get; }

    /// <summary>Number of input tensors the model takes.</summary>
    public abstract int InputCount { get; }

    public Optimizer? Optimizer { get; private set; }

    public Loss? Loss { get; private set; }

    /// <summary>Metric names given to <see cref="Compile(Optimizer, string, IEnumerable{string}?, bool)"/> (Keras spelling).</summary>
    public IReadOnlyList<string> MetricNames { get; private set; } = [];

    /// <summary>Set by a callback (EarlyStopping, TerminateOnNaN) to end <c>Fit</c> after the current batch or epoch.</summary>
    public bool StopTraining { get; set; }

    /// <summary>Whether <see cref="Compile(Optimizer, string, IEnumerable{string}?, bool)"/> has been called.</summary>
    public bool Compiled => Optimizer is not null && Loss is not null;

    /// <summary>Every weight, each once, in layer order.</summary>
    public IReadOnlyList<Parameter> Parameters
    {
        get
        {
            EnsureBuilt();
            var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
            return Layers.SelectMany(l => l.Parameters).Where(seen.Add).ToArray();
        }
    }

    public IReadOnlyList<Parameter> TrainableParameters
    {
        get
        {
            EnsureBuilt();
            var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
            return Layers.SelectMany(l => l.TrainableParameters).Where(seen.Add).ToArray();
        }
    }

    protected virtual string DefaultNamePrefix => "model";

    /// <summary>Total number of weights (Keras <c>count_params()</c>).</summary>
    public long CountParams() => Parameters.Sum(p => (long)p.Count);

    /// <summary>Configures training (Keras <c>compile</c>).</summary>
    /// <param name="optimizer">The optimizer, e.g. <c>new Adam(0.001)</c>.</param>
    /// <param name="loss">A Keras loss name: categorical_crossentropy, sparse_categorical_crossentropy, binary_crossentropy, mse, mae.</param>
    /// <param name="metrics">Keras metric names, e.g. <c>["accuracy"]</c>.</param>
    /// <param name="fromLogits">The model outputs logits rather than probabilities.</param>
    public void Compile(Optimizer optimizer, string loss, IEnumerable<string>? metrics = null, bool fromLogits = false) =>
        Compile(optimizer, Losses.Get(loss, fromLogits), metrics);

    /// <summary>Configures training with an optimizer given by name ("adam", "sgd", "rmsprop", "adagrad").</summary>
    public void Compile(string optimizer, string loss, IEnumerable<string>? metrics = null, bool fromLogits = false) =>
        Compile(Optimizers.Get(optimizer), Losses.Get(loss, fromLogits), metrics);

    public void Compile(Optimizer optimizer, Loss loss, IEnumerable<string>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(loss);
        var names = (metrics ?? []).ToArray();
        foreach (var m in names)
        {
            _ = Metrics.Get(m, loss.Name); // validates the name now, not at the first batch
        }

        Optimizer = optimizer;
        Loss = loss;
        MetricNames = names;
    }

    /// <summary>Runs the model on a batch. With <paramref name="training"/> dropout is active; under a recording tape the ops are recorded.</summary>
    public Tensor Call(Tensor input, bool training = false) => Call([input], training)[0];

    /// <summary>Runs the model on a batch of several inputs; returns every output.</summary>
    public IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count != InputCount)
        {
            throw new ArgumentException($"Model '{Name}': expected {InputCount} input tensor{(InputCount == 1 ? string.Empty : "s")}, got {inputs.Count}.");
        }

        return OutputsFromBatchMajor(Forward(InputsToBatchMajor(inputs), training));
    }

    /// <summary>The forward pass over the graph (inputs and outputs batch-major).</summary>
    protected abstract IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> inputs, bool training);

    /// <summary>
    /// The axis of each input that holds the samples: 0 (batch-major) except for a model that
    /// keeps another layout at its boundary, e.g. an imported seq-first ONNX graph taking
    /// <c>[time, batch, features]</c> (axis 1). Call, Predict, Evaluate and Fit take and return
    /// arrays in this layout; inside, every layer sees batch-major tensors, and so do batch
    /// sources (<c>IBatchSource</c>), whose batches are always samples-first.
    /// </summary>
    public virtual IReadOnlyList<int> InputBatchAxes => new int[InputCount];

    /// <summary>The axis of each output that holds the samples (see <see cref="InputBatchAxes"/>).</summary>
    public virtual IReadOnlyList<int> OutputBatchAxes => [];

    /// <summary>Builds every layer from the declared input shapes (throws when they are unknown).</summary>
    protected abstract void EnsureBuilt();

    /// <summary>Rows of the summary table.</summary>
    protected abstract IReadOnlyList<SummaryRow> SummaryRows();

    protected virtual bool IsFunctional => false;

    /// <summary>Keras's summary table as text.</summary>
    public string SummaryText()
    {
        EnsureBuilt();
        long trainable = TrainableParameters.Sum(p => (long)p.Count);
        long total = CountParams();
        return SummaryTable.Render(Name, SummaryRows(), trainable, total - trainable, IsFunctional);
    }

    /// <summary>Prints Keras's summary table (Keras <c>model.summary()</c>).</summary>
    public void Summary(TextWriter? writer = null) => ProgbarLogger.WriteSummary(SummaryText(), writer);

    /// <summary>Copies of all weights in <see cref="Parameters"/> order (Keras <c>get_weights</c>).</summary>
    public float[][] GetWeights() => Parameters.Select(p => p.Value.ToArray()).ToArray();

    /// <summary>Overwrites all weights in <see cref="Parameters"/> order; sizes must match.</summary>
    public void SetWeights(IReadOnlyList<float[]> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var ps = Parameters;
        if (weights.Count != ps.Count)
        {
            throw new ArgumentException($"Model '{Name}': expected {ps.Count} weight arrays, got {weights.Count}.");
        }

        RequireFloatWeights(nameof(SetWeights));

        for (int i = 0; i < ps.Count; i++)
        {
            if (weights[i].Length != ps[i].Count)
            {
                throw new ArgumentException($"Model '{Name}': weight '{ps[i].Path}' expects {ps[i].Count} values {Tensor.FormatShape(ps[i].Value.Shape)}, got {weights[i].Length}.");
            }
        }

        for (int i = 0; i < ps.Count; i++)
        {
            weights[i].CopyTo(ps[i].Value.Span);
        }
    }

    /// <summary>Clears the state of every stateful layer.</summary>
    public void ResetStates()
    {
        foreach (var l in Layers)
        {
            l.ResetStates();
        }
    }

    /// <summary>Trains on (x, y) — Keras <c>fit</c>. See the multi-input overload for the arguments.</summary>
    public History Fit(
        Tensor x, Tensor y, int batchSize = 32, int epochs = 1, int verbose = 1, double validationSplit = 0,
        (Tensor X, Tensor Y)? validationData = null, bool shuffle = true, int initialEpoch = 0,
        IReadOnlyDictionary<int, float>? classWeight = null, IReadOnlyList<Callback>? callbacks = null, int? seed = null) =>
        Fit([x], y, batchSize, epochs, verbose, validationSplit, validationData is { } v ? ([v.X], v.Y) : null, shuffle, initialEpoch, classWeight, callbacks, seed);

    /// <summary>
    /// Trains the model (Keras <c>fit</c>; the arguments are those of <see cref="FitOptions"/>, the
    /// loop is <see cref="Trainer"/>). <paramref name="validationSplit"/> takes the LAST fraction of
    /// the samples, before any shuffling, as Keras does; <paramref name="shuffle"/> reorders the
    /// training samples every epoch (seeded by <paramref name="seed"/>, else by the global seed).
    /// Labels may be one-hot or class indices (then a categorical loss is applied in its sparse
    /// form). <paramref name="verbose"/> keeps Keras's default 1: a <see cref="ProgbarLogger"/> on
    /// the console (2: one line per epoch; 0: nothing written). Returns the per-epoch <see cref="History"/>.
    /// </summary>
    public History Fit(
        IReadOnlyList<Tensor> x, Tensor y, int batchSize = 32, int epochs = 1, int verbose = 1, double validationSplit = 0,
        (IReadOnlyList<Tensor> X, Tensor Y)? validationData = null, bool shuffle = true, int initialEpoch = 0,
        IReadOnlyDictionary<int, float>? classWeight = null, IReadOnlyList<Callback>? callbacks = null, int? seed = null) =>
        Fit(x, y, new FitOptions
        {
            BatchSize = batchSize, Epochs = epochs, Verbose = verbose, ValidationSplit = validationSplit,
            ValidationData = validationData, Shuffle = shuffle, InitialEpoch = initialEpoch,
            ClassWeight = classWeight, Callbacks = callbacks, Seed = seed,
        });

    /// <summary>Trains on (x, y) with the settings of <paramref name="options"/> (silent unless its Verbose or Progress asks).</summary>
    public History Fit(Tensor x, Tensor y, FitOptions options) => Fit([x], y, options);

    /// <summary>Trains on inputs <paramref name="x"/> (one tensor per model input) and targets <paramref name="y"/> with the settings of <paramref name="options"/>.</summary>
    public History Fit(IReadOnlyList<Tensor> x, Tensor y, FitOptions options) => new Trainer(this).Fit(x, y, options);

    /// <summary>Loss and metrics on (x, y), in inference mode (Keras <c>evaluate</c>).</summary>
    public EvaluationResult Evaluate(Tensor x, Tensor y, int batchSize = 32, int verbose = 0) => Evaluate([x], y, batchSize, verbose);

    public EvaluationResult Evaluate(IReadOnlyList<Tensor> x, Tensor y, int batchSize = 32, int verbose = 0)
    {
        RequireCompiled(nameof(Evaluate));
        (x, y) = DataToBatchMajor(x, y);
        CheckData(nameof(Evaluate), x, y);
        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"Model '{Name}' Evaluate: batchSize must be positive, got {batchSize}.");
        }

        var values = EvaluateCore(x, y, batchSize, ResolveLoss(y));
        if (verbose > 0)
        {
            ProgbarLogger.WriteEvaluation(values);
        }

        return new EvaluationResult(values);
    }

    /// <summary>
    /// Outputs for every sample, computed in batches without a tape (Keras <c>predict</c>). One
    /// sample without the batch axis (a single <c>[time, features]</c> sequence for a model
    /// declared on <c>[time, features]</c>) gets one added, and its output comes back without it.
    /// </summary>
    public Tensor Predict(Tensor x, int batchSize = 32) => PredictWithBatchAxis(x, batchSize);

    public Tensor Predict(IReadOnlyList<Tensor> x, int batchSize = 32) => PredictAll(x, batchSize)[0];

    /// <summary>All outputs of a multi-output model for every sample.</summary>
    public IReadOnlyList<Tensor> PredictAll(IReadOnlyList<Tensor> x, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"Model '{Name}' Predict: batchSize must be positive, got {batchSize}.");
        }

        if (x.Count != InputCount)
        {
            throw new ArgumentException($"Model '{Name}' Predict: expected {InputCount} input tensor{(InputCount == 1 ? string.Empty : "s")}, got {x.Count}.");
        }

        x = InputsToBatchMajor(x);
        int n = x[0].Dim(0);
        CheckSameCount("Predict", x, n);
        Tensor[]? results = null;
        ForwardInBatches(x, n, batchSize, (start, count, outputs) =>
        {
            // A batch's outputs are copied into the results, so its intermediates die with it.
            results ??= outputs.Select(o => new Tensor([n, .. o.ShapeArray[1..]])).ToArray();
            for (int k = 0; k < outputs.Count; k++)
            {
                int row = outputs[k].Length / count;
                outputs[k].Span.CopyTo(results[k].Span.Slice(start * row, count * row));
            }
        });

        return OutputsFromBatchMajor(results ?? throw new ArgumentException($"Model '{Name}' Predict: no samples."));
    }

    /// <summary>One optimisation step on one batch (Keras <c>train_on_batch</c>); returns the batch loss.</summary>
    /// <remarks>
    /// The intermediate tensors of a training step (here and in <c>Fit</c>, and of each batch of
    /// <c>Predict</c> and <c>Evaluate</c>) live until the step ends: the storage of the large ones
    /// (embedding lookups) is reused by the next step, so a custom layer that keeps its input
    /// beyond the call must clone it.
    /// </remarks>
    public double TrainOnBatch(Tensor x, Tensor y)
    {
        RequireCompiled(nameof(TrainOnBatch));
        var (xs, ys) = DataToBatchMajor([x], y);
        (x, y) = (xs[0], ys);
        CheckData(nameof(TrainOnBatch), [x], y);
        var loss = ResolveLoss(y);
        return TrainStep([x], y, loss, null, TrainableParameters, []);
    }

    internal double TrainStep(Tensor[] xb, Tensor yb, Loss loss, float[]? sampleWeights, IReadOnlyList<Parameter> parameters, (string Name, PredictionMetric Metric)[] metrics)
    {
        // The step's intermediates never leave it, so their storage is reused by the next step.
        using var arena = StepArena.Enter(stepArena);
        double value = Backpropagate(xb, yb, loss, sampleWeights, parameters, metrics);
        value += Regularization.AddPenaltiesAndGradients(parameters);
        Optimizer!.Step(parameters);
        return value;
    }

    /// <summary>
    /// One forward and backward pass on a batch: the gradients of its loss (with activity
    /// penalties) in the parameters' <c>Grad</c>, cleared first, and the metrics updated; no
    /// weight penalty and no optimizer step (distributed training sums shards' gradients first).
    /// </summary>
    internal double ComputeGradients(Tensor[] xb, Tensor yb, Loss loss, float[]? sampleWeights, IReadOnlyList<Parameter> parameters, (string Name, PredictionMetric Metric)[] metrics)
    {
        using var arena = StepArena.Enter(stepArena);
        return Backpropagate(xb, yb, loss, sampleWeights, parameters, metrics);
    }

    private double Backpropagate(Tensor[] xb, Tensor yb, Loss loss, float[]? sampleWeights, IReadOnlyList<Parameter> parameters, (string Name, PredictionMetric Metric)[] metrics)
    {
        foreach (var p in parameters)
        {
            p.Grad.Clear();
        }

        foreach (var l in Layers)
        {
            l.ClearLosses();
        }

        double value;
        Tensor pred;
        using (var tape = Tape.Record())
        {
            var outputs = Forward(xb, true);
            if (outputs.Count != 1)
            {
                throw new NotSupportedException($"Model '{Name}': Fit trains single-output models; this one has {outputs.Count} outputs.");
            }

            pred = outputs[0];
            CheckPrediction(pred, yb, loss);
            var dPred = new Tensor(pred.ShapeArray);
            value = loss.Compute(pred, yb, dPred, sampleWeights);

            // Activity penalties were recorded on the tape; weight penalties are added below without it.
            var penalties = Layers.SelectMany(AllActivityLosses).ToArray();
            foreach (var pen in penalties)
            {
                value += pen.Span[0];
            }

            if (penalties.Length > 0)
            {
                var sum = penalties.Aggregate(LossNode(pred, dPred, value), Ops.Add);
                tape.Backward(sum);
            }
            else if (pred.RequiresGrad)
            {
                tape.Backward(pred, dPred);
            }
        }

        foreach (var (_, m) in metrics)
        {
            m.Update(pred, yb, sampleWeights);
        }

        return value;
    }

    /// <summary>A wrapper's sublayers (Bidirectional's directions, TimeDistributed's layer) record their own penalties.</summary>
    private static IEnumerable<Tensor> AllActivityLosses(Layer layer) => layer.ActivityLosses.Concat(layer.Sublayers.SelectMany(AllActivityLosses));

    private static Tensor LossNode(Tensor pred, Tensor dPred, double value)
    {
        var node = Tensor.Scalar((float)value);
        Tape.Track("loss", node, pred, () =>
        {
            float g = node.Grad!.Span[0];
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(dPred.Span, g, pred.EnsureGrad().Span, pred.Grad!.Span);
        });
        return node;
    }

    internal Dictionary<string, double> EvaluateCore(IReadOnlyList<Tensor> x, Tensor y, int batchSize, Loss loss)
    {
        int n = y.Dim(0);
        var metrics = CreateMetrics(loss);
        var lossMean = new Mean("loss");
        ForwardInBatches(x, n, batchSize, (start, count, outputs) =>
        {
            var pred = outputs[0];
            var yb = y.Slice(start, count);
            CheckPrediction(pred, yb, loss);
            lossMean.Update(loss.Compute(pred, yb), count);
            foreach (var (_, m) in metrics)
            {
                m.Update(pred, yb);
            }
        });

        return Logs(lossMean, metrics, null);
    }

    /// <summary>
    /// Runs the model without a tape on consecutive batches of <paramref name="batchSize"/> of the
    /// <paramref name="n"/> samples and hands <paramref name="use"/> (start, count, outputs) of each;
    /// the outputs and the batch's intermediates live until <paramref name="use"/> returns (the batch's step arena).
    /// </summary>
    private void ForwardInBatches(IReadOnlyList<Tensor> x, int n, int batchSize, Action<int, int, IReadOnlyList<Tensor>> use)
    {
        using var noGrad = Tape.NoGrad();
        for (int start = 0; start < n; start += batchSize)
        {
            int count = Math.Min(batchSize, n - start);
            using var arena = StepArena.Enter(stepArena);
            use(start, count, Forward(x.Select(t => t.Slice(start, count)).ToArray(), false));
        }
    }

    /// <summary>Fresh running metrics for <see cref="MetricNames"/> under <paramref name="loss"/>.</summary>
    internal (string Name, PredictionMetric Metric)[] CreateMetrics(Loss loss) => MetricNames.Select(m => (m, Metrics.Get(m, loss.Name))).ToArray();

    /// <summary>The shuffling generator, kept across Fit calls so that continued training draws new orders.</summary>
    internal Rng ShuffleRng(int? seed) => shuffleRng ??= seed is { } s ? new Rng(s) : Rng.CreateFromGlobal();

    internal static Dictionary<string, double> Logs(Mean lossMean, (string Name, PredictionMetric Metric)[] metrics, string? prefix = null)
    {
        var logs = new Dictionary<string, double> { [prefix + "loss"] = lossMean.Result() };
        foreach (var (name, m) in metrics)
        {
            logs[prefix + name] = m.Result();
        }

        return logs;
    }

    /// <summary>Class-index labels with a categorical loss: use its sparse form (Keras users pass either).</summary>
    internal Loss ResolveLoss(Tensor y)
    {
        var loss = Loss!;
        bool indexLabels = y.Rank == 1 || (y.Rank == 2 && y.Dim(1) == 1);
        if (indexLabels && loss.Name == "categorical_crossentropy")
        {
            return Losses.Get("sparse_categorical_crossentropy", loss.FromLogits);
        }

        return loss;
    }

    private void CheckPrediction(Tensor pred, Tensor y, Loss loss)
    {
        bool sparse = loss.Name == "sparse_categorical_crossentropy";
        bool ok = sparse
            ? y.Length == pred.Length / Math.Max(1, pred.Dim(-1))
            : y.Length == pred.Length;
        if (!ok)
        {
            throw new ArgumentException($"Model '{Name}': loss '{loss.Name}' got predictions {Tensor.FormatShape(pred.Shape)} and targets {Tensor.FormatShape(y.Shape)}; {(sparse ? "expected one class index per prediction row" : "expected targets of the prediction's shape")}.");
        }
    }

    internal void RequireCompiled(string method)
    {
        if (!Compiled)
        {
            throw new InvalidOperationException($"Model '{Name}': call Compile(optimizer, loss, metrics) before {method}.");
        }
    }
}
