using System.Globalization;
using LstmSharp.Cli;
using LstmSharp.Models;

namespace LstmSharp.Tests.Cli;

/// <summary><c>experiment forecast</c> on a small generated series: its files, its baselines, its refusals.</summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class ForecastCommandTests
{
    private static string Series(string dir, int days = 120)
    {
        string path = Path.Combine(dir, "series.csv");
        var lines = new List<string> { "date,load,temp" };
        for (int t = 0; t < days; t++)
        {
            double temp = 10 + (5 * Math.Sin(2 * Math.PI * t / 7));
            double load = 50 + (2 * temp) + (3 * Math.Cos(2 * Math.PI * t / 7)) + (0.1 * t);
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{new DateTime(2020, 1, 1).AddDays(t):yyyy-MM-dd},{load:0.###},{temp:0.###}"));
        }

        File.WriteAllLines(path, lines);
        return path;
    }

    [Theory]
    [InlineData("direct", true)]
    [InlineData("seq2seq", false)]
    [InlineData("recursive", false)]
    public void WritesResultsWithTheBaselinesHistoryPlotAndModel(string strategy, bool multivariate)
    {
        var dir = LongLagExperimentTests.TempDir();
        string csv = Series(dir);
        string outDir = Path.Combine(dir, "out");
        string[] features = multivariate ? ["--features", "load,temp"] : [];
        int rc = Program.Run(["experiment", "forecast", "--csv", csv, "--time-column", "date", "--target", "load", .. features, "--lookback", "14", "--horizon", "3",
            "--strategy", strategy, "--units", "4", "--epochs", "2", "--batch", "16", "--linear-skip", "--out", outDir, "--verbose", "0"]);
        Assert.Equal(0, rc);
        foreach (var f in new[] { "results.md", "history.csv", "forecast.png", "model.lstm" })
        {
            Assert.True(File.Exists(Path.Combine(outDir, f)), $"missing {f}");
        }

        string md = File.ReadAllText(Path.Combine(outDir, "results.md"));
        Assert.Contains("| persistence |", md);
        Assert.Contains("| seasonal naive (period 7, detected) |", md);
        Assert.Contains("| linear AR(14) |", md);
        Assert.Contains("| 3 |", md); // a row per horizon step
        Assert.Equal(3, File.ReadAllLines(Path.Combine(outDir, "history.csv")).Length);
        var model = Model.Load(Path.Combine(outDir, "model.lstm"));
        Assert.Contains(model.Layers, l => l is LstmSharp.Layers.Normalization { Invert: true });
    }

    [Theory]
    [InlineData("--horizon", "0", "--horizon must be at least 1 step, got 0")]
    [InlineData("--lookback", "500", "--lookback 500 + --horizon 1 = 501 steps, but")]
    [InlineData("--target", "nope", "no column 'nope'")]
    public void BadArgumentsAreOneLineAndWriteNothing(string option, string value, string message)
    {
        var dir = LongLagExperimentTests.TempDir();
        string csv = Series(dir);
        string outDir = Path.Combine(dir, "out");
        var args = new List<string> { "experiment", "forecast", "--csv", csv, "--time-column", "date", "--target", "load", "--lookback", "7", "--horizon", "1", "--epochs", "1", "--out", outDir, "--verbose", "0" };
        int at = args.IndexOf(option);
        args[at + 1] = value;
        var (rc, err) = RunCapturingErrors([.. args]);
        Assert.Equal(1, rc);
        Assert.Contains(message, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void RaggedAndNonNumericCsvRowsNameTheLine()
    {
        var dir = LongLagExperimentTests.TempDir();
        string csv = Path.Combine(dir, "bad.csv");
        File.WriteAllLines(csv, ["date,load", "2020-01-01,1", "2020-01-02,2,9", "2020-01-03,3"]);
        var (rc, err) = RunCapturingErrors(["experiment", "forecast", "--csv", csv, "--time-column", "date", "--target", "load", "--lookback", "1", "--out", Path.Combine(dir, "out")]);
        Assert.Equal(1, rc);
        Assert.Contains($"{csv}:3: 3 columns, the header has 2.", err);
        File.WriteAllLines(csv, ["date,load", "2020-01-01,1", "2020-01-02,n/a", "2020-01-03,3"]);
        (rc, err) = RunCapturingErrors(["experiment", "forecast", "--csv", csv, "--time-column", "date", "--target", "load", "--lookback", "1", "--out", Path.Combine(dir, "out")]);
        Assert.Contains($"{csv}:3, column 'load': 'n/a' is not a number", err);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    private static (int Rc, string Err) RunCapturingErrors(string[] args)
    {
        var old = Console.Error;
        var sw = new StringWriter();
        Console.SetError(sw);
        try
        {
            return (Program.Run(args), sw.ToString());
        }
        finally
        {
            Console.SetError(old);
        }
    }
}
