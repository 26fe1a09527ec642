using System.CommandLine;
using System.Numerics;
using System.Reflection;
using System.Runtime.Intrinsics;
using LstmSharp.Cli.Experiments;

namespace LstmSharp.Cli;

internal static class Program
{
    private static int Main(string[] args) => Run(args);

    /// <summary>Parses and runs a command line (in-process entry for tests).</summary>
    internal static int Run(string[] args)
    {
        var root = new RootCommand("lstmsharp — recurrent neural networks (SimpleRNN, LSTM, GRU) for .NET");
        root.Subcommands.Add(InfoCommand());
        var experiment = new Command("experiment", "Reproduce the reference articles' experiments.");
        experiment.Subcommands.Add(MnistCommand(args));
        experiment.Subcommands.Add(ImdbCommand(args));
        root.Subcommands.Add(experiment);
        foreach (var command in ModelCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        return root.Parse(args).Invoke();
    }

    internal static string Version =>
        typeof(LstmSharp.Tensors.Tensor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private static Command InfoCommand()
    {
        var info = new Command("info", "Print the SIMD width and core count LstmSharp will use.");
        info.SetAction(_ =>
        {
            Console.WriteLine($"lstmsharp {Version}");
            Console.WriteLine($"simd: Vector512 {(Vector512.IsHardwareAccelerated ? "yes" : "no")}, Vector256 {(Vector256.IsHardwareAccelerated ? "yes" : "no")}, Vector<float> width {Vector<float>.Count} floats");
            Console.WriteLine($"cores: {Environment.ProcessorCount}, worker threads: {LstmSharp.Kernels.WorkerPool.Shared.ThreadCount}");
            return 0;
        });
        return info;
    }

    private static Command MnistCommand(string[] args)
    {
        var models = new Option<string>("--models") { Description = "Comma-separated models: srn, lstm, gru.", DefaultValueFactory = _ => "srn,lstm,gru" };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 20 };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 128 };
        var units = new Option<int>("--units") { Description = "Recurrent units.", DefaultValueFactory = _ => 128 };
        var limit = new Option<int?>("--limit") { Description = "Train on the first N training images only (quick runs)." };
        var common = Common();
        var cmd = new Command("mnist-rnn", "MNIST read row by row: SimpleRNN vs LSTM vs GRU (128 units, Adam 0.001, batch 128, 20 epochs).")
        {
            models, epochs, batch, units, limit, common.Out, common.Data, common.Seed, common.Verbose,
        };
        common.Out.DefaultValueFactory = _ => Path.Combine("results", "mnist-rnn");
        cmd.SetAction(r => ModelCommands.Run(() => MnistRnnExperiment.Run(
            r.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            r.GetValue(epochs), r.GetValue(batch), r.GetValue(units), r.GetValue(common.Out)!, r.GetValue(common.Data),
            r.GetValue(limit), r.GetValue(common.Seed), r.GetValue(common.Verbose), CommandLine(args))));
        return cmd;
    }

    private static Command ImdbCommand(string[] args)
    {
        var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 128 };
        var words = new Option<int>("--num-words") { Description = "Vocabulary: the most frequent words kept.", DefaultValueFactory = _ => 5000 };
        var maxlen = new Option<int>("--maxlen") { Description = "Reviews padded/truncated to this many words.", DefaultValueFactory = _ => 300 };
        var embedding = new Option<int>("--embedding") { Description = "Embedding size.", DefaultValueFactory = _ => 15 };
        var units = new Option<int>("--units") { Description = "LSTM units.", DefaultValueFactory = _ => 10 };
        var bidirectional = new Option<bool>("--bidirectional") { Description = "Use Bidirectional(LSTM) instead of LSTM." };
        var common = Common();
        common.Out.DefaultValueFactory = _ => Path.Combine("results", "imdb-lstm");
        var cmd = new Command("imdb-lstm", "IMDB sentiment: Embedding(5000, 15) → LSTM(10) → Dense(1, sigmoid), 5 epochs, 20% validation split.")
        {
            epochs, batch, words, maxlen, embedding, units, bidirectional, common.Out, common.Data, common.Seed, common.Verbose,
        };
        cmd.SetAction(r => ModelCommands.Run(() => ImdbLstmExperiment.Run(
            r.GetValue(epochs), r.GetValue(batch), r.GetValue(words), r.GetValue(maxlen), r.GetValue(embedding), r.GetValue(units),
            r.GetValue(bidirectional), r.GetValue(common.Out)!, r.GetValue(common.Data), r.GetValue(common.Seed), r.GetValue(common.Verbose), CommandLine(args))));
        return cmd;
    }

    private static (Option<string> Out, Option<string?> Data, Option<int> Seed, Option<int> Verbose) Common() => (
        new Option<string>("--out") { Description = "Folder for results.md, history.csv, plots and trained models." },
        new Option<string?>("--data") { Description = "Data folder (default: $LSTMSHARP_DATA, else ~/.lstmsharp/datasets; missing files are downloaded)." },
        new Option<int>("--seed") { Description = "Global seed (weights, shuffling, dropout).", DefaultValueFactory = _ => 42 },
        new Option<int>("--verbose") { Description = "0 silent, 1 progress bar per epoch, 2 one line per epoch.", DefaultValueFactory = _ => 1 });

    private static string CommandLine(string[] args) =>
        "dotnet run -c Release --project src/LstmSharp.Cli -- " + string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a));
}
