using LstmSharp.Models;
using System.Globalization;

namespace LstmSharp.Training.Callbacks;

/// <summary>
/// Saves the model (or only its weights) at the end of an epoch: every epoch, or only when
/// <paramref name="monitor"/> improved (<paramref name="saveBestOnly"/>). The path may hold
/// <c>{epoch}</c> (1-based, formatted like <c>{epoch:02d}</c> → use <c>{epoch:00}</c>) and any
/// logged metric, e.g. <c>ckpt-{epoch:00}-{val_loss:0.0000}.lstm</c>.
/// Optimizer state is included (<c>includeOptimizer</c>) so training can resume exactly.
/// </summary>
public sealed class ModelCheckpoint(
    string filepath, string monitor = "val_loss", int verbose = 0, bool saveBestOnly = false,
    bool saveWeightsOnly = false, string mode = "auto", bool includeOptimizer = true) : Callback
{
    private readonly bool maximise = IsMaximised(monitor, mode);
    private double best = double.NaN;

    /// <summary>Paths written, in order.</summary>
    public List<string> Saved { get; } = [];

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        string path = FormatPath(filepath, epoch, logs);
        if (saveBestOnly)
        {
            double current = Monitored(nameof(ModelCheckpoint), monitor, logs);
            bool improved = double.IsNaN(best) || (maximise ? current > best : current < best);
            if (!improved)
            {
                if (verbose > 0)
                {
                    Print($"Epoch {epoch + 1}: {monitor} did not improve from {best:0.00000}");
                }

                return;
            }

            if (verbose > 0)
            {
                Print($"Epoch {epoch + 1}: {monitor} improved from {best:0.00000} to {current:0.00000}, saving model to {path}");
            }

            best = current;
        }

        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        if (saveWeightsOnly)
        {
            TrainedModel.SaveWeights(path);
        }
        else
        {
            TrainedModel.Save(path, includeOptimizer: includeOptimizer, epoch: epoch + 1);
        }

        Saved.Add(path);
    }

    internal static string FormatPath(string pattern, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        var sb = new System.Text.StringBuilder();
        int i = 0;
        while (i < pattern.Length)
        {
            int open = pattern.IndexOf('{', i);
            if (open < 0)
            {
                sb.Append(pattern, i, pattern.Length - i);
                break;
            }

            int close = pattern.IndexOf('}', open);
            if (close < 0)
            {
                throw new FormatException($"ModelCheckpoint: unbalanced '{{' in filepath '{pattern}'.");
            }

            sb.Append(pattern, i, open - i);
            string field = pattern[(open + 1)..close];
            string key = field.Split(':')[0];
            string? format = field.Contains(':', StringComparison.Ordinal) ? field[(field.IndexOf(':', StringComparison.Ordinal) + 1)..] : null;
            double value = key == "epoch" ? epoch + 1 : Monitored(nameof(ModelCheckpoint), key, logs);
            sb.Append(value.ToString(format ?? (key == "epoch" ? "0" : "0.0000"), CultureInfo.InvariantCulture));
            i = close + 1;
        }

        return sb.ToString();
    }
}
