namespace LstmSharp.Cli.Experiments;

/// <summary>The IMDB experiments' data: reviews as the top <c>numWords</c> word indices padded or truncated to <c>maxlen</c>, labels as <c>[n, 1]</c>.</summary>
internal sealed record ImdbTensors(Tensor XTrain, Tensor YTrain, Tensor XTest, Tensor YTest)
{
    /// <summary>Loads the data set (with progress bars), keeps the first <paramref name="limit"/> reviews of each part when given, and says what it loaded.</summary>
    public static ImdbTensors Load(int numWords, int maxlen, string? dataPath, int? limit = null)
    {
        var data = Imdb.LoadData(numWords: numWords, options: ExperimentRunner.DataOptions(dataPath));
        var xTrain = Sequences.PadSequences(data.TrainSequences, maxlen);
        var xTest = Sequences.PadSequences(data.TestSequences, maxlen);
        var yTrain = Labels(data.TrainLabels);
        var yTest = Labels(data.TestLabels);
        if (limit is { } n && n < xTrain.Dim(0))
        {
            xTrain = xTrain.Slice(0, n).Clone();
            yTrain = yTrain.Slice(0, n).Clone();
            xTest = xTest.Slice(0, Math.Min(n, xTest.Dim(0))).Clone();
            yTest = yTest.Slice(0, Math.Min(n, yTest.Dim(0))).Clone();
        }

        Console.WriteLine($"IMDB from {data.Source}{(data.LoadedFromCache ? " (token cache)" : string.Empty)}: train {xTrain.Dim(0)}, test {xTest.Dim(0)}, top {numWords} words, padded to {maxlen}.");
        return new ImdbTensors(xTrain, yTrain, xTest, yTest);
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
