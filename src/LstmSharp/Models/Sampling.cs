using System.Globalization;
using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>
/// How the next token is drawn from a model's output (the samplers of Keras-NLP / Hugging Face):
/// the logits are divided by <see cref="Temperature"/>; <see cref="TopK"/> keeps the k most likely
/// tokens (every token tied with the k-th is kept); <see cref="TopP"/> keeps the smallest set of
/// most likely tokens whose probabilities sum to at least p (nucleus sampling); one token is then
/// drawn from the renormalised softmax. Temperature 0 is greedy (argmax).
/// </summary>
/// <param name="Temperature">≥ 0; below 1 sharpens, above 1 flattens, 0 = argmax.</param>
/// <param name="TopK">Keep this many most likely tokens (≥ 1), or null for all.</param>
/// <param name="TopP">Nucleus mass in (0, 1], or null for all.</param>
public sealed record SamplingOptions(double Temperature = 1.0, int? TopK = null, double? TopP = null)
{
    /// <summary>Throws naming the argument when an option is out of range.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(Temperature), $"Sampling: temperature must be a finite number >= 0, got {Temperature.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (TopK is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(TopK), $"Sampling: topK must be at least 1 (or null for no limit), got {TopK}.");
        }

        if (TopP is { } p && !(p > 0 && p <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(TopP), $"Sampling: topP must be in (0, 1] (or null for no limit), got {p.ToString(CultureInfo.InvariantCulture)}.");
        }
    }
}

/// <summary>Draws token indices from logits or probabilities with <see cref="SamplingOptions"/> and a seeded <see cref="Rng"/>.</summary>
public static class Sampling
{
    /// <summary>Index of the largest value (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            throw new ArgumentException("Sampling: no values to choose from.", nameof(values));
        }

        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>Draws one index from <paramref name="logits"/> (unnormalised log-probabilities).</summary>
    public static int Sample(ReadOnlySpan<float> logits, SamplingOptions options, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        options.Validate();
        if (logits.IsEmpty)
        {
            throw new ArgumentException("Sampling: no logits to sample from.", nameof(logits));
        }

        for (int i = 0; i < logits.Length; i++)
        {
            if (float.IsNaN(logits[i]) || float.IsPositiveInfinity(logits[i]))
            {
                throw new ArgumentException($"Sampling: logit {i} is {logits[i].ToString(CultureInfo.InvariantCulture)}; expected finite values (or -infinity for an excluded token).", nameof(logits));
            }
        }

        if (options.Temperature == 0)
        {
            return ArgMax(logits);
        }

        // Indices by descending logit (stable: lower index first on ties).
        int n = logits.Length;
        var order = new int[n];
        var scaled = new double[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            scaled[i] = logits[i] / options.Temperature;
        }

        Array.Sort(order, (a, b) =>
        {
            int c = scaled[b].CompareTo(scaled[a]);
            return c != 0 ? c : a.CompareTo(b);
        });

        if (double.IsNegativeInfinity(scaled[order[0]]))
        {
            throw new ArgumentException("Sampling: every logit is -infinity; nothing can be drawn.", nameof(logits));
        }

        int keep = n;
        if (options.TopK is { } k && k < n)
        {
            // Everything tied with the k-th largest stays.
            double kth = scaled[order[k - 1]];
            keep = k;
            while (keep < n && scaled[order[keep]] == kth)
            {
                keep++;
            }
        }

        double max = scaled[order[0]];
        var probs = new double[keep];
        double sum = 0;
        for (int j = 0; j < keep; j++)
        {
            probs[j] = Math.Exp(scaled[order[j]] - max);
            sum += probs[j];
        }

        if (options.TopP is { } p && p < 1)
        {
            double cumulative = 0;
            int nucleus = 0;
            while (nucleus < keep)
            {
                cumulative += probs[nucleus] / sum;
                nucleus++;
                if (cumulative >= p)
                {
                    break;
                }
            }

            keep = nucleus;
            sum = 0;
            for (int j = 0; j < keep; j++)
            {
                sum += probs[j];
            }
        }

        double u = rng.NextDouble() * sum;
        double acc = 0;
        for (int j = 0; j < keep; j++)
        {
            acc += probs[j];
            if (u < acc)
            {
                return order[j];
            }
        }

        return order[keep - 1];
    }

    /// <summary>Draws one index from probabilities (a softmax output): their logarithms are the logits.</summary>
    public static int SampleFromProbabilities(ReadOnlySpan<float> probabilities, SamplingOptions options, Rng rng)
    {
        var logits = new float[probabilities.Length];
        for (int i = 0; i < logits.Length; i++)
        {
            float q = probabilities[i];
            if (!(q >= 0) || float.IsInfinity(q))
            {
                throw new ArgumentException($"Sampling: probability {i} is {q.ToString(CultureInfo.InvariantCulture)}; expected a finite value >= 0.", nameof(probabilities));
            }

            logits[i] = q > 0 ? MathF.Log(q) : float.NegativeInfinity;
        }

        return Sample(logits, options, rng);
    }
}
