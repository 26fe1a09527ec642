using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace LstmSharp.Cli.Experiments;

/// <summary>Options of the char-lm experiment (defaults are the command line's).</summary>
public sealed record CharLmSettings
{
    [CliOption("--text", "A UTF-8 text file (e.g. ../shared/datasets/text/tinyshakespeare.txt).", Required = true)]
    public string Text { get; init; } = string.Empty;

    /// <summary>Use only the first N characters of the file (quick runs); null = all.</summary>
    [CliOption("--max-chars", "Use only the first N characters (quick runs).")]
    public int? MaxChars { get; init; }

    /// <summary>Fraction of the characters, from the end, used for validation.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    [CliOption("--seq-len", "Characters per training window (truncated BPTT length).")]
    public int SequenceLength { get; init; } = 100;

    [CliOption("--batch", "Windows per batch.")]
    public int Batch { get; init; } = 64;

    [CliOption("--embedding", "Embedding size of a character.")]
    public int Embedding { get; init; } = 64;

    [CliOption("--units", "Units of each LSTM.")]
    public int Units { get; init; } = 256;

    [CliOption("--layers", "Stacked LSTMs (1-4).")]
    public int Layers { get; init; } = 2;

    [CliOption("--dropout", "Dropout after each LSTM.")]
    public double Dropout { get; init; }

    [CliOption("--epochs", "Training epochs (one pass over the training characters each).")]
    public int Epochs { get; init; } = 10;

    [CliOption("--lr", CliHelp.AdamLearningRate)]
    public double LearningRate { get; init; } = 0.002;

    /// <summary>Learning rate multiplied by this after every epoch.</summary>
    [CliOption("--lr-decay", "Learning rate multiplied by this after every epoch.")]
    public double LearningRateDecay { get; init; } = 1.0;

    [CliOption("--clipnorm", CliHelp.ClipNorm)]
    public double ClipNorm { get; init; } = 5.0;

    /// <summary>Stop after the epoch during which this many minutes of wall time have passed (0 = no limit).</summary>
    [CliOption("--time-limit", "Stop after the epoch in which this many minutes have passed (0 = none).")]
    public double TimeLimitMinutes { get; init; }

    [CliOption("--sample-length", "Characters sampled after each epoch.")]
    public int SampleLength { get; init; } = 300;

    /// <summary>Prime of the samples printed after each epoch (null: the first character of the training text).</summary>
    [CliOption("--sample-prime", "Prime of the samples (default: the first training character).")]
    public string? SamplePrime { get; init; }

    [CliOption("--out", "Folder for results.md, history.csv, loss.png and the model.")]
    public string Out { get; init; } = Path.Combine("results", "char-lm");

    [CliOption("--seed", CliHelp.Seed)]
    public int Seed { get; init; } = 42;

    /// <summary>Start from the weights of a char-lm model saved earlier (same vocabulary and layer sizes; dropout may differ), e.g. to fine-tune with dropout.</summary>
    [CliOption("--init-from", "Start from the weights of a char-lm model saved earlier (same vocabulary and sizes), e.g. to fine-tune with --dropout.")]
    public string? InitFrom { get; init; }

    [CliOption("--verbose", "0 epoch lines only, 1 progress bar too.")]
    public int Verbose { get; init; } = 1;
}

/// <summary>One epoch's figures.</summary>
public sealed record CharLmEpoch(int Epoch, double TrainLoss, double ValLoss, double Seconds, double CpuSeconds, double LearningRate, string SampleCold, string SampleWarm);

/// <summary>
/// A character-level language model (Karpathy's char-rnn setting): the text's characters are
/// vectorised by a <see cref="TextVectorization"/> (split "character", no standardization);
/// the first 90 % of the characters train, the last 10 % validate (by position). Each epoch the
/// training stream is cut into non-overlapping windows of <c>L</c> characters at a random offset,
/// shuffled into batches; the model Embedding → <c>layers</c> × LSTM(return sequences) → Dense(logits)
/// predicts every next character (sparse cross-entropy from logits, Adam, clipnorm). Loss is
/// reported in nats and bits per character; after every epoch a sample at temperatures 0.5 and 1.0.
/// </summary>
public static class CharLmExperiment
{
    public static Sequential Build(int vocabulary, CharLmSettings s)
    {
        if (s.Layers is < 1 or > 4)
        {
            throw new ArgumentOutOfRangeException(nameof(s), $"char-lm: --layers must be 1 to 4, got {s.Layers}.");
        }

        var model = new Sequential(name: "char_lm");
        model.Add(new Embedding(vocabulary, s.Embedding, name: "char_embedding", inputShape: [-1]));
        for (int l = 0; l < s.Layers; l++)
        {
            model.Add(new LSTM(s.Units, returnSequences: true, name: $"lstm_{l + 1}"));
            if (s.Dropout > 0)
            {
                model.Add(new Dropout((float)s.Dropout, name: $"dropout_{l + 1}"));
            }
        }

        model.Add(new Dense(vocabulary, name: "next_char_logits"));
        return model;
    }

