using LstmSharp.Tensors;

namespace LstmSharp.Data;

/// <summary>Sequence preprocessing (Keras's <c>pad_sequences</c>).</summary>
public static class Sequences
{
    /// <summary>
    /// Pads (and truncates) variable-length index sequences to one length, as Keras's
    /// <c>pad_sequences</c>: the result is [n, maxlen] with <paramref name="value"/> in the padding.
    /// </summary>
    /// <param name="sequences">The sequences (e.g. word indices); none may be null.</param>
    /// <param name="maxlen">The common length; null: the longest sequence's length.</param>
    /// <param name="padding"><c>"pre"</c> pads before each sequence, <c>"post"</c> after.</param>
    /// <param name="truncating">
    /// For sequences longer than <paramref name="maxlen"/>: <c>"pre"</c> drops values from the
    /// beginning (keeps the last maxlen), <c>"post"</c> drops them from the end.
    /// </param>
    /// <param name="value">The padding value.</param>
    /// <returns>A float tensor [n, maxlen] of the indices (Embedding reads float indices).</returns>
    public static Tensor PadSequences(int[][] sequences, int? maxlen = null, string padding = "pre", string truncating = "pre", float value = 0f)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        bool padPre = Mode(padding, nameof(padding));
        bool truncatePre = Mode(truncating, nameof(truncating));
        int longest = 0;
        for (int i = 0; i < sequences.Length; i++)
        {
            if (sequences[i] is null)
            {
                throw new ArgumentException($"Sequences.PadSequences: sequences[{i}] is null.", nameof(sequences));
            }

            longest = Math.Max(longest, sequences[i].Length);
        }

        if (maxlen is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxlen), maxlen, $"Sequences.PadSequences: maxlen must be >= 0 or null, got {maxlen}.");
        }

        int length = maxlen ?? longest;
        var result = new Tensor(sequences.Length, length);
        var data = result.Span;
        if (value != 0f)
        {
            data.Fill(value);
        }

        for (int i = 0; i < sequences.Length; i++)
        {
            ReadOnlySpan<int> s = sequences[i];
            if (s.Length > length)
            {
                s = truncatePre ? s[(s.Length - length)..] : s[..length];
            }

            var row = data.Slice(i * length, length);
            var dst = padPre ? row[(length - s.Length)..] : row[..s.Length];
            for (int t = 0; t < s.Length; t++)
            {
                dst[t] = s[t];
            }
        }

        return result;
    }

    private static bool Mode(string mode, string argument) => mode switch
    {
        "pre" => true,
        "post" => false,
        _ => throw new ArgumentException($"Sequences.PadSequences: {argument} must be \"pre\" or \"post\", got \"{mode}\".", argument),
    };
}
