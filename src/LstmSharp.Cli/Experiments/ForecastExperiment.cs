using System.Diagnostics;
using System.Globalization;
using System.Text;
using LstmSharp.Data.Batches;

namespace LstmSharp.Cli.Experiments;

/// <summary>Settings of <c>lstmsharp experiment forecast</c>.</summary>
public sealed record ForecastSettings
{
    [CliOption("--csv", "The CSV file (header row; numbers in the invariant culture).", Required = true)]
    public required string Csv { get; init; }

    [CliOption("--time-column", "The date/time column (ISO 8601, yyyy/MM/dd[ HH:mm], yyyyMMdd, yyyy, or --time-format).")]
    public string? TimeColumn { get; init; }

    [CliOption("--target", "The column to forecast.", Required = true)]
    public required string Target { get; init; }

    /// <summary>Input columns (null: the target only).</summary>
    [CliOption("--features", "Comma-separated input columns (default: the target only).")]
    public IReadOnlyList<string>? Features { get; init; }

    [CliOption("--lookback", "Input steps per forecast.")]
    public int Lookback { get; init; } = 24;

    [CliOption("--horizon", "Steps forecast ahead.")]
    public int Horizon { get; init; } = 1;

    /// <summary>direct (Dense(horizon)), recursive (one step fed back) or seq2seq (encoder-decoder).</summary>
    [CliOption("--strategy", "direct (Dense(horizon)), recursive (1 step fed back) or seq2seq.")]
    public string Strategy { get; init; } = "direct";

    /// <summary>Season length of the seasonal-naive baseline; null: detected from the autocorrelation of the training part.</summary>
    [CliOption("--period", "Season length of the seasonal-naive baseline (default: detected from the autocorrelation).")]
    public int? Period { get; init; }

    [CliOption("--units", CliHelp.LstmUnits)]
    public int Units { get; init; } = 64;

    [CliOption("--layers", "Stacked LSTM layers.")]
    public int Layers { get; init; } = 1;

    /// <summary>Add a linear path from the (normalised) lookback to the output beside the LSTM (LSTNet's autoregressive component).</summary>
    [CliOption("--linear-skip", "Add a linear path from the lookback to the output (LSTNet's autoregressive component).")]
    public bool LinearSkip { get; init; }

    [CliOption("--epochs", "Maximum epochs (early stopping on val_loss).")]
    public int Epochs { get; init; } = 100;

    [CliOption("--batch", CliHelp.Batch)]
    public int Batch { get; init; } = 32;

    [CliOption("--lr", CliHelp.AdamLearningRate)]
    public double LearningRate { get; init; } = 0.001;

    [CliOption("--loss", "Training loss: mse or mae.")]
    public string Loss { get; init; } = "mse";

    [CliOption("--patience", "Early-stopping patience in epochs.")]
    public int Patience { get; init; } = 10;

    [CliOption("--validation", "Fraction of the series before the test part used for validation.")]
    public double Validation { get; init; } = 0.1;

    [CliOption("--test", "Fraction of the series at its end used for testing.")]
    public double Test { get; init; } = 0.2;

    [CliOption("--interpolate", "Fill missing values and missing time steps linearly (listed) instead of failing.")]
    public bool Interpolate { get; init; }

    [CliOption("--time-format", "The .NET exact format of the time column (e.g. dd.MM.yyyy).")]
    public string? TimeFormat { get; init; }

    [CliOption("--out", "Folder for results.md, history.csv, forecast.png and model.lstm.")]
    public string Out { get; init; } = Path.Combine("results", "forecast");

    [CliOption("--seed", CliHelp.Seed)]
    public int Seed { get; init; } = 42;

    [CliOption("--verbose", "0 silent, 1 progress bar, 2 one line per epoch.")]
    public int Verbose { get; init; } = 2;
}

