using LstmSharp.Autograd;
using LstmSharp.Data.Batches;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Models;

/// <summary>Fit, Evaluate and Predict over an <see cref="IBatchSource"/> (data that need not fit in memory).</summary>
public abstract partial class Model
{
    /// <summary>
    /// Trains on the batches of <paramref name="source"/> (Keras <c>fit(dataset)</c>): each epoch
    /// reads the source once, the next batch built on a background thread while the current one
    /// trains (<paramref name="prefetch"/> batches ahead; 0 reads in this thread). The source
    /// decides the batch size, the order and any shuffling.
    /// </summary>
    public History Fit(
        IBatchSource source, int epochs = 1, int verbose = 1, IBatchSource? validationData = null,
        int initialEpoch = 0, IReadOnlyList<Callback>? callbacks = null, int prefetch = 1) =>
        Fit(source, new FitOptions
        {
            Epochs = epochs, Verbose = verbose, ValidationSource = validationData, InitialEpoch = initialEpoch,
            Callbacks = callbacks, Prefetch = prefetch,
        });

    /// <summary>Trains on the batches of <paramref name="source"/> with the settings of <paramref name="options"/> (those for in-memory data must be unset).</summary>
    public History Fit(IBatchSource source, FitOptions options) => new Trainer(this).Fit(source, options);

    /// <summary>Loss and metrics over every batch of <paramref name="source"/>, in inference mode.</summary>
    public EvaluationResult Evaluate(IBatchSource source, int verbose = 0, int prefetch = 1)
    {
        ArgumentNullException.ThrowIfNull(source);
        RequireCompiled(nameof(Evaluate));
        var values = EvaluateSource(source, 0, prefetch, nameof(Evaluate));
        if (verbose > 0)
        {
            ProgbarLogger.WriteEvaluation(values);
        }

        return new EvaluationResult(values);
    }

    /// <summary>The model's (first) output for every sample of <paramref name="source"/>, in its order; targets are ignored.</summary>
    public Tensor Predict(IBatchSource source, int prefetch = 1)
    {
        ArgumentNullException.ThrowIfNull(source);
        var parts = new List<float[]>();
        int[]? rowShape = null;
        int total = 0;
        using var noGrad = Tape.NoGrad();
        foreach (var batch in BatchPrefetcher.ReadEpoch(source, 0, prefetch))
        {
            CheckBatch(nameof(Predict), batch, needTargets: false);
            using var arena = StepArena.Enter(stepArena);
            var output = Forward(batch.Inputs, false)[0];
            rowShape ??= output.ShapeArray[1..];
            parts.Add(output.ToArray());
            total += batch.Count;
        }

        if (rowShape is null)
        {
            throw new ArgumentException($"Model '{Name}' Predict: the batch source yielded no batches.");
        }

        var result = new Tensor([total, .. rowShape]);
        int at = 0;
        foreach (var p in parts)
        {
            p.CopyTo(result.Span[at..]);
            at += p.Length;
        }

        return result;
    }

    /// <summary>
    /// Class ids for every sample (the <c>predict_classes</c> of old Keras): the argmax of the last
    /// axis, or for one sigmoid output, 1 where the probability is above 0.5. One sample without
    /// the batch axis gives one id per output row.
    /// </summary>
    public int[] PredictClasses(Tensor x, int batchSize = 32)
    {
        var p = Predict(x, batchSize);
        if (p.Rank >= 1 && p.Dim(-1) == 1)
        {
            return p.ToArray().Select(v => v > 0.5f ? 1 : 0).ToArray();
        }

        return p.ArgMax();
    }

    /// <summary>Per-sample shape of the single input, when the model declares it (Sequential's first layer, a functional Input).</summary>
    protected virtual int[]? DeclaredInputShape => null;

    private Tensor PredictWithBatchAxis(Tensor x, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(x);
        var sample = InputCount == 1 ? DeclaredInputShape : null;
        if (sample is null || x.Rank == sample.Length + 1)
        {
            return Predict([x], batchSize);
        }

        if (x.Rank != sample.Length)
        {
            throw new ArgumentException($"Model '{Name}' Predict: expected a batch {Tensor.FormatShape([-1, .. sample])} or one sample {Tensor.FormatShape(sample)}, got {Tensor.FormatShape(x.Shape)}.");
        }

        var output = Predict([x.Reshape([1, .. x.ShapeArray])], 1);
        return output.Reshape(output.ShapeArray[1..]);
    }

    internal Dictionary<string, double> EvaluateSource(IBatchSource source, int epoch, int prefetch, string method)
    {
        ArgumentNullException.ThrowIfNull(source);
        Loss? loss = null;
        (string Name, PredictionMetric Metric)[] metrics = [];
        var lossMean = new Mean("loss");
        using var noGrad = Tape.NoGrad();
        foreach (var batch in BatchPrefetcher.ReadEpoch(source, epoch, prefetch))
        {
            CheckBatch(method, batch, needTargets: true);
            var yb = batch.Targets!;
            if (loss is null)
            {
                loss = ResolveLoss(yb);
                metrics = CreateMetrics(loss);
            }

            using var arena = StepArena.Enter(stepArena);
            var pred = Forward(batch.Inputs, false)[0];
            CheckPrediction(pred, yb, loss);
            lossMean.Update(loss.Compute(pred, yb, null, batch.SampleWeights), batch.Count);
            foreach (var (_, m) in metrics)
            {
                m.Update(pred, yb, batch.SampleWeights);
            }
        }

        return loss is null
            ? throw new ArgumentException($"Model '{Name}' {method}: the batch source yielded no batches.")
            : Logs(lossMean, metrics, null);
    }

    internal void CheckBatch(string method, Batch batch, bool needTargets)
    {
        if (needTargets && batch.Targets is null)
        {
            throw new ArgumentException($"Model '{Name}' {method}: the batch source yielded a batch without targets.");
        }

        if (needTargets)
        {
            CheckData(method, batch.Inputs, batch.Targets!);
        }
        else if (batch.Inputs.Count != InputCount)
        {
            throw new ArgumentException($"Model '{Name}' {method}: expected {InputCount} input tensor{(InputCount == 1 ? string.Empty : "s")} per batch, got {batch.Inputs.Count}.");
        }
    }
}
