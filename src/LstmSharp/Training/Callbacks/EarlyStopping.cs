using LstmSharp.Models;
namespace LstmSharp.Training.Callbacks;

/// <summary>
/// Stops training when <paramref name="monitor"/> has not improved by more than
/// <paramref name="minDelta"/> for <paramref name="patience"/> epochs (Keras semantics);
/// optionally restores the weights of the best epoch.
/// </summary>
public sealed class EarlyStopping(
    string monitor = "val_loss", double minDelta = 0, int patience = 0, string mode = "auto",
    double? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0, int verbose = 0) : Callback
{
    private readonly bool maximise = IsMaximised(monitor, mode);
    private double best;
    private int wait;
    private float[][]? bestWeights;

    /// <summary>Epoch (zero-based) at which training was stopped, or 0 if it ran to the end.</summary>
    public int StoppedEpoch { get; private set; }

    public int BestEpoch { get; private set; }

    public override void OnTrainBegin()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        wait = 0;
        StoppedEpoch = 0;
        best = maximise ? double.NegativeInfinity : double.PositiveInfinity;
        bestWeights = null;
        BestEpoch = 0;
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double current = Monitored(nameof(EarlyStopping), monitor, logs);
        if (epoch < startFromEpoch)
        {
            return;
        }

        if (restoreBestWeights && bestWeights is null)
        {
            bestWeights = TrainedModel.GetWeights();
        }

        wait++;
        if (Improved(current))
        {
            best = current;
            BestEpoch = epoch;
            if (restoreBestWeights)
            {
                bestWeights = TrainedModel.GetWeights();
            }

            // Keras: the wait restarts only when the value also beats the baseline.
            if (baseline is null || IsImprovement(current, baseline.Value))
            {
                wait = 0;
            }

            return;
        }

        if (wait >= patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            TrainedModel.StopTraining = true;
            if (restoreBestWeights && bestWeights is not null)
            {
                if (verbose > 0)
                {
                    Print($"Restoring model weights from the end of the best epoch: {BestEpoch + 1}.");
                }

                TrainedModel.SetWeights(bestWeights);
            }
        }
    }

    public override void OnTrainEnd()
    {
        if (StoppedEpoch > 0 && verbose > 0)
        {
            Print($"Epoch {StoppedEpoch + 1}: early stopping");
        }
    }

    private bool Improved(double current) => IsImprovement(current, best);

    private bool IsImprovement(double current, double reference) => maximise ? current - minDelta > reference : current + minDelta < reference;
}
