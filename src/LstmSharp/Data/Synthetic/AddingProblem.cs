using LstmSharp.Tensors;

namespace LstmSharp.Data.Synthetic;

/// <summary>
/// The adding problem (Hochreiter &amp; Schmidhuber 1997), in the form of Le et al. 2015 and
/// Arjovsky et al. 2016: each step carries a value <c>v_t ~ U[0, 1)</c> and a marker
/// <c>m_t ∈ {0, 1}</c>; exactly two markers are 1, one at a uniform position of the first
/// half <c>[0, ⌊T/2⌋)</c> and one in the second half <c>[⌊T/2⌋, T)</c>. The target is the
/// sum of the two marked values, <c>y = Σ_t m_t v_t</c>.
/// </summary>
/// <remarks>
/// Shapes: <c>X [samples, T, 2]</c> (channel 0 the value, channel 1 the marker),
/// <c>Y [samples, 1]</c>. A model that ignores the input does best by predicting the mean,
/// 1, and then scores the variance of a sum of two uniforms, <c>2 · 1/12 = 1/6</c>: the
/// baseline a model must beat (<see cref="ConstantPredictorMse"/>).
/// </remarks>
public static class AddingProblem
{
    public const int Features = 2;

    /// <summary>The best prediction that ignores the input: E[y] = 1.</summary>
    public const float ConstantPrediction = 1f;

    /// <summary>Mean squared error of <see cref="ConstantPrediction"/>: Var[y] = 1/6 ≈ 0.1667.</summary>
    public const double ConstantPredictorMse = 1.0 / 6.0;

    /// <summary>Draws <paramref name="samples"/> sequences of <paramref name="timeSteps"/> steps.</summary>
    public static SyntheticData Generate(int samples, int timeSteps, long seed)
    {
        const string task = "AddingProblem.Generate";
        SyntheticChecks.Positive(task, nameof(samples), samples, 1);
        SyntheticChecks.Positive(task, nameof(timeSteps), timeSteps, 2);
        SyntheticChecks.FitsInTensor(task, (long)samples * timeSteps * Features);

        var rng = new Rng(seed);
        var x = new Tensor(samples, timeSteps, Features);
        var y = new Tensor(samples, 1);
        var xs = x.Span;
        int half = timeSteps / 2;
        for (int i = 0; i < samples; i++)
        {
            var row = xs.Slice(i * timeSteps * Features, timeSteps * Features);
            for (int t = 0; t < timeSteps; t++)
            {
                row[t * Features] = rng.NextFloat();
            }

            int first = rng.NextInt(half);
            int second = half + rng.NextInt(timeSteps - half);
            row[(first * Features) + 1] = 1f;
            row[(second * Features) + 1] = 1f;
            y[i, 0] = row[first * Features] + row[second * Features];
        }

        return new SyntheticData(x, y);
    }
}
