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
    private protected NormalizationLayer(string? name, int[]? inputShape)
        : base(name, inputShape)
    {
        // Each position (or each unmasked step, for the batch statistics) is normalised on its own, so masks pass.
        SupportsMasking = true;
    }

    public float Epsilon { get; private set; }

    public bool Center { get; private set; }

    public bool Scale { get; private set; }

    public string BetaInitializer { get; private set; } = "zeros";

    public string GammaInitializer { get; private set; } = "ones";

    public IRegularizer? BetaRegularizer { get; private set; }

    public IRegularizer? GammaRegularizer { get; private set; }

    public IConstraint? BetaConstraint { get; private set; }

    public IConstraint? GammaConstraint { get; private set; }

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
        BetaInitializer = LayerChecks.Initializer(o.BetaInitializer, Describe(), "betaInitializer");
        GammaInitializer = LayerChecks.Initializer(o.GammaInitializer, Describe(), "gammaInitializer");
        BetaRegularizer = o.BetaRegularizer;
        GammaRegularizer = o.GammaRegularizer;
        BetaConstraint = o.BetaConstraint;
        GammaConstraint = o.GammaConstraint;
    }

    /// <summary>Writes ε, center, scale and β/γ's initializers, regularizers and constraints by their Keras names.</summary>
    private protected void WriteNormalizationConfig(JsonObject c)
    {
        c["epsilon"] = Epsilon;
        c["center"] = Center;
        c["scale"] = Scale;
        c["beta_initializer"] = BetaInitializer;
        c["gamma_initializer"] = GammaInitializer;
        c["beta_regularizer"] = LayerConfig.ObjectToJson(BetaRegularizer);
        c["gamma_regularizer"] = LayerConfig.ObjectToJson(GammaRegularizer);
        c["beta_constraint"] = LayerConfig.ObjectToJson(BetaConstraint);
        c["gamma_constraint"] = LayerConfig.ObjectToJson(GammaConstraint);
    }

    /// <summary>Creates γ (with <see cref="Scale"/>) and β (with <see cref="Center"/>) of <paramref name="shape"/>, in that order.</summary>
    private protected void AddGammaAndBeta(int[] shape)
    {
        if (Scale)
        {
            Gamma = AddWeight("gamma", shape, GammaInitializer, GammaRegularizer, GammaConstraint);
        }

        if (Center)
        {
            Beta = AddWeight("beta", shape, BetaInitializer, BetaRegularizer, BetaConstraint);
        }
    }
}

/// <summary>The options of a <see cref="NormalizationLayer"/> as its constructors take them, and as a Keras config names them.</summary>
internal sealed record NormalizationOptions(
    float Epsilon,
    bool Center,
    bool Scale,
    string BetaInitializer,
    string GammaInitializer,
    IRegularizer? BetaRegularizer,
    IRegularizer? GammaRegularizer,
    IConstraint? BetaConstraint,
    IConstraint? GammaConstraint)
{
    /// <summary>Reads the options from a Keras config, with Keras's defaults for absent keys.</summary>
    public static NormalizationOptions Read(JsonObject c) => new(
        c["epsilon"] is null ? 1e-3f : c.GetFloat("epsilon"),
        c.GetBool("center", true),
        c.GetBool("scale", true),
        c.GetStringOrNull("beta_initializer") ?? "zeros",
        c.GetStringOrNull("gamma_initializer") ?? "ones",
        c.GetRegularizer("beta_regularizer"),
        c.GetRegularizer("gamma_regularizer"),
        c.GetConstraint("beta_constraint"),
        c.GetConstraint("gamma_constraint"));
}
