using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace LstmSharp.Cli.Experiments;

/// <summary>Options of the seq2seq-addition experiment (defaults are the command line's).</summary>
public sealed record Seq2SeqSettings
{
    [CliOption("--digits", "Digits per number.")]
    public int Digits { get; init; } = 3;

    /// <summary>Distinct questions drawn; <see cref="TestFraction"/> of them are held out.</summary>
    [CliOption("--samples", "Distinct questions drawn (10% held out).")]
    public int Samples { get; init; } = 50_000;

    public double TestFraction { get; init; } = 0.1;

    [CliOption("--epochs", CliHelp.Epochs)]
    public int Epochs { get; init; } = 30;

    [CliOption("--batch", CliHelp.Batch)]
    public int Batch { get; init; } = 64;

    [CliOption("--units", CliHelp.EncoderDecoderUnits)]
    public int Units { get; init; } = 128;

    /// <summary>Adam's rate; 0.002 reached 99% on 3 digits in 30 epochs (0.005 plateaued near 90%).</summary>
    [CliOption("--lr", CliHelp.AdamLearningRate)]
    public double LearningRate { get; init; } = 0.002;

    [CliOption("--reverse-source", "Feed the question backwards (Sutskever et al. 2014).")]
    public bool ReverseSource { get; init; }

    /// <summary>Beam width for a second decoding of the held-out set; 1 = greedy only.</summary>
    [CliOption("--beam-width", "Also decode the held-out questions by beam search of this width (1 = greedy only).")]
    public int BeamWidth { get; init; } = 1;

    /// <summary>Held-out questions decoded by beam search (it decodes one question at a time).</summary>
    [CliOption("--beam-samples", "Held-out questions decoded by beam search.")]
    public int BeamSamples { get; init; } = 1000;

    [CliOption("--out", CliHelp.ResultsFolder)]
    public string Out { get; init; } = Path.Combine("results", "seq2seq-addition");

    [CliOption("--seed", CliHelp.GlobalSeed)]
    public int Seed { get; init; } = 42;

    [CliOption("--verbose", CliHelp.Verbose)]
    public int Verbose { get; init; } = 1;
}

/// <summary>The trained encoder-decoder: the teacher-forcing model and the inference decoder sharing its layers.</summary>
public sealed record Seq2SeqModels(Functional Training, Functional Encoder, Functional Step, Seq2SeqDecoder Decoder);

/// <summary>Exact-match accuracy per epoch and the final figures.</summary>
public sealed record Seq2SeqResult(
    double GreedyExactMatch, double? BeamExactMatch, int TestQuestions, int BeamQuestions, IReadOnlyList<double> ExactMatchPerEpoch,
    History History, double TrainSeconds, IReadOnlyList<string> Examples);

/// <summary>
/// Sequence to sequence learning (Sutskever et al. 2014) on addition: an LSTM encoder reads the
/// question's characters; its final states [h, c] initialise an LSTM decoder that is trained
/// with teacher forcing (its input is the answer shifted right behind a start token) and a
/// softmax over characters at every step. At inference the decoder runs one step at a time from
/// its own predictions (greedy, or beam search). Exact match = every answer character right.
/// </summary>
public static class Seq2SeqAdditionExperiment
{
    /// <summary>The training model and the two inference models, all sharing one set of layers.</summary>
    public static Seq2SeqModels Build(int digits, int units)
    {
        int v = AdditionTask.Vocabulary;
        var encoderInput = Input.Create([AdditionTask.SourceLength(digits), v], name: "question");
        var encoder = new LSTM(units, returnState: true, name: "encoder");
        var enc = encoder.ApplyAll(encoderInput);
        var decoderInput = Input.Create([-1, v], name: "answer_shifted");
        var decoder = new LSTM(units, returnSequences: true, returnState: true, name: "decoder");
        var dec = decoder.ApplyAll(decoderInput, enc[1], enc[2]);
        var softmax = new Dense(v, activation: "softmax", name: "char_softmax");
        var probs = softmax.Apply(dec[0]);
        var training = new Functional([encoderInput, decoderInput], [probs], "seq2seq");

        var encoderModel = new Functional([encoderInput], [enc[1], enc[2]], "seq2seq_encoder");
        var stepToken = Input.Create([1, v], name: "token");
        var stepH = Input.Create([units], name: "h");
        var stepC = Input.Create([units], name: "c");
        var step = decoder.ApplyAll(stepToken, stepH, stepC);
        var stepProbs = softmax.Apply(step[0]);
        var stepModel = new Functional([stepToken, stepH, stepC], [stepProbs, step[1], step[2]], "seq2seq_step");
        return new Seq2SeqModels(training, encoderModel, stepModel, new Seq2SeqDecoder(encoderModel, stepModel, v, AdditionTask.StartToken));
    }

