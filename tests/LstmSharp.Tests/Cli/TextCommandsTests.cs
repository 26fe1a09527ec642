using System.Text;
using LstmSharp.Cli;
using LstmSharp.Cli.Experiments;
using LstmSharp.Models;

namespace LstmSharp.Tests.Cli;

[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class TextCommandsTests
{
    private static string Corpus(string dir)
    {
        string path = Path.Combine(dir, "corpus.txt");
        var sb = new StringBuilder();
        for (int i = 0; i < 60; i++)
        {
            sb.Append(i % 3 == 0 ? "ROMEO: to be or not to be.\n" : "JULIET: that is the question!\n");
        }

        File.WriteAllText(path, sb.ToString());
        return path;
    }

    [Fact]
    public void CharLmWritesItsFilesAndGenerateContinuesAPrime()
    {
        var dir = LongLagExperimentTests.TempDir();
        string text = Corpus(dir);
        string outDir = Path.Combine(dir, "out");
        int rc = Program.Run(["experiment", "char-lm", "--text", text, "--seq-len", "16", "--batch", "8", "--units", "12", "--embedding", "4",
            "--layers", "2", "--epochs", "3", "--lr", "0.02", "--sample-length", "20", "--sample-prime", "ROMEO:", "--out", outDir, "--verbose", "0"]);
        Assert.Equal(0, rc);
        foreach (var f in new[] { "results.md", "history.csv", "loss.png", "char-lm.lstm" })
        {
            Assert.True(File.Exists(Path.Combine(outDir, f)), $"missing {f}");
        }

        var csv = File.ReadAllLines(Path.Combine(outDir, "history.csv"));
        Assert.Equal(4, csv.Length);
        var fields = csv[3].Split(',');
        double nats = double.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture);
        double bits = double.Parse(fields[4], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(nats / Math.Log(2), bits, 1e-9);
        int vocabulary = File.ReadAllText(text).Distinct().Count();
        Assert.True(nats < Math.Log(vocabulary) - 0.5, $"validation {nats} nats/char is not well below a uniform guess over {vocabulary} characters"); // learnt something in 3 epochs
        string md = File.ReadAllText(Path.Combine(outDir, "results.md"));
        Assert.Contains("Temperature 0.5:", md);
        Assert.Contains("| 3 |", md);

        var model = Model.Load(Path.Combine(outDir, "char-lm.lstm"));
        Assert.Equal("character", model.TextVectorization!.Split);
        string generated = new TextGenerator(model).Generate("ROMEO:", 30, new SamplingOptions(0.8, TopK: 5, TopP: 0.95), 3);
        Assert.Equal(36, generated.Length);
        Assert.Equal(0, Program.Run(["generate", Path.Combine(outDir, "char-lm.lstm"), "--prime", "ROMEO:", "--length", "30", "--temperature", "0.8", "--top-k", "5", "--seed", "3"]));

        // User errors: exit code 1, no stack trace.
        var error = new StringWriter();
        Assert.Equal(1, Program.Run(["generate", Path.Combine(outDir, "char-lm.lstm"), "--prime", "ROMEO#", "--length", "5"], TextWriter.Null, error));
        Assert.Contains("prime character '#' (U+0023) at position 5 is not in the model's vocabulary", error.ToString());
        Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(1, Program.Run(["generate", Path.Combine(outDir, "char-lm.lstm"), "--prime", "R", "--temperature", "-1"]));
        Assert.Equal(1, Program.Run(["generate", Path.Combine(dir, "missing.lstm"), "--prime", "R"]));
    }

    [Fact]
    public void BadTextFilesAreOneClearErrorAndWriteNothing()
    {
        var dir = LongLagExperimentTests.TempDir();
        string invalid = Path.Combine(dir, "latin1.txt");
        File.WriteAllBytes(invalid, [.. Encoding.ASCII.GetBytes("First line\nCaf"), 0xE9, .. Encoding.ASCII.GetBytes(" au lait\n")]);
        string outDir = Path.Combine(dir, "out");
        var e = Assert.Throws<InvalidDataException>(() => CharLmExperiment.Run(new CharLmSettings { Text = invalid, Out = outDir }, "test"));
        Assert.Contains("latin1.txt", e.Message);
        Assert.Contains("byte offset 14", e.Message);
        Assert.Contains("line 2", e.Message);
        var error = new StringWriter();
        Assert.Equal(1, Program.Run(["experiment", "char-lm", "--text", invalid, "--out", outDir, "--verbose", "0"], TextWriter.Null, error));
        Assert.Contains("invalid UTF-8 at byte offset 14 (line 2", error.ToString());
        Assert.False(Directory.Exists(outDir));

        string empty = Path.Combine(dir, "empty.txt");
        File.WriteAllText(empty, string.Empty);
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => CharLmExperiment.Run(new CharLmSettings { Text = empty, Out = outDir }, "test")).Message);

        string tiny = Path.Combine(dir, "tiny.txt");
        File.WriteAllText(tiny, "abcdefgh");
        Assert.Contains("--seq-len", Assert.Throws<ArgumentException>(() => CharLmExperiment.Run(new CharLmSettings { Text = tiny, Out = outDir }, "test")).Message);
        Assert.Equal(1, Program.Run(["experiment", "char-lm", "--text", Path.Combine(dir, "none.txt"), "--out", outDir]));
        Assert.False(Directory.Exists(outDir));
    }
}
