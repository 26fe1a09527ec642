namespace LstmSharp.Cli.Experiments;

/// <summary>
/// The keras-io CNN-LSTM IMDB example (<c>imdb_cnn_lstm.py</c>): top 20,000 words, reviews
/// padded/truncated to 100, Embedding(20000, 128) → Dropout(0.25) → Conv1D(64, 5, relu, valid)
/// → MaxPooling1D(4) → LSTM(70) → Dense(1, sigmoid), binary cross-entropy, Adam, batch 30,
/// 2 epochs, the test set as validation data; its published test accuracy is 0.8498.
/// </summary>
internal static class ImdbCnnLstmExperiment
{
    public const double PublishedAccuracy = 0.8498;

    public static Sequential BuildModel(int numWords, int maxlen, int embedding, int filters, int kernelSize, int poolSize, int units)
    {
        var model = new Sequential();
        model.Add(new Embedding(numWords, embedding, inputShape: [maxlen]));
        model.Add(new Dropout(0.25f));
        model.Add(new Conv1D(filters, kernelSize, padding: "valid", activation: "relu", strides: 1));
        model.Add(new MaxPooling1D(poolSize));
        model.Add(new LSTM(units));
        model.Add(new Dense(1, activation: "sigmoid"));
        return model;
    }

    public static int Run(ImdbCnnLstmSettings s, string command)
    {
        ExperimentRunner.InstallCancelHandler();
        var (xTrain, yTrain, xTest, yTest) = ImdbTensors.Load(s.NumWords, s.Maxlen, s.Data, s.Limit);
        Directory.CreateDirectory(s.Out);
        ExperimentRunner.Reseed(s.Seed);
        var model = BuildModel(s.NumWords, s.Maxlen, s.Embedding, s.Filters, s.KernelSize, s.PoolSize, s.Units);
        model.Summary();
        model.Compile(new Adam(s.LearningRate), "binary_crossentropy", ["accuracy"]);
        var result = ExperimentRunner.Train(
            "cnn-lstm", model, xTrain, yTrain, xTest, yTest, s.Batch, s.Epochs, validationSplit: 0, testAsValidation: true,
            PublishedAccuracy, Path.Combine(s.Out, "cnn-lstm.lstm"), s.Verbose, s.Seed);
        ExperimentRunner.Report(s.Out, "IMDB: keras-io CNN-LSTM", command, [result], "the model");
        return ExperimentRunner.CancelRequested ? 130 : 0;
    }
}

/// <summary>Options of <c>lstmsharp experiment imdb-cnn-lstm</c>; the defaults are keras-io's.</summary>
internal sealed record ImdbCnnLstmSettings
{
    [CliOption("--epochs", CliHelp.Epochs)]
    public int Epochs { get; init; } = 2;

    [CliOption("--batch", CliHelp.Batch)]
    public int Batch { get; init; } = 30;

    [CliOption("--num-words", CliHelp.NumWords)]
    public int NumWords { get; init; } = 20_000;

    [CliOption("--maxlen", CliHelp.Maxlen)]
    public int Maxlen { get; init; } = 100;

    [CliOption("--embedding", CliHelp.Embedding)]
    public int Embedding { get; init; } = 128;

    [CliOption("--filters", "Conv1D filters.")]
    public int Filters { get; init; } = 64;

    [CliOption("--kernel-size", "Conv1D kernel size.")]
    public int KernelSize { get; init; } = 5;

    [CliOption("--pool-size", "MaxPooling1D pool size.")]
    public int PoolSize { get; init; } = 4;

    [CliOption("--units", CliHelp.LstmUnits)]
    public int Units { get; init; } = 70;

    [CliOption("--lr", CliHelp.AdamLearningRate)]
    public double LearningRate { get; init; } = 0.001;

    /// <summary>Train (and test) on the first N reviews only: quick runs and tests.</summary>
    [CliOption("--limit", "Train and test on the first N reviews only (quick runs).")]
    public int? Limit { get; init; }

    [CliOption("--out", "Folder for results.md, history.csv, plots and the trained model.")]
    public string Out { get; init; } = Path.Combine("results", "imdb-cnn-lstm");

    [CliOption("--data", CliHelp.Data)]
    public string? Data { get; init; }

    [CliOption("--seed", CliHelp.GlobalSeed)]
    public int Seed { get; init; } = 42;

    [CliOption("--verbose", CliHelp.Verbose)]
    public int Verbose { get; init; } = 1;
}