    /// <summary>Fraction of questions whose decoded answer equals the target exactly.</summary>
    public static double GreedyExactMatch(Seq2SeqDecoder decoder, AdditionData data, int digits)
    {
        var decoded = decoder.Greedy(data.Source, AdditionTask.TargetLength(digits));
        return ExactMatch(decoded, data.Target);
    }

    /// <summary>Exact match of beam search (best hypothesis) on the first <paramref name="count"/> questions.</summary>
    public static double BeamExactMatch(Seq2SeqDecoder decoder, AdditionData data, int digits, int beamWidth, int count)
    {
        count = Math.Min(count, data.Samples);
        var decoded = new int[count][];
        for (int i = 0; i < count; i++)
        {
            decoded[i] = decoder.Beam(data.Source.Slice(i, 1), beamWidth, AdditionTask.TargetLength(digits))[0].Tokens;
        }

        return ExactMatch(decoded, data.Target);
    }

    public static Seq2SeqResult Train(Seq2SeqSettings s, Seq2SeqModels models, AdditionData train, AdditionData test)
    {
        models.Training.Compile(new Adam(s.LearningRate), "sparse_categorical_crossentropy", ["accuracy"]);
        var exact = new ExactMatchCallback(models.Decoder, test, s.Digits, s.Verbose);
        var sw = Stopwatch.StartNew();
        var history = models.Training.Fit(
            [train.Source, train.DecoderInput], train.Target, batchSize: s.Batch, epochs: s.Epochs, verbose: s.Verbose,
            validationData: ([test.Source, test.DecoderInput], test.Target), callbacks: [exact, new ExperimentRunner.CancelCallback()], seed: s.Seed);
        sw.Stop();
        double greedy = GreedyExactMatch(models.Decoder, test, s.Digits);
        double? beam = s.BeamWidth > 1 ? BeamExactMatch(models.Decoder, test, s.Digits, s.BeamWidth, s.BeamSamples) : null;
        var decoded = models.Decoder.Greedy(test.Source.Slice(0, Math.Min(10, test.Samples)), AdditionTask.TargetLength(s.Digits));
        var examples = new List<string>();
        for (int i = 0; i < decoded.Length; i++)
        {
            string q = SourceText(test.Source, i);
            string want = AdditionTask.Text(TargetRow(test.Target, i));
            string got = AdditionTask.Text(decoded[i]);
            examples.Add($"{(s.ReverseSource ? Reverse(q) : q)} = {want.TrimEnd()}  predicted {got.TrimEnd()} {(got == want ? "✓" : "✗")}");
        }

        return new Seq2SeqResult(greedy, beam, test.Samples, Math.Min(s.BeamSamples, test.Samples), exact.Values, history, sw.Elapsed.TotalSeconds, examples);
    }

