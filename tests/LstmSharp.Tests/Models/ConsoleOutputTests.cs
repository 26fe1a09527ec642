using LstmSharp.Data.Batches;
using LstmSharp.Models;
using LstmSharp.Training.Callbacks;

namespace LstmSharp.Tests.Models;

/// <summary>Tests that redirect the process-wide <see cref="Console.Out"/> run alone, after the parallel ones (whose Fit calls may print).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "Console";
}

/// <summary>The library writes to the console only when asked: Fit's verbose, a ProgbarLogger, Evaluate's verbose, Summary.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleOutputTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "console-" + Guid.NewGuid().ToString("N"));

    public ConsoleOutputTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void NothingReachesTheConsoleWithVerboseZeroEvenFromTalkativeCallbacks()
    {
        var (x, y) = TrainerTests.Data();
        var writer = new StringWriter();
        string console = Captured(() =>
        {
            TrainerTests.Classifier().Fit(x, y, batchSize: 8, epochs: 3, verbose: 0, validationSplit: 0.25, callbacks: Talkative("a"));
            TrainerTests.Classifier().Fit(x, y, new FitOptions { BatchSize = 8, Epochs = 2, ValidationSplit = 0.25, Callbacks = Talkative("b") });
            var model = TrainerTests.Classifier();
            model.Fit(new TensorBatchSource(x, y, batchSize: 8), epochs: 2, verbose: 0, validationData: new TensorBatchSource(x, y), callbacks: Talkative("c"));
            model.Evaluate(x, y);
            model.Predict(x);

            // The same callbacks with a writer installed do talk, there and not on the console.
            TrainerTests.Classifier().Fit(x, y, new FitOptions { BatchSize = 8, Epochs = 3, ValidationSplit = 0.25, Verbose = 2, Output = writer, Callbacks = Talkative("d") });
        });

        Assert.Equal(string.Empty, console);
        string text = writer.ToString();
        Assert.Contains("Epoch 1/3", text);
        Assert.Contains("Epoch 1: LearningRateScheduler setting learning rate to", text);
        Assert.Contains("Epoch 1: val_loss improved from", text);

        // An epoch's progress line comes before the messages of the callbacks at its end.
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        int progress = lines.FindIndex(l => l.StartsWith("4/4 - ", StringComparison.Ordinal));
        int saved = lines.FindIndex(l => l.Contains("val_loss improved from", StringComparison.Ordinal));
        Assert.True(progress >= 0 && saved > progress, text);
    }

    [Fact]
    public void TheKerasStyleDefaultVerboseStillShowsProgressOnTheConsole()
    {
        var (x, y) = TrainerTests.Data();
        string console = Captured(() => TrainerTests.Classifier().Fit(x, y, batchSize: 20, epochs: 2, callbacks: [new LearningRateScheduler((_, lr) => lr, verbose: 1)]));

        Assert.Contains("Epoch 1/2", console);
        Assert.Contains("Epoch 2/2", console);
        Assert.Contains("2/2 [==============================]", console);
        Assert.Contains("loss: ", console);
        Assert.Contains("LearningRateScheduler setting learning rate", console);
    }

    [Fact]
    public void AProgbarLoggerAmongTheCallbacksReplacesTheConsoleOne()
    {
        var (x, y) = TrainerTests.Data();
        var writer = new StringWriter();
        var own = new LearningRateScheduler((_, lr) => lr, verbose: 1) { Output = new StringWriter() };
        string console = Captured(() => TrainerTests.Classifier().Fit(x, y, batchSize: 20, epochs: 2, callbacks: [new ProgbarLogger(writer, 2), own]));

        Assert.Equal(string.Empty, console);
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal("Epoch 1/2", lines[0].TrimEnd());
        Assert.Matches(@"^2/2 - \d+s - loss: \d+\.\d{4} - accuracy: \d\.\d{4} - \d+s/epoch - \d+(us|ms|s)/step", lines[1]);

        // A callback given its own Output writes there, not to the Fit's writer.
        Assert.Contains("LearningRateScheduler setting learning rate", own.Output!.ToString());
    }

    private IReadOnlyList<Callback> Talkative(string tag) =>
    [
        new LearningRateScheduler((_, lr) => lr, verbose: 1),
        new ReduceLROnPlateau(monitor: "loss", patience: 0, minDelta: 10, verbose: 1),
        new ModelCheckpoint(Path.Combine(dir, tag + "-{epoch:00}.lstm"), saveBestOnly: true, verbose: 1),
        new EarlyStopping(monitor: "loss", minDelta: 10, patience: 1, verbose: 1),
        new TerminateOnNaN(),
    ];

    private static string Captured(Action action)
    {
        var saved = (Console.Out, Console.Error);
        var output = new StringWriter();
        Console.SetOut(output);
        Console.SetError(output);
        try
        {
            action();
        }
        finally
        {
            Console.SetOut(saved.Out);
            Console.SetError(saved.Error);
        }

        return output.ToString();
    }
}
