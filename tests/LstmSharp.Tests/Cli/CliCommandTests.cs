using LstmSharp.Cli;
using LstmSharp.Cli.Inspect;

namespace LstmSharp.Tests.Cli;

/// <summary>The commands run in-process with tiny settings and leave their files behind.</summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class CliCommandTests
{
    [Fact]
    public void LongLagThenInspectWriteTheirFiles()
    {
        var dir = LongLagExperimentTests.TempDir();
        int rc = Program.Run(["experiment", "long-lag", "--task", "adding", "--lengths", "10,12", "--models", "srn,lstm-cifg", "--steps", "6",
            "--batch", "4", "--units", "4", "--test-samples", "16", "--eval-every", "3", "--out", dir, "--verbose", "0"]);
        Assert.Equal(0, rc);
        foreach (var f in new[] { "results.md", "results.csv", "curves.csv", "error-vs-T.png", "learning-curves.png", "adding-T12-lstm-cifg.lstm", "adding-T10-srn.lstm" })
        {
            Assert.True(File.Exists(Path.Combine(dir, f)), $"missing {f}");
        }

        var csv = File.ReadAllLines(Path.Combine(dir, "results.csv"));
        Assert.Equal(5, csv.Length); // header + 2 lengths × 2 models
        Assert.Contains("| adding | 12 | lstm-cifg |", File.ReadAllText(Path.Combine(dir, "results.md")));

        var inspectDir = Path.Combine(dir, "inspect");
        rc = Program.Run(["inspect", Path.Combine(dir, "adding-T12-lstm-cifg.lstm"), "--input", "adding:15", "--out", inspectDir]);
        Assert.Equal(0, rc);
        foreach (var f in GateInspection.FileNames.Append("gates.csv"))
        {
            Assert.True(File.Exists(Path.Combine(inspectDir, f)), $"missing {f}");
        }

        Assert.Equal(1 + (15 * 4), File.ReadAllLines(Path.Combine(inspectDir, "gates.csv")).Length);

        var csvInput = Path.Combine(dir, "input.csv");
        File.WriteAllLines(csvInput, ["value,marker", "0.5,1", "0.25,0", "0.75,1"]);
        var csvDir = Path.Combine(dir, "inspect-csv");
        Assert.Equal(0, Program.Run(["inspect", Path.Combine(dir, "adding-T12-lstm-cifg.lstm"), "--input", csvInput, "--out", csvDir]));
        Assert.Equal(1 + (3 * 4), File.ReadAllLines(Path.Combine(csvDir, "gates.csv")).Length);

        // A model without an LSTM is refused by name.
        var e = Assert.Throws<ArgumentException>(() => GateInspection.Run(Path.Combine(dir, "adding-T10-srn.lstm"), "adding:5", csvDir, null, 1));
        Assert.Contains("no LSTM layer", e.Message);
    }

    [Fact]
    public void Seq2SeqAdditionWritesItsFiles()
    {
        var dir = LongLagExperimentTests.TempDir();
        int rc = Program.Run(["experiment", "seq2seq-addition", "--digits", "1", "--samples", "40", "--epochs", "1", "--units", "8", "--batch", "8",
            "--reverse-source", "--beam-width", "2", "--beam-samples", "3", "--out", dir, "--verbose", "0"]);
        Assert.Equal(0, rc);
        foreach (var f in new[] { "results.md", "history.csv", "exact-match.png", "seq2seq.lstm" })
        {
            Assert.True(File.Exists(Path.Combine(dir, f)), $"missing {f}");
        }

        string md = File.ReadAllText(Path.Combine(dir, "results.md"));
        Assert.Contains("| 1 | yes | 8 | 1 |", md);
        Assert.Contains("width 2, first 3", md);
    }
}