    public static int Run(CharLmSettings s, string command)
    {
        Validate(s);
        ExperimentRunner.InstallCancelHandler();
        Rng.SetGlobalSeed(s.Seed);
        // Weights from this thread's seed, not the global stream, which other threads may draw from meanwhile.
        Layer.SetRandomSeed(s.Seed);
        string text = TextFile.ReadAllText(s.Text);
        if (s.MaxChars is { } max && max < text.Length)
        {
            text = text[..max];
        }

        int split = (int)Math.Floor(text.Length * (1 - s.ValidationFraction));
        if (split < s.SequenceLength + 1 || text.Length - split < s.SequenceLength + 1)
        {
            throw new ArgumentException($"char-lm: '{s.Text}' has {text.Length} characters; the {1 - s.ValidationFraction:0.##}/{s.ValidationFraction:0.##} split leaves {split} and {text.Length - split}, and each part needs at least --seq-len + 1 = {s.SequenceLength + 1}.");
        }

        string trainText = text[..split];
        string valText = text[split..];

        // The vocabulary comes from the training part only; a validation-only character is [UNK].
        var vectorizer = new TextVectorization(standardize: null, split: TextVectorization.Character, name: "chars");
        vectorizer.Adapt([trainText]);
        int[] trainIds = vectorizer.Encode(trainText);
        int[] valIds = vectorizer.Encode(valText);
        int unknown = valIds.Count(id => id == 1);
        int v = vectorizer.VocabularySize;

        var model = Build(v, s);
        model.TextVectorization = vectorizer;
        if (s.InitFrom is { } init)
        {
            var previous = Model.Load(init);
            if (previous.TextVectorization is not { } pv || !pv.GetVocabulary().SequenceEqual(vectorizer.GetVocabulary()))
            {
                throw new ArgumentException($"char-lm: --init-from '{init}' was trained on another vocabulary than the training part of '{s.Text}'.");
            }

            model.SetWeights(previous.GetWeights());
            Console.WriteLine($"char-lm: weights from '{init}'");
        }

        var optimizer = new Adam(s.LearningRate) { ClipNorm = s.ClipNorm > 0 ? s.ClipNorm : null };
        model.Compile(optimizer, "sparse_categorical_crossentropy", fromLogits: true);
        Directory.CreateDirectory(s.Out);
        string modelPath = Path.Combine(s.Out, "char-lm.lstm");
        string prime = s.SamplePrime ?? trainText[..1];

        Console.WriteLine($"char-lm: '{s.Text}': {text.Length:N0} characters, {v - 2} distinct in training (+ padding, [UNK]); train {trainText.Length:N0}, validation {valText.Length:N0} ({unknown} unknown there)");
        Console.WriteLine($"model: Embedding({v}, {s.Embedding}) → {s.Layers} × LSTM({s.Units}) → Dense({v}); {model.CountParams():N0} parameters; windows of {s.SequenceLength}, batch {s.Batch}, Adam {s.LearningRate}, clipnorm {s.ClipNorm}");

        var (xVal, yVal) = LanguageModelWindows.Create(valIds, s.SequenceLength);
        var epochs = new List<CharLmEpoch>();
        var rng = new Rng(s.Seed);
        var stopper = new ExperimentRunner.CancelCallback();
        var started = Stopwatch.StartNew();
        for (int epoch = 0; epoch < s.Epochs && !ExperimentRunner.CancelRequested; epoch++)
        {
            var (xTrain, yTrain) = LanguageModelWindows.Create(trainIds, s.SequenceLength, rng.NextInt(s.SequenceLength));
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            double lr = optimizer.LearningRate;
            var history = model.Fit(xTrain, yTrain, batchSize: s.Batch, epochs: epoch + 1, initialEpoch: epoch, verbose: s.Verbose == 1 ? 1 : 0, callbacks: [stopper], seed: s.Seed + epoch);
            double seconds = wall.Elapsed.TotalSeconds;
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            if (history.Epochs.Count == 0)
            {
                break;
            }

            double trainLoss = history["loss"][^1];
            double valLoss = model.Evaluate(xVal, yVal, batchSize: 256).Loss;
            var generator = new TextGenerator(model);
            string cold = generator.Generate(prime, s.SampleLength, new SamplingOptions(0.5), s.Seed);
            string warm = generator.Generate(prime, s.SampleLength, new SamplingOptions(1.0), s.Seed);
            var row = new CharLmEpoch(epoch + 1, trainLoss, valLoss, seconds, cpu, lr, cold, warm);
            epochs.Add(row);
            Console.WriteLine($"epoch {epoch + 1}/{s.Epochs}: train {trainLoss:0.0000} nats/char ({Bits(trainLoss):0.0000} bits/char), validation {valLoss:0.0000} nats/char ({Bits(valLoss):0.0000} bits/char); {seconds:0.0} s wall, {cpu:0.0} s CPU{(ExperimentRunner.CancelRequested ? " (stopped by Ctrl+C, partial epoch)" : string.Empty)}");
            Console.WriteLine($"--- sample, temperature 0.5 ---\n{cold}\n--- sample, temperature 1.0 ---\n{warm}\n---");
            if (valLoss <= epochs.Min(e => e.ValLoss))
            {
                model.Save(modelPath, includeOptimizer: true, epoch: epoch + 1); // the best model so far
            }

            Write(s, command, text.Length, trainText.Length, valText.Length, v, model.CountParams(), epochs, modelPath);
            optimizer.LearningRate = lr * s.LearningRateDecay;
            if (s.TimeLimitMinutes > 0 && started.Elapsed.TotalMinutes >= s.TimeLimitMinutes)
            {
                Console.WriteLine($"char-lm: time limit of {s.TimeLimitMinutes} minutes reached after epoch {epoch + 1}.");
                break;
            }
        }

        if (epochs.Count > 0)
        {
            var best = epochs.MinBy(e => e.ValLoss)!;
            Console.WriteLine($"char-lm: best validation {best.ValLoss:0.0000} nats/char ({Bits(best.ValLoss):0.0000} bits/char) at epoch {best.Epoch}; results in {s.Out}");
        }

        return 0;
    }

