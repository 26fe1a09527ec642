using LstmSharp.Cli;
using LstmSharp.Cli.Experiments;

namespace LstmSharp.Tests.Cli;

/// <summary>
/// An experiment stopped by Ctrl+C says so in results.md (where it stopped, what never ran), and results.md
/// records the command as the user ran it. Ctrl+C is simulated after a number of batches
/// (<see cref="ExperimentRunner.CancelAfterBatchesForTests"/>), a process-wide switch: these tests run alone.
/// </summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class InterruptedExperimentTests
{
    [Fact]
    public void LongLagStoppedByCtrlCSaysWhereItStoppedAndWhatNeverRan()
    {
        var dir = LongLagExperimentTests.TempDir();
        string[] args =
        [
            "experiment", "long-lag", "--task", "adding", "--lengths", "10", "--models", "lstm,gru", "--steps", "20", "--batch", "4",
            "--units", "3", "--eval-every", "5", "--test-samples", "20", "--out", dir, "--verbose", "0",
        ];
        int code;
        try
        {
            ExperimentRunner.CancelAfterBatchesForTests = 7;
            code = Program.Run(args);
        }
        finally
        {
            ExperimentRunner.CancelAfterBatchesForTests = 0;
        }

        Assert.Equal(130, code);
        string md = File.ReadAllText(Path.Combine(dir, "results.md"));
        Assert.Contains("**Stopped by Ctrl+C** at step 7 of 20 of lstm T=10; not run: gru T=10.", md);
        Assert.Contains("lstmsharp " + string.Join(' ', args.Select(Program.ShellQuote)), md);
    }

    [Fact]
    public void Seq2SeqStoppedByCtrlCSaysTheEpoch()
    {
        var dir = LongLagExperimentTests.TempDir();
        int code;
        try
        {
            // 80 questions, 8 held out: 72 train in 5 batches of 16 per epoch, so the 7th batch ends inside epoch 2.
            ExperimentRunner.CancelAfterBatchesForTests = 7;
            code = Program.Run(
            [
                "experiment", "seq2seq-addition", "--digits", "2", "--samples", "80", "--epochs", "4", "--batch", "16", "--units", "8",
                "--beam-width", "1", "--out", dir, "--verbose", "0",
            ]);
        }
        finally
        {
            ExperimentRunner.CancelAfterBatchesForTests = 0;
        }

        Assert.Equal(130, code);
        string md = File.ReadAllText(Path.Combine(dir, "results.md"));
        Assert.Contains("**Stopped by Ctrl+C** during epoch 2 of 4.", md);
    }

    [Fact]
    public void AnUninterruptedRunSaysNothingAboutStopping()
    {
        var dir = LongLagExperimentTests.TempDir();
        int code = Program.Run(
        [
            "experiment", "long-lag", "--task", "adding", "--lengths", "10", "--models", "lstm", "--steps", "4", "--batch", "4",
            "--units", "3", "--eval-every", "2", "--test-samples", "20", "--out", dir, "--verbose", "0",
        ]);
        Assert.Equal(0, code);
        Assert.DoesNotContain("Stopped", File.ReadAllText(Path.Combine(dir, "results.md")));
    }

    [Theory]
    [InlineData("/home/ada/.dotnet/tools/lstmsharp", "lstmsharp experiment mnist-rnn --out 'my results' --models srn")]
    [InlineData("/src/lstmsharp/src/LstmSharp.Cli/bin/Release/net10.0/LstmSharp.Cli", "dotnet run -c Release --project src/LstmSharp.Cli -- experiment mnist-rnn --out 'my results' --models srn")]
    [InlineData(null, "lstmsharp experiment mnist-rnn --out 'my results' --models srn")]
    public void TheRecordedCommandIsTheOneThatRan(string? processPath, string expected)
    {
        string got = Program.CommandLine(["experiment", "mnist-rnn", "--out", "my results", "--models", "srn"], processPath);
        Assert.Equal(expected.Replace("Release", Configuration, StringComparison.Ordinal), got);
    }

    [Fact]
    public void ShellQuotingRoundTripsQuotesAndSpaces()
    {
        Assert.Equal("plain-arg_1.csv", Program.ShellQuote("plain-arg_1.csv"));
        Assert.Equal("''", Program.ShellQuote(string.Empty));
        Assert.Equal("'it'\\''s here'", Program.ShellQuote("it's here"));
        Assert.Equal("'$HOME'", Program.ShellQuote("$HOME"));
    }

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif
}
