using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace LstmSharp.Cli.Experiments;

/// <summary>Options of <c>lstmsharp experiment seq2seq-attention</c> (defaults are the command line's).</summary>
internal sealed record Seq2SeqAttentionSettings
{
    /// <summary>"reversal" (20–40 tokens, where attention matters) or "addition" (seq2seq-addition's task).</summary>
    [CliOption("--task", "reversal (20–40 tokens) or addition (seq2seq-addition's task).")]
    public string Task { get; init; } = "reversal";

    /// <summary>Digits per number of the addition task.</summary>
    [CliOption("--digits", "Digits per number (addition).")]
    public int Digits { get; init; } = 3;

    [CliOption("--min-length", "Shortest source sequence.")]
    public int MinLength { get; init; } = 20;

    [CliOption("--max-length", "Longest source sequence.")]
    public int MaxLength { get; init; } = 40;

    /// <summary>Distinct content tokens (PAD, START and END come on top).</summary>
    [CliOption("--vocabulary", "Distinct tokens in the sequences.")]
    public int Vocabulary { get; init; } = 10;

    /// <summary>Sequences drawn; 10% of them (at least one) are held out.</summary>
    [CliOption("--samples", "Sequences drawn (10% held out).")]
    public int Samples { get; init; } = 20_000;

    [CliOption("--epochs", "Training epochs (each model).")]
    public int Epochs { get; init; } = 15;

    [CliOption("--batch", CliHelp.Batch)]
    public int Batch { get; init; } = 64;

    [CliOption("--units", CliHelp.EncoderDecoderUnits)]
    public int Units { get; init; } = 128;

    /// <summary>Adam's rate; 0.005 reached 99.7 % with attention on 10,000 sequences, then diverged for an epoch.</summary>
    [CliOption("--lr", CliHelp.AdamLearningRate)]
    public double LearningRate { get; init; } = 0.002;

    [CliOption("--out", "Folder for results.md, history.csv, plots and the trained models.")]
    public string Out { get; init; } = Path.Combine("results", "seq2seq-attention");

    [CliOption("--seed", "Seed of the data, the weights and the shuffling (both models).")]
    public int Seed { get; init; } = 42;

    [CliOption("--verbose", CliHelp.Verbose)]
    public int Verbose { get; init; } = 1;
}

/// <summary>One trained model's figures: greedy exact match and token accuracy per epoch on the held-out sequences.</summary>
internal sealed record Seq2SeqAttentionResult(
    string Label, long Parameters, History History, IReadOnlyList<double> ExactMatch, IReadOnlyList<double> TokenAccuracy, double TrainSeconds);

/// <summary>
/// Sequence reversal with and without attention: the source is 20–40 random tokens, the target
/// the same tokens backwards then END. Encoder Embedding → LSTM(return_sequences, return_state);
/// decoder Embedding → LSTM initialised with the encoder's [h, c], trained with teacher forcing;
/// with attention a Keras-style <see cref="Attention"/> (query = decoder outputs, value = encoder
/// outputs) whose context is concatenated to the decoder outputs; then Dense(softmax) per step.
/// Both models get the same seeds, epochs, batch and units. Greedy decoding (the model's own
/// tokens fed back) judges them: exact match = the whole sequence and its END right.
/// </summary>
internal static partial class Seq2SeqAttentionExperiment
{
    public const int Pad = 0;
    public const int Start = 1;
    public const int End = 2;
    public const int FirstContent = 3;
    private const int EmbeddingSize = 32;

    /// <summary>Source (pre-padded with PAD), decoder input (START + target shifted) and target (reversed tokens, END, PAD...).</summary>
    internal sealed record ReversalData(Tensor Source, Tensor DecoderInput, Tensor Target, int[] Lengths)
    {
        public int Samples => Lengths.Length;
    }

