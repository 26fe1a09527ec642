namespace LstmSharp.Models;

/// <summary>
/// Writes Keras's training progress to a <see cref="TextWriter"/> (Keras <c>ProgbarLogger</c>):
/// <c>Epoch 3/10</c>, then with verbose 1 a bar redrawn in place on a terminal (printed once per
/// epoch when the output is redirected), with verbose 2 one line per epoch; warnings of the run
/// and the messages of callbacks (EarlyStopping, ModelCheckpoint, ... with their own
/// <c>verbose</c>) on lines of their own. <c>Fit</c> installs one on <see cref="FitOptions.Output"/>,
/// or on the console, when its verbose is 1 or 2; put one in the callbacks to choose the writer
/// yourself (it then replaces the one verbose would add). This class and <see cref="ProgressLine"/>
/// are the only places where the library touches the console, and only when asked to.
/// </summary>
public sealed class ProgbarLogger : Callback
{
    private readonly TextWriter writer;
    private ProgressLine? line;

    public ProgbarLogger(TextWriter writer, int verbose = 1)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (verbose is < 1 or > 2)
        {
            throw new ArgumentOutOfRangeException(nameof(verbose), $"ProgbarLogger: verbose must be 1 or 2, got {verbose}.");
        }

        this.writer = writer;
        Verbose = verbose;
    }

    /// <summary>1: a progress bar per epoch; 2: one line per epoch.</summary>
    public int Verbose { get; }

    /// <summary>A logger on the console's standard output (what <c>Fit(..., verbose: 1)</c> installs).</summary>
    public static ProgbarLogger ForConsole(int verbose = 1) => new(Console.Out, verbose);

    public override void OnEpochBegin(int epoch)
    {
        writer.WriteLine($"Epoch {epoch + 1}/{Epochs}");

        // A stream of unknown length has no bar to draw: one line per epoch.
        line = new ProgressLine(writer, Steps, Steps == 0 && Verbose == 1 ? 2 : Verbose);
    }

    public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) =>
        line?.Update(batch + 1, logs.ToList());

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        line?.Finish(logs.ToList());
        line = null;
    }

    public override void OnWarning(string message) => WriteMessage($"WARNING: {message}");

    /// <summary>Writes <paramref name="message"/> on a line of its own (below an unfinished bar).</summary>
    public void WriteMessage(string message)
    {
        if (line is not null)
        {
            line.Message(message);
            return;
        }

        writer.WriteLine(message);
        writer.Flush();
    }

    /// <summary>The one line <c>Evaluate(..., verbose: 1)</c> prints: <c>loss: 0.1234 - accuracy: 0.9876</c>.</summary>
    internal static void WriteEvaluation(IReadOnlyDictionary<string, double> values) =>
        Console.Out.WriteLine(string.Join(" - ", values.Select(kv => $"{kv.Key}: {ProgressLine.FormatValue(kv.Value)}")));

    /// <summary>Keras's <c>model.summary()</c> prints to the console unless given a writer.</summary>
    internal static void WriteSummary(string table, TextWriter? writer) => (writer ?? Console.Out).Write(table);
}
