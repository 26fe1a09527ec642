using System.Text;

namespace LstmSharp.Layers;

/// <summary>Standardization and splitting: the tokens of a text (whole or streamed in chunks), with Keras's ASCII rules and code-point order.</summary>
public sealed partial class TextVectorization
{
    /// <summary>Whether <see cref="EncodeStream"/> can cut a text anywhere (character split) or between words (whitespace split) without changing its tokens.</summary>
    internal bool CanStream => customStandardize is null && splitKind is SplitKind.Character or SplitKind.Whitespace;

    /// <summary>
    /// Appends the token indices of <paramref name="chunk"/>, one piece of a longer text, to
    /// <paramref name="ids"/>. With the whitespace split the unfinished last word stays in
    /// <paramref name="carry"/> for the next chunk (pass <paramref name="final"/> on the last one).
    /// </summary>
    internal void EncodeStream(ReadOnlySpan<char> chunk, List<int> ids, ref string carry, bool final, ref char[] scratch)
    {
        RequireVocabulary("EncodeStream");
        if (!CanStream)
        {
            throw new NotSupportedException($"{Describe()}: streaming needs split '{Character}' or '{Whitespace}' and a built-in standardization; got split '{Split ?? "none"}', standardize '{Standardize ?? "none"}'.");
        }

        string text;
        if (splitKind == SplitKind.Whitespace && !final)
        {
            int cut = chunk.Length;
            while (cut > 0 && !IsAsciiWhitespace(chunk[cut - 1]))
            {
                cut--;
            }

            if (cut == 0)
            {
                carry = string.Concat(carry, chunk);
                if (carry.Length > 1 << 24)
                {
                    throw new InvalidDataException($"{Describe()}: a word of more than {1 << 24} characters without whitespace; not a text to split on whitespace.");
                }

                return;
            }

            text = string.Concat(carry, chunk[..cut]);
            carry = chunk[cut..].ToString();
        }
        else
        {
            text = carry.Length == 0 ? chunk.ToString() : string.Concat(carry, chunk);
            carry = string.Empty;
        }

        var map = lookup;
        ForEachToken(text, ref scratch, token => ids.Add(token.IsEmpty ? 0 : map.TryGetValue(token, out int id) ? id : 1));
    }

    /// <summary>Compares two strings by Unicode code point (the order of their UTF-8 bytes), not by UTF-16 unit.</summary>
    internal static int CompareCodePoints(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            char x = a[i], y = b[i];
            if (x != y)
            {
                // A surrogate (a code point above U+FFFF) sorts after every BMP character.
                bool sx = char.IsSurrogate(x), sy = char.IsSurrogate(y);
                return sx == sy ? x.CompareTo(y) : sx ? 1 : -1;
            }
        }

        return a.Length.CompareTo(b.Length);
    }

    private static bool IsAsciiPunctuation(char c) =>
        c < 128 && (uint)(c - '!') <= '~' - '!' && !char.IsAsciiLetterOrDigit(c);

    private static bool IsAsciiWhitespace(char c) => c == ' ' || (uint)(c - '\t') <= '\r' - '\t';

    private delegate void TokenAction(ReadOnlySpan<char> token);

    /// <summary>Standardizes and splits <paramref name="text"/>, calling <paramref name="action"/> per token.</summary>
    private void ForEachToken(string text, ref char[] scratch, TokenAction action)
    {
        if (customStandardize is not null)
        {
            text = customStandardize(text) ?? throw new InvalidOperationException($"{Describe()}: the standardize function '{Standardize}' returned null.");
        }

        if (splitKind == SplitKind.Custom)
        {
            string standardized = customStandardize is null ? StandardizeBuiltIn(text) : text;
            foreach (string? token in customSplit!(standardized) ?? throw new InvalidOperationException($"{Describe()}: the split function '{Split}' returned null."))
            {
                action((token ?? throw new InvalidOperationException($"{Describe()}: the split function '{Split}' returned a null token.")).AsSpan());
            }

            return;
        }

        bool lowerNow = lower && customStandardize is null;
        bool stripNow = strip && customStandardize is null;
        if (scratch.Length < text.Length)
        {
            scratch = new char[Math.Max(text.Length, scratch.Length * 2)];
        }

        // One pass: standardize each character into scratch and cut tokens as the split says.
        int length = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < 128)
            {
                if (stripNow && IsAsciiPunctuation(c))
                {
                    continue;
                }

                if (lowerNow && (uint)(c - 'A') <= 'Z' - 'A')
                {
                    c = (char)(c | 0x20);
                }
            }

            switch (splitKind)
            {
                case SplitKind.Whitespace:
                    if (IsAsciiWhitespace(c))
                    {
                        if (length > 0)
                        {
                            action(scratch.AsSpan(0, length));
                            length = 0;
                        }
                    }
                    else
                    {
                        scratch[length++] = c;
                    }

                    break;
                case SplitKind.Character:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        scratch[0] = c;
                        scratch[1] = text[++i];
                        action(scratch.AsSpan(0, 2));
                    }
                    else
                    {
                        scratch[0] = c;
                        action(scratch.AsSpan(0, 1));
                    }

                    break;
                default:
                    scratch[length++] = c;
                    break;
            }
        }

        if (splitKind == SplitKind.None || length > 0)
        {
            action(scratch.AsSpan(0, length));
        }
    }

    private string StandardizeBuiltIn(string text)
    {
        if (!lower && !strip)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        foreach (char ch in text)
        {
            char c = ch;
            if (c < 128)
            {
                if (strip && IsAsciiPunctuation(c))
                {
                    continue;
                }

                if (lower && (uint)(c - 'A') <= 'Z' - 'A')
                {
                    c = (char)(c | 0x20);
                }
            }

            sb.Append(c);
        }

        return sb.ToString();
    }
}
