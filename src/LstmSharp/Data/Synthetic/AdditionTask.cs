using System.Text;
using LstmSharp.Tensors;

namespace LstmSharp.Data.Synthetic;

/// <summary>
/// Addition as character sequences, the classic sequence-to-sequence toy (Zaremba &amp; Sutskever
/// 2014; Keras's <c>addition_rnn</c>): the question <c>"535+61"</c> in, the answer <c>"596"</c> out.
/// </summary>
/// <remarks>
/// <para>Characters <c>"0123456789+ "</c> are tokens 0..11; token 12 (<see cref="StartToken"/>)
/// starts the decoder. A question is padded with spaces to <c>2·digits + 1</c> characters, an
/// answer to <c>digits + 1</c>. With <c>reverseSource</c> the padded question is read backwards
/// (Sutskever et al. 2014: the first answer digits then sit close to the digits they depend on).</para>
/// <para>Shapes: <c>Source [N, 2·digits + 1, 13]</c> one-hot; <c>DecoderInput [N, digits + 1, 13]</c>
/// one-hot, the answer shifted right behind the start token (teacher forcing);
/// <c>Target [N, digits + 1]</c> token indices (for <c>sparse_categorical_crossentropy</c>).</para>
/// <para>Numbers are drawn as in Keras: a length uniform in 1..digits, then uniform digits, so short
/// numbers are frequent. Questions are unique up to order: if <c>a+b</c> is drawn, <c>b+a</c> is
/// not, so a held-out question is not a commuted training one.</para>
/// </remarks>
public static class AdditionTask
{
    public const string Characters = "0123456789+ ";

    public const int StartToken = 12;

    /// <summary>Tokens: the 12 characters and the start token.</summary>
    public const int Vocabulary = 13;

    public static int SourceLength(int digits) => (2 * digits) + 1;

    public static int TargetLength(int digits) => digits + 1;

    /// <summary>Number of distinct questions up to order for <paramref name="digits"/> digits: n(n+1)/2 with n = 10^digits.</summary>
    public static long DistinctQuestions(int digits)
    {
        CheckDigits(digits);
        long n = (long)Math.Pow(10, digits);
        return n * (n + 1) / 2;
    }

    /// <summary>Draws <paramref name="count"/> distinct questions (a, b).</summary>
    public static (int A, int B)[] Pairs(int count, int digits, long seed)
    {
        CheckDigits(digits);
        if (count <= 0 || count > DistinctQuestions(digits))
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"AdditionTask.Pairs: count must be in [1, {DistinctQuestions(digits)}] for {digits} digit(s), got {count}.");
        }

        var rng = new Rng(seed);
        var seen = new HashSet<(int, int)>();
        var pairs = new List<(int, int)>(count);
        long attempts = 0, limit = 1000L * count + 100_000;
        while (pairs.Count < count)
        {
            if (++attempts > limit)
            {
                throw new InvalidOperationException($"AdditionTask.Pairs: drew {attempts} questions but found only {pairs.Count} distinct ones of the {count} asked for {digits} digit(s); ask for fewer.");
            }

            int a = Number(rng, digits), b = Number(rng, digits);
            if (seen.Add((Math.Min(a, b), Math.Max(a, b))))
            {
                pairs.Add((a, b));
            }
        }

        return pairs.ToArray();
    }

    /// <summary>The padded question, e.g. <c>"535+61 "</c> for 3 digits (reversed with <paramref name="reverse"/>).</summary>
    public static string Question(int a, int b, int digits, bool reverse = false)
    {
        string q = $"{a}+{b}".PadRight(SourceLength(digits));
        if (!reverse)
        {
            return q;
        }

        var chars = q.ToCharArray();
        Array.Reverse(chars);
        return new string(chars);
    }

    /// <summary>The padded answer, e.g. <c>"596 "</c> for 3 digits.</summary>
    public static string Answer(int a, int b, int digits) => (a + b).ToString(System.Globalization.CultureInfo.InvariantCulture).PadRight(TargetLength(digits));

    /// <summary>One-hot source, teacher-forcing decoder input and target tokens for <paramref name="pairs"/>.</summary>
    public static AdditionData Encode(IReadOnlyList<(int A, int B)> pairs, int digits, bool reverseSource = false)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        CheckDigits(digits);
        int n = pairs.Count, sl = SourceLength(digits), tl = TargetLength(digits);
        var source = new Tensor(n, sl, Vocabulary);
        var decoderInput = new Tensor(n, tl, Vocabulary);
        var target = new Tensor(n, tl);
        for (int i = 0; i < n; i++)
        {
            var (a, b) = pairs[i];
            string q = Question(a, b, digits, reverseSource);
            string ans = Answer(a, b, digits);
            if (q.Length != sl || ans.Length != tl)
            {
                throw new ArgumentException($"AdditionTask.Encode: {a}+{b} does not fit {digits} digit(s).", nameof(pairs));
            }

            for (int t = 0; t < sl; t++)
            {
                source[i, t, Token(q[t])] = 1f;
            }

            for (int t = 0; t < tl; t++)
            {
                int token = Token(ans[t]);
                target[i, t] = token;
                decoderInput[i, t, t == 0 ? StartToken : Token(ans[t - 1])] = 1f;
            }
        }

        return new AdditionData(source, decoderInput, target);
    }

    /// <summary>The character of a token (the start token prints as '^').</summary>
    public static char Character(int token) => token == StartToken ? '^' : Characters[token];

    public static int Token(char c)
    {
        int k = Characters.IndexOf(c, StringComparison.Ordinal);
        return k >= 0 ? k : throw new ArgumentException($"AdditionTask: character '{c}' is not in \"{Characters}\".", nameof(c));
    }

    /// <summary>Tokens → text.</summary>
    public static string Text(IEnumerable<int> tokens)
    {
        var sb = new StringBuilder();
        foreach (int t in tokens)
        {
            sb.Append(Character(t));
        }

        return sb.ToString();
    }

    private static int Number(Rng rng, int digits)
    {
        int length = 1 + rng.NextInt(digits);
        int v = 0;
        for (int k = 0; k < length; k++)
        {
            v = (v * 10) + rng.NextInt(10);
        }

        return v;
    }

    private static void CheckDigits(int digits)
    {
        if (digits is < 1 or > 8)
        {
            throw new ArgumentOutOfRangeException(nameof(digits), $"AdditionTask: digits must be in [1, 8], got {digits}.");
        }
    }
}

/// <summary>Encoded addition questions: one-hot source and decoder input, target token indices.</summary>
public sealed record AdditionData(Tensor Source, Tensor DecoderInput, Tensor Target)
{
    public int Samples => Source.Dim(0);
}
