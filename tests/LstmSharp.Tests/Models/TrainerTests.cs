using LstmSharp.Data.Batches;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Models;

/// <summary>
/// The training loop apart from the model: <see cref="Trainer"/> with <see cref="FitOptions"/>,
/// the Keras-style Fit mapped onto it bit for bit, and shuffling, the validation split and class
/// weights held to loops written out here with <c>TrainOnBatch</c>/<c>Evaluate</c>.
/// </summary>
public sealed class TrainerTests
{
    private const int Samples = 40;

    [Fact]
    public void FitOptionsAndTheTrainerTrainBitForBitAsTheKerasStyleArguments()
    {
        var (x, y) = Data();
        var classWeight = new Dictionary<int, float> { [0] = 1f, [1] = 2f, [2] = 0.5f };
        var keras = Classifier();
        var h1 = keras.Fit(x, y, batchSize: 8, epochs: 3, verbose: 0, validationSplit: 0.25, classWeight: classWeight, seed: 7);
        var options = new FitOptions { BatchSize = 8, Epochs = 3, ValidationSplit = 0.25, ClassWeight = classWeight, Seed = 7 };
        var viaOptions = Classifier();
        var h2 = viaOptions.Fit(x, y, options);
        var viaTrainer = Classifier();
        var h3 = new Trainer(viaTrainer).Fit([x], y, options);

        Assert.Equal(["loss", "accuracy", "val_loss", "val_accuracy"], h1.Keys);
        foreach (var h in new[] { h2, h3 })
        {
            Assert.Equal(h1.Keys, h.Keys);
            Assert.All(h1.Keys, k => Assert.Equal(h1[k], h[k]));
        }

        Assert.Equal(Flat(keras), Flat(viaOptions));
        Assert.Equal(Flat(keras), Flat(viaTrainer));
        Assert.True(h1["loss"][2] < h1["loss"][0], $"the loss falls: {string.Join(", ", h1["loss"])}");
    }

    [Fact]
    public void BatchSourceFitWithFitOptionsEqualsTheKerasStyleArguments()
    {
        var (x, y) = Data();
        var source = new TensorBatchSource(x, y, batchSize: 8, shuffle: true, seed: 3);
        var validation = new TensorBatchSource(x, y, batchSize: 16);
        var a = Classifier();
        var h1 = a.Fit(source, epochs: 2, verbose: 0, validationData: validation, prefetch: 0);
        var b = Classifier();
        var h2 = b.Fit(source, new FitOptions { Epochs = 2, ValidationSource = validation, Prefetch = 1 });

        Assert.Equal(h1["loss"], h2["loss"]);
        Assert.Equal(h1["val_accuracy"], h2["val_accuracy"]);
        Assert.Equal(Flat(a), Flat(b));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ShuffleDrawsOneOrderPerEpochFromTheSeededGenerator(bool shuffle)
    {
        var (x, y) = Data();
        var fitted = Classifier();
        var history = fitted.Fit(x, y, batchSize: 8, epochs: 3, verbose: 0, shuffle: shuffle, seed: 11);

        var byHand = Classifier();
        var rng = new Rng(11);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var order = Enumerable.Range(0, Samples).ToArray();
            if (shuffle)
            {
                rng.Shuffle(order);
            }

            double weighted = 0;
            for (int start = 0; start < Samples; start += 8)
            {
                var rows = order[start..Math.Min(Samples, start + 8)];
                weighted += byHand.TrainOnBatch(Rows(x, rows), Rows(y, rows)) * rows.Length;
            }

            Assert.Equal(weighted / Samples, history["loss"][epoch], 1e-9);
        }

        Assert.Equal(Flat(byHand), Flat(fitted));
    }

    [Fact]
    public void ValidationSplitTrainsOnTheHeadAndValidatesOnTheTailAtEveryEpochEnd()
    {
        var (x, y) = Data();
        var fitted = Classifier();
        var history = fitted.Fit(x, y, batchSize: 8, epochs: 2, verbose: 0, shuffle: false, validationSplit: 0.25);

        // floor(40 · 0.75) = 30: rows 0..29 train in batches of 8, 8, 8, 6; rows 30..39 validate.
        var byHand = Classifier();
        var head = Enumerable.Range(0, 30).ToArray();
        var tail = Enumerable.Range(30, 10).ToArray();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            for (int start = 0; start < 30; start += 8)
            {
                var rows = head[start..Math.Min(30, start + 8)];
                byHand.TrainOnBatch(Rows(x, rows), Rows(y, rows));
            }

            var val = byHand.Evaluate(Rows(x, tail), Rows(y, tail), batchSize: 8);
            Assert.Equal(val.Loss, history["val_loss"][epoch]);
            Assert.Equal(val["accuracy"], history["val_accuracy"][epoch]);
        }

