
namespace LstmSharp.Models;

/// <summary>
/// Hooks into <c>Fit</c> (Keras <c>keras.callbacks.Callback</c>). Logs are the metric values
/// so far: per batch the running training means, at epoch end also the <c>val_</c> ones.
/// </summary>
public abstract class Callback
{
    /// <summary>The model being trained; set by <c>Fit</c> before <see cref="OnTrainBegin"/>.</summary>
    public Model? Model { get; internal set; }

    /// <summary>The <c>epochs</c> of the running Fit (Keras <c>params["epochs"]</c>).</summary>
    public int Epochs { get; internal set; }

    /// <summary>Batches per epoch of the running Fit, 0 for a stream of unknown length (Keras <c>params["steps"]</c>).</summary>
    public int Steps { get; internal set; }

    /// <summary>
    /// Where this callback's own messages go (those its <c>verbose</c> asks for). When null, they
    /// go to the running Fit's <see cref="ProgbarLogger"/> (installed by Fit's verbose 1 or 2, or
    /// given among the callbacks), and when there is none, nowhere: the library writes nothing
    /// unless asked.
    /// </summary>
    public TextWriter? Output { get; set; }

    /// <summary>The progress writer of the running Fit, if any; set by <see cref="Trainer"/>.</summary>
    internal ProgbarLogger? FitLogger { get; set; }

    protected Model TrainedModel => Model ?? throw new InvalidOperationException($"{GetType().Name}: not attached to a model (it is set by Fit).");

    public virtual void OnTrainBegin() { }

    public virtual void OnTrainEnd() { }

    public virtual void OnEpochBegin(int epoch) { }

    public virtual void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) { }

    public virtual void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>A warning from <c>Fit</c>, e.g. that the loss became NaN (also in <see cref="History.Warnings"/>).</summary>
    public virtual void OnWarning(string message) { }

    /// <summary>Writes one line of this callback's messages to <see cref="Output"/>, else to the Fit's progress writer, else nowhere.</summary>
    protected void Print(string message)
    {
        if (Output is { } writer)
        {
            writer.WriteLine(message);
            writer.Flush();
        }
        else
        {
            FitLogger?.WriteMessage(message);
        }
    }

    /// <summary>Reads a monitored value with a clear error listing what is logged.</summary>
    protected static double Monitored(string owner, string monitor, IReadOnlyDictionary<string, double> logs) =>
        logs.TryGetValue(monitor, out double v)
            ? v
            : throw new InvalidOperationException($"{owner}: monitored metric '{monitor}' is not logged; available: {string.Join(", ", logs.Keys)}.");

    /// <summary>Keras's "auto" mode: accuracy-like metrics are maximised, the rest minimised.</summary>
    protected static bool IsMaximised(string monitor, string mode) => mode switch
    {
        "min" => false,
        "max" => true,
        "auto" => monitor.Contains("acc", StringComparison.Ordinal) || monitor.StartsWith("fmeasure", StringComparison.Ordinal) || monitor.Contains("auc", StringComparison.Ordinal),
        _ => throw new ArgumentException($"mode must be 'auto', 'min' or 'max', got '{mode}'."),
    };
}

/// <summary>Progress of training, reported through <see cref="IProgress{T}"/> for GUIs and the CLI.</summary>
/// <param name="Epoch">Zero-based epoch.</param>
/// <param name="Epochs">Total epochs of this Fit.</param>
/// <param name="Step">Batches done in this epoch.</param>
/// <param name="Steps">Batches per epoch.</param>
/// <param name="Logs">Running metrics (training); at epoch end also validation.</param>
/// <param name="EpochEnded">True for the report sent once the epoch (and validation) is done.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Step, int Steps, IReadOnlyDictionary<string, double> Logs, bool EpochEnded);

/// <summary>Forwards every batch and epoch end to an <see cref="IProgress{T}"/>.</summary>
public sealed class ProgressCallback(IProgress<TrainingProgress> progress) : Callback
{
    private int epoch;

    public override void OnEpochBegin(int epoch) => this.epoch = epoch;

    public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) =>
        progress.Report(new TrainingProgress(epoch, Epochs, batch + 1, Steps, logs, false));

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) =>
        progress.Report(new TrainingProgress(epoch, Epochs, Steps, Steps, logs, true));
}
