using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace LstmSharp.Cli.Experiments;

/// <summary>Options of the long-lag experiment (defaults are the command line's).</summary>
public sealed record LongLagSettings
{
    [CliOption("--task", "adding (MSE), copy (cross-entropy) or order (error rate).")]
    public string Task { get; init; } = "adding";

    [CliOption("--lengths", "Comma-separated time lags T.")]
    public int[] Lengths { get; init; } = [10, 50, 100, 200];

    [CliOption("--models", "Comma-separated models: " + LongLagModels.NameList + ".")]
    public string[] Models { get; init; } = ["srn", "lstm", "gru"];

    /// <summary>Optimizer steps per (model, T), each on a freshly drawn batch.</summary>
    [CliOption("--steps", "Adam steps per (model, T), each on a fresh batch.")]
    public int Steps { get; init; } = 3000;

    [CliOption("--batch", CliHelp.Batch)]
    public int Batch { get; init; } = 32;

    [CliOption("--units", CliHelp.RecurrentUnits)]
    public int Units { get; init; } = 32;

    [CliOption("--lr", CliHelp.AdamLearningRate)]
    public double LearningRate { get; init; } = 0.01;

    /// <summary>Keras <c>clipnorm</c> of Adam (per-parameter gradient norm); 0 = no clipping.</summary>
    [CliOption("--clipnorm", CliHelp.ClipNorm)]
    public double ClipNorm { get; init; } = 1.0;

    /// <summary>Size of the fixed test set per T.</summary>
    [CliOption("--test-samples", "Test sequences per T.")]
    public int TestSamples { get; init; } = 1000;

    /// <summary>Test error is measured every this many steps (and at the end).</summary>
    [CliOption("--eval-every", "Measure the test error every N steps.")]
    public int EvalEvery { get; init; } = 100;

    /// <summary>Stop a run as soon as it is solved at a check (saves time; the final error is then the one at that check).</summary>
    [CliOption("--stop-when-solved", "End a run at the first check where it is solved.")]
    public bool StopWhenSolved { get; init; }

    [CliOption("--out", "Folder for results.md, results.csv, curves.csv, error-vs-T.png, learning-curves.png and the trained models.")]
    public string Out { get; init; } = Path.Combine("results", "long-lag");

    [CliOption("--seed", CliHelp.GlobalSeed)]
    public int Seed { get; init; } = 42;

    /// <summary>0 silent, 1 one line per run, 2 also one line per check.</summary>
    [CliOption("--verbose", "0 silent, 1 a progress line per check (stderr) and a line per run, 2 a line per check.")]
    public int Verbose { get; init; } = 1;
}

/// <summary>One (task, T, model) run of the long-lag experiment.</summary>
public sealed record LongLagResult(
    string Task, int T, string Model, long Params, double Baseline, double Threshold, double FinalError, bool Solved,
    int? StepsToSolve, int StepsRun, double Seconds, IReadOnlyList<(int Step, double Error)> Curve);

/// <summary>
/// The articles' central claim as an experiment: a SimpleRNN learns to bridge short time lags
/// only, while LSTM and GRU keep learning as the lag grows. Every model gets the same budget at
/// every lag — <see cref="LongLagSettings.Steps"/> Adam steps on freshly generated batches — and
/// its test error is compared with the task's baseline (the best input-ignoring predictor).
/// </summary>
public static class LongLagExperiment
{
    /// <summary>A run counts as solved when its test error is below this fraction of the baseline.</summary>
    public const double SolvedFraction = 0.1;

    public static int Run(LongLagSettings s, string command)
    {
        var task = LongLagTask.FromName(s.Task);
        Validate(s, task);
        ExperimentRunner.InstallCancelHandler();
        Directory.CreateDirectory(s.Out);
        var results = new List<LongLagResult>();
        foreach (int t in s.Lengths)
        {
            var test = task.Generate(s.TestSamples, t, TestSeed(s.Seed, t));
            foreach (var model in s.Models)
            {
                if (ExperimentRunner.CancelRequested)
                {
                    break;
                }

                results.Add(TrainOne(task, t, model, s, test.X, test.Y));
            }
        }

        string table = Table(results, task);
        Console.WriteLine();
        Console.WriteLine(table);
        WriteResults(s, task, command, results, table);
        Console.WriteLine($"Wrote {Path.Combine(s.Out, "results.md")}, results.csv, curves.csv, error-vs-T.png and the models.");
        return ExperimentRunner.CancelRequested ? 130 : 0;
    }

