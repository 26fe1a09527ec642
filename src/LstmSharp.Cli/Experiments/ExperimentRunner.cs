using System.Diagnostics;

namespace LstmSharp.Cli.Experiments;

/// <summary>What every experiment shares: data options with progress bars, Ctrl+C handling, training one model.</summary>
internal static class ExperimentRunner
{
    private static volatile bool cancelRequested;

    /// <summary>True after Ctrl+C: the current model stops after its batch, is saved, and the run ends.</summary>
    public static bool CancelRequested => cancelRequested;

    private static int handlerInstalled;

    private static int cancelAfterBatches;

    /// <summary>Tests: behave as if Ctrl+C were pressed once this many training batches have ended (0: off).</summary>
    internal static int CancelAfterBatchesForTests
    {
        get => Volatile.Read(ref cancelAfterBatches);
        set
        {
            Volatile.Write(ref cancelAfterBatches, value);
            cancelRequested = false;
        }
    }

    /// <summary>Called by every training loop after a batch: true once the run should stop (Ctrl+C).</summary>
    public static bool BatchEnded()
    {
        if (Volatile.Read(ref cancelAfterBatches) > 0 && Interlocked.Decrement(ref cancelAfterBatches) == 0)
        {
            cancelRequested = true;
        }

        return cancelRequested;
    }

    /// <summary>
    /// The paragraph results.md opens with when Ctrl+C stopped the run (empty otherwise), e.g.
    /// "Stopped by Ctrl+C during epoch 3 of 20 of lstm; not trained: gru."
    /// </summary>
    public static string StoppedNote(string where) =>
        CancelRequested ? $"**Stopped by Ctrl+C** {where}. The figures below are those of the partial run.{Environment.NewLine}{Environment.NewLine}" : string.Empty;

    /// <summary>"during epoch k of n" for a run whose history holds k (possibly partial) epochs.</summary>
    public static string DuringEpoch(History history, int epochs) =>
        $"during epoch {Math.Max(history.Epochs.Count, 1)} of {epochs}";

    public static void InstallCancelHandler()
    {
        if (Interlocked.Exchange(ref handlerInstalled, 1) == 1)
        {
            return;
        }

        Console.CancelKeyPress += (_, e) =>
        {
            if (cancelRequested)
            {
                return; // a second Ctrl+C kills the process as usual
            }

            e.Cancel = true;
            cancelRequested = true;
            Console.Error.WriteLine();
            Console.Error.WriteLine("Ctrl+C: stopping after this batch and saving a checkpoint (press again to abort at once).");
        };
    }

    public static DatasetOptions DataOptions(string? path) => new()
    {
        Path = path,
        DownloadProgress = new ConsoleBar<DownloadProgress>(p => (p.FileName, p.Fraction, $"{p.BytesReceived / 1e6:0.0} MB")),
        LoadProgress = new ConsoleBar<LoadProgress>(p => (p.Stage, p.Fraction, p.Describe())),
    };

    /// <summary>A fresh start before building a model: layer names from 1, the global and the layers' generators seeded with <paramref name="seed"/>.</summary>
    public static void Reseed(int seed)
    {
        Layer.ClearSession();
        Rng.SetGlobalSeed(seed);
        Layer.SetRandomSeed(seed);
    }

    /// <summary>Prints the results table, writes results.md, history.csv and the charts to <paramref name="outDir"/>, and says what was written and <paramref name="saved"/> (the model files).</summary>
    public static void Report(string outDir, string title, string command, IReadOnlyList<ModelResult> results, string saved, IReadOnlyList<string>? plannedModels = null)
    {
        Console.WriteLine();
        Console.WriteLine(ExperimentReport.Table(results));
        ExperimentReport.Write(outDir, title, command, results, plannedModels);
        Console.WriteLine($"Wrote {Path.Combine(outDir, "results.md")}, history.csv, accuracy.png, loss.png and {saved}.");
    }

    /// <summary>Trains <paramref name="model"/> and evaluates it on the test set; saves it to <paramref name="savePath"/>.</summary>
    public static ModelResult Train(
        string label, Model model, Tensor xTrain, Tensor yTrain, Tensor xTest, Tensor yTest,
        int batch, int epochs, double validationSplit, bool testAsValidation, double? articleAccuracy, string savePath, int verbose, int seed)
    {
        var stopper = new CancelCallback();
        var sw = Stopwatch.StartNew();
        var history = model.Fit(
            xTrain, yTrain, batchSize: batch, epochs: epochs, verbose: verbose,
            validationSplit: testAsValidation ? 0 : validationSplit,
            validationData: testAsValidation ? (xTest, yTest) : null,
            callbacks: [stopper], seed: seed);
        sw.Stop();
        model.Save(savePath, includeOptimizer: true, epoch: history.Epochs.Count == 0 ? 0 : history.Epochs[^1] + 1);
        var (testLoss, testAcc) = model.Evaluate(xTest, yTest, batchSize: 512);
        double perEpoch = history.Seconds.Count == 0 ? 0 : history.Seconds.Average();
        Console.WriteLine($"{label}: test loss {testLoss:0.0000}, test accuracy {testAcc * 100:0.00} %{(articleAccuracy is { } a ? $" (article: {a * 100:0.00} %)" : string.Empty)}, {perEpoch:0.0} s/epoch; saved {savePath}");
        return new ModelResult(label, model.CountParams(), history, testLoss, testAcc, perEpoch, articleAccuracy) { EpochsPlanned = epochs };
    }

    /// <summary>Stops <c>Fit</c> after the current batch once Ctrl+C was pressed.</summary>
    internal sealed class CancelCallback : Callback
    {
        public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (BatchEnded())
            {
                TrainedModel.StopTraining = true;
            }
        }
    }

    /// <summary>A one-line progress bar on stderr for loading stages (silent when redirected).</summary>
    private sealed class ConsoleBar<T>(Func<T, (string Stage, double? Fraction, string Detail)> describe) : IProgress<T>
    {
        private long lastDraw;

        public void Report(T value)
        {
            var (stage, fraction, detail) = describe(value);
            bool done = fraction is >= 1.0;
            long now = Stopwatch.GetTimestamp();
            if (!done && Stopwatch.GetElapsedTime(lastDraw, now).TotalMilliseconds < 200)
            {
                return;
            }

            lastDraw = now;
            if (Console.IsErrorRedirected)
            {
                if (done)
                {
                    Console.Error.WriteLine($"{stage}: done ({detail})");
                }

                return;
            }

            int width = 30;
            int filled = (int)Math.Round((fraction ?? 0) * width);
            Console.Error.Write($"\r{stage} [{new string('=', filled)}{new string('.', width - filled)}] {detail}   ");
            if (done)
            {
                Console.Error.WriteLine();
            }
        }
    }
}