/// <summary>
/// <c>lstmsharp experiment forecast</c>: an LSTM forecaster on a CSV series beside the three
/// baselines (persistence, seasonal naive, linear AR on the lookback) on the same chronological
/// test part; writes results.md (per-step errors), history.csv, forecast.png and the model.
/// </summary>
public static class ForecastExperiment
{
    public static int Run(ForecastSettings s, string command)
    {
        Validate(s);
        var columns = (s.Features ?? [s.Target]).ToList();
        if (!columns.Contains(s.Target))
        {
            columns.Add(s.Target);
        }

        var table = SeriesCsv.Read(s.Csv, new SeriesCsvOptions { TimeColumn = s.TimeColumn, Columns = columns, TimeFormat = s.TimeFormat, Interpolate = s.Interpolate });
        foreach (var r in table.Repairs)
        {
            Console.WriteLine($"{s.Csv}: {r}");
        }

        int inputs = s.Features?.Count ?? 1;
        var features = new Tensor(table.Length, inputs);
        for (int f = 0; f < inputs; f++)
        {
            var col = table.Column(columns[f]);
            for (int t = 0; t < table.Length; t++)
            {
                features[t, f] = col[t];
            }
        }

        var y = table.Column(s.Target);
        if (s.Lookback + s.Horizon > y.Length)
        {
            throw new ArgumentException($"--lookback {s.Lookback} + --horizon {s.Horizon} = {s.Lookback + s.Horizon} steps, but {s.Csv} has only {y.Length} rows.");
        }

        if (s.Strategy == "recursive" && (inputs != 1 || columns[0] != s.Target))
        {
            throw new ArgumentException("--strategy recursive feeds its forecasts back as inputs, so the only feature must be the target (drop --features).");
        }

        var split = ChronologicalSplit.Create(y.Length, s.Validation, s.Test);
        Rng.SetGlobalSeed(s.Seed);
        Layer.ClearSession();
        int trainHorizon = s.Strategy == "recursive" ? 1 : s.Horizon;
        var windows = new ForecastWindows(features, y, s.Lookback, trainHorizon);
        var train = windows.Part(0, split.TrainEnd, s.Batch, shuffle: true, seed: s.Seed);
        var val = s.Validation > 0 ? windows.Part(split.TrainEnd, split.TestStart, 256) : null;
        var scoring = new ForecastWindows(features, y, s.Lookback, s.Horizon);
        var test = scoring.Part(split.TestStart, y.Length, 256);
        var testOrigins = scoring.Origins(test);
        var actual = scoring.Actuals(testOrigins);

        var model = Build(s, features.Slice(0, split.TrainEnd), y.AsSpan(0, split.TrainEnd), inputs, trainHorizon);
        if (s.LinearSkip)
        {
            WarmStartLinearPath(model, train, columns.IndexOf(s.Target), inputs);
        }

        model.Compile(new Adam((float)s.LearningRate), s.Loss, ["mae"]);
        if (s.Verbose > 0)
        {
            model.Summary();
        }

        var stopper = new EarlyStopping(val is null ? "loss" : "val_loss", patience: s.Patience, restoreBestWeights: true);
        ExperimentRunner.InstallCancelHandler();
        var history = model.Fit(train, s.Epochs, s.Verbose, val, callbacks: [stopper, new ExperimentRunner.CancelCallback()]);
        double secondsPerEpoch = history.Seconds.Average();

        // The windowing cost: reading one epoch of training batches without training on them.
        var clock = Stopwatch.StartNew();
        int batches = train.ReadEpoch(0).Count();
        double batchSeconds = clock.Elapsed.TotalSeconds;

        var forecast = s.Strategy == "recursive" ? Recursive(model, y, testOrigins, s.Lookback, s.Horizon) : ToArray2D(model.Predict(test));
        var errors = ForecastErrors.Compute(actual, forecast);

        // Baselines on the same origins; the AR sees every window whose targets precede the test part.
        var trainOrigins = scoring.Origins(scoring.Part(0, split.TestStart));
        int period = s.Period ?? Baselines.DetectPeriod(y.AsSpan(0, split.TestStart), Math.Min(split.TestStart / 2, 1000)) ?? 1;
        var baselines = new (string Name, ForecastErrors Errors)[]
        {
            ("persistence", ForecastErrors.Compute(actual, Baselines.Persistence(y, testOrigins, s.Horizon))),
            ($"seasonal naive (period {period}{(s.Period is null ? ", detected" : string.Empty)})", ForecastErrors.Compute(actual, Baselines.SeasonalNaive(y, testOrigins, s.Horizon, period))),
            ($"linear AR({s.Lookback})", ForecastErrors.Compute(actual, Baselines.FitAutoregression(y, trainOrigins, s.Lookback, s.Horizon).Forecast(y, testOrigins))),
        };

        Directory.CreateDirectory(s.Out);
        string modelPath = Path.Combine(s.Out, "model.lstm");
        model.Save(modelPath);
        WriteHistory(Path.Combine(s.Out, "history.csv"), history);
        Plot(Path.Combine(s.Out, "forecast.png"), s, table, testOrigins, actual, forecast);
        string md = Markdown(s, command, table, split, testOrigins.Length, stopper, history, secondsPerEpoch, batches, batchSeconds, errors, baselines, model.CountParams());
        File.WriteAllText(Path.Combine(s.Out, "results.md"), md);
        Console.WriteLine(md);
        return ExperimentRunner.CancelRequested ? 130 : 0;
    }

