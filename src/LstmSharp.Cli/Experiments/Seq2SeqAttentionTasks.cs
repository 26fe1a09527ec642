using System.Globalization;

namespace LstmSharp.Cli.Experiments;

/// <summary>
/// The tasks of <c>experiment seq2seq-attention</c> in one token form (PAD, START, END, then the
/// content tokens): the reversal of 20–40 tokens, where attention matters, and the addition task
/// of <c>seq2seq-addition</c>, where the source is short.
/// </summary>
internal static partial class Seq2SeqAttentionExperiment
{
    /// <summary>Addition's content symbols: the digits and '+', tokens FirstContent + 0..10.</summary>
    private const string AdditionSymbols = "0123456789+";

    /// <summary>The task's training and held-out data, source length, content vocabulary and a one-line description.</summary>
    internal sealed record TaskData(ReversalData Train, ReversalData Test, int SourceLength, int Vocabulary, string Description, string Title);

    internal static TaskData Prepare(Seq2SeqAttentionSettings s)
    {
        int testCount = Math.Max(1, (int)Math.Round(s.Samples * 0.1));
        if (s.Task == "addition")
        {
            // Distinct questions up to order (as seq2seq-addition), so no held-out question is a commuted training one.
            var pairs = AdditionTask.Pairs(s.Samples, s.Digits, s.Seed);
            return new TaskData(
                Addition(pairs[..^testCount], s.Digits), Addition(pairs[^testCount..], s.Digits), AdditionTask.SourceLength(s.Digits), AdditionSymbols.Length,
                $"Addition of numbers of 1–{s.Digits} digits: the question \"a+b\" pre-padded to {AdditionTask.SourceLength(s.Digits)} tokens, the target the digits of the sum, then END",
                $"addition, {s.Digits} digits");
        }

        var rng = new Random(s.Seed);
        var train = Generate(s.Samples - testCount, s.MinLength, s.MaxLength, s.Vocabulary, rng);
        var test = Generate(testCount, s.MinLength, s.MaxLength, s.Vocabulary, rng);
        return new TaskData(
            train, test, s.MaxLength, s.Vocabulary,
            $"Reversal of {s.MinLength}–{s.MaxLength} random tokens over {s.Vocabulary} symbols: the source pre-padded to {s.MaxLength}, the target the tokens backwards, then END",
            $"reversal of {s.MinLength}–{s.MaxLength} tokens");
    }

    /// <summary>Addition questions in token form: source = "a+b" pre-padded with PAD, target = the sum's digits, END, PAD…</summary>
    internal static ReversalData Addition((int A, int B)[] pairs, int digits)
    {
        int tSrc = AdditionTask.SourceLength(digits), tTgt = digits + 2;
        var source = new Tensor(pairs.Length, tSrc);
        var decoderInput = new Tensor(pairs.Length, tTgt);
        var target = new Tensor(pairs.Length, tTgt);
        var lengths = new int[pairs.Length];
        for (int i = 0; i < pairs.Length; i++)
        {
            string question = string.Create(CultureInfo.InvariantCulture, $"{pairs[i].A}+{pairs[i].B}");
            string answer = (pairs[i].A + pairs[i].B).ToString(CultureInfo.InvariantCulture);
            for (int t = 0; t < question.Length; t++)
            {
                source[i, tSrc - question.Length + t] = FirstContent + AdditionSymbols.IndexOf(question[t], StringComparison.Ordinal);
            }

            lengths[i] = answer.Length;
            for (int t = 0; t < tTgt; t++)
            {
                target[i, t] = t < answer.Length ? FirstContent + (answer[t] - '0') : t == answer.Length ? End : Pad;
                decoderInput[i, t] = t == 0 ? Start : target[i, t - 1];
            }
        }

        return new ReversalData(source, decoderInput, target, lengths);
    }

    private static string Symbol(int token, string task) => token switch
    {
        Pad => "_",
        Start => "<s>",
        End => "</s>",
        _ when task == "addition" && token - FirstContent < AdditionSymbols.Length => AdditionSymbols[token - FirstContent].ToString(),
        _ => (token - FirstContent).ToString(CultureInfo.InvariantCulture),
    };
}
