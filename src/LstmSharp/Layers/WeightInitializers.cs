using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>Keras initializers by name or text config (<see cref="Initializers.Get"/>), with errors that name the weight.</summary>
internal static class WeightInitializers
{
    /// <summary>The canonical text form (<c>random_uniform(minval=-0.05, maxval=0.05)</c> for "uniform"), or an error naming <paramref name="owner"/>.</summary>
    public static string Canonical(string? initializer, string owner, string argument)
    {
        try
        {
            return Initializers.Get(initializer ?? string.Empty).GetConfig().ToString();
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new ArgumentException($"{owner}: unknown {argument} '{initializer}'; expected one of {string.Join(", ", Initializers.Names)} (or a text config such as random_normal(stddev=0.1)). {e.Message}", argument, e);
        }
    }

    public static void Fill(string initializer, Tensor t, Rng rng, string owner)
    {
        IInitializer init;
        try
        {
            init = Initializers.Get(initializer);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new ArgumentException($"{owner}: {e.Message}", nameof(initializer), e);
        }

        init.Initialize(t, rng);
    }
}
