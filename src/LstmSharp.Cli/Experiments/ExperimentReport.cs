using System.Globalization;
using System.Text;

namespace LstmSharp.Cli.Experiments;

/// <summary>The outcome of training one model in an experiment.</summary>
public sealed record ModelResult(
    string Model, long Params, History History, double TestLoss, double TestAccuracy, double SecondsPerEpoch, double? ArticleAccuracy)
{
    /// <summary>The epochs the run asked for (the history may hold fewer after Ctrl+C or early stopping).</summary>
    public int EpochsPlanned { get; init; }
}

/// <summary>Writes an experiment's results folder: results.md, history.csv and PNG charts.</summary>
public static class ExperimentReport
{
    public static string Table(IReadOnlyList<ModelResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| model | params | test loss | test accuracy | article accuracy | s/epoch |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            sb.Append("| ").Append(r.Model)
              .Append(" | ").Append(r.Params.ToString("N0", CultureInfo.InvariantCulture))
              .Append(" | ").Append(r.TestLoss.ToString("0.0000", CultureInfo.InvariantCulture))
              .Append(" | ").Append((r.TestAccuracy * 100).ToString("0.00", CultureInfo.InvariantCulture)).Append(" %")
              .Append(" | ").Append(r.ArticleAccuracy is { } a ? Percent(a) : "—")
              .Append(" | ").Append(r.SecondsPerEpoch.ToString("0.0", CultureInfo.InvariantCulture))
              .AppendLine(" |");
        }

        return sb.ToString();
    }

    /// <summary>
    /// Writes the folder. After Ctrl+C, results.md opens by saying which model stopped at which epoch and which
    /// of <paramref name="plannedModels"/> were never trained.
    /// </summary>
    public static void Write(string folder, string title, string command, IReadOnlyList<ModelResult> results, IReadOnlyList<string>? plannedModels = null)
    {
        Directory.CreateDirectory(folder);
        var md = Begin(title, StoppedWhere(results, plannedModels), command);
        md.AppendLine(Table(results));
        md.AppendLine($"Machine: {Machine}.");
        File.WriteAllText(Path.Combine(folder, "results.md"), md.ToString());

        var csv = new StringBuilder("model,epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
        foreach (var r in results)
        {
            var h = r.History;
            for (int i = 0; i < h.Epochs.Count; i++)
            {
                csv.Append(r.Model).Append(',').Append(h.Epochs[i] + 1)
                   .Append(',').Append(HistoryCell(h, "loss", i)).Append(',').Append(HistoryCell(h, "accuracy", i))
                   .Append(',').Append(HistoryCell(h, "val_loss", i)).Append(',').Append(HistoryCell(h, "val_accuracy", i))
                   .Append(',').Append(h.Seconds[i].ToString("0.###", CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        File.WriteAllText(Path.Combine(folder, "history.csv"), csv.ToString());
        Chart(Path.Combine(folder, "accuracy.png"), title + ": accuracy", "accuracy", results, "accuracy", "val_accuracy");
        Chart(Path.Combine(folder, "loss.png"), title + ": loss", "loss", results, "loss", "val_loss");
    }

    /// <summary>
    /// Opens an experiment's results.md: the title, then (after Ctrl+C) the note saying the run was
    /// stopped <paramref name="stoppedWhere"/>, then the command line that produced the results.
    /// </summary>
    public static StringBuilder Begin(string title, string stoppedWhere, string command) =>
        new StringBuilder()
            .Append("# ").AppendLine(title).AppendLine()
            .Append(ExperimentRunner.StoppedNote(stoppedWhere))
            .AppendLine("Command:").AppendLine().AppendLine("```").AppendLine(command).AppendLine("```").AppendLine();

    /// <summary>The machine a results.md was written on: cores, .NET version and the time (UTC).</summary>
    public static string Machine => $"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC";

    private static string StoppedWhere(IReadOnlyList<ModelResult> results, IReadOnlyList<string>? plannedModels)
    {
        var notTrained = (plannedModels ?? []).Where(m => results.All(r => r.Model != m)).ToList();
        string where = results.Count == 0 ? "before the first model trained" : $"{ExperimentRunner.DuringEpoch(results[^1].History, results[^1].EpochsPlanned)} of {results[^1].Model}";
        return notTrained.Count == 0 ? where : $"{where}; not trained: {string.Join(", ", notTrained)}";
    }

    /// <summary>A fraction as a percentage with two decimals, e.g. <c>99.20 %</c>.</summary>
    public static string Percent(double v) => (v * 100).ToString("0.00", CultureInfo.InvariantCulture) + " %";

    /// <summary>A history.csv cell: the value of <paramref name="key"/> at epoch index <paramref name="i"/> (round-trip format), empty when absent.</summary>
    public static string HistoryCell(History h, string key, int i) =>
        h.Contains(key) && i < h[key].Count ? h[key][i].ToString("R", CultureInfo.InvariantCulture) : string.Empty;

    private static void Chart(string path, string title, string yLabel, IReadOnlyList<ModelResult> results, string trainKey, string valKey)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int m = 0; m < results.Count; m++)
        {
            var r = results[m];
            var color = palette.GetColor(m);
            double[] epochs = r.History.Epochs.Select(e => (double)(e + 1)).ToArray();
            if (r.History.Contains(trainKey))
            {
                var s = plot.Add.Scatter(epochs, r.History[trainKey].ToArray());
                s.LegendText = $"{r.Model} train";
                s.Color = color;
                s.LinePattern = ScottPlot.LinePattern.Dashed;
            }

            if (r.History.Contains(valKey))
            {
                var s = plot.Add.Scatter(epochs, r.History[valKey].ToArray());
                s.LegendText = $"{r.Model} validation";
                s.Color = color;
            }
        }

        Charts.SaveEpochChart(plot, title, yLabel, path, 1000);
    }
}
