namespace LstmSharp.Cli.Experiments;

/// <summary>
/// The article's MNIST comparison: each image read row by row (28 steps of 28 pixels), a
/// recurrent layer of 128 units, Dense(10) + softmax, categorical cross-entropy, Adam(0.001),
/// batch 128, 20 epochs, the test set as validation data.
/// </summary>
internal static class MnistRnnExperiment
{
    /// <summary>The article's test accuracies.</summary>
    public static readonly IReadOnlyDictionary<string, double> ArticleAccuracy = new Dictionary<string, double>
    {
        ["srn"] = 0.9733,
        ["lstm"] = 0.9867,
        ["gru"] = 0.9879,
    };

    public static Sequential BuildModel(string kind, int units)
    {
        var model = new Sequential();
        model.Add(kind switch
        {
            "srn" => new SimpleRNN(units, inputShape: [Mnist.Rows, Mnist.Cols]),
            "lstm" => new LSTM(units, inputShape: [Mnist.Rows, Mnist.Cols]),
            // The article's Keras 2 GRU applies the reset gate before the recurrent product (60,288 weights).
            "gru" => new GRU(units, resetAfter: false, inputShape: [Mnist.Rows, Mnist.Cols]),
            "lstm-proj" or "lnlstm" => LongLagModels.Create(kind, units, [Mnist.Rows, Mnist.Cols], returnSequences: false),
            _ => throw new ArgumentException($"mnist-rnn: unknown model '{kind}'; expected srn, lstm, gru, lstm-proj or lnlstm."),
        });
        model.Add(new Dense(Mnist.NumClasses));
        model.Add(new Activation("softmax"));
        return model;
    }

    public static int Run(string[] models, int epochs, int batch, int units, string outDir, string? dataPath, int? limit, int seed, int verbose, string command, DistributedCommands.Run? distributed = null)
    {
        ExperimentRunner.InstallCancelHandler();
        var data = Mnist.LoadData(options: ExperimentRunner.DataOptions(dataPath));
        var xTrain = data.TrainImages;
        var trainLabels = data.TrainLabels;
        if (limit is { } n && n < trainLabels.Length)
        {
            xTrain = xTrain.Slice(0, n);
            trainLabels = trainLabels[..n];
        }

        var yTrain = Labels.ToCategorical(trainLabels, Mnist.NumClasses);
        var yTest = Labels.ToCategorical(data.TestLabels, Mnist.NumClasses);
        Console.WriteLine($"MNIST from {data.Folder}: train {xTrain.Dim(0)}, test {data.TestImages.Dim(0)}; each image is 28 steps of 28 pixels.");
        Directory.CreateDirectory(outDir);
        var results = new List<ModelResult>();
        foreach (var kind in models)
        {
            if (ExperimentRunner.CancelRequested)
            {
                break;
            }

            ExperimentRunner.Reseed(seed);
            var model = BuildModel(kind, units);
            model.Summary();
            model.Compile(new Adam(0.001), "categorical_crossentropy", ["accuracy"]);
            double? article = ArticleAccuracy.TryGetValue(kind, out var a) ? a : null;
            results.Add(distributed is { } d
                ? d.TrainExperiment(kind, model, xTrain, yTrain, data.TestImages, yTest, batch, epochs, article, Path.Combine(outDir, $"{kind}.lstm"), verbose, seed)
                : ExperimentRunner.Train(kind, model, xTrain, yTrain, data.TestImages, yTest, batch, epochs, 0, testAsValidation: true, article, Path.Combine(outDir, $"{kind}.lstm"), verbose, seed));
        }

        if (distributed is { IsRoot: false })
        {
            return 0;
        }

        ExperimentRunner.Report(outDir, "MNIST row by row: SimpleRNN vs LSTM vs GRU", command, results, "the models", models);
        return ExperimentRunner.CancelRequested ? 130 : 0;
    }
}
