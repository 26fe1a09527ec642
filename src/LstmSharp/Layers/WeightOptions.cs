using System.Text.Json.Nodes;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// What a Keras layer says about one of its weights: the initializer, regularizer and constraint
/// (config keys <c>{weight}_initializer</c>, <c>{weight}_regularizer</c>, <c>{weight}_constraint</c>).
/// Layers read, check, write and create their weights through it, so each key is spelled once.
/// </summary>
internal readonly record struct WeightOptions(string Initializer, IRegularizer? Regularizer, IConstraint? Constraint)
{
    /// <summary>Reads the keys of <paramref name="weight"/>; <paramref name="defaultInitializer"/> (Keras's) when the initializer is absent.</summary>
    public static WeightOptions Read(JsonObject c, string weight, string defaultInitializer) =>
        new(c.GetStringOrNull($"{weight}_initializer") ?? defaultInitializer, c.GetRegularizer($"{weight}_regularizer"), c.GetConstraint($"{weight}_constraint"));

    /// <summary>The options with the initializer checked and canonical; a bad one is reported as <paramref name="argument"/> of <paramref name="owner"/>.</summary>
    public WeightOptions Checked(string owner, string argument) =>
        this with { Initializer = LayerChecks.Initializer(Initializer, owner, argument) };

    /// <summary>Writes the weights' keys in Keras's order: every initializer, every regularizer, every constraint.</summary>
    public static void WriteConfig(JsonObject c, params ReadOnlySpan<(string Weight, WeightOptions Options)> weights)
    {
        WriteInitializersAndRegularizers(c, weights);
        WriteConstraints(c, weights);
    }

    /// <summary>As <see cref="WriteConfig(JsonObject, ReadOnlySpan{ValueTuple{string, WeightOptions}})"/>, with the layer's activity_regularizer between the regularizers and the constraints (Keras's order).</summary>
    public static void WriteConfig(JsonObject c, IRegularizer? activityRegularizer, params ReadOnlySpan<(string Weight, WeightOptions Options)> weights)
    {
        WriteInitializersAndRegularizers(c, weights);
        c["activity_regularizer"] = LayerConfig.ObjectToJson(activityRegularizer);
        WriteConstraints(c, weights);
    }

    private static void WriteInitializersAndRegularizers(JsonObject c, ReadOnlySpan<(string Weight, WeightOptions Options)> weights)
    {
        foreach (var (weight, o) in weights)
        {
            c[$"{weight}_initializer"] = o.Initializer;
        }

        foreach (var (weight, o) in weights)
        {
            c[$"{weight}_regularizer"] = LayerConfig.ObjectToJson(o.Regularizer);
        }
    }

    private static void WriteConstraints(JsonObject c, ReadOnlySpan<(string Weight, WeightOptions Options)> weights)
    {
        foreach (var (weight, o) in weights)
        {
            c[$"{weight}_constraint"] = LayerConfig.ObjectToJson(o.Constraint);
        }
    }
}
