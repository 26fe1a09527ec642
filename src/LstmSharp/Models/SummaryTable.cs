using System.Globalization;
using System.Text;

namespace LstmSharp.Models;

/// <summary>One row of <see cref="SummaryTable"/>: a layer, its type, output shape and parameter count.</summary>
/// <param name="Name">Keras automatic or given name, e.g. <c>lstm_1</c>.</param>
/// <param name="TypeName">Class name, e.g. <c>LSTM</c>.</param>
/// <param name="OutputShape">Keras's notation with the batch as None, e.g. <c>(None, 28, 128)</c>.</param>
/// <param name="Params">Number of weights (trainable and not).</param>
/// <param name="ConnectedTo">Inbound layers, for functional models; null for Sequential.</param>
public sealed record SummaryRow(string Name, string TypeName, string OutputShape, long Params, string? ConnectedTo = null);

/// <summary>
/// Renders Keras's classic <c>model.summary()</c> table (fixed-width columns: Sequential at 65
/// characters with column stops at 45% and 85%; functional at 98 with a "Connected to" column).
/// </summary>
public static class SummaryTable
{
    public static string Render(string modelName, IReadOnlyList<SummaryRow> rows, long trainable, long nonTrainable, bool functional = false)
    {
        int lineLength = functional ? 98 : 65;
        double[] stops = functional ? [0.33, 0.55, 0.67, 1.0] : [0.45, 0.85, 1.0];
        int[] positions = stops.Select(p => (int)(lineLength * p)).ToArray();
        string[] header = functional
            ? ["Layer (type)", "Output Shape", "Param #", "Connected to"]
            : ["Layer (type)", "Output Shape", "Param #"];

        var sb = new StringBuilder();
        sb.Append("Model: \"").Append(modelName).Append("\"\n");
        sb.Append('_', lineLength).Append('\n');
        AppendRow(sb, header, positions);
        sb.Append('=', lineLength).Append('\n');
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];

            // Keras lists a functional layer's inbound tensors one per line, the first beside the layer.
            string[] connections = (row.ConnectedTo ?? string.Empty).Split(", ");
            string[] fields = functional
                ? [$"{row.Name} ({row.TypeName})", row.OutputShape, row.Params.ToString(CultureInfo.InvariantCulture), connections[0]]
                : [$"{row.Name} ({row.TypeName})", row.OutputShape, row.Params.ToString(CultureInfo.InvariantCulture)];
            AppendRow(sb, fields, positions);
            for (int c = 1; functional && c < connections.Length; c++)
            {
                AppendRow(sb, [string.Empty, string.Empty, string.Empty, connections[c]], positions);
            }
            sb.Append(r == rows.Count - 1 ? '=' : '_', lineLength).Append('\n');
        }

        if (rows.Count == 0)
        {
            sb.Append('=', lineLength).Append('\n');
        }

        sb.Append("Total params: ").Append(Thousands(trainable + nonTrainable)).Append('\n');
        sb.Append("Trainable params: ").Append(Thousands(trainable)).Append('\n');
        sb.Append("Non-trainable params: ").Append(Thousands(nonTrainable)).Append('\n');
        sb.Append('_', lineLength).Append('\n');
        return sb.ToString();
    }

    /// <summary>Keras writes the batch dimension as None: <c>(None, 28, 128)</c>; unknown dims too.</summary>
    public static string FormatShape(IReadOnlyList<int?> shapeWithBatch)
    {
        var parts = shapeWithBatch.Select(d => d is { } v && v >= 0 ? v.ToString(CultureInfo.InvariantCulture) : "None").ToArray();
        return parts.Length == 1 ? $"({parts[0]},)" : $"({string.Join(", ", parts)})";
    }

    private static void AppendRow(StringBuilder sb, IReadOnlyList<string> fields, IReadOnlyList<int> positions)
    {
        var line = new StringBuilder();
        for (int i = 0; i < fields.Count; i++)
        {
            if (i > 0)
            {
                // Keras truncates the previous column so that the next starts at its stop, and
                // keeps one space before it so that a full column never runs into the next.
                line.Length = Math.Min(line.Length, positions[i - 1]);
                line.Append(' ', positions[i - 1] - line.Length);
                line[^1] = ' ';
            }

            line.Append(fields[i]);
        }

        line.Length = Math.Min(line.Length, positions[^1]);
        line.Append(' ', positions[^1] - line.Length);
        sb.Append(line.ToString().TrimEnd()).Append('\n');
    }

    private static string Thousands(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
