using System.Text.Json.Nodes;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// What <see cref="Dropout"/> and <see cref="SpatialDropout1D"/> share (Keras 3 derives its spatial
/// dropouts from Dropout the same way): the rate in [0, 1), the seed and the mask generator it
/// gives, and their config. Masks pass through; the leaf decides which units one draw drops.
/// </summary>
public abstract class DropoutBase : Layer
{
    private protected DropoutBase(float rate, int? seed, string? name, int[]? inputShape)
        : base(name, inputShape)
    {
        Rate = LayerChecks.Rate(rate, Describe(), nameof(rate));
        Seed = seed;
        MaskRandom = SeededRandom(seed);
        SupportsMasking = true;
    }

    /// <summary>Fraction of the units (or channels) dropped in training.</summary>
    public float Rate { get; }

    /// <summary>Seed of the mask generator; null forks one from <see cref="Layer.SetRandomSeed"/> or the global generator.</summary>
    public int? Seed { get; }

    /// <summary>The generator the masks are drawn from.</summary>
    private protected Rng MaskRandom { get; }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["rate"] = Rate;
        c["seed"] = Seed;
        return c;
    }

    /// <summary>Reads (rate, seed, name, input shape) from a Keras config.</summary>
    private protected static (float Rate, int? Seed, string? Name, int[]? InputShape) ReadConfig(JsonObject c)
    {
        var b = c.GetBase();
        return (c.GetFloat("rate"), c.GetIntOrNull("seed"), b.Name, b.InputShape);
    }
}