    /// <summary>Trains <paramref name="modelName"/> on lag <paramref name="t"/> for the budget of <paramref name="s"/>.</summary>
    public static LongLagResult TrainOne(LongLagTask task, int t, string modelName, LongLagSettings s, Tensor xTest, Tensor yTest)
    {
        ExperimentRunner.Reseed(s.Seed);
        var model = Build(task, t, modelName, s.Units);
        var adam = s.ClipNorm > 0 ? new Adam(s.LearningRate) { ClipNorm = s.ClipNorm } : new Adam(s.LearningRate);
        model.Compile(adam, task.LossName, task.Metrics);
        double baseline = task.Baseline(t);
        double threshold = SolvedFraction * baseline;
        var curve = new List<(int Step, double Error)>();
        int? solvedAt = null;
        int step = 0;
        var sw = Stopwatch.StartNew();
        while (step < s.Steps && !ExperimentRunner.CancelRequested)
        {
            // A fresh batch every step: the model cannot memorise a training set, only learn the task.
            var batch = task.Generate(s.Batch, t, TrainSeed(s.Seed, t, step));
            double loss = model.TrainOnBatch(batch.X, batch.Y);
            step++;
            ExperimentRunner.BatchEnded();
            if (!double.IsFinite(loss))
            {
                Console.WriteLine($"{task.Name} T={t} {modelName}: loss became {loss} at step {step}; stopping this run.");
                break;
            }

            if (step % s.EvalEvery == 0 || step == s.Steps)
            {
                double error = task.Error(model, xTest, yTest);
                curve.Add((step, error));
                if (s.Verbose >= 2)
                {
                    Console.WriteLine($"  {task.Name} T={t} {modelName} step {step}: {task.ErrorName} {error:0.0000} (baseline {baseline:0.0000})");
                }
                else if (s.Verbose == 1)
                {
                    // A progress line per check on stderr (rewritten in place on a terminal): a run takes minutes.
                    double eta = sw.Elapsed.TotalSeconds / step * (s.Steps - step);
                    string line = $"{task.Name} T={t} {modelName}: step {step}/{s.Steps} - {task.ErrorName} {error:0.0000} ({error / baseline:0.000} x baseline) - {sw.Elapsed.TotalSeconds:0}s - ETA {eta:0}s";
                    if (Console.IsErrorRedirected)
                    {
                        Console.Error.WriteLine(line);
                    }
                    else
                    {
                        Console.Error.Write("\r" + line.PadRight(100));
                    }
                }

                if (solvedAt is null && error < threshold)
                {
                    solvedAt = step;
                    if (s.StopWhenSolved)
                    {
                        break;
                    }
                }
            }
        }

        sw.Stop();
        if (s.Verbose == 1 && !Console.IsErrorRedirected && curve.Count > 0)
        {
            Console.Error.Write("\r" + new string(' ', 100) + "\r");
        }

        if (curve.Count == 0 || curve[^1].Step != step)
        {
            curve.Add((step, task.Error(model, xTest, yTest)));
        }

        double final = curve[^1].Error;
        bool solved = final < threshold;
        model.Save(Path.Combine(s.Out, $"{task.Name}-T{t}-{modelName}.lstm"), includeOptimizer: false);
        var result = new LongLagResult(task.Name, t, modelName, model.CountParams(), baseline, threshold, final, solved, solvedAt, step, sw.Elapsed.TotalSeconds, curve);
        if (s.Verbose >= 1)
        {
            Console.WriteLine($"{task.Name} T={t} {modelName}: {task.ErrorName} {final:0.0000} vs baseline {baseline:0.0000} -> {(solved ? "solved" : "not solved")}{(solvedAt is { } a ? $" (first below {threshold:0.0000} at step {a})" : string.Empty)}, {step} steps in {sw.Elapsed.TotalSeconds:0.0} s");
        }

        return result;
    }

    /// <summary>Recurrent layer → the task's head; the input is <c>[T', features]</c>.</summary>
    public static Sequential Build(LongLagTask task, int t, string modelName, int units)
    {
        var model = new Sequential();
        model.Add(LongLagModels.Create(modelName, units, [task.SequenceLength(t), task.Features], task.PerStepOutput));
        foreach (var layer in task.Head())
        {
            model.Add(layer);
        }

        return model;
    }