    /// <summary>The teacher-forcing model and the two inference models sharing its layers.</summary>
    internal sealed record Models(Functional Training, Functional Encoder, Functional Step, bool WithAttention);

    public static ReversalData Generate(int samples, int minLength, int maxLength, int vocabulary, Random rng)
    {
        int tSrc = maxLength, tTgt = maxLength + 1;
        var source = new Tensor(samples, tSrc);
        var decoderInput = new Tensor(samples, tTgt);
        var target = new Tensor(samples, tTgt);
        var lengths = new int[samples];
        for (int i = 0; i < samples; i++)
        {
            int len = rng.Next(minLength, maxLength + 1);
            lengths[i] = len;
            var tokens = new int[len];
            for (int t = 0; t < len; t++)
            {
                tokens[t] = FirstContent + rng.Next(vocabulary);
                source[i, tSrc - len + t] = tokens[t];
            }

            for (int t = 0; t < tTgt; t++)
            {
                target[i, t] = t < len ? tokens[len - 1 - t] : t == len ? End : Pad;
                decoderInput[i, t] = t == 0 ? Start : target[i, t - 1];
            }
        }

        return new ReversalData(source, decoderInput, target, lengths);
    }

    public static Models Build(int maxLength, int vocabulary, int units, bool withAttention)
    {
        int v = vocabulary + FirstContent;
        var encoderInput = Input.Create([maxLength], name: "source");
        var encoderEmbedding = new Embedding(v, EmbeddingSize, name: "source_embedding");
        var encoder = new LSTM(units, returnSequences: true, returnState: true, name: "encoder");
        var enc = encoder.ApplyAll(encoderEmbedding.Apply(encoderInput));
        var decoderInput = Input.Create([-1], name: "target_shifted");
        var decoderEmbedding = new Embedding(v, EmbeddingSize, name: "target_embedding");
        var decoder = new LSTM(units, returnSequences: true, returnState: true, name: "decoder");
        var attention = withAttention ? new Attention(useScale: true, returnAttentionScores: true, name: "attention") : null;
        var concat = withAttention ? new Concatenate(name: "decoder_and_context") : null;
        var softmax = new Dense(v, activation: "softmax", name: "token_softmax");

        SymbolicTensor[] Head(SymbolicTensor decoded, SymbolicTensor encoderOutputs)
        {
            if (attention is null)
            {
                return [softmax.Apply(decoded)];
            }

            var attended = attention.ApplyAll(decoded, encoderOutputs);
            return [softmax.Apply(concat!.Apply(decoded, attended[0])), attended[1]];
        }

        var dec = decoder.ApplyAll(decoderEmbedding.Apply(decoderInput), enc[1], enc[2]);
        var training = new Functional([encoderInput, decoderInput], [Head(dec[0], enc[0])[0]], withAttention ? "reverse_attention" : "reverse_plain");
        var encoderModel = new Functional([encoderInput], [enc[0], enc[1], enc[2]], "reverse_encoder");

        var token = Input.Create([1], name: "token");
        var h = Input.Create([units], name: "h");
        var c = Input.Create([units], name: "c");
        var encoderOutputs = Input.Create([maxLength, units], name: "encoder_outputs");
        var step = decoder.ApplyAll(decoderEmbedding.Apply(token), h, c);
        var head = Head(step[0], encoderOutputs);
        SymbolicTensor[] stepOutputs = head.Length == 2 ? [head[0], step[1], step[2], head[1]] : [head[0], step[1], step[2]];
        var stepModel = new Functional([token, h, c, encoderOutputs], stepOutputs, "reverse_step");
        return new Models(training, encoderModel, stepModel, withAttention);
    }

