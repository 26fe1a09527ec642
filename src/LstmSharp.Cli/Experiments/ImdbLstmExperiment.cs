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
        var (xTrain, yTrain, xTest, yTest) = ImdbTensors.Load(numWords, maxlen, dataPath);
        Directory.CreateDirectory(outDir);
        ExperimentRunner.Reseed(seed);
        var model = BuildModel(numWords, maxlen, embedding, units, bidirectional);
        model.Summary();
        model.Compile(new Adam(0.001), "binary_crossentropy", ["accuracy"]);
        string label = bidirectional ? "bilstm" : "lstm";
        var result = ExperimentRunner.Train(
            label, model, xTrain, yTrain, xTest, yTest, batch, epochs, validationSplit: 0.2, testAsValidation: false,
            bidirectional ? null : ArticleAccuracy, Path.Combine(outDir, $"{label}.lstm"), verbose, seed);
        ExperimentRunner.Report(outDir, "IMDB sentiment: Embedding → LSTM → Dense", command, [result], "the model");
        return ExperimentRunner.CancelRequested ? 130 : 0;
    }
}
