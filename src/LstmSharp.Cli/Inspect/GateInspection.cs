using System.Globalization;
using System.Text;

namespace LstmSharp.Cli.Inspect;

/// <summary>
/// <c>lstmsharp inspect</c>: runs one input through the first LSTM layer of a saved model and
/// draws each gate's activations as a units × time heatmap (what the cell writes, keeps, shows).
/// </summary>
public static class GateInspection
{
    /// <summary>File names of the heatmaps, in the order of <see cref="LstmGateRecording.Named"/>.</summary>
    public static readonly IReadOnlyList<string> FileNames = ["gate-i.png", "gate-f.png", "gate-o.png", "candidate.png", "cell.png", "hidden.png"];

    public static int Run(string modelPath, string input, string outDir, string? dataPath, int seed)
    {
        var model = Model.Load(modelPath);
        var (lstm, before) = FirstLstm(model, modelPath);
        var layout = lstm.Layout!;
        int features = layout.InputSize;
        var x = ReadInput(input, dataPath, seed);
        if (x.Rank == 2)
        {
            x = x.Reshape([1, .. x.ShapeArray]);
        }

        foreach (var layer in before)
        {
            x = layer.Apply(x, training: false);
        }

        if (x.Rank != 3 || x.Dim(0) != 1 || x.Dim(2) != features)
        {
            throw new ArgumentException($"inspect: LSTM '{lstm.Name}' of {modelPath} takes [time, {features}] features per step; the input '{input}' gives {Tensor.FormatShape(x.Shape)}.");
        }

        var recording = LstmGateRecorder.Record(lstm, x);
        Directory.CreateDirectory(outDir);
        var md = new StringBuilder();
        md.AppendLine($"# Gates of LSTM '{lstm.Name}' ({layout.Units} units, variant {Describe(lstm.Variant)})").AppendLine();
        md.AppendLine($"Model: {modelPath}; input: {input} ({recording.Time} steps{(lstm.GoBackwards ? ", read backwards: columns are processing order" : string.Empty)}).").AppendLine();
        int n = 0;
        foreach (var (name, values) in recording.Named)
        {
            string file = FileNames[n++];
            Heatmap(Path.Combine(outDir, file), $"{lstm.Name}: {name}", values);
            md.AppendLine($"## {name}").AppendLine().AppendLine($"![{name}]({file})").AppendLine();
        }

        WriteCsv(Path.Combine(outDir, "gates.csv"), recording);
        File.WriteAllText(Path.Combine(outDir, "gates.md"), md.ToString());
        Console.WriteLine($"Recorded {recording.Time} steps of LSTM '{lstm.Name}' ({layout.Units} units); wrote {string.Join(", ", FileNames)}, gates.csv and gates.md to {outDir}.");
        return 0;
    }

    /// <summary>
    /// The input: a CSV file (one row per step, one column per feature, an optional header),
    /// or a generated sample: <c>adding:T</c>, <c>copy:T</c>, <c>order:T</c>, <c>mnist:index</c> (test image, row by row).
    /// </summary>
    public static Tensor ReadInput(string input, string? dataPath, int seed)
    {
        ArgumentException.ThrowIfNullOrEmpty(input);
        int colon = input.IndexOf(':', StringComparison.Ordinal);
        string kind = colon > 0 ? input[..colon].ToLowerInvariant() : string.Empty;
        if (kind is "adding" or "copy" or "order" or "mnist")
        {
            string arg = input[(colon + 1)..];
            if (!int.TryParse(arg, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < 0)
            {
                throw new ArgumentException($"inspect --input: '{input}': expected {kind}:{(kind == "mnist" ? "index" : "T")} with a non-negative integer, got '{arg}'.");
            }

            return kind switch
            {
                "adding" => AddingProblem.Generate(1, value, seed).X,
                "copy" => CopyTask.Generate(1, value, seed).X,
                "order" => TemporalOrderTask.Generate(1, value, seed).X,
                _ => MnistImage(value, dataPath),
            };
        }

        if (!File.Exists(input))
        {
            throw new FileNotFoundException($"inspect --input: '{input}' is neither a CSV file nor adding:T, copy:T, order:T or mnist:index.", input);
        }

        return ReadCsv(input);
    }

    /// <summary>A CSV of numbers: rows are time steps, columns features; a first line that is not numeric is a header.</summary>
    public static Tensor ReadCsv(string path)
    {
        var rows = new List<float[]>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var cells = line.Split(',', StringSplitOptions.TrimEntries);
            var values = new float[cells.Length];
            bool numeric = true;
            for (int k = 0; k < cells.Length && numeric; k++)
            {
                numeric = float.TryParse(cells[k], NumberStyles.Float, CultureInfo.InvariantCulture, out values[k]);
            }

            if (!numeric)
            {
                if (rows.Count == 0 && lineNo == 1)
                {
                    continue; // header
                }

                throw new FormatException($"inspect --input {path}: line {lineNo} is not a row of numbers: '{raw}'.");
            }

            if (rows.Count > 0 && values.Length != rows[0].Length)
            {
                throw new FormatException($"inspect --input {path}: line {lineNo} has {values.Length} values, the first row has {rows[0].Length}.");
            }

            rows.Add(values);
        }

        if (rows.Count == 0)
        {
            throw new FormatException($"inspect --input {path}: no rows of numbers.");
        }

        var x = new Tensor(rows.Count, rows[0].Length);
        for (int t = 0; t < rows.Count; t++)
        {
            rows[t].CopyTo(x.Span.Slice(t * rows[0].Length, rows[0].Length));
        }

        return x;
    }

