using System.Diagnostics;
using LstmSharp.Data.Batches;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Models;

/// <summary>
/// The training loop, apart from the model (Keras's trainer with its epoch iterator). Per
/// epoch it reads the batches (in-memory data: the validation tail split off once, the samples
/// reordered when shuffling, the rows gathered with their class weights; a batch source: its
/// batches, prefetched), runs one optimisation step per batch, keeps the running loss and
/// metrics, validates and tells the callbacks. It writes nothing itself: progress goes to
/// <see cref="FitOptions.Progress"/> and, when <see cref="FitOptions.Verbose"/> is above 0, to a
/// <see cref="ProgbarLogger"/>.
/// </summary>
public sealed class Trainer
{
    private readonly Model model;

    public Trainer(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
    }

    /// <summary>Trains on in-memory inputs <paramref name="x"/> (one tensor per model input) and targets <paramref name="y"/>.</summary>
    public History Fit(IReadOnlyList<Tensor> x, Tensor y, FitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        model.RequireCompiled(nameof(Fit));
        model.RequireFloatWeights(nameof(Fit));
        (x, y) = model.DataToBatchMajor(x, y);
        model.CheckData(nameof(Fit), x, y);
        CheckInMemoryOptions(options);
        var (trainX, trainY, validation) = SplitValidation(x, y, options);
        Func<int, Loss, Dictionary<string, double>>? validate = validation is { } v
            ? (_, loss) => model.EvaluateCore(v.X, v.Y, options.BatchSize, loss)
            : null;
        var epochs = new TensorEpochs(trainX, trainY, options, model.ShuffleRng(options.Seed));
        return Run(epochs.Steps, epochs.Read, checkBatches: false, validate, options);
    }

    /// <summary>Trains on the batches of <paramref name="source"/>; the source decides batch size, order, shuffling and sample weights.</summary>
    public History Fit(IBatchSource source, FitOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        model.RequireCompiled(nameof(Fit));
        model.RequireFloatWeights(nameof(Fit));
        var o = options;
        if (o.Epochs < 0 || o.InitialEpoch < 0 || o.Prefetch < 0 || o.Verbose is < 0 or > 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Model '{model.Name}' Fit: epochs, initialEpoch and prefetch must be >= 0 and verbose 0, 1 or 2; got {o.Epochs}, {o.InitialEpoch}, {o.Prefetch} and {o.Verbose}.");
        }

        if (o.ValidationSplit != 0 || o.ValidationData is not null || o.ClassWeight is not null)
        {
            throw new ArgumentException($"Model '{model.Name}' Fit: validationSplit, validationData and classWeight apply to in-memory data; a batch source yields its own sample weights and takes ValidationSource.", nameof(options));
        }

        Func<int, Loss, Dictionary<string, double>>? validate = o.ValidationSource is { } vs
            ? (epoch, _) => model.EvaluateSource(vs, epoch, o.Prefetch, "Fit validationData")
            : null;
        return Run(source.BatchCount ?? 0, epoch => BatchPrefetcher.ReadEpoch(source, epoch, o.Prefetch), checkBatches: true, validate, o);
    }

    private void CheckInMemoryOptions(FitOptions o)
    {
        if (o.BatchSize <= 0)
        {
            throw new ArgumentOutOfRangeException("batchSize", $"Model '{model.Name}' Fit: batchSize must be positive, got {o.BatchSize}.");
        }

        if (o.Epochs < 0 || o.InitialEpoch < 0)
        {
            throw new ArgumentOutOfRangeException("epochs", $"Model '{model.Name}' Fit: epochs and initialEpoch must be >= 0, got {o.Epochs} and {o.InitialEpoch}.");
        }

        if (!(o.ValidationSplit >= 0 && o.ValidationSplit < 1))
        {
            throw new ArgumentOutOfRangeException("validationSplit", $"Model '{model.Name}' Fit: validationSplit must be in [0, 1), got {o.ValidationSplit}.");
        }

        if (o.Verbose is < 0 or > 2)
        {
            throw new ArgumentOutOfRangeException("verbose", $"Model '{model.Name}' Fit: verbose must be 0, 1 or 2, got {o.Verbose}.");
        }

        if (o.ValidationSource is not null)
        {
            throw new ArgumentException($"Model '{model.Name}' Fit: ValidationSource is for training on a batch source; in-memory data take validationData or validationSplit.", "options");
        }
    }

    /// <summary>Keras: split_at = floor(n · (1 − validation_split)); validation is the tail, taken before shuffling. Given validation data win.</summary>
    private (IReadOnlyList<Tensor> X, Tensor Y, (IReadOnlyList<Tensor> X, Tensor Y)? Validation) SplitValidation(IReadOnlyList<Tensor> x, Tensor y, FitOptions o)
    {
        if (o.ValidationData is { } given)
        {
            var vd = model.DataToBatchMajor(given.X, given.Y);
            model.CheckData("Fit validationData", vd.X, vd.Y);
            return (x, y, vd);
        }

        if (o.ValidationSplit == 0)
        {
            return (x, y, null);
        }

        int n = y.Dim(0);
        int splitAt = (int)Math.Floor(n * (1.0 - o.ValidationSplit));
        if (splitAt <= 0 || splitAt >= n)
        {
            throw new ArgumentException($"Model '{model.Name}' Fit: validationSplit {o.ValidationSplit} of {n} samples leaves an empty training or validation set.");
        }

        return (x.Select(t => t.Slice(0, splitAt)).ToArray(), y.Slice(0, splitAt),
            (x.Select(t => t.Slice(splitAt, n - splitAt)).ToArray(), y.Slice(splitAt, n - splitAt)));
    }

