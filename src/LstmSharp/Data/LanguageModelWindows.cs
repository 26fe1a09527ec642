using LstmSharp.Tensors;

namespace LstmSharp.Data;

/// <summary>
/// Next-token training pairs cut from one long token stream (a character-level corpus): window
/// k is <c>x = ids[o + kL .. o + kL + L)</c> and <c>y = ids[o + kL + 1 .. o + kL + L + 1)</c>,
/// non-overlapping, so every token of the stream after the offset is a target once per epoch.
/// A different offset <c>o</c> in [0, L) each epoch moves the window boundaries.
/// </summary>
public static class LanguageModelWindows
{
    /// <summary>How many windows of <paramref name="sequenceLength"/> fit after <paramref name="offset"/> (one token is kept for the last target).</summary>
    public static int Count(int tokens, int sequenceLength, int offset = 0)
    {
        Check(tokens, sequenceLength, offset);
        return Math.Max(0, (tokens - offset - 1) / sequenceLength);
    }

    /// <summary>The windows as float index tensors <c>x [windows, L]</c> and targets <c>y [windows, L]</c>.</summary>
    /// <exception cref="ArgumentException">The stream is too short for one window.</exception>
    public static (Tensor X, Tensor Y) Create(ReadOnlySpan<int> ids, int sequenceLength, int offset = 0)
    {
        int count = Count(ids.Length, sequenceLength, offset);
        if (count == 0)
        {
            throw new ArgumentException($"LanguageModelWindows: {ids.Length} tokens after offset {offset} are too few for one window of {sequenceLength} (needs {sequenceLength + 1}).", nameof(ids));
        }

        var x = new Tensor(count, sequenceLength);
        var y = new Tensor(count, sequenceLength);
        var xs = x.Span;
        var ys = y.Span;
        for (int k = 0; k < count; k++)
        {
            var src = ids.Slice(offset + (k * sequenceLength), sequenceLength + 1);
            var xr = xs.Slice(k * sequenceLength, sequenceLength);
            var yr = ys.Slice(k * sequenceLength, sequenceLength);
            for (int t = 0; t < sequenceLength; t++)
            {
                xr[t] = src[t];
                yr[t] = src[t + 1];
            }
        }

        return (x, y);
    }

    private static void Check(int tokens, int sequenceLength, int offset)
    {
        if (sequenceLength <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sequenceLength), $"LanguageModelWindows: sequenceLength must be positive, got {sequenceLength}.");
        }

        if (offset < 0 || (offset > 0 && offset >= tokens))
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"LanguageModelWindows: offset must be in [0, {tokens}), got {offset}.");
        }
    }
}
