using LstmSharp.Tensors;

namespace LstmSharp.Data.Synthetic;

/// <summary>
/// The temporal order task of Hochreiter &amp; Schmidhuber 1997 (experiment 6a): classify a
/// sequence by the order of two relevant symbols, X or Y, hidden among distractors.
/// </summary>
/// <remarks>
/// A sequence of <c>T</c> steps starts with the marker <c>E</c>, ends with <c>B</c>, and holds
/// random distractors from {a, b, c, d} elsewhere, except at two steps: <c>t1</c> uniform in
/// <c>[⌊T/10⌋, ⌊T/5⌋]</c> and <c>t2</c> uniform in <c>[⌊T/2⌋, ⌊3T/5⌋]</c> (the paper's windows
/// [10, 20] and [50, 60] for T = 100, scaled), each holding X or Y with probability ½.
/// The class is the pair's order: XX = 0, XY = 1, YX = 2, YY = 3 (the paper's Q, R, S, U).
/// Shapes: <c>X [samples, T, 8]</c> one-hot over the symbols in the order a, b, c, d, X, Y, E, B;
/// <c>Y [samples, 4]</c> one-hot. The classes are equally likely: guessing scores
/// <see cref="BaselineAccuracy"/> = 25% (cross-entropy ln 4).
/// </remarks>
public static class TemporalOrderTask
{
    public const int SymbolA = 0;
    public const int SymbolB = 1;
    public const int SymbolC = 2;
    public const int SymbolD = 3;
    public const int SymbolX = 4;
    public const int SymbolY = 5;

    /// <summary>Start marker <c>E</c>.</summary>
    public const int StartMarker = 6;

    /// <summary>End marker <c>B</c>.</summary>
    public const int EndMarker = 7;

    public const int Symbols = 8;

    public const int Classes = 4;

    /// <summary>Shortest sequence whose windows stay apart and clear of the markers.</summary>
    public const int MinTimeSteps = 10;

    /// <summary>Accuracy of a guess that ignores the input.</summary>
    public const double BaselineAccuracy = 0.25;

    /// <summary>The inclusive windows of <c>t1</c> and <c>t2</c> for a sequence of <paramref name="timeSteps"/> steps.</summary>
    public static ((int Min, int Max) First, (int Min, int Max) Second) Windows(int timeSteps)
    {
        SyntheticChecks.Positive("TemporalOrderTask.Windows", nameof(timeSteps), timeSteps, MinTimeSteps);
        return ((timeSteps / 10, timeSteps / 5), (timeSteps / 2, 3 * timeSteps / 5));
    }

    /// <summary>Draws <paramref name="samples"/> sequences of <paramref name="timeSteps"/> steps (at least <see cref="MinTimeSteps"/>).</summary>
    public static SyntheticData Generate(int samples, int timeSteps, long seed)
    {
        const string task = "TemporalOrderTask.Generate";
        SyntheticChecks.Positive(task, nameof(samples), samples, 1);
        SyntheticChecks.Positive(task, nameof(timeSteps), timeSteps, MinTimeSteps);
        SyntheticChecks.FitsInTensor(task, (long)samples * timeSteps * Symbols);

        var (w1, w2) = Windows(timeSteps);
        var rng = new Rng(seed);
        var x = new Tensor(samples, timeSteps, Symbols);
        var y = new Tensor(samples, Classes);
        for (int i = 0; i < samples; i++)
        {
            int t1 = rng.NextInt(w1.Min, w1.Max + 1);
            int t2 = rng.NextInt(w2.Min, w2.Max + 1);
            int first = rng.NextInt(2);
            int second = rng.NextInt(2);
            for (int t = 0; t < timeSteps; t++)
            {
                int symbol = t == 0 ? StartMarker
                    : t == timeSteps - 1 ? EndMarker
                    : t == t1 ? SymbolX + first
                    : t == t2 ? SymbolX + second
                    : SymbolA + rng.NextInt(4);
                x[i, t, symbol] = 1f;
            }

            y[i, (2 * first) + second] = 1f;
        }

        return new SyntheticData(x, y);
    }
}
