using LstmSharp.Models;
namespace LstmSharp.Training.Callbacks;

/// <summary>Sets the learning rate at the start of each epoch from <c>schedule(epoch, currentLr)</c> (Keras).</summary>
public sealed class LearningRateScheduler(Func<int, double, double> schedule, int verbose = 0) : Callback
{
    public override void OnEpochBegin(int epoch)
    {
        var optimizer = TrainedModel.Optimizer ?? throw new InvalidOperationException("LearningRateScheduler: the model is not compiled.");
        double lr = schedule(epoch, optimizer.LearningRate);
        if (!double.IsFinite(lr) || lr < 0)
        {
            throw new InvalidOperationException($"LearningRateScheduler: schedule returned {lr} for epoch {epoch}; expected a finite value >= 0.");
        }

        optimizer.LearningRate = lr;
        if (verbose > 0)
        {
            Print($"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.");
        }
    }
}

/// <summary>
/// Multiplies the learning rate by <paramref name="factor"/> when <paramref name="monitor"/>
/// has not improved for <paramref name="patience"/> epochs (Keras ReduceLROnPlateau).
/// </summary>
public sealed class ReduceLROnPlateau(
    string monitor = "val_loss", double factor = 0.1, int patience = 10, string mode = "auto",
    double minDelta = 1e-4, int cooldown = 0, double minLr = 0, int verbose = 0) : Callback
{
    private readonly bool maximise = IsMaximised(monitor, mode);
    private double best;
    private int wait;
    private int cooldownCounter;

    public override void OnTrainBegin()
    {
        if (factor >= 1.0 || factor <= 0)
        {
            throw new ArgumentException($"ReduceLROnPlateau: factor must be in (0, 1), got {factor}.");
        }

        best = maximise ? double.NegativeInfinity : double.PositiveInfinity;
        wait = 0;
        cooldownCounter = 0;
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        var optimizer = TrainedModel.Optimizer ?? throw new InvalidOperationException("ReduceLROnPlateau: the model is not compiled.");
        double current = Monitored(nameof(ReduceLROnPlateau), monitor, logs);
        if (cooldownCounter > 0)
        {
            cooldownCounter--;
            wait = 0;
        }

        if (maximise ? current > best + minDelta : current < best - minDelta)
        {
            best = current;
            wait = 0;
        }
        else if (cooldownCounter <= 0)
        {
            wait++;
            if (wait >= patience)
            {
                double old = optimizer.LearningRate;
                if (old > minLr)
                {
                    double lr = Math.Max(old * factor, minLr);
                    optimizer.LearningRate = lr;
                    if (verbose > 0)
                    {
                        Print($"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {lr}.");
                    }

                    cooldownCounter = cooldown;
                    wait = 0;
                }
            }
        }
    }
}

/// <summary>Stops training as soon as a batch loss is NaN or infinite (Keras TerminateOnNaN).</summary>
public sealed class TerminateOnNaN : Callback
{
    public bool Terminated { get; private set; }

    public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue("loss", out double loss) && !double.IsFinite(loss))
        {
            Print($"Batch {batch}: Invalid loss, terminating training");
            Terminated = true;
            TrainedModel.StopTraining = true;
        }
    }
}
