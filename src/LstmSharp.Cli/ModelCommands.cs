using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LstmSharp.Cli;

/// <summary>
/// <c>summary</c>, <c>train</c>, <c>evaluate</c>, <c>predict</c> for a model described by a JSON
/// config (the <c>{"class_name", "config"}</c> that <c>Model.GetConfig()</c> writes and that a
/// saved model carries) or by a saved <c>.lstm</c> file, on MNIST, IMDB or .csv/.npy arrays.
/// </summary>
internal static class ModelCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return Summary();
        yield return Train();
        yield return Evaluate();
        yield return Predict();
    }

    private static Command Summary()
    {
        var model = new Argument<string>("model") { Description = "A model file (.lstm) or a JSON config." };
        var json = new Option<bool>("--json") { Description = "Print the architecture config as JSON instead of the table." };
        var cmd = new Command("summary", "Print a model's Keras-style summary (or its JSON config).") { model, json };
        cmd.SetAction(r => Run(() =>
        {
            var m = Open(r.GetValue(model)!, out _);
            Console.Write(r.GetValue(json) ? m.GetConfig().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n" : m.SummaryText());
        }));
        return cmd;
    }

    private static Command Train()
    {
        var model = new Argument<string>("model") { Description = "A JSON config (new model) or a .lstm file (continue training it)." };
        var source = new DataSetOptions();
        var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 32 };
        var split = new Option<double>("--validation-split") { Description = "Fraction of the training data (from its end) used for validation.", DefaultValueFactory = _ => 0 };
        var optimizer = new Option<string>("--optimizer") { Description = "adam, sgd, rmsprop or adagrad (new models or to override).", DefaultValueFactory = _ => "adam" };
        var lr = new Option<double?>("--lr") { Description = "Learning rate (default: the optimizer's Keras default)." };
        var loss = new Option<string?>("--loss") { Description = "Keras loss name (default: the config's compile section; else categorical_crossentropy for mnist, binary_crossentropy for imdb, mse for .csv/.npy)." };
        var metrics = new Option<string>("--metrics") { Description = "Comma-separated metrics (default: accuracy for a classification loss, none for a regression loss).", DefaultValueFactory = _ => string.Empty };
        var output = new Option<string>("--out") { Description = "Where to save the trained model (.lstm).", DefaultValueFactory = _ => "model.lstm" };
        var seed = new Option<int>("--seed") { Description = "Seed of weight initialisation, dropout and shuffling (Keras set_random_seed).", DefaultValueFactory = _ => 42 };
        var verbose = new Option<int>("--verbose") { Description = "0, 1 or 2.", DefaultValueFactory = _ => 1 };
        var cmd = new Command("train", "Train a model on mnist, imdb, or .csv/.npy arrays, and save it.")
        {
            model, source.Input, source.Targets, source.DataDir, epochs, batch, split, optimizer, lr, loss, metrics, output, seed, verbose, source.Words, source.Maxlen,
        };
        var distributed = DistributedCommands.TrainOptions.AddTo(cmd);
        cmd.SetAction(r => Run(() =>
        {
            // Every option is checked before anything is loaded or trained, so a typo never costs a run.
            int epochCount = Positive("--epochs", r.GetValue(epochs));
            int batchSize = Positive("--batch", r.GetValue(batch));
            double validation = r.GetValue(split);
            if (validation is < 0 or >= 1 || double.IsNaN(validation))
            {
                throw new ArgumentException($"--validation-split: expected a fraction in [0, 1), got {validation}.");
            }

            string path = PrepareOutput("--out", r.GetValue(output)!);
            SeedEverything(r.GetValue(seed));
            var m = Open(r.GetValue(model)!, out int? savedEpoch);
            var set = source.Load(r, m);
            if (!m.Compiled || r.GetValue(loss) is not null || r.GetResult(optimizer) is { Implicit: false })
            {
                var opt = Optimizers.Get(r.GetValue(optimizer)!);
                if (r.GetValue(lr) is { } rate)
                {
                    opt.LearningRate = rate;
                }

                string lossName = r.GetValue(loss) ?? m.Loss?.Name ?? (set.DefaultLoss == "mse" ? LossForOutput(m, set.YTrain) : set.DefaultLoss);
                string[] metricNames = r.GetResult(metrics) is { Implicit: false } ? SplitList(r.GetValue(metrics)!) : DefaultMetrics(lossName);
                m.Compile(opt, lossName, metricNames);
            }
            else if (r.GetValue(lr) is { } rate)
            {
                m.Optimizer!.LearningRate = rate;
            }

            if (distributed.Requested(r))
            {
                DistributedCommands.Train(m, set.XTrain, set.YTrain, validation, epochCount, batchSize, r.GetValue(seed), r.GetValue(verbose), path, distributed.Read(r));
                return;
            }

            m.Summary();
            int initial = savedEpoch ?? 0;
            ExperimentRunner.InstallCancelHandler();
            var history = m.Fit(
                set.XTrain, set.YTrain, batchSize: batchSize, epochs: initial + epochCount, verbose: r.GetValue(verbose),
                validationSplit: validation, initialEpoch: initial, seed: r.GetValue(seed), callbacks: [new ExperimentRunner.CancelCallback()]);
            int reached = initial + history.Epochs.Count;
            m.Save(path, includeOptimizer: true, epoch: reached);
            if (ExperimentRunner.CancelRequested)
            {
                Console.WriteLine($"Interrupted by Ctrl+C during epoch {reached} of {initial + epochCount}: saved a checkpoint to {path} (epoch {reached}); train it again to continue.");
                return;
            }

            Console.WriteLine($"Saved {path} (epoch {reached}).");
            if (set.XTest is not null)
            {
                Console.WriteLine("test: " + m.Evaluate(set.XTest, set.YTest!, batchSize: 512));
            }
        }));
        return cmd;
    }

    private static Command Evaluate()
    {
        var model = new Argument<string>("model") { Description = "A saved model (.lstm)." };
        var source = new DataSetOptions();
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 256 };
        var cmd = new Command("evaluate", "Loss and metrics of a saved model on the test split of mnist/imdb or on .csv/.npy arrays.")
        {
            model, source.Input, source.Targets, source.DataDir, batch, source.Words, source.Maxlen,
        };
        cmd.SetAction(r => Run(() =>
        {
            var m = Open(r.GetValue(model)!, out _);
            if (!m.Compiled)
            {
                throw new InvalidOperationException($"evaluate: '{r.GetValue(model)}' holds no loss (saved without the compile settings); train or save it with includeOptimizer.");
            }

            var set = source.Load(r, m);
            var x = set.XTest ?? set.XTrain;
            var y = set.YTest ?? set.YTrain;
            Console.WriteLine(m.Evaluate(x, y, batchSize: r.GetValue(batch)));
        }));
        return cmd;
    }

    private static Command Predict()
    {
        var model = new Argument<string>("model") { Description = "A saved model (.lstm)." };
        var input = new Option<string[]>("--input")
        {
            Description = "Inputs: a .csv/.npy file (one sample per row), or mnist/imdb (their test split); repeat --input once per input of a multi-input model, in the model's input order.",
            Required = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var dataDir = DataDirOption();
        var output = new Option<string>("--out") { Description = "Predictions file (.csv or .npy) of the model's first output.", DefaultValueFactory = _ => "predictions.csv" };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 256 };
        var imdb = ImdbOptions();
        var cmd = new Command("predict", "Run a saved model on inputs and write its outputs.") { model, input, dataDir, output, batch, imdb.Words, imdb.Maxlen };
        cmd.SetAction(r => Run(() =>
        {
            var m = Open(r.GetValue(model)!, out _);
            string[] specs = r.GetValue(input)!;
            int inputs = m is Functional fn ? fn.InputShapes.Count : 1;
            if (specs.Length != inputs)
            {
                throw new ArgumentException($"--input: the model takes {inputs} input{(inputs == 1 ? string.Empty : "s")}, got {specs.Length} (repeat --input once per model input, in order).");
            }

            Tensor p;
            if (specs.Length == 1)
            {
                string spec = specs[0];
                var x = spec is "mnist" or "imdb"
                    ? LoadData(spec, null, r.GetValue(dataDir), m, r.GetValue(imdb.Words), r.GetValue(imdb.Maxlen)).XTest!
                    : ArrayFiles.Load(spec, InputShape(m));
                p = m.Predict(x, r.GetValue(batch));
            }
            else
            {
                var f = (Functional)m;
                var xs = specs.Select((spec, i) => ArrayFiles.Load(spec, f.InputBatchAxes[i] == 0 && f.InputShapes[i].All(d => d > 0) ? f.InputShapes[i] : null)).ToArray();
                p = m.Predict(xs, r.GetValue(batch));
            }

            string path = r.GetValue(output)!;
            if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            {
                ArrayFiles.SaveNpy(path, p);
            }
            else
            {
                ArrayFiles.SaveCsv(path, p);
            }

            Console.WriteLine($"Wrote {p.Dim(0)} predictions of shape {Tensor.FormatShape(p.Shape[1..])} to {path}.");
        }));
        return cmd;
    }

    /// <summary>
    /// Keras's <c>set_random_seed</c> for a run of the tool: the process-wide generator and this
    /// thread's layer generator, so the weights a seed gives do not depend on other threads
    /// drawing from the global generator (tests run the tool's code in parallel with others).
    /// </summary>
    public static void SeedEverything(int seed)
    {
        Rng.SetGlobalSeed(seed);
        Layer.SetRandomSeed(seed);
    }

    /// <summary>Opens a .lstm model file, or builds a new model from a JSON config (with an optional "compile" section).</summary>
    internal static Model Open(string path, out int? epoch)
    {
        epoch = null;
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model '{path}' does not exist.");
        }

        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            return Model.Load(path, out epoch);
        }

        JsonObject config;
        try
        {
            config = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"config '{path}': not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"config '{path}': invalid JSON: {e.Message}", e);
        }

        var model = Model.FromConfig(config);
        if (config["compile"] is JsonObject compile)
        {
            var optimizer = compile["optimizer"] is JsonObject o ? Optimizers.FromConfig(o) : Optimizers.Get("adam");
            var loss = compile["loss"] switch
            {
                JsonObject lo => Losses.FromConfig(lo),
                JsonValue v => Losses.Get(v.GetValue<string>()),
                _ => throw new InvalidDataException($"config '{path}': compile.loss is missing."),
            };
            var metrics = compile["metrics"]?.AsArray().Select(n => n!.GetValue<string>()).ToArray() ?? [];
            model.Compile(optimizer, loss, metrics);
        }

        return model;
    }

    internal sealed record DataSet(Tensor XTrain, Tensor YTrain, Tensor? XTest, Tensor? YTest, string DefaultLoss);

    internal static DataSet LoadData(string spec, string? targets, string? dataDir, Model model, int numWords, int maxlen)
    {
        switch (spec)
        {
            case "mnist":
            {
                var d = Mnist.LoadData(options: ExperimentRunner.DataOptions(dataDir));
                return new DataSet(d.TrainImages, Labels.ToCategorical(d.TrainLabels, 10), d.TestImages, Labels.ToCategorical(d.TestLabels, 10), "categorical_crossentropy");
            }

            case "imdb":
            {
                var d = Imdb.LoadData(numWords: numWords, options: ExperimentRunner.DataOptions(dataDir));
                return new DataSet(
                    Sequences.PadSequences(d.TrainSequences, maxlen), Column(d.TrainLabels),
                    Sequences.PadSequences(d.TestSequences, maxlen), Column(d.TestLabels), "binary_crossentropy");
            }

            default:
                if (targets is null)
                {
                    throw new ArgumentException($"--data '{spec}': a .csv/.npy input needs --targets with the labels (one row per sample).");
                }

                return new DataSet(ArrayFiles.Load(spec, InputShape(model)), ArrayFiles.Load(targets), null, null, "mse");
        }
    }

    /// <summary>
    /// A config without an input shape takes it from the data: an array's sample shape as it is, except that a
    /// table (one row per sample) feeding a layer that reads sequences becomes [columns, 1]: one feature per step.
    /// </summary>
    internal static DataSet BuildFromData(Model model, DataSet set, string spec)
    {
        if (InputShape(model) is not null || model is not Sequential s || s.Layers.Count == 0)
        {
            return set;
        }

        int[] sample = set.XTrain.Shape[1..].ToArray();
        var first = s.Layers.First(l => l is not InputLayer);
        if (sample.Length == 1 && first is RecurrentLayer or Bidirectional)
        {
            sample = [sample[0], 1];
            Console.WriteLine($"Input shape from {spec}: {Tensor.FormatShape(sample)} ({sample[0]} steps of 1 feature per row; give the first layer an input_shape in the config for several features per step).");
            set = set with
            {
                XTrain = set.XTrain.Reshape([set.XTrain.Dim(0), .. sample]),
                XTest = set.XTest?.Reshape([set.XTest.Dim(0), .. sample]),
            };
        }
        else
        {
            Console.WriteLine($"Input shape from {spec}: {Tensor.FormatShape(sample)}.");
        }

        s.Build(sample);
        return set;
    }

    private static int[]? InputShape(Model model) => model switch
    {
        Sequential s when s.Layers.Count > 0 => s.Layers[0].InputShape ?? s.Layers[0].BuiltInputShapes?[0],
        Functional f when f.InputShapes.Count == 1 && f.InputBatchAxes[0] == 0 => f.InputShapes[0],
        _ => null,
    } is { } shape && shape.All(d => d > 0) ? shape : null;

    private static Tensor Column(int[] labels)
    {
        var y = new Tensor(labels.Length, 1);
        for (int i = 0; i < labels.Length; i++)
        {
            y[i, 0] = labels[i];
        }

        return y;
    }

    private static int Positive(string option, int value) =>
        value >= 1 ? value : throw new ArgumentException($"{option}: expected a positive integer, got {value}.");

    /// <summary>Creates the folder of an output file up front and checks it can be written, so a run never fails at its end.</summary>
    internal static string PrepareOutput(string option, string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException($"{option}: expected a file path, got an empty string.");
        }

        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new ArgumentException($"{option}: '{path}' is a folder; give a file path such as {Path.Combine(path, "model.lstm")}.");
        }

        string folder = Path.GetDirectoryName(full)!;
        try
        {
            Directory.CreateDirectory(folder);
            string probe = Path.Combine(folder, $".lstmsharp-write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{option}: cannot write to the folder of '{path}': {e.Message}", e);
        }

        return path;
    }

    /// <summary>
    /// The loss a Keras user would pick for .csv/.npy targets: from the model's output activation
    /// (softmax: categorical, or sparse categorical for one column of class ids; sigmoid: binary
    /// cross-entropy) and mean squared error otherwise.
    /// </summary>
    internal static string LossForOutput(Model model, Tensor targets)
    {
        var layers = model.GetConfig()["config"]?["layers"] as JsonArray;
        var last = layers is { Count: > 0 } ? layers[^1]?["config"] : null;
        string? activation = last?["activation"]?.GetValue<string>();
        return activation switch
        {
            "softmax" when targets.Rank == 2 && targets.Dim(1) == 1 => "sparse_categorical_crossentropy",
            "softmax" => "categorical_crossentropy",
            "sigmoid" => "binary_crossentropy",
            _ => "mse",
        };
    }

    private static string[] DefaultMetrics(string loss) =>
        loss.Contains("crossentropy", StringComparison.OrdinalIgnoreCase) || loss.Contains("hinge", StringComparison.OrdinalIgnoreCase) ? ["accuracy"] : [];

    private static string[] SplitList(string s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    internal static Option<string> InputOption() => new("--input") { Description = "mnist, imdb (their training/test splits), or a .csv/.npy file of inputs: one sample per row, each row the sample's [time, features] values flattened time-major (t0f0, t0f1, ..., t1f0, ...).", Required = true };

    internal static Option<string?> TargetsOption() => new("--targets") { Description = "For .csv/.npy inputs: the targets file (.csv/.npy)." };

    internal static Option<string?> DataDirOption() => new("--data", "--data-dir") { Description = "Folder of the MNIST/IMDB files (default: $LSTMSHARP_DATA, else ~/.lstmsharp/datasets), as in `experiment`." };

    internal static (Option<int> Words, Option<int> Maxlen) ImdbOptions() => (
        new Option<int>("--num-words") { Description = "IMDB vocabulary size.", DefaultValueFactory = _ => 5000 },
        new Option<int>("--maxlen") { Description = "IMDB padded length.", DefaultValueFactory = _ => 300 });

    /// <summary>The options that name a data set (<c>--input</c>, <c>--targets</c>, <c>--data</c>, <c>--num-words</c>, <c>--maxlen</c>) of <c>train</c> and <c>evaluate</c>, and its loading.</summary>
    private sealed class DataSetOptions
    {
        public DataSetOptions() => (Words, Maxlen) = ImdbOptions();

        public Option<string> Input { get; } = InputOption();

        public Option<string?> Targets { get; } = TargetsOption();

        public Option<string?> DataDir { get; } = DataDirOption();

        public Option<int> Words { get; }

        public Option<int> Maxlen { get; }

        /// <summary>The data set the parsed options name, for <paramref name="model"/> (which takes its input shape from the data if it has none).</summary>
        public DataSet Load(ParseResult r, Model model)
        {
            string spec = r.GetValue(Input)!;
            return BuildFromData(model, LoadData(spec, r.GetValue(Targets), r.GetValue(DataDir), model, r.GetValue(Words), r.GetValue(Maxlen)), spec);
        }
    }

    /// <summary>Runs a command body that returns nothing (exit code 0); errors reach the one handler in <see cref="CliErrors"/>.</summary>
    internal static int Run(Action body) => Run(() =>
    {
        body();
        return 0;
    });

    /// <summary>As <see cref="Run(Action)"/> for a body that returns an exit code.</summary>
    internal static int Run(Func<int> body) => body();
}
