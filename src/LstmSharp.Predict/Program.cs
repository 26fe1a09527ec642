using System.Diagnostics;
using System.Globalization;
using System.Text;
using LstmSharp.Data;
using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Predict;

/// <summary>
/// <c>lstmsharp-predict MODEL.lstm [INPUT.csv|-]</c>: runs a saved model on CSV rows (one sample per
/// row, the sample's [time, features] values flattened time-major; a first non-numeric row is a
/// header) read from a file or standard input, and writes one CSV row of outputs per sample.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length is < 1 or > 2 || args[0] is "-h" or "--help")
        {
            Console.Error.WriteLine("usage: lstmsharp-predict MODEL.lstm [INPUT.csv|-]   (CSV rows from the file, or from standard input)");
            return args.Length == 1 && args[0] is "-h" or "--help" ? 0 : 1;
        }

        try
        {
            var start = Stopwatch.GetTimestamp();
            var model = Model.Load(args[0]);
            string? input = args.Length == 2 && args[1] != "-" ? args[1] : null;
            string csv = input is null ? ReadStdinToTempFile() : input;
            try
            {
                var x = ArrayFiles.Load(csv, InputShape(model));
                var y = model.Predict(x, batchSize: 256);
                WriteCsv(y);
            }
            finally
            {
                if (input is null)
                {
                    File.Delete(csv);
                }
            }

            if (Environment.GetEnvironmentVariable("LSTMSHARP_TIMING") == "1")
            {
                Console.Error.WriteLine($"lstmsharp-predict: {Stopwatch.GetElapsedTime(start).TotalMilliseconds:0.0} ms from start to the last row");
            }

            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or InvalidOperationException or NotSupportedException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"lstmsharp-predict: {e.Message}");
            return 1;
        }
    }

    private static int[]? InputShape(Model model) => model switch
    {
        Sequential s when s.Layers.Count > 0 => s.Layers[0].InputShape ?? s.Layers[0].BuiltInputShapes?[0],
        Functional f when f.InputShapes.Count == 1 => f.InputShapes[0],
        _ => null,
    } is { } shape && shape.All(d => d > 0) ? shape : null;

    private static string ReadStdinToTempFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"lstmsharp-predict-{Environment.ProcessId}.csv");
        using var stdin = Console.OpenStandardInput();
        using var file = File.Create(path);
        stdin.CopyTo(file);
        return path;
    }

    private static void WriteCsv(Tensor y)
    {
        int rows = y.Dim(0);
        int cols = y.Length / Math.Max(rows, 1);
        var span = y.Span;
        using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16);
        var line = new StringBuilder();
        for (int i = 0; i < rows; i++)
        {
            line.Clear();
            for (int j = 0; j < cols; j++)
            {
                if (j > 0)
                {
                    line.Append(',');
                }

                line.Append(span[(i * cols) + j].ToString("R", CultureInfo.InvariantCulture));
            }

            stdout.WriteLine(line);
        }
    }
}