    public static int Run(Seq2SeqSettings s, string command)
    {
        Validate(s);
        ExperimentRunner.InstallCancelHandler();
        Directory.CreateDirectory(s.Out);
        var pairs = AdditionTask.Pairs(s.Samples, s.Digits, s.Seed);
        int testCount = Math.Max(1, (int)Math.Round(s.Samples * s.TestFraction));
        var train = AdditionTask.Encode(pairs[..^testCount], s.Digits, s.ReverseSource);
        var test = AdditionTask.Encode(pairs[^testCount..], s.Digits, s.ReverseSource);
        Console.WriteLine($"Addition of {s.Digits}-digit numbers: {train.Samples} training and {test.Samples} held-out questions{(s.ReverseSource ? ", source reversed" : string.Empty)}.");
        ExperimentRunner.Reseed(s.Seed);
        var models = Build(s.Digits, s.Units);
        models.Training.Summary();
        var r = Train(s, models, train, test);
        models.Training.Save(Path.Combine(s.Out, "seq2seq.lstm"), includeOptimizer: false);
        string summary = Summary(s, r);
        Console.WriteLine();
        Console.WriteLine(summary);
        Write(s, r, command, summary);
        Console.WriteLine($"Wrote {Path.Combine(s.Out, "results.md")}, history.csv, exact-match.png and seq2seq.lstm.");
        return ExperimentRunner.CancelRequested ? 130 : 0;
    }