        Assert.Equal(Flat(byHand), Flat(fitted));
    }

    [Fact]
    public void ClassWeightsWeighEachSampleByTheWeightOfItsClass()
    {
        var (x, y) = Data();
        var classWeight = new Dictionary<int, float> { [0] = 0.25f, [1] = 3f, [2] = 1f };
        var fitted = Classifier();
        var history = fitted.Fit(x, y, batchSize: 16, epochs: 2, verbose: 0, shuffle: false, classWeight: classWeight);

        // The same batches with sample weights looked up here from each one-hot row.
        var batches = new List<Batch>();
        for (int start = 0; start < Samples; start += 16)
        {
            var rows = Enumerable.Range(start, Math.Min(16, Samples - start)).ToArray();
            var yb = Rows(y, rows);
            var weights = rows.Select((_, i) => classWeight[Enumerable.Range(0, 3).First(c => yb[i, c] == 1f)]).ToArray();
            batches.Add(new Batch(Rows(x, rows), yb, weights));
        }

        var weighted = Classifier();
        var reference = weighted.Fit(new ListSource(batches), epochs: 2, verbose: 0, prefetch: 0);
        Assert.Equal(reference["loss"], history["loss"]);
        Assert.Equal(Flat(weighted), Flat(fitted));

        var unweighted = Classifier();
        unweighted.Fit(x, y, batchSize: 16, epochs: 2, verbose: 0, shuffle: false);
        Assert.NotEqual(Flat(unweighted), Flat(fitted));
    }

    [Fact]
    public void ProgressReceivesEveryBatchAndEpochEndAndCallbacksSeeEpochsAndSteps()
    {
        var (x, y) = Data();
        var model = Classifier();
        var reports = new List<TrainingProgress>();
        var seen = new ParamsRecorder();
        model.Fit(x, y, new FitOptions { BatchSize = 16, Epochs = 2, ValidationSplit = 0.2, Progress = new Sink(reports.Add), Callbacks = [seen] });

        // 32 training samples in batches of 16: 2 batch reports and 1 epoch-end report per epoch.
        Assert.Equal(2 * (2 + 1), reports.Count);
        Assert.All(reports, r => Assert.Equal((2, 2), (r.Epochs, r.Steps)));
        Assert.Equal([(0, 1, false), (0, 2, false), (0, 2, true), (1, 1, false), (1, 2, false), (1, 2, true)], reports.Select(r => (r.Epoch, r.Step, r.EpochEnded)));
        Assert.False(reports[0].Logs.ContainsKey("val_loss"));
        Assert.True(reports[2].Logs.ContainsKey("val_loss"));
        Assert.Equal((2, 2), seen.AtTrainBegin);
    }

    [Fact]
    public void OutputGetsKerasLinesOnlyWhenVerboseAsksForThem()
    {
        var (x, y) = Data();
        var silent = new StringWriter();
        Classifier().Fit(x, y, new FitOptions { BatchSize = 16, Epochs = 2, Output = silent, Callbacks = [new LstmSharp.Training.Callbacks.LearningRateScheduler((_, lr) => lr, verbose: 1)] });
        Assert.Equal(string.Empty, silent.ToString());

        var text = new StringWriter();
        Classifier().Fit(x, y, new FitOptions { BatchSize = 16, Epochs = 2, Verbose = 2, Output = text, ValidationSplit = 0.2 });
        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToArray();
        Assert.Equal(4, lines.Length);
        Assert.Equal(["Epoch 1/2", "Epoch 2/2"], new[] { lines[0], lines[2] });
        Assert.All(new[] { lines[1], lines[3] }, l => Assert.Matches(@"^2/2 - \d+s - loss: \d+\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d+\.\d{4} - val_accuracy: \d\.\d{4} - \d+s/epoch - \d+(us|ms|s)/step$", l));
    }

    [Fact]
    public void OptionsForOneKindOfDataAreRefusedWithTheOther()
    {
        var (x, y) = Data();
        var model = Classifier();
        var source = new TensorBatchSource(x, y, batchSize: 16);
        var e = Assert.Throws<ArgumentException>(() => model.Fit(source, new FitOptions { ValidationSplit = 0.2 }));
        Assert.Contains("validationSplit", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Fit(x, y, new FitOptions { ValidationSource = source }));
        Assert.Contains("ValidationSource", e.Message);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(x, y, new FitOptions { Verbose = 3 }));
        Assert.Contains("verbose must be 0, 1 or 2, got 3", bad.Message);
        bad = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(source, new FitOptions { Prefetch = -1 }));
        Assert.Contains("got 1, 0, -1 and 0", bad.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProgbarLogger(TextWriter.Null, 0));
    }

    internal static (Tensor X, Tensor Y) Data()
    {
        var rng = new Rng(5);
        var x = new Tensor(Samples, 5, 2);
        rng.FillNormal(x.Span);
        var y = new Tensor(Samples, 3);
        for (int i = 0; i < Samples; i++)
        {
            // The class is the sign pattern of the first step, so there is something to learn.
            int c = x[i, 0, 0] > 0 ? (x[i, 0, 1] > 0 ? 2 : 1) : 0;
            y[i, c] = 1;
        }

        return (x, y);
    }

    internal static Sequential Classifier()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(21);
        var model = new Sequential();
        model.Add(new LSTM(6, inputShape: [5, 2]));
        model.Add(new Dense(3, activation: "softmax"));
        model.Compile(new Adam(0.02), "categorical_crossentropy", ["accuracy"]);
        return model;
    }

    private static float[] Flat(Model m) => m.GetWeights().SelectMany(w => w).ToArray();

    private static Tensor Rows(Tensor t, int[] rows)
    {
        var shape = t.ShapeArray;
        int row = t.Length / shape[0];
        shape[0] = rows.Length;
        var result = new Tensor(shape);
        for (int i = 0; i < rows.Length; i++)
        {
            t.Span.Slice(rows[i] * row, row).CopyTo(result.Span.Slice(i * row, row));
        }

        return result;
    }

    private sealed class ListSource(IReadOnlyList<Batch> batches) : IBatchSource
    {
        public int? BatchCount => batches.Count;

        public IEnumerable<Batch> ReadEpoch(int epoch) => batches;
    }

    private sealed class ParamsRecorder : Callback
    {
        public (int Epochs, int Steps) AtTrainBegin { get; private set; }

        public override void OnTrainBegin() => AtTrainBegin = (Epochs, Steps);
    }

    private sealed class Sink(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