    /// <summary>
    /// Greedy decoding of a batch for <c>maxLength + 1</c> steps. Returns the tokens per sample and
    /// (with attention) the attention weights of every step, [batch][step][sourceStep].
    /// </summary>
    public static (int[][] Tokens, float[][][]? Weights) Greedy(Models m, Tensor source)
    {
        int batch = source.Dim(0), tSrc = source.Dim(1), steps = tSrc + 1;
        var enc = m.Encoder.PredictAll([source], batchSize: Math.Max(1, batch)).ToArray();
        Tensor encOut = enc[0], h = enc[1], c = enc[2];
        var tokens = new int[batch][];
        var weights = m.WithAttention ? new float[batch][][] : null;
        for (int b = 0; b < batch; b++)
        {
            tokens[b] = new int[steps];
            if (weights is not null)
            {
                weights[b] = new float[steps][];
            }
        }

        var x = new Tensor(batch, 1);
        for (int b = 0; b < batch; b++)
        {
            x[b, 0] = Start;
        }

        for (int t = 0; t < steps; t++)
        {
            var outs = m.Step.PredictAll([x, h, c, encOut], batchSize: Math.Max(1, batch));
            var probs = outs[0].Span;
            int v = outs[0].Shape[^1];
            x = new Tensor(batch, 1);
            for (int b = 0; b < batch; b++)
            {
                var row = probs.Slice(b * v, v);
                int best = 0;
                for (int k = 1; k < v; k++)
                {
                    if (row[k] > row[best])
                    {
                        best = k;
                    }
                }

                tokens[b][t] = best;
                x[b, 0] = best;
                if (weights is not null)
                {
                    weights[b][t] = outs[3].Span.Slice(b * tSrc, tSrc).ToArray();
                }
            }

            h = outs[1];
            c = outs[2];
        }

        return (tokens, weights);
    }

    /// <summary>
    /// Exact match: the decoded tokens up to and including the first END equal the reversed
    /// sequence and END. Token accuracy: of the positions 0..length (the tokens and END), the
    /// fraction decoded right.
    /// </summary>
    public static (double ExactMatch, double TokenAccuracy) Score(int[][] decoded, ReversalData data)
    {
        int exact = 0;
        long right = 0, total = 0;
        for (int i = 0; i < decoded.Length; i++)
        {
            int len = data.Lengths[i];
            bool ok = true;
            for (int t = 0; t <= len; t++)
            {
                bool hit = decoded[i][t] == (int)data.Target[i, t];
                ok &= hit;
                right += hit ? 1 : 0;
                total++;
            }

            exact += ok ? 1 : 0;
        }

        return decoded.Length == 0 ? (0, 0) : ((double)exact / decoded.Length, (double)right / total);
    }

    public static int Run(Seq2SeqAttentionSettings s, string command)
    {
        Validate(s);
        ExperimentRunner.InstallCancelHandler();
        Directory.CreateDirectory(s.Out);
        var task = Prepare(s);
        var (train, test) = (task.Train, task.Test);
        Console.WriteLine($"{task.Description}; {train.Samples} training and {test.Samples} held-out sequences.");

        var results = new List<Seq2SeqAttentionResult>();
        Models? attentionModels = null;
        string[] labels = ["without attention", "with attention"];
        for (int k = 0; k < 2 && !ExperimentRunner.CancelRequested; k++)
        {
            bool withAttention = k == 1;
            ExperimentRunner.Reseed(s.Seed);
            var models = Build(task.SourceLength, task.Vocabulary, s.Units, withAttention);
            if (s.Verbose > 0)
            {
                Console.WriteLine();
                Console.WriteLine($"== {labels[k]} ==");
                models.Training.Summary();
            }

            models.Training.Compile(new Adam(s.LearningRate), "sparse_categorical_crossentropy", ["accuracy"]);
            var eval = new GreedyCallback(models, test, labels[k], s.Verbose);
            var sw = Stopwatch.StartNew();
            var history = models.Training.Fit(
                [train.Source, train.DecoderInput], train.Target, batchSize: s.Batch, epochs: s.Epochs, verbose: s.Verbose,
                callbacks: [new ExperimentRunner.CancelCallback(), eval], seed: s.Seed);
            sw.Stop();
            if (eval.ExactMatch.Count < history.Epochs.Count)
            {
                eval.Evaluate(); // an epoch cut short by Ctrl+C: judge the weights it ended with
            }

            results.Add(new Seq2SeqAttentionResult(labels[k], models.Training.CountParams(), history, eval.ExactMatch, eval.TokenAccuracy, history.Seconds.Sum()));
            models.Training.Save(Path.Combine(s.Out, withAttention ? "with-attention.lstm" : "without-attention.lstm"), includeOptimizer: false);
            if (withAttention)
            {
                attentionModels = models;
            }
        }

        string table = Table(s, results, test.Samples);
        Console.WriteLine();
        Console.WriteLine(table);
        string? example = null;
        if (attentionModels is not null)
        {
            example = Heatmap(s, attentionModels, test, task.SourceLength);
        }

        Write(s, task, results, command, table, test.Samples, example);
        Console.WriteLine($"Wrote {Path.Combine(s.Out, "results.md")}, history.csv, exact-match.png{(attentionModels is null ? string.Empty : ", attention-heatmap.png")} and the models.");
        return ExperimentRunner.CancelRequested ? 130 : 0;
    }

