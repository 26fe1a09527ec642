using LstmSharp.Models;

namespace LstmSharp.Tests.Models;

/// <summary>The per-epoch line counts the batches that actually ran.</summary>
public class ProgressLineTests
{
    private static readonly KeyValuePair<string, double>[] Logs = [new("loss", 0.5)];

    [Fact]
    public void AFullEpochShowsTheTotal()
    {
        var w = new StringWriter();
        var p = new ProgressLine(w, 10, verbose: 2, interactive: false);
        for (int i = 1; i <= 10; i++)
        {
            p.Update(i, Logs);
        }

        p.Finish(Logs);
        Assert.StartsWith("10/10 - ", w.ToString());
        Assert.Contains("loss: 0.5000", w.ToString());
    }

    [Theory]
    [InlineData(1, " 3/10 [========>")]
    [InlineData(2, "3/10 - ")]
    public void AnEpochStoppedMidwayShowsTheBatchesThatRan(int verbose, string start)
    {
        var w = new StringWriter();
        var p = new ProgressLine(w, 10, verbose, interactive: false);
        for (int i = 1; i <= 3; i++)
        {
            p.Update(i, Logs);
        }

        p.Finish(Logs);
        Assert.StartsWith(start, w.ToString());
    }

    [Fact]
    public void AnUnknownTotalShowsTheCountThatRan()
    {
        var w = new StringWriter();
        var p = new ProgressLine(w, 0, verbose: 2, interactive: false);
        for (int i = 1; i <= 7; i++)
        {
            p.Update(i, Logs);
        }

        p.Finish(Logs);
        Assert.StartsWith("7/7 - ", w.ToString());
    }
}