    internal static double Bits(double nats) => nats / Math.Log(2);

    private static void Validate(CharLmSettings s)
    {
        if (string.IsNullOrEmpty(s.Text))
        {
            throw new ArgumentException("char-lm: --text FILE is required.");
        }

        if (!File.Exists(s.Text))
        {
            throw new FileNotFoundException($"char-lm: text file '{s.Text}' does not exist.", s.Text);
        }

        Check(s.SequenceLength > 0, $"--seq-len must be positive, got {s.SequenceLength}");
        Check(s.Batch > 0, $"--batch must be positive, got {s.Batch}");
        Check(s.Units > 0 && s.Embedding > 0, $"--units and --embedding must be positive, got {s.Units} and {s.Embedding}");
        Check(s.Epochs >= 1, $"--epochs must be at least 1, got {s.Epochs}");
        Check(s.ValidationFraction is > 0 and < 1, $"the validation fraction must be in (0, 1), got {s.ValidationFraction}");
        Check(s.MaxChars is null or > 0, $"--max-chars must be positive, got {s.MaxChars}");
        Check(s.Dropout is >= 0 and < 1, $"--dropout must be in [0, 1), got {s.Dropout}");
        Check(s.LearningRate > 0 && s.LearningRateDecay > 0, $"--lr and --lr-decay must be positive, got {s.LearningRate} and {s.LearningRateDecay}");
        Check(s.SampleLength >= 0, $"--sample-length must be >= 0, got {s.SampleLength}");
    }