    private static Tensor MnistImage(int index, string? dataPath)
    {
        var data = Mnist.LoadData(options: ExperimentRunner.DataOptions(dataPath));
        if (index >= data.TestImages.Dim(0))
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"inspect --input mnist:{index}: the test set has {data.TestImages.Dim(0)} images.");
        }

        return data.TestImages.Slice(index, 1);
    }

    /// <summary>The first LSTM of the model and, for a Sequential model, the layers before it.</summary>
    private static (LSTM Lstm, IReadOnlyList<Layer> Before) FirstLstm(Model model, string path)
    {
        var layers = model.Layers;
        int index = -1;
        for (int k = 0; k < layers.Count && index < 0; k++)
        {
            if (layers[k] is LSTM)
            {
                index = k;
            }
        }

        if (index < 0)
        {
            throw new ArgumentException($"inspect: model {path} has no LSTM layer (layers: {string.Join(", ", layers.Select(l => $"{l.Name} ({l.ClassName})"))}).");
        }

        if (model is not Sequential && index > 0)
        {
            throw new NotSupportedException($"inspect: in the functional model {path} the first LSTM '{layers[index].Name}' is not the first layer; only Sequential models can feed it through earlier layers.");
        }

        return ((LSTM)layers[index], layers.Take(index).ToArray());
    }

    private static void Heatmap(string path, string title, Tensor values)
    {
        int time = values.Dim(0), units = values.Dim(1);
        var data = new double[units, time];
        for (int t = 0; t < time; t++)
        {
            for (int j = 0; j < units; j++)
            {
                // ScottPlot draws row 0 at the top; the y axis counts up, so unit j goes in row units-1-j.
                data[units - 1 - j, t] = values[t, j];
            }
        }

        var plot = new ScottPlot.Plot();
        var map = plot.Add.Heatmap(data);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        var bar = plot.Add.ColorBar(map);
        bar.Label = "value";
        plot.Title(title);
        plot.XLabel("time step");
        LstmSharp.Cli.Experiments.Charts.IntegerTicksOnX(plot);
        plot.YLabel("unit");
        plot.SavePng(path, Math.Clamp(300 + (6 * time), 600, 1600), Math.Clamp(200 + (8 * units), 400, 1200));
    }

    private static void WriteCsv(string path, LstmGateRecording r)
    {
        var sb = new StringBuilder("step,unit,i,f,o,candidate,c,h\n");
        for (int t = 0; t < r.Time; t++)
        {
            for (int j = 0; j < r.Units; j++)
            {
                sb.Append(t).Append(',').Append(j);
                foreach (var (_, v) in r.Named)
                {
                    sb.Append(',').Append(v[t, j].ToString("R", CultureInfo.InvariantCulture));
                }

                sb.Append('\n');
            }
        }

        File.WriteAllText(path, sb.ToString());
    }

    private static string Describe(LstmVariant v) =>
        v == LstmVariant.Standard with { Activation = v.Activation, RecurrentActivation = v.RecurrentActivation } ? "standard" : v.ToString();
}