    private static string Table(Seq2SeqAttentionSettings s, List<Seq2SeqAttentionResult> results, int heldOut)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| model | parameters | epochs run | s/epoch | held-out sequences | greedy exact match | token accuracy |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            int epochs = r.History.Epochs.Count;
            sb.Append("| ").Append(r.Label).Append(" | ").Append(r.Parameters.ToString("N0", CultureInfo.InvariantCulture))
              .Append(" | ").Append(epochs).Append(" | ").Append((epochs == 0 ? 0 : r.TrainSeconds / epochs).ToString("0.0", CultureInfo.InvariantCulture))
              .Append(" | ").Append(heldOut).Append(" | ").Append(r.ExactMatch.Count == 0 ? "—" : ExperimentReport.Percent(r.ExactMatch[^1]))
              .Append(" | ").Append(r.TokenAccuracy.Count == 0 ? "—" : ExperimentReport.Percent(r.TokenAccuracy[^1])).AppendLine(" |");
        }

        _ = s;
        return sb.ToString();
    }

    /// <summary>Decodes the first held-out sequence greedily and draws its attention weights [output step, source step].</summary>
    private static string Heatmap(Seq2SeqAttentionSettings s, Models m, ReversalData test, int sourceLength)
    {
        var (tokens, weights) = Greedy(m, test.Source.Slice(0, 1).Clone());
        int tSrc = sourceLength;
        int len = test.Lengths[0], rows = len + 1; // the target tokens and END
        int first = Enumerable.Range(0, tSrc).First(t => (int)test.Source[0, t] != Pad), cols = tSrc - first; // the unpadded source
        var data = new double[rows, cols];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                // ScottPlot draws row 0 at the top and the y axis counts up: output step i goes in row rows-1-i (at y = i).
                data[rows - 1 - i, j] = weights![0][i][first + j];
            }
        }

        var plot = new ScottPlot.Plot();
        var map = plot.Add.Heatmap(data);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        var bar = plot.Add.ColorBar(map);
        bar.Label = "attention weight";
        plot.Title($"attention weights, held-out example ({cols} source tokens)");
        plot.XLabel("source step (after padding)");
        plot.YLabel($"output step ({len} = END)");
        Charts.IntegerTicksOnX(plot);
        plot.SavePng(Path.Combine(s.Out, "attention-heatmap.png"), Math.Clamp(300 + (16 * cols), 600, 1400), Math.Clamp(200 + (14 * rows), 400, 1100));

        string src = string.Join(' ', Enumerable.Range(first, cols).Select(t => Symbol((int)test.Source[0, t], s.Task)));
        string got = string.Join(' ', tokens[0].Take(rows).Select(t => Symbol(t, s.Task)));
        return $"source:    {src}\npredicted: {got}";
    }

    private static void Write(Seq2SeqAttentionSettings s, TaskData task, List<Seq2SeqAttentionResult> results, string command, string table, int heldOut, string? example)
    {
        string where = results.Count == 0 ? "before training" : $"{ExperimentRunner.DuringEpoch(results[^1].History, s.Epochs)} of {results[^1].Label}";
        if (results.Count < 2)
        {
            where += "; not trained: with attention";
        }

        var md = ExperimentReport.Begin($"Sequence to sequence with attention: {s.Task}", where, command);
        md.AppendLine($"Task: {task.Description}. "
            + $"Encoder Embedding({EmbeddingSize}) → LSTM({s.Units}, return_sequences, return_state); decoder Embedding({EmbeddingSize}) → LSTM({s.Units}) from the encoder's [h, c], teacher forcing; "
            + "with attention: Attention(use_scale) with query = decoder outputs, value = encoder outputs, Concatenate[decoder, context]; then Dense(softmax) per step. "
            + $"Same seed ({s.Seed}), {s.Epochs} epochs, batch {s.Batch}, Adam({s.LearningRate.ToString(CultureInfo.InvariantCulture)}) for both. "
            + $"Scored on {heldOut} held-out sequences by greedy decoding: exact match = every token and END right; token accuracy = fraction of those positions right.").AppendLine();
        md.AppendLine(table);
        md.AppendLine("Greedy exact match on the held-out sequences after each epoch:").AppendLine();
        foreach (var r in results)
        {
            md.AppendLine($"- {r.Label}: {string.Join(", ", r.ExactMatch.Select((v, i) => $"{i + 1}: {ExperimentReport.Percent(v)}"))}");
        }

        md.AppendLine().AppendLine("![exact match](exact-match.png)").AppendLine();
        if (example is not null)
        {
            md.AppendLine("Attention weights of the first held-out sequence (greedy decoding; rows = output steps, columns = source steps):").AppendLine();
            md.AppendLine("```").AppendLine(example).AppendLine("```").AppendLine().AppendLine("![attention heatmap](attention-heatmap.png)").AppendLine();
        }

        md.AppendLine($"Machine: {ExperimentReport.Machine}.");
        File.WriteAllText(Path.Combine(s.Out, "results.md"), md.ToString());

        var csv = new StringBuilder("model,epoch,loss,accuracy,exact_match,token_accuracy,seconds\n");
        foreach (var r in results)
        {
            var h = r.History;
            for (int i = 0; i < h.Epochs.Count; i++)
            {
                csv.Append(r.Label).Append(',').Append(h.Epochs[i] + 1).Append(',').Append(ExperimentReport.HistoryCell(h, "loss", i)).Append(',').Append(ExperimentReport.HistoryCell(h, "accuracy", i))
                   .Append(',').Append(i < r.ExactMatch.Count ? r.ExactMatch[i].ToString("R", CultureInfo.InvariantCulture) : string.Empty)
                   .Append(',').Append(i < r.TokenAccuracy.Count ? r.TokenAccuracy[i].ToString("R", CultureInfo.InvariantCulture) : string.Empty)
                   .Append(',').Append(h.Seconds[i].ToString("0.###", CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        File.WriteAllText(Path.Combine(s.Out, "history.csv"), csv.ToString());

        var plot = new ScottPlot.Plot();
        foreach (var r in results)
        {
            double[] epochs = Enumerable.Range(1, r.ExactMatch.Count).Select(e => (double)e).ToArray();
            var em = plot.Add.Scatter(epochs, r.ExactMatch.ToArray());
            em.LegendText = $"{r.Label}: exact match";
            var ta = plot.Add.Scatter(epochs, r.TokenAccuracy.ToArray());
            ta.LegendText = $"{r.Label}: token accuracy";
            ta.LinePattern = ScottPlot.LinePattern.Dashed;
            ta.Color = em.Color;
        }

        Charts.SaveEpochChart(plot, $"{task.Title}, held out, greedy decoding", "accuracy", Path.Combine(s.Out, "exact-match.png"), 1000, yMax: 1.02);
    }

    internal static void Validate(Seq2SeqAttentionSettings s)
    {
        if (s.Task is not ("reversal" or "addition"))
        {
            throw new ArgumentException($"seq2seq-attention: --task must be reversal or addition, got \"{s.Task}\".", "--task");
        }

        if (s.Digits is < 1 or > 8)
        {
            throw new ArgumentOutOfRangeException("--digits", $"seq2seq-attention: --digits must be in [1, 8], got {s.Digits}.");
        }

        if (s.Task == "addition" && s.Samples > AdditionTask.DistinctQuestions(s.Digits))
        {
            throw new ArgumentOutOfRangeException("--samples", $"seq2seq-attention: --samples must be at most {AdditionTask.DistinctQuestions(s.Digits)} (the distinct questions of {s.Digits} digits), got {s.Samples}.");
        }

        if (s.MinLength < 1)
        {
            throw new ArgumentOutOfRangeException("--min-length", $"seq2seq-attention: --min-length must be at least 1, got {s.MinLength}.");
        }

        if (s.MaxLength < s.MinLength || s.MaxLength > 1000)
        {
            throw new ArgumentOutOfRangeException("--max-length", $"seq2seq-attention: --max-length must be in [--min-length = {s.MinLength}, 1000], got {s.MaxLength}.");
        }

        if (s.Vocabulary is < 2 or > 10_000)
        {
            throw new ArgumentOutOfRangeException("--vocabulary", $"seq2seq-attention: --vocabulary must be in [2, 10000], got {s.Vocabulary}.");
        }

        if (s.Samples is < 2 or > 10_000_000)
        {
            throw new ArgumentOutOfRangeException("--samples", $"seq2seq-attention: --samples must be in [2, 10000000] (10% are held out), got {s.Samples}.");
        }

        if (s.Epochs < 1)
        {
            throw new ArgumentOutOfRangeException("--epochs", $"seq2seq-attention: --epochs must be at least 1, got {s.Epochs}.");
        }

        if (s.Batch < 1)
        {
            throw new ArgumentOutOfRangeException("--batch", $"seq2seq-attention: --batch must be at least 1, got {s.Batch}.");
        }

        if (s.Units is < 1 or > 4096)
        {
            throw new ArgumentOutOfRangeException("--units", $"seq2seq-attention: --units must be in [1, 4096], got {s.Units}.");
        }

        if (!(s.LearningRate > 0 && double.IsFinite(s.LearningRate)))
        {
            throw new ArgumentOutOfRangeException("--lr", $"seq2seq-attention: --lr must be a positive finite number, got {s.LearningRate.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (string.IsNullOrWhiteSpace(s.Out))
        {
            throw new ArgumentException("seq2seq-attention: --out must name a folder, got an empty string.", "--out");
        }
    }

    /// <summary>Greedy exact match and token accuracy on the held-out set after every epoch.</summary>
    private sealed class GreedyCallback(Models models, ReversalData test, string label, int verbose) : Callback
    {
        public List<double> ExactMatch { get; } = [];

        public List<double> TokenAccuracy { get; } = [];

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => Evaluate();

        public void Evaluate()
        {
            var (em, ta) = Score(Greedy(models, test.Source).Tokens, test);
            ExactMatch.Add(em);
            TokenAccuracy.Add(ta);
            if (verbose > 0)
            {
                Console.WriteLine($"  {label}: held-out exact match {ExperimentReport.Percent(em)}, token accuracy {ExperimentReport.Percent(ta)} (greedy)");
            }
        }
    }
}
