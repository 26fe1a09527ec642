using LstmSharp.Data;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Cli.Experiments;

/// <summary>
/// The article's IMDB sentiment model: top 5,000 words, reviews padded/truncated to 300,
/// Embedding(5000, 15) → LSTM(10) → Dense(1, sigmoid), binary cross-entropy, Adam, batch 128,
/// 5 epochs, 20% of the training set for validation; test accuracy 87.1% in the article.
/// </summary>
internal static class ImdbLstmExperiment
{
    public const double ArticleAccuracy = 0.871;

    public static Sequential BuildModel(int numWords, int maxlen, int embedding, int units, bool bidirectional)
    {
        var model = new Sequential();
        model.Add(new Embedding(numWords, embedding, inputShape: [maxlen]));
        model.Add(bidirectional ? new Bidirectional(new LSTM(units)) : new LSTM(units));
        model.Add(new Dense(1, activation: "sigmoid"));
        return model;
    }

    public static int Run(int epochs, int batch, int numWords, int maxlen, int embedding, int units, bool bidirectional, string outDir, string? dataPath, int seed, int verbose, string command)
    {
        ExperimentRunner.InstallCancelHandler();
        var data = Imdb.LoadData(numWords: numWords, options: ExperimentRunner.DataOptions(dataPath));
        var xTrain = Sequences.PadSequences(data.TrainSequences, maxlen);
        var xTest = Sequences.PadSequences(data.TestSequences, maxlen);
        var yTrain = Labels(data.TrainLabels);
        var yTest = Labels(data.TestLabels);
        Console.WriteLine($"IMDB from {data.Source}{(data.LoadedFromCache ? " (token cache)" : string.Empty)}: train {xTrain.Dim(0)}, test {xTest.Dim(0)}, top {numWords} words, padded to {maxlen}.");
        Directory.CreateDirectory(outDir);
        Layer.ClearSession();
        Rng.SetGlobalSeed(seed);
        Layer.SetRandomSeed(seed);
        var model = BuildModel(numWords, maxlen, embedding, units, bidirectional);
        model.Summary();
        model.Compile(new Adam(0.001), "binary_crossentropy", ["accuracy"]);
        string label = bidirectional ? "bilstm" : "lstm";
        var result = ExperimentRunner.Train(
            label, model, xTrain, yTrain, xTest, yTest, batch, epochs, validationSplit: 0.2, testAsValidation: false,
            bidirectional ? null : ArticleAccuracy, Path.Combine(outDir, $"{label}.lstm"), verbose, seed);
        Console.WriteLine();
        Console.WriteLine(ExperimentReport.Table([result]));
        ExperimentReport.Write(outDir, "IMDB sentiment: Embedding → LSTM → Dense", command, [result]);
        Console.WriteLine($"Wrote {Path.Combine(outDir, "results.md")}, history.csv, accuracy.png, loss.png and the model.");
        return ExperimentRunner.CancelRequested ? 130 : 0;
    }

    private static Tensor Labels(int[] labels)
    {
        var y = new Tensor(labels.Length, 1);
        for (int i = 0; i < labels.Length; i++)
        {
            y[i, 0] = labels[i];
        }

        return y;
    }
}
