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
}
