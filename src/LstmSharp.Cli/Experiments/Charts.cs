namespace LstmSharp.Cli.Experiments;

/// <summary>The one look of every chart the CLI writes: integer epoch ticks, legends beside the data.</summary>
internal static class Charts
{
    /// <summary>Whole-number ticks on the x axis (epochs, steps): never "2.5".</summary>
    public static void IntegerTicksOnX(ScottPlot.Plot plot) =>
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

    /// <summary>
    /// The legend to the right of the data area (it never covers a curve), with samples long enough
    /// to show a line's pattern (dashed train vs solid validation).
    /// </summary>
    public static void LegendBeside(ScottPlot.Plot plot)
    {
        plot.Legend.SymbolWidth = 40;
        plot.ShowLegend(ScottPlot.Edge.Right);
    }

    /// <summary>Finishes and saves a per-epoch chart: title, axis labels, integer epoch ticks, the legend beside, y from 0 to <paramref name="yMax"/> when given.</summary>
    public static void SaveEpochChart(ScottPlot.Plot plot, string title, string yLabel, string path, int width, double? yMax = null)
    {
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel(yLabel);
        if (yMax is { } max)
        {
            plot.Axes.SetLimitsY(0, max);
        }

        IntegerTicksOnX(plot);
        LegendBeside(plot);
        plot.SavePng(path, width, 560);
    }
}
