using System.Globalization;
using System.Text;

namespace LstmSharp.Models;

/// <summary>
/// Keras's per-epoch progress line (<c>verbose=1</c>):
/// <c>469/469 [==============================] - 8s 17ms/step - loss: 0.0153 - accuracy: 0.9952</c>,
/// redrawn in place on a terminal, printed once per epoch when the output is redirected;
/// and the one-line form of <c>verbose=2</c>: <c>469/469 - 8s - loss: 0.0153 - 8s/epoch - 17ms/step</c>.
/// </summary>
public sealed class ProgressLine
{
    private const int BarWidth = 30;
    private readonly TextWriter writer;
    private readonly int total;
    private readonly int verbose;
    private readonly bool interactive;
    private readonly long started;
    private int lastWidth;
    private int done;
    private long lastDraw;

    public ProgressLine(TextWriter writer, int totalSteps, int verbose, bool? interactive = null)
    {
        this.writer = writer;
        total = totalSteps;
        this.verbose = verbose;
        this.interactive = interactive ?? (writer == Console.Out && !Console.IsOutputRedirected);
        started = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    /// <summary>Called after each batch; draws at most ~10 times a second on a terminal.</summary>
    public void Update(int step, IReadOnlyList<KeyValuePair<string, double>> logs)
    {
        done = step;
        if (verbose != 1 || !interactive)
        {
            return;
        }

        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (step < total && System.Diagnostics.Stopwatch.GetElapsedTime(lastDraw, now).TotalMilliseconds < 100)
        {
            return;
        }

        lastDraw = now;
        double elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started, now).TotalSeconds;
        double eta = step > 0 ? elapsed / step * (total - step) : 0;
        var line = new StringBuilder();
        AppendBar(line, step);
        line.Append(" - ETA: ").Append(FormatDuration(eta));
        AppendLogs(line, logs);
        Draw(line.ToString());
    }

    /// <summary>
    /// Finishes the epoch's line with the batches actually run (fewer than the total when training stopped
    /// mid-epoch; the count itself when the total was unknown), the time, time per step and all logs.
    /// </summary>
    public void Finish(IReadOnlyList<KeyValuePair<string, double>> logs)
    {
        if (verbose == 0)
        {
            return;
        }

        double elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        int ran = done > 0 ? done : total;
        double perStep = ran > 0 ? elapsed / ran : 0;
        var line = new StringBuilder();
        if (verbose == 1)
        {
            AppendBar(line, ran);
            line.Append(" - ").Append(Math.Round(elapsed).ToString(CultureInfo.InvariantCulture)).Append("s ").Append(FormatPerStep(perStep));
            AppendLogs(line, logs);
        }
        else
        {
            line.Append(ran).Append('/').Append(total > 0 ? total : ran).Append(" - ").Append(Math.Round(elapsed).ToString(CultureInfo.InvariantCulture)).Append('s');
            AppendLogs(line, logs);
            line.Append(" - ").Append(Math.Round(elapsed).ToString(CultureInfo.InvariantCulture)).Append("s/epoch - ").Append(FormatPerStep(perStep));
        }

        if (interactive && verbose == 1)
        {
            Draw(line.ToString());
            writer.WriteLine();
        }
        else
        {
            writer.WriteLine(line.ToString());
        }

        writer.Flush();
    }

    /// <summary>Prints a warning on its own line (any verbose level but 0), below the progress bar.</summary>
    public void Warn(string message) => Message($"WARNING: {message}");

    /// <summary>Prints <paramref name="text"/> on its own line (any verbose level but 0), below the progress bar.</summary>
    public void Message(string text)
    {
        if (verbose == 0)
        {
            return;
        }

        if (interactive && lastWidth > 0)
        {
            writer.WriteLine();
            lastWidth = 0;
        }

        writer.WriteLine(text);
        writer.Flush();
    }

    /// <summary>Formats a log value as Keras does (4 decimals; scientific below 1e-3).</summary>
    public static string FormatValue(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v))
        {
            return v.ToString(CultureInfo.InvariantCulture);
        }

        return Math.Abs(v) > 1e-3 || v == 0 ? v.ToString("0.0000", CultureInfo.InvariantCulture) : v.ToString("0.0000e+00", CultureInfo.InvariantCulture);
    }

    private void AppendBar(StringBuilder line, int step)
    {
        string totalText = total.ToString(CultureInfo.InvariantCulture);
        line.Append(step.ToString(CultureInfo.InvariantCulture).PadLeft(totalText.Length)).Append('/').Append(totalText).Append(" [");
        int filled = total > 0 ? (int)((long)BarWidth * step / total) : BarWidth;
        if (filled > 0)
        {
            line.Append('=', filled - 1).Append(step < total ? '>' : '=');
        }

        line.Append('.', BarWidth - Math.Max(filled, 0)).Append(']');
    }

    private static void AppendLogs(StringBuilder line, IReadOnlyList<KeyValuePair<string, double>> logs)
    {
        foreach (var (name, value) in logs)
        {
            line.Append(" - ").Append(name).Append(": ").Append(FormatValue(value));
        }
    }

    private static string FormatPerStep(double seconds) => seconds >= 1
        ? $"{Math.Round(seconds).ToString(CultureInfo.InvariantCulture)}s/step"
        : seconds >= 1e-3
            ? $"{Math.Round(seconds * 1e3).ToString(CultureInfo.InvariantCulture)}ms/step"
            : $"{Math.Round(seconds * 1e6).ToString(CultureInfo.InvariantCulture)}us/step";

    private static string FormatDuration(double seconds) => seconds >= 3600
        ? $"{(int)(seconds / 3600)}:{(int)(seconds % 3600 / 60):00}:{(int)(seconds % 60):00}"
        : seconds >= 60 ? $"{(int)(seconds / 60)}:{(int)(seconds % 60):00}" : $"{Math.Round(seconds).ToString(CultureInfo.InvariantCulture)}s";

    private void Draw(string text)
    {
        writer.Write('\r');
        writer.Write(text);
        if (text.Length < lastWidth)
        {
            writer.Write(new string(' ', lastWidth - text.Length));
        }

        lastWidth = text.Length;
        writer.Flush();
    }
}
