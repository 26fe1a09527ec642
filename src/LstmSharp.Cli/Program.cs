using System.CommandLine;
using System.Numerics;
using System.Reflection;
using System.Runtime.Intrinsics;

namespace LstmSharp.Cli;

internal static class Program
{
    private static int Main(string[] args) => Run(args);

    /// <summary>Parses and runs a command line (in-process entry for tests).</summary>
    internal static int Run(string[] args) => Run(args, null, null);

    /// <summary>As <see cref="Run(string[])"/>, with help and error text sent to the given writers (tests).</summary>
    internal static int Run(string[] args, TextWriter? output, TextWriter? error)
    {
        // A plain command named "lstmsharp" (RootCommand would take the assembly's name, LstmSharp.Cli, for its usage line).
        var root = new Command("lstmsharp", "lstmsharp — recurrent neural networks (SimpleRNN, LSTM, GRU) for .NET")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
        };
        root.Subcommands.Add(InfoCommand());
        var experiment = new Command("experiment", "Reproduce the reference articles' experiments.");
        experiment.Subcommands.Add(MnistCommand(args));
        experiment.Subcommands.Add(ImdbCommand(args));
        foreach (var command in ExperimentCommands.Create(args))
        {
            experiment.Subcommands.Add(command);
        }

        root.Subcommands.Add(experiment);
        foreach (var command in ModelCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(InspectCommand());
        FrameworkCommands.AddTo(root);
        root.Subcommands.Add(OnnxExportCommand.Create());
        root.Subcommands.Add(QuantizeCommand.Create());
        root.Subcommands.Add(TextCommands.GenerateCommand());
        OnnxImportCommands.AddTo(root);
        DistributedCommands.AddTo(root);
        var parsed = root.Parse(args);
        var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        if (output is not null)
        {
            configuration.Output = output;
        }

        if (error is not null)
        {
            configuration.Error = error;
        }

        return CliErrors.Run(() => parsed.Invoke(configuration), error);
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
        var models = new Option<string>("--models") { Description = "Comma-separated models: srn, lstm, gru, lstm-proj (projection to units/2), lnlstm (LayerNormLSTM).", DefaultValueFactory = _ => "srn,lstm,gru" };
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
        var distributed = DistributedCommands.TrainOptions.AddTo(cmd);
        cmd.SetAction(r => ModelCommands.Run(() => DistributedCommands.RunExperiment(distributed.Requested(r) ? distributed.Read(r) : null, dist => MnistRnnExperiment.Run(
            r.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            r.GetValue(epochs), r.GetValue(batch), r.GetValue(units), r.GetValue(common.Out)!, r.GetValue(common.Data),
            r.GetValue(limit), r.GetValue(common.Seed), r.GetValue(common.Verbose), CommandLine(args), dist))));
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

    internal static Command InspectCommand()
    {
        var model = new Argument<string>("model") { Description = "A model file saved by Save (e.g. results/long-lag/adding-T100-lstm.lstm)." };
        var input = new Option<string>("--input") { Description = "A CSV (rows = steps, columns = features) or adding:T, copy:T, order:T, mnist:index.", Required = true };
        var outDir = new Option<string>("--out") { Description = "Folder for the heatmaps.", DefaultValueFactory = _ => Path.Combine("results", "inspect") };
        var data = new Option<string?>("--data") { Description = "Data folder for mnist:index (default: $LSTMSHARP_DATA, else ~/.lstmsharp/datasets)." };
        var seed = new Option<int>("--seed") { Description = "Seed of generated inputs (adding, copy, order).", DefaultValueFactory = _ => 42 };
        var cmd = new Command("inspect", "Heatmaps (units x time) of the gates i, f, o, the candidate, c and h of a saved model's first LSTM layer on one input.")
        {
            model, input, outDir, data, seed,
        };
        cmd.SetAction(r => Inspect.GateInspection.Run(r.GetValue(model)!, r.GetValue(input)!, r.GetValue(outDir)!, r.GetValue(data), r.GetValue(seed)));
        return cmd;
    }

    private static (Option<string> Out, Option<string?> Data, Option<int> Seed, Option<int> Verbose) Common() => (
        new Option<string>("--out") { Description = CliHelp.ResultsFolder },
        new Option<string?>("--data") { Description = CliHelp.Data },
        new Option<int>("--seed") { Description = CliHelp.GlobalSeed, DefaultValueFactory = _ => 42 },
        new Option<int>("--verbose") { Description = CliHelp.Verbose, DefaultValueFactory = _ => 1 });

    internal static string CommandLineOf(string[] args) => CommandLine(args);

    /// <summary>
    /// The command as the user ran it, for results.md: <c>lstmsharp …</c> from the installed tool,
    /// <c>dotnet run -c Release --project src/LstmSharp.Cli -- …</c> from a clone's build output.
    /// </summary>
    private static string CommandLine(string[] args) => CommandLine(args, Environment.ProcessPath);

    internal static string CommandLine(string[] args, string? processPath)
    {
        string joined = string.Join(' ', args.Select(ShellQuote));
        string name = processPath is null ? string.Empty : Path.GetFileName(processPath); // not ...WithoutExtension: ".Cli" would go
        if (name.Equals("LstmSharp.Cli", StringComparison.OrdinalIgnoreCase) || name.Equals("LstmSharp.Cli.exe", StringComparison.OrdinalIgnoreCase))
        {
            // The apphost beside LstmSharp.Cli.dll in bin/<configuration>/: what `dotnet run --project src/LstmSharp.Cli` starts.
            return $"dotnet run -c {BuildConfiguration} --project src/LstmSharp.Cli -- {joined}";
        }

        // The tool's shim (`lstmsharp`), or a host this program cannot name better (tests run it in-process).
        return "lstmsharp " + joined;
    }

#if DEBUG
    private const string BuildConfiguration = "Debug";
#else
    private const string BuildConfiguration = "Release";
#endif

    /// <summary>An argument as a POSIX shell reads it back: bare when safe, else in single quotes.</summary>
    internal static string ShellQuote(string a) =>
        a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=,:+@%".Contains(c))
            ? a
            : "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
