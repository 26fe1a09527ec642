using System.CommandLine;

namespace LstmSharp.Cli;

/// <summary><c>lstmsharp experiment forecast</c>: an LSTM forecaster on a CSV series beside its baselines.</summary>
internal static class ForecastCommands
{
    internal static Command Create(string[] args)
    {
        var d = new ForecastSettings { Csv = string.Empty, Target = string.Empty };
        var csv = new Option<string>("--csv") { Description = "The CSV file (header row; numbers in the invariant culture).", Required = true };
        var timeColumn = new Option<string?>("--time-column") { Description = "The date/time column (ISO 8601, yyyy/MM/dd[ HH:mm], yyyyMMdd, yyyy, or --time-format)." };
        var target = new Option<string>("--target") { Description = "The column to forecast.", Required = true };
        var features = new Option<string?>("--features") { Description = "Comma-separated input columns (default: the target only)." };
        var lookback = new Option<int>("--lookback") { Description = "Input steps per forecast.", DefaultValueFactory = _ => d.Lookback };
        var horizon = new Option<int>("--horizon") { Description = "Steps forecast ahead.", DefaultValueFactory = _ => d.Horizon };
        var strategy = new Option<string>("--strategy") { Description = "direct (Dense(horizon)), recursive (1 step fed back) or seq2seq.", DefaultValueFactory = _ => d.Strategy };
        var period = new Option<int?>("--period") { Description = "Season length of the seasonal-naive baseline (default: detected from the autocorrelation)." };
        var units = new Option<int>("--units") { Description = "LSTM units.", DefaultValueFactory = _ => d.Units };
        var layers = new Option<int>("--layers") { Description = "Stacked LSTM layers.", DefaultValueFactory = _ => d.Layers };
        var skip = new Option<bool>("--linear-skip") { Description = "Add a linear path from the lookback to the output (LSTNet's autoregressive component)." };
        var epochs = new Option<int>("--epochs") { Description = "Maximum epochs (early stopping on val_loss).", DefaultValueFactory = _ => d.Epochs };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => d.Batch };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => d.LearningRate };
        var loss = new Option<string>("--loss") { Description = "Training loss: mse or mae.", DefaultValueFactory = _ => d.Loss };
        var patience = new Option<int>("--patience") { Description = "Early-stopping patience in epochs.", DefaultValueFactory = _ => d.Patience };
        var validation = new Option<double>("--validation") { Description = "Fraction of the series before the test part used for validation.", DefaultValueFactory = _ => d.Validation };
        var test = new Option<double>("--test") { Description = "Fraction of the series at its end used for testing.", DefaultValueFactory = _ => d.Test };
        var interpolate = new Option<bool>("--interpolate") { Description = "Fill missing values and missing time steps linearly (listed) instead of failing." };
        var timeFormat = new Option<string?>("--time-format") { Description = "The .NET exact format of the time column (e.g. dd.MM.yyyy)." };
        var outDir = new Option<string>("--out") { Description = "Folder for results.md, history.csv, forecast.png and model.lstm.", DefaultValueFactory = _ => d.Out };
        var seed = new Option<int>("--seed") { Description = "Global seed.", DefaultValueFactory = _ => d.Seed };
        var verbose = new Option<int>("--verbose") { Description = "0 silent, 1 progress bar, 2 one line per epoch.", DefaultValueFactory = _ => d.Verbose };
        var cmd = new Command("forecast", "LSTM forecaster on a CSV series beside persistence, seasonal naive and linear AR baselines (chronological split).")
        {
            csv, timeColumn, target, features, lookback, horizon, strategy, period, units, layers, skip, epochs, batch, lr, loss, patience, validation, test, interpolate, timeFormat, outDir, seed, verbose,
        };
        cmd.SetAction(r => ModelCommands.Run(() => ForecastExperiment.Run(
            new ForecastSettings
            {
                Csv = r.GetValue(csv)!,
                TimeColumn = r.GetValue(timeColumn),
                Target = r.GetValue(target)!,
                Features = r.GetValue(features)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                Lookback = r.GetValue(lookback),
                Horizon = r.GetValue(horizon),
                Strategy = r.GetValue(strategy)!,
                Period = r.GetValue(period),
                Units = r.GetValue(units),
                Layers = r.GetValue(layers),
                LinearSkip = r.GetValue(skip),
                Epochs = r.GetValue(epochs),
                Batch = r.GetValue(batch),
                LearningRate = r.GetValue(lr),
                Loss = r.GetValue(loss)!,
                Patience = r.GetValue(patience),
                Validation = r.GetValue(validation),
                Test = r.GetValue(test),
                Interpolate = r.GetValue(interpolate),
                TimeFormat = r.GetValue(timeFormat),
                Out = r.GetValue(outDir)!,
                Seed = r.GetValue(seed),
                Verbose = r.GetValue(verbose),
            },
            Program.CommandLineOf(args))));
        return cmd;
    }
}
