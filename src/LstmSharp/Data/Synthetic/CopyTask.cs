using LstmSharp.Tensors;

namespace LstmSharp.Data.Synthetic;

/// <summary>
/// The copy (memory) task of Arjovsky, Shah &amp; Bengio 2016: remember 10 symbols over a
/// delay of <c>T</c> steps and reproduce them after a delimiter.
/// </summary>
/// <remarks>
/// Categories: 0 is the blank, 1..8 the symbols, 9 the delimiter. A sequence has
/// <c>T + 20</c> steps:
/// <code>
/// input : s1 .. s10 | 0 × (T − 1) | 9 | 0 × 10
/// target: 0 × (T + 10)                | s1 .. s10
/// </code>
/// with <c>s_k</c> uniform over 1..8 (the paper's layout: <c>T − 1</c> blanks, so the delimiter
/// sits at step <c>T + 9</c> and the total length is exactly <c>T + 20</c>).
/// Shapes: <c>X [samples, T + 20, 10]</c> one-hot; <c>Y [samples, T + 20]</c> class indices
/// stored as floats (for <c>sparse_categorical_crossentropy</c>), or
/// <c>[samples, T + 20, 10]</c> one-hot when asked.
/// A memoryless model predicts blanks for <c>T + 10</c> steps and a uniform guess over the 8
/// symbols for the last 10: cross-entropy <c>10 ln 8 / (T + 20)</c> per step
/// (<see cref="MemorylessCrossEntropy"/>), the baseline to beat.
/// </remarks>
public static class CopyTask
{
    /// <summary>Number of symbols to remember.</summary>
    public const int CopyLength = 10;

    /// <summary>Size of the symbol alphabet (categories 1..8).</summary>
    public const int Alphabet = 8;

    public const int Blank = 0;

    public const int Delimiter = 9;

    /// <summary>Categories of the one-hot inputs (blank, 8 symbols, delimiter).</summary>
    public const int Categories = 10;

    /// <summary>Length of a sequence for delay <paramref name="delay"/>: <c>T + 20</c>.</summary>
    public static int SequenceLength(int delay) => delay + (2 * CopyLength);

    /// <summary>Per-step cross-entropy (nats) of the best memoryless predictor: <c>10 ln 8 / (T + 20)</c>.</summary>
    public static double MemorylessCrossEntropy(int delay)
    {
        SyntheticChecks.Positive("CopyTask.MemorylessCrossEntropy", nameof(delay), delay, 1);
        return CopyLength * Math.Log(Alphabet) / SequenceLength(delay);
    }

    /// <summary>Draws <paramref name="samples"/> sequences with delay <paramref name="delay"/> (the paper's T).</summary>
    /// <param name="samples">Number of sequences.</param>
    /// <param name="delay">T: the sequence has <c>T + 20</c> steps; at least 1.</param>
    /// <param name="seed">Same seed, same data on every machine.</param>
    /// <param name="oneHotTargets">Return <c>Y</c> one-hot <c>[samples, T + 20, 10]</c> instead of class indices <c>[samples, T + 20]</c>.</param>
    public static SyntheticData Generate(int samples, int delay, long seed, bool oneHotTargets = false)
    {
        const string task = "CopyTask.Generate";
        SyntheticChecks.Positive(task, nameof(samples), samples, 1);
        SyntheticChecks.Positive(task, nameof(delay), delay, 1);
        int length = SequenceLength(delay);
        SyntheticChecks.FitsInTensor(task, (long)samples * length * Categories);

        var rng = new Rng(seed);
        var x = new Tensor(samples, length, Categories);
        var y = oneHotTargets ? new Tensor(samples, length, Categories) : new Tensor(samples, length);
        Span<int> symbols = stackalloc int[CopyLength];
        for (int i = 0; i < samples; i++)
        {
            for (int k = 0; k < CopyLength; k++)
            {
                symbols[k] = 1 + rng.NextInt(Alphabet);
            }

            for (int t = 0; t < length; t++)
            {
                int input = t < CopyLength ? symbols[t] : t == delay + CopyLength - 1 ? Delimiter : Blank;
                int target = t >= length - CopyLength ? symbols[t - (length - CopyLength)] : Blank;
                x[i, t, input] = 1f;
                if (oneHotTargets)
                {
                    y[i, t, target] = 1f;
                }
                else
                {
                    y[i, t] = target;
                }
            }
        }

        return new SyntheticData(x, y);
    }
}