    private static string Summary(Seq2SeqSettings s, Seq2SeqResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| digits | reversed source | units | epochs run | train s | held-out questions | greedy exact match | beam exact match |");
        sb.AppendLine("| ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        sb.Append("| ").Append(s.Digits).Append(" | ").Append(s.ReverseSource ? "yes" : "no").Append(" | ").Append(s.Units)
          .Append(" | ").Append(r.History.Epochs.Count).Append(" | ").Append(r.TrainSeconds.ToString("0", CultureInfo.InvariantCulture))
          .Append(" | ").Append(r.TestQuestions).Append(" | ").Append(ExperimentReport.Percent(r.GreedyExactMatch))
          .Append(" | ").Append(r.BeamExactMatch is { } b ? $"{ExperimentReport.Percent(b)} (width {s.BeamWidth}, first {r.BeamQuestions})" : "—").AppendLine(" |");
        return sb.ToString();
    }

    private static void Write(Seq2SeqSettings s, Seq2SeqResult r, string command, string summary)
    {
        var md = ExperimentReport.Begin("Sequence to sequence: addition", ExperimentRunner.DuringEpoch(r.History, s.Epochs), command);
        md.AppendLine($"Encoder LSTM({s.Units}) → final [h, c] → decoder LSTM({s.Units}) with teacher forcing → Dense(13, softmax) per step; Adam({s.LearningRate.ToString(CultureInfo.InvariantCulture)}), batch {s.Batch}. Exact match = the whole decoded answer equals the target.").AppendLine();
        md.AppendLine(summary);
        md.AppendLine("Greedy exact match on the held-out questions after each epoch:").AppendLine();
        md.AppendLine(string.Join(", ", r.ExactMatchPerEpoch.Select((v, i) => $"{i + 1}: {ExperimentReport.Percent(v)}"))).AppendLine();
        md.AppendLine("Examples (held out, greedy):").AppendLine().AppendLine("```");
        foreach (var e in r.Examples)
        {
            md.AppendLine(e);
        }

        md.AppendLine("```").AppendLine().AppendLine("![exact match](exact-match.png)").AppendLine();
        md.AppendLine($"Machine: {ExperimentReport.Machine}.");
        File.WriteAllText(Path.Combine(s.Out, "results.md"), md.ToString());

        var csv = new StringBuilder("epoch,loss,accuracy,val_loss,val_accuracy,exact_match,seconds\n");
        var h = r.History;
        for (int i = 0; i < h.Epochs.Count; i++)
        {
            csv.Append(h.Epochs[i] + 1).Append(',').Append(ExperimentReport.HistoryCell(h, "loss", i)).Append(',').Append(ExperimentReport.HistoryCell(h, "accuracy", i))
               .Append(',').Append(ExperimentReport.HistoryCell(h, "val_loss", i)).Append(',').Append(ExperimentReport.HistoryCell(h, "val_accuracy", i))
               .Append(',').Append(i < r.ExactMatchPerEpoch.Count ? r.ExactMatchPerEpoch[i].ToString("R", CultureInfo.InvariantCulture) : string.Empty)
               .Append(',').Append(h.Seconds[i].ToString("0.###", CultureInfo.InvariantCulture)).Append('\n');
        }

        File.WriteAllText(Path.Combine(s.Out, "history.csv"), csv.ToString());

        var plot = new ScottPlot.Plot();
        double[] epochs = Enumerable.Range(1, r.ExactMatchPerEpoch.Count).Select(e => (double)e).ToArray();
        var em = plot.Add.Scatter(epochs, r.ExactMatchPerEpoch.ToArray());
        em.LegendText = "held-out exact match (greedy)";
        if (h.Contains("val_accuracy"))
        {
            var va = plot.Add.Scatter(epochs, h["val_accuracy"].Take(epochs.Length).ToArray());
            va.LegendText = "held-out per-character accuracy (teacher forced)";
        }

        Charts.SaveEpochChart(plot, $"seq2seq addition, {s.Digits} digits{(s.ReverseSource ? ", reversed source" : string.Empty)}", "accuracy", Path.Combine(s.Out, "exact-match.png"), 900, yMax: 1.02);
    }

    private static double ExactMatch(int[][] decoded, Tensor target)
    {
        int right = 0, tl = target.Dim(1);
        for (int i = 0; i < decoded.Length; i++)
        {
            bool ok = decoded[i].Length == tl;
            for (int t = 0; ok && t < tl; t++)
            {
                ok = decoded[i][t] == (int)target[i, t];
            }

            right += ok ? 1 : 0;
        }

        return decoded.Length == 0 ? 0 : (double)right / decoded.Length;
    }

    private static IEnumerable<int> TargetRow(Tensor target, int i) => Enumerable.Range(0, target.Dim(1)).Select(t => (int)target[i, t]);

    private static string SourceText(Tensor source, int i)
    {
        var tokens = new List<int>();
        for (int t = 0; t < source.Dim(1); t++)
        {
            for (int k = 0; k < source.Dim(2); k++)
            {
                if (source[i, t, k] == 1f)
                {
                    tokens.Add(k);
                }
            }
        }

        return AdditionTask.Text(tokens);
    }

    private static string Reverse(string s)
    {
        var c = s.ToCharArray();
        Array.Reverse(c);
        return new string(c);
    }

    private static void Validate(Seq2SeqSettings s)
    {
        if (s.Digits is < 1 or > 8)
        {
            throw new ArgumentOutOfRangeException("--digits", $"seq2seq-addition: --digits must be in [1, 8], got {s.Digits}.");
        }

        if (s.Epochs < 0 || s.Batch <= 0 || s.Units <= 0 || s.BeamWidth <= 0 || s.BeamSamples <= 0)
        {
            throw new ArgumentOutOfRangeException("--epochs", $"seq2seq-addition: --epochs >= 0 and --batch, --units, --beam-width, --beam-samples > 0 expected, got {s.Epochs}, {s.Batch}, {s.Units}, {s.BeamWidth}, {s.BeamSamples}.");
        }

        if (!(s.TestFraction > 0 && s.TestFraction < 1))
        {
            throw new ArgumentOutOfRangeException("--test-fraction", $"seq2seq-addition: --test-fraction must be in (0, 1), got {s.TestFraction}.");
        }

        long distinct = AdditionTask.DistinctQuestions(s.Digits);
        if (s.Samples < 2 || s.Samples > distinct)
        {
            throw new ArgumentOutOfRangeException("--samples", $"seq2seq-addition: --samples must be in [2, {distinct}] for {s.Digits} digit(s), got {s.Samples}.");
        }
    }

    private sealed class ExactMatchCallback(Seq2SeqDecoder decoder, AdditionData test, int digits, int verbose) : Callback
    {
        public List<double> Values { get; } = [];

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
        {
            double v = GreedyExactMatch(decoder, test, digits);
            Values.Add(v);
            if (verbose > 0)
            {
                Console.WriteLine($"  held-out exact match (greedy): {ExperimentReport.Percent(v)}");
            }
        }
    }

}