    private static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException("char-lm: " + message + ".");
        }
    }

    private static void Write(CharLmSettings s, string command, int chars, int trainChars, int valChars, int vocabulary, long parameters, IReadOnlyList<CharLmEpoch> epochs, string modelPath)
    {
        var inv = CultureInfo.InvariantCulture;
        var csv = new StringBuilder("epoch,loss,val_loss,bits_per_char,val_bits_per_char,seconds,cpu_seconds,learning_rate\n");
        foreach (var e in epochs)
        {
            csv.Append(inv, $"{e.Epoch},{e.TrainLoss:R},{e.ValLoss:R},{Bits(e.TrainLoss):R},{Bits(e.ValLoss):R},{e.Seconds:0.###},{e.CpuSeconds:0.###},{e.LearningRate:R}\n");
        }

        WriteAtomic(Path.Combine(s.Out, "history.csv"), csv.ToString());

        var best = epochs.MinBy(e => e.ValLoss)!;
        var last = epochs[^1];
        var md = ExperimentReport.Begin("Character-level language model", $"during epoch {last.Epoch} of {s.Epochs}", command);
        md.AppendLine(inv, $"Text `{s.Text}`: {chars:N0} characters, {vocabulary - 2} distinct in the training part; first {trainChars:N0} train, last {valChars:N0} validate (by position).");
        md.AppendLine(inv, $"Model: Embedding({vocabulary}, {s.Embedding}) → {s.Layers} × LSTM({s.Units}, return sequences) → Dense({vocabulary}) logits; {parameters:N0} parameters. Windows of {s.SequenceLength} characters (random offset per epoch), batch {s.Batch}, Adam {s.LearningRate} (× {s.LearningRateDecay} per epoch), clipnorm {s.ClipNorm}, dropout {s.Dropout}, seed {s.Seed}{(s.InitFrom is null ? string.Empty : $"; weights initialised from `{s.InitFrom}`")}.").AppendLine();
        md.AppendLine("| epoch | train nats/char | train bits/char | validation nats/char | validation bits/char | wall s | CPU s |");
        md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var e in epochs)
        {
            md.AppendLine(inv, $"| {e.Epoch} | {e.TrainLoss:0.0000} | {Bits(e.TrainLoss):0.0000} | {e.ValLoss:0.0000} | {Bits(e.ValLoss):0.0000} | {e.Seconds:0.0} | {e.CpuSeconds:0.0} |");
        }

        md.AppendLine();
        md.AppendLine(inv, $"Best validation loss {best.ValLoss:0.0000} nats/char ({Bits(best.ValLoss):0.0000} bits/char) at epoch {best.Epoch}; goal ≤ 1.47 nats/char: {(best.ValLoss <= 1.47 ? "reached" : "not reached")}.");
        md.AppendLine(inv, $"Mean per epoch: {epochs.Average(e => e.Seconds):0.0} s wall, {epochs.Average(e => e.CpuSeconds):0.0} s CPU ({Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC).").AppendLine();
        md.AppendLine(inv, $"Samples after epoch {last.Epoch} (prime {Quote(s.SamplePrime ?? "first training character")}, seed {s.Seed}):").AppendLine();
        md.AppendLine("Temperature 0.5:").AppendLine().AppendLine("```").AppendLine(last.SampleCold).AppendLine("```").AppendLine();
        md.AppendLine("Temperature 1.0:").AppendLine().AppendLine("```").AppendLine(last.SampleWarm).AppendLine("```").AppendLine();
        md.AppendLine(inv, $"Model (the epoch with the best validation loss): `{modelPath}` (the vocabulary is saved in it; `lstmsharp generate {modelPath} --prime \"ROMEO:\"`).");
        WriteAtomic(Path.Combine(s.Out, "results.md"), md.ToString());

        var plot = new ScottPlot.Plot();
        double[] xs = epochs.Select(e => (double)e.Epoch).ToArray();
        var train = plot.Add.Scatter(xs, epochs.Select(e => Bits(e.TrainLoss)).ToArray());
        train.LegendText = "train";
        train.LinePattern = ScottPlot.LinePattern.Dashed;
        var val = plot.Add.Scatter(xs, epochs.Select(e => Bits(e.ValLoss)).ToArray());
        val.LegendText = "validation";
        var goal = plot.Add.HorizontalLine(Bits(1.47));
        goal.LegendText = "1.47 nats/char";
        goal.LinePattern = ScottPlot.LinePattern.Dotted;
        plot.Title("char-lm: bits per character");
        plot.XLabel("epoch");
        plot.YLabel("bits/char");
        plot.ShowLegend();
        plot.SavePng(Path.Combine(s.Out, "loss.png"), 900, 560);
    }

    private static string Quote(string s) => "\"" + s.Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    private static void WriteAtomic(string path, string contents)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, contents);
        File.Move(tmp, path, overwrite: true);
    }

}