    /// <summary>The epoch loop shared by in-memory data (checked once, whole) and batch sources (each batch checked).</summary>
    private History Run(int steps, Func<int, IEnumerable<Batch>> readEpoch, bool checkBatches, Func<int, Loss, Dictionary<string, double>>? validate, FitOptions o)
    {
        var cbs = AttachCallbacks(o, steps);
        var history = new History();
        var parameters = model.TrainableParameters;
        Loss? loss = null;
        (string Name, PredictionMetric Metric)[] metrics = [];
        var lossMean = new Mean("loss");
        model.StopTraining = false;
        cbs.ForEach(cb => cb.OnTrainBegin());
        for (int epoch = o.InitialEpoch; epoch < o.Epochs && !model.StopTraining; epoch++)
        {
            cbs.ForEach(cb => cb.OnEpochBegin(epoch));
            var started = Stopwatch.GetTimestamp();
            lossMean.Reset();
            foreach (var (_, m) in metrics)
            {
                m.Reset();
            }

            int step = 0;
            foreach (var batch in readEpoch(epoch))
            {
                if (checkBatches)
                {
                    model.CheckBatch(nameof(Fit), batch, needTargets: true);
                }

                if (loss is null)
                {
                    loss = model.ResolveLoss(batch.Targets!);
                    metrics = model.CreateMetrics(loss);
                }

                double batchLoss = model.TrainStep([.. batch.Inputs], batch.Targets!, loss, batch.SampleWeights, parameters, metrics);
                lossMean.Update(batchLoss, batch.Count);
                if (!double.IsFinite(batchLoss) && !history.LossBecameNonFinite)
                {
                    // Said once per run, with or without TerminateOnNaN: every later step only spreads the NaN.
                    string warning = $"Model '{model.Name}' Fit: the loss became {batchLoss} at epoch {epoch + 1}, batch {step + 1}; the weights are no longer usable " +
                        "(lower the learning rate, clip gradients, check the data; TerminateOnNaN stops such a run).";
                    history.MarkNonFiniteLoss(epoch, step, warning);
                    cbs.ForEach(cb => cb.OnWarning(warning));
                }

                var logs = Model.Logs(lossMean, metrics);
                int done = step++;
                cbs.ForEach(cb => cb.OnBatchEnd(done, logs));
                if (model.StopTraining)
                {
                    break;
                }
            }

            if (step == 0)
            {
                throw new ArgumentException($"Model '{model.Name}' Fit: the batch source yielded no batches in epoch {epoch + 1}.");
            }

            var epochLogs = Model.Logs(lossMean, metrics);
            foreach (var (k, value) in validate?.Invoke(epoch, loss!) ?? [])
            {
                epochLogs["val_" + k] = value;
            }

            history.Add(epoch, Stopwatch.GetElapsedTime(started).TotalSeconds, epochLogs.ToList());
            cbs.ForEach(cb => cb.OnEpochEnd(epoch, epochLogs));
        }

        cbs.ForEach(cb => cb.OnTrainEnd());
        return history;
    }

    /// <summary>
    /// The progress writer first (an epoch's line is finished before other callbacks print), then
    /// the <see cref="FitOptions.Progress"/> sink, then the user's callbacks. A
    /// <see cref="ProgbarLogger"/> among the user's callbacks replaces the one verbose would add
    /// (as in Keras); either one also carries the callbacks' own messages.
    /// </summary>
    private List<Callback> AttachCallbacks(FitOptions o, int steps)
    {
        var user = o.Callbacks ?? [];
        var cbs = new List<Callback>();
        var logger = user.OfType<ProgbarLogger>().FirstOrDefault();
        if (logger is null && o.Verbose > 0)
        {
            logger = o.Output is { } writer ? new ProgbarLogger(writer, o.Verbose) : ProgbarLogger.ForConsole(o.Verbose);
            cbs.Add(logger);
        }

        if (o.Progress is not null)
        {
            cbs.Add(new ProgressCallback(o.Progress));
        }

        cbs.AddRange(user);
        foreach (var cb in cbs)
        {
            ArgumentNullException.ThrowIfNull(cb, "callbacks");
            cb.Model = model;
            cb.Epochs = o.Epochs;
            cb.Steps = steps;
            cb.FitLogger = logger;
        }

        return cbs;
    }

    /// <summary>In-memory data as epochs of batches: the sample order (reshuffled per epoch when asked), the gathered rows and their class weights.</summary>
    private sealed class TensorEpochs(IReadOnlyList<Tensor> x, Tensor y, FitOptions o, Rng shuffleRng)
    {
        private readonly int[] order = new int[y.Dim(0)];

        // long: a batchSize near int.MaxValue must not overflow to 0 steps.
        public int Steps { get; } = (int)(((long)y.Dim(0) + o.BatchSize - 1) / o.BatchSize);

        public IEnumerable<Batch> Read(int epoch)
        {
            for (int i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            if (o.Shuffle)
            {
                shuffleRng.Shuffle(order);
            }

            for (int step = 0; step < Steps; step++)
            {
                int start = step * o.BatchSize;
                int count = Math.Min(o.BatchSize, order.Length - start);
                var rows = new ArraySegment<int>(order, start, count);
                var xb = x.Select(t => t.GatherRows(rows)).ToArray();
                var yb = y.GatherRows(rows);
                float[]? weights = null;
                if (o.ClassWeight is { } cw)
                {
                    weights = new float[count];
                    Losses.ClassWeightsToSampleWeights(yb, cw, weights);
                }

                yield return new Batch(xb, yb, weights);
            }
        }
    }
}