    private static void Validate(ForecastSettings s)
    {
        if (s.Horizon <= 0)
        {
            throw new ArgumentException($"--horizon must be at least 1 step, got {s.Horizon}.");
        }

        if (s.Lookback <= 0)
        {
            throw new ArgumentException($"--lookback must be at least 1 step, got {s.Lookback}.");
        }

        if (s.Strategy is not ("direct" or "recursive" or "seq2seq"))
        {
            throw new ArgumentException($"--strategy must be direct, recursive or seq2seq, got '{s.Strategy}'.");
        }

        if (s.Units <= 0 || s.Layers <= 0 || s.Epochs <= 0 || s.Batch <= 0 || !(s.LearningRate > 0))
        {
            throw new ArgumentException($"--units, --layers, --epochs, --batch and --lr must be positive, got {s.Units}, {s.Layers}, {s.Epochs}, {s.Batch} and {s.LearningRate}.");
        }

        if (s.Period is <= 0)
        {
            throw new ArgumentException($"--period must be positive, got {s.Period}.");
        }
    }

    private static Model Build(ForecastSettings s, Tensor trainFeatures, ReadOnlySpan<float> trainTarget, int inputs, int horizon)
    {
        var normalize = new Normalization(name: "normalize");
        normalize.Adapt(trainFeatures);
        var targetStats = new Normalization(name: "target_stats");
        targetStats.Adapt(Tensor.From(trainTarget.ToArray()));
        float mean = targetStats.Mean!.Value.Span[0], variance = targetStats.Variance!.Value.Span[0];
        var denormalize = new Normalization(Enumerable.Repeat(mean, horizon).ToArray(), Enumerable.Repeat(variance, horizon).ToArray(), invert: true, name: "denormalize");

        var input = Input.Create([s.Lookback, inputs], "window");
        var x = normalize.Apply(input);
        var h = x;
        for (int l = 0; l < s.Layers; l++)
        {
            bool last = l == s.Layers - 1;
            h = new LSTM(s.Units, returnSequences: !last, name: $"encoder_{l}").Apply(h);
        }

        SymbolicTensor output;
        if (s.Strategy == "seq2seq")
        {
            var d = new RepeatVector(horizon).Apply(h);
            d = new LSTM(s.Units, returnSequences: true, name: "decoder").Apply(d);
            d = new TimeDistributed(new Dense(1)).Apply(d);
            output = new Reshape([horizon]).Apply(d);
        }
        else
        {
            // With the linear path the model starts as the least-squares AR, and the LSTM learns what it misses.
            output = new Dense(horizon, kernelInitializer: s.LinearSkip ? "zeros" : "glorot_uniform", name: "forecast").Apply(h);
        }

        if (s.LinearSkip)
        {
            var linear = new Dense(horizon, name: "linear_skip").Apply(new Flatten().Apply(x));
            output = new Add().Apply([output, linear]);
        }

        return new Functional([input], [denormalize.Apply(output)], name: "forecaster");
    }

