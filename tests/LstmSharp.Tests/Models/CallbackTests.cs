using System.Globalization;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Tensors;
using LstmSharp.Training;
using LstmSharp.Training.Callbacks;

namespace LstmSharp.Tests.Models;

/// <summary>
/// Callbacks on a model whose trajectory is known in closed form: y = w·x trained by full-batch
/// SGD towards w = 2 from w = 0, validated against y = 1·x. w rises 0 → 0.4 → 0.72 → 0.98 → 1.18 → ...
/// (w ← w + 0.2·(2 − w) per epoch), so val_loss is best after epoch index 2 and rises afterwards.
/// </summary>
public sealed class CallbackTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", Guid.NewGuid().ToString("N"));

    public CallbackTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void EarlyStoppingWaitsPatienceEpochsAndRestoresTheBestWeights()
    {
        var (model, x, y, val) = Linear();
        var recorder = new Recorder();
        var stopper = new EarlyStopping(monitor: "val_loss", patience: 2, restoreBestWeights: true);
        var history = model.Fit(x, y, batchSize: 64, epochs: 20, verbose: 0, shuffle: false, validationData: val, callbacks: [recorder, stopper]);

        Assert.Equal(2, stopper.BestEpoch);
        Assert.Equal(4, stopper.StoppedEpoch);
        Assert.Equal(5, history["loss"].Count);
        Assert.Equal(recorder.Weights[2], model.GetWeights()[0]);
        Assert.NotEqual(recorder.Weights[4], model.GetWeights()[0]);
        Assert.InRange(model.GetWeights()[0][0], 0.9f, 1.05f);
    }

    [Fact]
    public void ModelCheckpointSavesTheBestOnlyOrEveryEpochWithFormattedNames()
    {
        var (model, x, y, val) = Linear();
        var recorder = new Recorder();
        var best = new ModelCheckpoint(Path.Combine(dir, "best-{epoch:00}.lstm"), monitor: "val_loss", saveBestOnly: true);
        var every = new ModelCheckpoint(Path.Combine(dir, "every-{epoch:00}-{loss:0.00}.lstm"));
        model.Fit(x, y, batchSize: 64, epochs: 5, verbose: 0, shuffle: false, validationData: val, callbacks: [recorder, best, every]);

        Assert.Equal(new[] { "best-01.lstm", "best-02.lstm", "best-03.lstm" }, best.Saved.Select(p => Path.GetFileName(p)!).ToArray());
        Assert.Equal(5, every.Saved.Count);
        Assert.All(every.Saved, p => Assert.True(File.Exists(p), p));
        Assert.Matches(@"every-05-\d\.\d\d\.lstm$", every.Saved[^1]);

        var loaded = Model.Load(best.Saved[^1], out int? epoch);
        Assert.Equal(3, epoch);
        Assert.Equal(recorder.Weights[2], loaded.GetWeights()[0]);
    }

    [Fact]
    public void ReduceLROnPlateauHalvesTheRateAfterPatienceEpochsWithoutImprovement()
    {
        var (model, x, y, val) = Linear();
        var recorder = new Recorder();
        var reduce = new ReduceLROnPlateau(monitor: "val_loss", factor: 0.5, patience: 1, minDelta: 0);
        model.Fit(x, y, batchSize: 64, epochs: 6, verbose: 0, shuffle: false, validationData: val, callbacks: [recorder, reduce]);

        // Epoch 3 is the first without improvement: the rate used from epoch 4 on is halved (and again each epoch it stays worse).
        Assert.Equal([0.3, 0.3, 0.3, 0.3, 0.15, 0.075], recorder.RatesAtBegin.ToArray());
    }

    [Fact]
    public void LearningRateSchedulerSetsTheRateEachEpoch()
    {
        var (model, x, y, _) = Linear();
        var recorder = new Recorder();
        var scheduler = new LearningRateScheduler((epoch, lr) => epoch == 0 ? 0.1 : lr * 0.5);
        model.Fit(x, y, batchSize: 64, epochs: 4, verbose: 0, shuffle: false, callbacks: [scheduler, recorder]);
        Assert.Equal([0.1, 0.05, 0.025, 0.0125], recorder.RatesAtBegin.ToArray());

        // The rate really drives the update: w after one epoch at 0.1 is 0 + 0.1·2·(2 − 0)·E[x²].
        var (fresh, fx, fy, _) = Linear();
        fresh.Fit(fx, fy, batchSize: 64, epochs: 1, verbose: 0, shuffle: false, callbacks: [new LearningRateScheduler((_, _) => 0.1)]);
        double ex2 = fx.ToArray().Average(v => (double)v * v);
        Assert.Equal(0.1 * 2 * 2 * ex2, fresh.GetWeights()[0][0], 1e-5);
    }

    [Fact]
    public void TerminateOnNaNStopsTrainingWhenTheLossBlowsUp()
    {
        var (model, x, y, _) = Linear(learningRate: 1e25);
        var terminate = new TerminateOnNaN();
        var recorder = new Recorder();
        var history = model.Fit(x, y, batchSize: 4, epochs: 10, verbose: 0, shuffle: false, callbacks: [recorder, terminate]);
        Assert.True(terminate.Terminated);
        Assert.True(model.StopTraining);
        Assert.True(history["loss"].Count < 10, $"ran {history["loss"].Count} epochs");
        Assert.False(double.IsFinite(recorder.BatchLosses[^1]));
        Assert.True(recorder.BatchLosses.Count < 16 * 10);
    }

    [Fact]
    public void CsvLoggerWritesAHeaderAndOneRowPerEpoch()
    {
        var (model, x, y, val) = Linear();
        string path = Path.Combine(dir, "log", "train.csv");
        var history = model.Fit(x, y, batchSize: 64, epochs: 3, verbose: 0, shuffle: false, validationData: val, callbacks: [new CsvLogger(path)]);
        var lines = File.ReadAllLines(path);
        Assert.Equal(4, lines.Length);
        Assert.Equal("epoch,loss,val_loss", lines[0]);
        for (int e = 0; e < 3; e++)
        {
            var fields = lines[e + 1].Split(',');
            Assert.Equal(e.ToString(CultureInfo.InvariantCulture), fields[0]);
            Assert.Equal(history["loss"][e], double.Parse(fields[1], CultureInfo.InvariantCulture));
            Assert.Equal(history["val_loss"][e], double.Parse(fields[2], CultureInfo.InvariantCulture));
        }

        // append: a second run adds rows under the same header.
        model.Fit(x, y, batchSize: 64, epochs: 2, verbose: 0, shuffle: false, validationData: val, callbacks: [new CsvLogger(path, append: true)]);
        Assert.Equal(6, File.ReadAllLines(path).Length);
    }

    [Fact]
    public void ProgressCallbackReceivesEveryBatchAndEpochReport()
    {
        var (model, x, y, val) = Linear();
        var reports = new List<TrainingProgress>();
        var progress = new SyncProgress(reports.Add);
        model.Fit(x, y, batchSize: 16, epochs: 2, verbose: 0, validationData: val, callbacks: [new ProgressCallback(progress)]);

        // 64 samples in batches of 16: 4 batch reports then one epoch report, per epoch.
        Assert.Equal(10, reports.Count);
        Assert.Equal([1, 2, 3, 4, 4], reports.Take(5).Select(r => r.Step).ToArray());
        Assert.All(reports, r => Assert.Equal(4, r.Steps));
        Assert.All(reports, r => Assert.Equal(2, r.Epochs));
        Assert.Equal([false, false, false, false, true], reports.Take(5).Select(r => r.EpochEnded).ToArray());
        Assert.Equal(1, reports[^1].Epoch);
        Assert.True(reports[^1].Logs.ContainsKey("val_loss"));
        Assert.False(reports[0].Logs.ContainsKey("val_loss"));
    }

    private static (Sequential Model, Tensor X, Tensor Y, (Tensor, Tensor) Val) Linear(double learningRate = 0.3)
    {
        Layer.ClearSession();
        const int n = 64;
        var x = new Tensor(n, 1);
        var y = new Tensor(n, 1);
        var yVal = new Tensor(n, 1);
        for (int i = 0; i < n; i++)
        {
            x[i, 0] = -1 + (2f * i / (n - 1));
            y[i, 0] = 2 * x[i, 0];
            yVal[i, 0] = x[i, 0];
        }

        // Rescale so that E[x²] = 1/3 exactly: full-batch SGD then gives w ← w − lr·2·(w − 2)/3 = w + 0.2·(2 − w) at lr 0.3.
        double ex2 = x.ToArray().Average(v => (double)v * v);
        float s = (float)Math.Sqrt(1.0 / (3 * ex2));
        for (int i = 0; i < n; i++)
        {
            x[i, 0] *= s;
            y[i, 0] *= s;
            yVal[i, 0] *= s;
        }

        var model = new Sequential([new Dense(1, useBias: false, kernelInitializer: "zeros", inputShape: [1])]);
        model.Compile(new Sgd(learningRate), "mse");
        return (model, x, y, (x, yVal));
    }

    private sealed class Recorder : Callback
    {
        public List<float[]> Weights { get; } = [];

        public List<double> RatesAtBegin { get; } = [];

        public List<double> BatchLosses { get; } = [];

        public override void OnEpochBegin(int epoch) => RatesAtBegin.Add(Math.Round(TrainedModel.Optimizer!.LearningRate, 12));

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => Weights.Add(TrainedModel.GetWeights()[0]);

        public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => BatchLosses.Add(logs["loss"]);
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
