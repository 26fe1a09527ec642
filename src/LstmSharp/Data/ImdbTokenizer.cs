namespace LstmSharp.Data;

/// <summary>
/// Splits a review into words, close to what produced Keras's IMDB word index.
/// </summary>
/// <remarks>
/// The rule, in order:
/// <list type="number">
/// <item>HTML line breaks (<c>&lt;br /&gt;</c>, <c>&lt;br/&gt;</c>, <c>&lt;br&gt;</c>, any case) are separators
/// (Keras's index kept them as the word <c>br</c>, its 7th most frequent; ours has no <c>br</c>).</item>
/// <item>A word is a maximal run of letters, digits (<see cref="char.IsLetterOrDigit(char)"/>, any
/// script) and apostrophes (<c>'</c> or the typographic <c>’</c>, stored as <c>'</c>); everything
/// else (spaces, punctuation, hyphens, other symbols) separates words.</item>
/// <item>Apostrophes at either end of a run are dropped (<c>'quoted'</c> → <c>quoted</c>, <c>don't</c>
/// stays); a run of apostrophes only is no word.</item>
/// <item>Words are lower-cased with the invariant culture.</item>
/// </list>
/// </remarks>
public static class ImdbTokenizer
{
    /// <summary>Changes whenever the rule changes, which invalidates cached token files.</summary>
    public const int Version = 1;

    /// <summary>The words of <paramref name="text"/>, in order.</summary>
    public static List<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new List<string>();
        var scratch = new char[text.Length];
        int pos = 0;
        int length;
        while ((length = NextWord(text, ref pos, scratch)) >= 0)
        {
            words.Add(new string(scratch, 0, length));
        }

        return words;
    }

    /// <summary>
    /// Writes the next word at or after <paramref name="pos"/> into <paramref name="word"/>
    /// (at least as long as the text) and returns its length, or -1 when there is none.
    /// </summary>
    internal static int NextWord(ReadOnlySpan<char> text, ref int pos, Span<char> word)
    {
        while (pos < text.Length)
        {
            char c = text[pos];
            if (!IsWordChar(c))
            {
                pos += c == '<' ? Math.Max(1, BreakTagLength(text[pos..])) : 1;
                continue;
            }

            int length = 0;
            while (pos < text.Length && IsWordChar(text[pos]))
            {
                char w = text[pos++];
                word[length++] = w == '\u2019' ? '\'' : char.ToLowerInvariant(w);
            }

            int start = 0;
            while (start < length && word[start] == '\'')
            {
                start++;
            }

            int end = length;
            while (end > start && word[end - 1] == '\'')
            {
                end--;
            }

            if (end > start)
            {
                if (start > 0)
                {
                    word[start..end].CopyTo(word);
                }

                return end - start;
            }
        }

        return -1;
    }

    private static bool IsWordChar(char c) =>
        c < 128 ? (uint)((c | 0x20) - 'a') <= 'z' - 'a' || (uint)(c - '0') <= 9 || c == '\'' : c == '\u2019' || char.IsLetterOrDigit(c);

    /// <summary>Length of a <c>&lt;br /&gt;</c> tag at the start of <paramref name="s"/>, or 0.</summary>
    private static int BreakTagLength(ReadOnlySpan<char> s)
    {
        if (s.Length < 4 || s[0] != '<' || (s[1] | 0x20) != 'b' || (s[2] | 0x20) != 'r')
        {
            return 0;
        }

        int i = 3;
        while (i < s.Length && (s[i] == ' ' || s[i] == '/' || s[i] == '\t'))
        {
            i++;
        }

        return i < s.Length && s[i] == '>' ? i + 1 : 0;
    }
}
