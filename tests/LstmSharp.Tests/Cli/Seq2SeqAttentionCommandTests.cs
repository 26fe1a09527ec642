using LstmSharp.Cli;
using LstmSharp.Cli.Experiments;
using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Cli;

/// <summary>
/// <c>experiment seq2seq-attention</c>: a tiny run writes every file and reports both models; Ctrl+C
/// (simulated after a number of batches, a process-wide switch, hence the collection) stops it with
/// the note; bad options end in exit code 1 with a message naming the option.
/// </summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class Seq2SeqAttentionCommandTests
{
    [Fact]
    public void ATinyRunWritesEveryFileAndBothModelsRows()
    {
        var dir = LongLagExperimentTests.TempDir();
        string[] args =
        [
            "experiment", "seq2seq-attention", "--min-length", "4", "--max-length", "6", "--vocabulary", "5", "--samples", "40",
            "--epochs", "2", "--batch", "8", "--units", "6", "--out", dir, "--verbose", "0",
        ];
        Assert.Equal(0, Program.Run(args));
        foreach (var f in new[] { "results.md", "history.csv", "exact-match.png", "attention-heatmap.png", "with-attention.lstm", "without-attention.lstm" })
        {
            Assert.True(new FileInfo(Path.Combine(dir, f)).Length > 0, $"missing or empty {f}");
        }

        string md = File.ReadAllText(Path.Combine(dir, "results.md"));
        Assert.Contains("| without attention |", md);
        Assert.Contains("| with attention |", md);
        Assert.Contains("lstmsharp " + string.Join(' ', args.Select(Program.ShellQuote)), md);
        Assert.DoesNotContain("Stopped", md);

        // 4 held out of 40; one row per model and epoch, exact match and token accuracy are fractions.
        var rows = File.ReadAllLines(Path.Combine(dir, "history.csv"));
        Assert.Equal("model,epoch,loss,accuracy,exact_match,token_accuracy,seconds", rows[0]);
        Assert.Equal(["without attention,1", "without attention,2", "with attention,1", "with attention,2"], rows.Skip(1).Select(r => string.Join(',', r.Split(',').Take(2))));
        foreach (var r in rows.Skip(1))
        {
            var cells = r.Split(',');
            double em = double.Parse(cells[4], System.Globalization.CultureInfo.InvariantCulture);
            double ta = double.Parse(cells[5], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(em, 0, 1);
            Assert.InRange(ta, 0, 1);
        }

        // The saved attention model loads and holds an Attention layer; the plain one does not.
        Assert.Contains("Attention", Model.Load(Path.Combine(dir, "with-attention.lstm")).Layers.Select(l => l.ClassName));
        Assert.DoesNotContain("Attention", Model.Load(Path.Combine(dir, "without-attention.lstm")).Layers.Select(l => l.ClassName));
    }

    [Fact]
    public void TheDataIsTheReversalAndTheScoreCountsWholeSequences()
    {
        var data = Seq2SeqAttentionExperiment.Generate(50, 3, 7, 4, new Random(1));
        for (int i = 0; i < data.Samples; i++)
        {
            int len = data.Lengths[i];
            Assert.InRange(len, 3, 7);
            for (int t = 0; t < len; t++)
            {
                Assert.Equal(data.Source[i, 7 - 1 - t], data.Target[i, t]); // pre-padded source read backwards
                Assert.InRange((int)data.Target[i, t], Seq2SeqAttentionExperiment.FirstContent, Seq2SeqAttentionExperiment.FirstContent + 3);
            }

            Assert.Equal(Seq2SeqAttentionExperiment.End, (int)data.Target[i, len]);
            Assert.Equal(Seq2SeqAttentionExperiment.Start, (int)data.DecoderInput[i, 0]);
            Assert.Equal(data.Target[i, 0], data.DecoderInput[i, 1]);
        }

        // Perfect decoding scores 1; one wrong token in one sequence loses that sequence only.
        var perfect = Enumerable.Range(0, data.Samples).Select(i => Enumerable.Range(0, 8).Select(t => (int)data.Target[i, t]).ToArray()).ToArray();
        Assert.Equal((1.0, 1.0), Seq2SeqAttentionExperiment.Score(perfect, data));
        perfect[0][0] = perfect[0][0] == 3 ? 4 : 3;
        var (em, ta) = Seq2SeqAttentionExperiment.Score(perfect, data);
        Assert.Equal(49.0 / 50, em, 12);
        Assert.True(ta is < 1 and > 0.97, $"token accuracy {ta}");
    }

    [Fact]
    public void CtrlCStopsItWithTheNote()
    {
        var dir = LongLagExperimentTests.TempDir();
        int code;
        try
        {
            // 40 sequences, 4 held out: 36 train in 5 batches of 8 per epoch, so the 7th batch ends in epoch 2 of the plain model.
            ExperimentRunner.CancelAfterBatchesForTests = 7;
            code = Program.Run(
            [
                "experiment", "seq2seq-attention", "--min-length", "4", "--max-length", "6", "--samples", "40", "--epochs", "3",
                "--batch", "8", "--units", "6", "--out", dir, "--verbose", "0",
            ]);
        }
        finally
        {
            ExperimentRunner.CancelAfterBatchesForTests = 0;
        }

        Assert.Equal(130, code);
        string md = File.ReadAllText(Path.Combine(dir, "results.md"));
        Assert.Contains("**Stopped by Ctrl+C** during epoch 2 of 3 of without attention; not trained: with attention.", md);
        Assert.Contains("| without attention |", md);
        Assert.DoesNotContain("| with attention |", md);
        Assert.True(File.Exists(Path.Combine(dir, "exact-match.png")));
        Assert.False(File.Exists(Path.Combine(dir, "attention-heatmap.png")));
    }

    [Theory]
    [InlineData("--min-length", "0")]
    [InlineData("--max-length", "3")]
    [InlineData("--vocabulary", "1")]
    [InlineData("--samples", "1")]
    [InlineData("--epochs", "0")]
    [InlineData("--batch", "0")]
    [InlineData("--units", "-4")]
    [InlineData("--lr", "0")]
    [InlineData("--task", "sorting")]
    [InlineData("--digits", "9")]
    public void BadOptionsFailWithAMessageNamingTheOption(string option, string value)
    {
        var dir = LongLagExperimentTests.TempDir();
        var error = new StringWriter();
        var options = new Dictionary<string, string> { ["--min-length"] = "4", ["--max-length"] = "6", ["--samples"] = "40", ["--epochs"] = "1", ["--out"] = dir, ["--verbose"] = "0" };
        options[option] = value;
        int code = Program.Run(["experiment", "seq2seq-attention", .. options.SelectMany(o => new[] { o.Key, o.Value })], null, error);
        Assert.Equal(1, code);
        string message = error.ToString().Trim();
        Assert.Contains(option, message);
        Assert.Single(message.Split('\n'));
        Assert.False(File.Exists(Path.Combine(dir, "results.md")), "validated before anything is written");
    }

    [Fact]
    public void TheAdditionTaskEncodesQuestionAndSumAsTokens()
    {
        var data = Seq2SeqAttentionExperiment.Addition([(535, 61), (7, 993), (0, 4)], 3);
        const string symbols = "0123456789+";
        string Text(Tensor t, int row) => string.Concat(Enumerable.Range(0, t.Dim(1)).Select(c => (int)t[row, c])
            .Where(v => v >= Seq2SeqAttentionExperiment.FirstContent).Select(v => symbols[v - Seq2SeqAttentionExperiment.FirstContent]));
        Assert.Equal(["535+61", "7+993", "0+4"], Enumerable.Range(0, 3).Select(i => Text(data.Source, i)));
        Assert.Equal(["596", "1000", "4"], Enumerable.Range(0, 3).Select(i => Text(data.Target, i)));
        Assert.Equal([3, 4, 1], data.Lengths);
        Assert.Equal(7, data.Source.Dim(1));
        Assert.Equal(Seq2SeqAttentionExperiment.Pad, (int)data.Source[0, 0]); // pre-padded: "535+61" is 6 of 7
        Assert.Equal(Seq2SeqAttentionExperiment.End, (int)data.Target[1, 4]);
        Assert.Equal(Seq2SeqAttentionExperiment.Start, (int)data.DecoderInput[2, 0]);
        Assert.Equal(data.Target[0, 0], data.DecoderInput[0, 1]);
    }

    [Fact]
    public void ATinyAdditionRunWritesTheAdditionResults()
    {
        var dir = LongLagExperimentTests.TempDir();
        string[] args = ["experiment", "seq2seq-attention", "--task", "addition", "--digits", "2", "--samples", "60", "--epochs", "1", "--batch", "8", "--units", "6", "--out", dir, "--verbose", "0"];
        Assert.Equal(0, Program.Run(args));
        string md = File.ReadAllText(Path.Combine(dir, "results.md"));
        Assert.Contains("# Sequence to sequence with attention: addition", md);
        Assert.Contains("Addition of numbers of 1–2 digits", md);
        Assert.Contains("| with attention |", md);
        Assert.True(new FileInfo(Path.Combine(dir, "attention-heatmap.png")).Length > 0);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "history.csv")).Length); // header + one epoch per model
    }
}