    public static string Table(IReadOnlyList<LongLagResult> results, LongLagTask task)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"| task | T | model | params | test {task.ErrorName} | baseline | error / baseline | solved (< {SolvedFraction:0.0}·baseline) | steps to solve | steps run | seconds |");
        sb.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            sb.Append("| ").Append(r.Task)
              .Append(" | ").Append(r.T.ToString(CultureInfo.InvariantCulture))
              .Append(" | ").Append(r.Model)
              .Append(" | ").Append(r.Params.ToString("N0", CultureInfo.InvariantCulture))
              .Append(" | ").Append(F(r.FinalError))
              .Append(" | ").Append(F(r.Baseline))
              .Append(" | ").Append((r.FinalError / r.Baseline).ToString("0.000", CultureInfo.InvariantCulture))
              .Append(" | ").Append(r.Solved ? "yes" : "no")
              .Append(" | ").Append(r.StepsToSolve is { } a ? a.ToString(CultureInfo.InvariantCulture) : "—")
              .Append(" | ").Append(r.StepsRun.ToString(CultureInfo.InvariantCulture))
              .Append(" | ").Append(r.Seconds.ToString("0.0", CultureInfo.InvariantCulture))
              .AppendLine(" |");
        }

        return sb.ToString();
    }

    private static string StoppedWhere(LongLagSettings s, IReadOnlyList<LongLagResult> results)
    {
        var planned = s.Lengths.SelectMany(t => s.Models.Select(m => (T: t, Model: m))).ToList();
        var notRun = planned.Where(p => !results.Any(r => r.T == p.T && r.Model == p.Model)).Select(p => $"{p.Model} T={p.T}").ToList();
        string where = results.Count == 0 ? "before the first run" : $"at step {results[^1].StepsRun} of {s.Steps} of {results[^1].Model} T={results[^1].T}";
        return notRun.Count == 0 ? where : $"{where}; not run: {string.Join(", ", notRun)}";
    }

    private static void WriteResults(LongLagSettings s, LongLagTask task, string command, IReadOnlyList<LongLagResult> results, string table)
    {
        var md = ExperimentReport.Begin($"Long time lags: {task.Name}", StoppedWhere(s, results), command);
        md.AppendLine($"Budget per run: {s.Steps} Adam steps (learning rate {F(s.LearningRate)}, clipnorm {(s.ClipNorm > 0 ? F(s.ClipNorm) : "off")}) on fresh batches of {s.Batch}; {s.Units} units; test set of {s.TestSamples} sequences per T, checked every {s.EvalEvery} steps{(s.StopWhenSolved ? "; a run stops at the first check where it is solved" : string.Empty)}.");
        md.AppendLine($"Solved = test {task.ErrorName} below {SolvedFraction:0.0} × the baseline (the error of the best predictor that ignores the input); \"steps to solve\" is the first check where that held.").AppendLine();
        md.AppendLine(table);
        md.AppendLine("![error vs T](error-vs-T.png)").AppendLine();
        md.AppendLine("![learning curves](learning-curves.png)").AppendLine();
        md.AppendLine($"Machine: {ExperimentReport.Machine}; total {results.Sum(r => r.Seconds):0} s of training.");
        File.WriteAllText(Path.Combine(s.Out, "results.md"), md.ToString());

        var csv = new StringBuilder("task,T,model,params,final_error,baseline,threshold,solved,steps_to_solve,steps_run,seconds\n");
        foreach (var r in results)
        {
            csv.Append(r.Task).Append(',').Append(r.T).Append(',').Append(r.Model).Append(',').Append(r.Params)
               .Append(',').Append(R(r.FinalError)).Append(',').Append(R(r.Baseline)).Append(',').Append(R(r.Threshold))
               .Append(',').Append(r.Solved ? "yes" : "no").Append(',').Append(r.StepsToSolve?.ToString(CultureInfo.InvariantCulture) ?? string.Empty)
               .Append(',').Append(r.StepsRun).Append(',').Append(r.Seconds.ToString("0.###", CultureInfo.InvariantCulture)).Append('\n');
        }

        File.WriteAllText(Path.Combine(s.Out, "results.csv"), csv.ToString());

        var curves = new StringBuilder("task,T,model,step,error\n");
        foreach (var r in results)
        {
            foreach (var (step, error) in r.Curve)
            {
                curves.Append(r.Task).Append(',').Append(r.T).Append(',').Append(r.Model).Append(',').Append(step).Append(',').Append(R(error)).Append('\n');
            }
        }

        File.WriteAllText(Path.Combine(s.Out, "curves.csv"), curves.ToString());
        Plot(Path.Combine(s.Out, "error-vs-T.png"), task, results);
        LearningCurves(Path.Combine(s.Out, "learning-curves.png"), task, results);
    }

    /// <summary>Error ÷ baseline against training step for every run: a colour per model, a line pattern per T.</summary>
    private static void LearningCurves(string path, LongLagTask task, IReadOnlyList<LongLagResult> results)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var models = results.Select(r => r.Model).Distinct().ToList();
        var lengths = results.Select(r => r.T).Distinct().Order().ToList();
        ScottPlot.LinePattern[] patterns = [ScottPlot.LinePattern.Solid, ScottPlot.LinePattern.Dashed, ScottPlot.LinePattern.Dotted, ScottPlot.LinePattern.DenselyDashed];
        foreach (var r in results.Where(r => r.Curve.Count > 0))
        {
            var line = plot.Add.Scatter(r.Curve.Select(c => (double)c.Step).ToArray(), r.Curve.Select(c => c.Error / r.Baseline).ToArray());
            line.Color = palette.GetColor(models.IndexOf(r.Model));
            line.LinePattern = patterns[lengths.IndexOf(r.T) % patterns.Length];
            line.MarkerSize = 0;
            line.LegendText = $"{r.Model} T={r.T}";
        }

        var solvedLine = plot.Add.HorizontalLine(SolvedFraction);
        solvedLine.LinePattern = ScottPlot.LinePattern.Dashed;
        solvedLine.Color = ScottPlot.Colors.Gray;
        solvedLine.LegendText = $"solved below {SolvedFraction:0.0}";
        plot.Title($"{task.Name}: test {task.ErrorName} / baseline during training");
        plot.XLabel("training step");
        plot.YLabel($"{task.ErrorName} / baseline");
        Charts.IntegerTicksOnX(plot);
        Charts.LegendBeside(plot);
        plot.SavePng(path, 1000, 560);
    }

    private static void Plot(string path, LongLagTask task, IReadOnlyList<LongLagResult> results)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var models = results.Select(r => r.Model).Distinct().ToArray();
        for (int m = 0; m < models.Length; m++)
        {
            var rs = results.Where(r => r.Model == models[m]).OrderBy(r => r.T).ToArray();
            var line = plot.Add.Scatter(rs.Select(r => (double)r.T).ToArray(), rs.Select(r => r.FinalError / r.Baseline).ToArray());
            line.LegendText = models[m];
            line.Color = palette.GetColor(m);
            line.MarkerSize = 7;
        }

        var solvedLine = plot.Add.HorizontalLine(SolvedFraction);
        solvedLine.LinePattern = ScottPlot.LinePattern.Dashed;
        solvedLine.Color = ScottPlot.Colors.Gray;
        solvedLine.LegendText = $"solved below {SolvedFraction:0.0}";
        var baseLine = plot.Add.HorizontalLine(1.0);
        baseLine.LinePattern = ScottPlot.LinePattern.Dotted;
        baseLine.Color = ScottPlot.Colors.Black;
        baseLine.LegendText = "baseline";
        plot.Title($"{task.Name}: test {task.ErrorName} / baseline after a fixed budget");
        plot.XLabel("time lag T");
        plot.YLabel($"{task.ErrorName} / baseline");
        plot.Axes.SetLimitsY(0, Math.Max(1.2, results.Count == 0 ? 1.2 : results.Max(r => r.FinalError / r.Baseline) * 1.05));
        Charts.LegendBeside(plot);
        plot.SavePng(path, 1000, 560);
    }

    private static void Validate(LongLagSettings s, LongLagTask task)
    {
        static void Positive(string name, int value)
        {
            if (value <= 0)
            {
                throw new ArgumentOutOfRangeException(name, $"long-lag: {name} must be a positive integer, got {value}.");
            }
        }

        Positive("--steps", s.Steps);
        Positive("--batch", s.Batch);
        Positive("--units", s.Units);
        Positive("--test-samples", s.TestSamples);
        Positive("--eval-every", s.EvalEvery);
        if (s.Lengths.Length == 0 || s.Models.Length == 0)
        {
            throw new ArgumentException("long-lag: --lengths and --models need at least one entry each.");
        }

        foreach (int t in s.Lengths)
        {
            if (t < task.MinLength)
            {
                throw new ArgumentOutOfRangeException("--lengths", $"long-lag: task {task.Name} needs T >= {task.MinLength}, got {t}.");
            }
        }

        foreach (var m in s.Models)
        {
            if (!LongLagModels.Names.Contains(m.ToLowerInvariant()))
            {
                throw new ArgumentException($"long-lag: unknown model '{m}'; expected one of {LongLagModels.NameList}.");
            }
        }

        if (!(s.LearningRate > 0) || !(s.ClipNorm >= 0))
        {
            throw new ArgumentOutOfRangeException("--lr", $"long-lag: --lr must be > 0 and --clipnorm >= 0, got {s.LearningRate} and {s.ClipNorm}.");
        }
    }

    private static long TrainSeed(int seed, int t, int step) => ((long)seed * 1_000_003L) + ((long)t * 10_000_019L) + step;

    private static long TestSeed(int seed, int t) => -1 - TrainSeed(seed, t, 0);

    private static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