    /// <summary>
    /// Sets the linear path to the least-squares fit of the normalised targets on the normalised
    /// lags of the target itself (LSTNet's autoregressive component; the other features' weights
    /// start at zero), so training starts from the linear AR and early stopping on the validation
    /// part keeps it unless the LSTM improves on it.
    /// </summary>
    private static void WarmStartLinearPath(Model model, TimeseriesDataset train, int targetFeature, int features)
    {
        var normalize = (Normalization)model.Layers.First(l => l.Name == "normalize");
        var denormalize = (Normalization)model.Layers.First(l => l.Name == "denormalize");
        var linear = (Dense)model.Layers.First(l => l.Name == "linear_skip");
        var (x, y) = train.ToTensors();
        var xn = normalize.Apply(x);
        int m = x.Dim(0), lags = x.Dim(1), horizon = y!.Length / m;
        var a = new double[m, lags + 1];
        var b = new double[m, horizon];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < lags; j++)
            {
                a[i, j] = xn.Span[(((i * lags) + j) * features) + targetFeature];
            }

            a[i, lags] = 1;
            for (int h = 0; h < horizon; h++)
            {
                float mean = denormalize.Mean!.Value.Span[h], sd = MathF.Sqrt(denormalize.Variance!.Value.Span[h]);
                b[i, h] = (y.Span[(i * horizon) + h] - mean) / sd;
            }
        }

        // A small ridge (in normalised units) keeps the fit unique when lags repeat each other.
        var coef = LeastSquares.Solve(a, b, ridge: 1e-3 * m);
        var kernel = new Tensor(lags * features, horizon);
        var bias = new Tensor(horizon);
        for (int h = 0; h < horizon; h++)
        {
            for (int j = 0; j < lags; j++)
            {
                kernel[(j * features) + targetFeature, h] = (float)coef[j, h];
            }

            bias[h] = (float)coef[lags, h];
        }

        linear.SetWeights([kernel, bias]);
    }

    /// <summary>Feeds each one-step forecast back as the newest input until the horizon is reached.</summary>
    private static float[,] Recursive(Model model, float[] y, int[] origins, int lookback, int horizon)
    {
        var f = new float[origins.Length, horizon];
        var window = new Tensor(origins.Length, lookback, 1);
        for (int i = 0; i < origins.Length; i++)
        {
            for (int j = 0; j < lookback; j++)
            {
                window[i, j, 0] = y[origins[i] - lookback + 1 + j];
            }
        }

        for (int h = 0; h < horizon; h++)
        {
            var next = model.Predict(window, 256);
            for (int i = 0; i < origins.Length; i++)
            {
                f[i, h] = next.Span[i];
                window.Span.Slice((i * lookback) + 1, lookback - 1).CopyTo(window.Span.Slice(i * lookback, lookback - 1));
                window[i, lookback - 1, 0] = next.Span[i];
            }
        }

        return f;
    }

    private static float[,] ToArray2D(Tensor t) => t.Rank == 2 ? t.ToArray2D() : t.Reshape(t.Dim(0), -1).ToArray2D();

    private static void WriteHistory(string path, History h)
    {
        var keys = new[] { "loss", "mae", "val_loss", "val_mae" }.Where(h.Contains).ToArray();
        var csv = new StringBuilder("epoch,").Append(string.Join(',', keys)).Append(",seconds\n");
        for (int i = 0; i < h.Epochs.Count; i++)
        {
            csv.Append(h.Epochs[i] + 1);
            foreach (var k in keys)
            {
                csv.Append(',').Append(h[k][i].ToString("R", CultureInfo.InvariantCulture));
            }

            csv.Append(',').Append(h.Seconds[i].ToString("0.###", CultureInfo.InvariantCulture)).Append('\n');
        }

        File.WriteAllText(path, csv.ToString());
    }

    private static void Plot(string path, ForecastSettings s, SeriesTable table, int[] origins, float[,] actual, float[,] forecast)
    {
        var plot = new ScottPlot.Plot();
        int horizon = actual.GetLength(1);
        double[] X(int step) => origins.Select(o => table.Times is { } t ? t[o + step].ToOADate() : o + step).ToArray();
        double[] Col(float[,] a, int step) => Enumerable.Range(0, origins.Length).Select(i => (double)a[i, step - 1]).ToArray();
        var truth = plot.Add.Scatter(X(1), Col(actual, 1));
        truth.LegendText = "actual";
        truth.MarkerSize = 0;
        truth.Color = ScottPlot.Colors.Black;
        var one = plot.Add.Scatter(X(1), Col(forecast, 1));
        one.LegendText = "forecast 1 step ahead";
        one.MarkerSize = 0;
        if (horizon > 1)
        {
            var last = plot.Add.Scatter(X(horizon), Col(forecast, horizon));
            last.LegendText = $"forecast {horizon} steps ahead";
            last.MarkerSize = 0;
        }

        if (table.Times is not null)
        {
            plot.Axes.DateTimeTicksBottom();
        }

        plot.Title($"{Path.GetFileName(s.Csv)}: {s.Target}, test period ({s.Strategy}, lookback {s.Lookback})");
        plot.YLabel(s.Target);
        plot.ShowLegend();
        plot.SavePng(path, 1100, 500);
    }

    private static string Markdown(
        ForecastSettings s, string command, SeriesTable table, ChronologicalSplit split, int testWindows, EarlyStopping stopper, History history,
        double secondsPerEpoch, int batches, double batchSeconds, ForecastErrors model, (string Name, ForecastErrors Errors)[] baselines, long parameters)
    {
        static string F(double v) => double.IsNaN(v) ? "—" : v.ToString("0.00", CultureInfo.InvariantCulture);
        var md = ExperimentReport.Begin($"Forecast: {s.Target} in {Path.GetFileName(s.Csv)}", ExperimentRunner.DuringEpoch(history, s.Epochs), command);
        md.AppendLine($"{table.Length} steps{(table.TimeStep is { } st ? $" (step {st})" : string.Empty)}; inputs {string.Join(", ", s.Features ?? [s.Target])}; lookback {s.Lookback}, horizon {s.Horizon}, strategy {s.Strategy}.");
        md.AppendLine($"Chronological split: train [0, {split.TrainEnd}), validation [{split.TrainEnd}, {split.TestStart}), test [{split.TestStart}, {split.Length}) — {testWindows} test forecasts (every origin whose {s.Horizon} targets lie in the test part).");
        md.AppendLine($"Model: {s.Layers}×LSTM({s.Units}){(s.LinearSkip ? " + linear skip" : string.Empty)}, {parameters:N0} weights, Adam {s.LearningRate.ToString(CultureInfo.InvariantCulture)}, loss {s.Loss}, batch {s.Batch}; {history.Epochs.Count} epochs (best {stopper.BestEpoch + 1}, early stopping on {(s.Validation > 0 ? "val_loss" : "loss")}, patience {s.Patience}), {secondsPerEpoch:0.00} s/epoch.");
        md.AppendLine($"Building one epoch's {batches} training batches (windowing): {batchSeconds * 1000:0.0} ms = {100 * batchSeconds / secondsPerEpoch:0.00} % of an epoch.").AppendLine();
        md.AppendLine("| forecaster | MAE | RMSE | MAPE % | sMAPE % |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: |");
        md.AppendLine($"| **LSTM ({s.Strategy})** | **{F(model.MeanMae)}** | {F(model.MeanRmse)} | {F(model.MeanMape)} | {F(model.MeanSmape)} |");
        foreach (var (name, e) in baselines)
        {
            md.AppendLine($"| {name} | {F(e.MeanMae)} | {F(e.MeanRmse)} | {F(e.MeanMape)} | {F(e.MeanSmape)} |");
        }

        md.AppendLine().AppendLine("MAE per horizon step:").AppendLine();
        md.Append("| step | LSTM |").AppendLine(string.Concat(baselines.Select(b => $" {b.Name} |")));
        md.Append("| ---: | ---: |").AppendLine(string.Concat(baselines.Select(_ => " ---: |")));
        for (int h = 0; h < s.Horizon; h++)
        {
            md.Append($"| {h + 1} | {F(model.Mae[h])} |").AppendLine(string.Concat(baselines.Select(b => $" {F(b.Errors.Mae[h])} |")));
        }

        var best = baselines.MinBy(b => b.Errors.MeanMae);
        md.AppendLine().AppendLine(model.MeanMae < best.Errors.MeanMae
            ? $"The LSTM beats every baseline on MAE ({F(model.MeanMae)} vs the best baseline, {best.Name}, {F(best.Errors.MeanMae)})."
            : $"A baseline wins: {best.Name} has MAE {F(best.Errors.MeanMae)}, the LSTM {F(model.MeanMae)}.");
        md.AppendLine().AppendLine("MAPE skips actual values of zero. Machine: " + $"{Environment.ProcessorCount} cores (shared), .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        return md.ToString();
    }
}
