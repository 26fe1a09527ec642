using System.Globalization;
using System.Text.Json.Nodes;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// What <see cref="BatchNormalization"/> and <see cref="LayerNormalization"/> share as Keras
/// layers: ε, the learned gain γ (<see cref="Scale"/>) and offset β (<see cref="Center"/>) with
/// their initializers, regularizers and constraints. Their checks, config keys and weight
/// creation live here once; the leaf keeps which axes it normalises and how.
/// </summary>
public abstract class NormalizationLayer : Layer
{
    private WeightOptions beta = new("zeros", null, null);
    private WeightOptions gamma = new("ones", null, null);

    private protected NormalizationLayer(string? name, int[]? inputShape)
        : base(name, inputShape)
    {
        // Each position (or each unmasked step, for the batch statistics) is normalised on its own, so masks pass.
        SupportsMasking = true;
    }

    public float Epsilon { get; private set; }

    public bool Center { get; private set; }

    public bool Scale { get; private set; }

    public string BetaInitializer => beta.Initializer;

    public string GammaInitializer => gamma.Initializer;

    public IRegularizer? BetaRegularizer => beta.Regularizer;

    public IRegularizer? GammaRegularizer => gamma.Regularizer;

    public IConstraint? BetaConstraint => beta.Constraint;

    public IConstraint? GammaConstraint => gamma.Constraint;

    /// <summary>γ; null before building or without <see cref="Scale"/>.</summary>
    public Parameter? Gamma { get; private set; }

    /// <summary>β; null before building or without <see cref="Center"/>.</summary>
    public Parameter? Beta { get; private set; }

    /// <summary>Checks and keeps the shared options (after the leaf's own checks, so a bad argument is reported in the constructor's argument order).</summary>
    private protected void SetNormalizationOptions(NormalizationOptions o)
    {
        if (!(o.Epsilon > 0) || float.IsInfinity(o.Epsilon))
        {
            throw new ArgumentOutOfRangeException("epsilon", $"{Describe()}: epsilon must be a positive finite number, got {o.Epsilon.ToString(CultureInfo.InvariantCulture)}.");
        }

        Epsilon = o.Epsilon;
        Center = o.Center;
        Scale = o.Scale;
        beta = o.Beta.Checked(Describe(), "betaInitializer");
        gamma = o.Gamma.Checked(Describe(), "gammaInitializer");
    }

    /// <summary>Writes ε, center, scale and β/γ's initializers, regularizers and constraints by their Keras names.</summary>
    private protected void WriteNormalizationConfig(JsonObject c)
    {
        c["epsilon"] = Epsilon;
        c["center"] = Center;
        c["scale"] = Scale;
        WeightOptions.WriteConfig(c, ("beta", beta), ("gamma", gamma));
    }

    /// <summary>Creates γ (with <see cref="Scale"/>) and β (with <see cref="Center"/>) of <paramref name="shape"/>, in that order.</summary>
    private protected void AddGammaAndBeta(int[] shape)
    {
        if (Scale)
        {
            Gamma = AddWeight("gamma", shape, gamma);
        }

        if (Center)
        {
            Beta = AddWeight("beta", shape, beta);
        }
    }
}

/// <summary>The options of a <see cref="NormalizationLayer"/> as its constructors take them, and as a Keras config names them.</summary>
internal sealed record NormalizationOptions(float Epsilon, bool Center, bool Scale, WeightOptions Beta, WeightOptions Gamma)
{
    /// <summary>Reads the options from a Keras config, with Keras's defaults for absent keys.</summary>
    public static NormalizationOptions Read(JsonObject c) => new(
        c["epsilon"] is null ? 1e-3f : c.GetFloat("epsilon"),
        c.GetBool("center", true),
        c.GetBool("scale", true),
        WeightOptions.Read(c, "beta", "zeros"),
        WeightOptions.Read(c, "gamma", "ones"));
}
