using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Models;

[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class SequentialTests
{
    [Fact]
    public void SummaryOfTheArticlesMnistLstmMatchesKeras()
    {
        Layer.ClearSession();
        var model = new Sequential();
        model.Add(new LSTM(128, inputShape: [28, 28]));
        model.Add(new Dense(10));
        model.Add(new Activation("softmax"));
        string text = model.SummaryText();
        Assert.Contains("lstm (LSTM)                  (None, 128)               80384", text);
        Assert.Contains("dense (Dense)                (None, 10)                1290", text);
        Assert.Contains("activation (Activation)      (None, 10)                0", text);
        Assert.Contains("Total params: 81,674", text);
        Assert.Contains("Trainable params: 81,674", text);
        Assert.Contains("Non-trainable params: 0", text);
        Assert.StartsWith("Model: \"sequential", text);
    }

    [Fact]
    public void SummaryOfTheArticlesImdbModelMatchesKeras()
    {
        Layer.ClearSession();
        var model = new Sequential();
        model.Add(new Embedding(5000, 15, inputShape: [300]));
        model.Add(new LSTM(10));
        model.Add(new Dense(1, activation: "sigmoid"));
        string text = model.SummaryText();
        Assert.Contains("embedding (Embedding)        (None, 300, 15)           75000", text);
        Assert.Contains("lstm (LSTM)                  (None, 10)                1040", text);
        Assert.Contains("dense (Dense)                (None, 1)                 11", text);
        Assert.Contains("Total params: 76,051", text);
    }

    [Fact]
    public void LstmLearnsWhichOfTwoMarkedValuesIsLargerThroughFit()
    {
        // A sequence task that needs memory: the sign of (first marked value - second marked value).
        Rng.SetGlobalSeed(7);
        Layer.ClearSession();
        var (x, y) = MarkedComparison(2000, 12, seed: 1);
        var (xTest, yTest) = MarkedComparison(500, 12, seed: 2);
        var model = new Sequential();
        model.Add(new LSTM(16, inputShape: [12, 2]));
        model.Add(new Dense(1, activation: "sigmoid"));
        model.Compile(new Adam(0.01), "binary_crossentropy", ["accuracy"]);
        var history = model.Fit(x, y, batchSize: 50, epochs: 12, verbose: 0, validationData: (xTest, yTest), seed: 3);
        Assert.Equal(12, history["loss"].Count);
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss did not fall: {string.Join(", ", history["loss"])}");
        var (_, acc) = model.Evaluate(xTest, yTest);
        Assert.True(acc > 0.9, $"test accuracy {acc}");
        Assert.Equal(acc, history["val_accuracy"][^1], 1e-6);
    }

    [Fact]
    public void ValidationSplitTakesTheTailBeforeShuffling()
    {
        Layer.ClearSession();
        // Targets equal the sample index, so the validation loss reveals which rows were used.
        int n = 10;
        var x = new Tensor(n, 1);
        var y = new Tensor(n, 1);
        for (int i = 0; i < n; i++)
        {
            x[i, 0] = 0;
            y[i, 0] = i;
        }

        var model = new Sequential();
        model.Add(new Dense(1, kernelInitializer: "zeros", inputShape: [1]));
        model.Compile(new Sgd(0.0), "mse");
        var history = model.Fit(x, y, batchSize: 4, epochs: 1, verbose: 0, validationSplit: 0.25);
        // floor(10 * 0.75) = 7: rows 7, 8, 9 validate; the zero model predicts 0 → MSE = (49 + 64 + 81) / 3.
        Assert.Equal((49.0 + 64 + 81) / 3, history["val_loss"][0], 1e-4);
        Assert.Equal((0.0 + 1 + 4 + 9 + 16 + 25 + 36) / 7, history["loss"][0], 1e-4);
    }

    [Fact]
    public void SaveAndLoadGiveBitIdenticalPredictionsAndResumeEqualsUninterrupted()
    {
        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var (x, y) = MarkedComparison(300, 6, seed: 5);
            Sequential Build()
            {
                Layer.ClearSession();
                Rng.SetGlobalSeed(11);
                Layer.SetRandomSeed(11);
                var m = new Sequential();
                m.Add(new LSTM(8, inputShape: [6, 2], returnSequences: true));
                m.Add(new LSTM(4));
                m.Add(new Dense(1, activation: "sigmoid"));
                m.Compile(new Adam(0.01), "binary_crossentropy", ["accuracy"]);
                return m;
            }

            var straight = Build();
            straight.Fit(x, y, batchSize: 32, epochs: 4, verbose: 0, seed: 9, shuffle: false);

            var first = Build();
            first.Fit(x, y, batchSize: 32, epochs: 2, verbose: 0, seed: 9, shuffle: false);
            string path = Path.Combine(dir, "ckpt.lstm");
            first.Save(path, epoch: 2);
            var resumed = Model.Load(path, out int? epoch);
            Assert.Equal(2, epoch);
            Assert.Equal(first.Predict(x).ToArray(), resumed.Predict(x).ToArray());
            resumed.Fit(x, y, batchSize: 32, epochs: 4, initialEpoch: 2, verbose: 0, seed: 9, shuffle: false);
            Assert.Equal(straight.GetWeights().SelectMany(w => w), resumed.GetWeights().SelectMany(w => w));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    internal static (Tensor X, Tensor Y) MarkedComparison(int n, int time, long seed)
    {
        var rng = new Rng(seed);
        var x = new Tensor(n, time, 2);
        var y = new Tensor(n, 1);
        for (int i = 0; i < n; i++)
        {
            int a = rng.NextInt(time / 2), b = (time / 2) + rng.NextInt(time - (time / 2));
            for (int t = 0; t < time; t++)
            {
                x[i, t, 0] = rng.NextFloat();
            }

            x[i, a, 1] = 1;
            x[i, b, 1] = 1;
            y[i, 0] = x[i, a, 0] > x[i, b, 0] ? 1 : 0;
        }

        return (x, y);
    }
}
