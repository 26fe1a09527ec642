using System.Text.Json;
using LstmSharp.Cli;

namespace LstmSharp.Tests.Cli;

/// <summary>Every command's user errors are one line and exit code 1; options are checked before any work.</summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class CliErrorTests
{
    [Fact]
    public void UserErrorsAreOneLineWithoutDotNetSuffixes()
    {
        var error = new StringWriter();
        int rc = CliErrors.Run(() => throw new ArgumentOutOfRangeException("epochs", "epochs must be positive, got -1."), error);
        Assert.Equal(CliErrors.UserError, rc);
        string text = error.ToString();
        Assert.Equal("lstmsharp: epochs must be positive, got -1.", text.TrimEnd());
        Assert.DoesNotContain("Parameter", text);

        error = new StringWriter();
        rc = CliErrors.Run(() => JsonDocument.Parse("{\"a\": ").RootElement.GetHashCode(), error);
        Assert.Equal(CliErrors.UserError, rc);
        Assert.StartsWith("lstmsharp: invalid JSON at line 1", error.ToString());
        Assert.DoesNotContain("LineNumber", error.ToString());
        Assert.Single(error.ToString().TrimEnd().Split('\n'));
    }

    [Fact]
    public void BugsAreReportedAsInternalErrorsWithoutAStackTrace()
    {
        var error = new StringWriter();
        int rc = CliErrors.Run(() => throw new NullReferenceException("boom"), error);
        Assert.Equal(CliErrors.InternalError, rc);
        Assert.Contains("internal error (NullReferenceException): boom", error.ToString());
        Assert.DoesNotContain("   at ", error.ToString());
    }

    [Fact]
    public void TrainChecksItsOptionsBeforeLoadingAnything()
    {
        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "cli-errors-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // The model file does not exist: an option error must win, proving the options are checked first.
            string missing = Path.Combine(dir, "missing.json");
            var error = new StringWriter();
            Assert.Equal(1, Program.Run(["train", missing, "--input", "x.npy", "--epochs", "-1"], null, error));
            Assert.Equal(1, Program.Run(["train", missing, "--input", "x.npy", "--batch", "0"], null, error));
            Assert.Equal(1, Program.Run(["train", missing, "--input", "x.npy", "--validation-split", "1.5"], null, error));
            string file = Path.Combine(dir, "a-file");
            File.WriteAllText(file, "x");
            Assert.Equal(1, Program.Run(["train", missing, "--input", "x.npy", "--out", Path.Combine(file, "sub", "m.lstm")], null, error));
            Assert.Equal(1, Program.Run(["train", missing, "--input", "x.npy", "--out", dir], null, error));

            string[] lines = error.ToString().TrimEnd().Split('\n');
            Assert.Equal(5, lines.Length);
            Assert.Contains("--epochs: expected a positive integer, got -1", lines[0]);
            Assert.Contains("--batch: expected a positive integer, got 0", lines[1]);
            Assert.Contains("--validation-split", lines[2]);
            Assert.Contains("cannot write to the folder", lines[3]);
            Assert.Contains("is a folder", lines[4]);
            Assert.All(lines, l => Assert.StartsWith("lstmsharp: ", l));

            // An output folder that does not exist yet is created up front (then the missing model is the error).
            string nested = Path.Combine(dir, "new", "deeper", "m.lstm");
            Assert.Equal(1, Program.Run(["train", missing, "--input", "x.npy", "--out", nested], null, new StringWriter()));
            Assert.True(Directory.Exists(Path.GetDirectoryName(nested)));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void UsageNamesTheTool()
    {
        var output = new StringWriter();
        Assert.Equal(0, Program.Run(["--help"], output, new StringWriter()));

        Assert.Contains("lstmsharp [command] [options]", output.ToString());
        Assert.DoesNotContain("LstmSharp.Cli", output.ToString());
    }
}
