using System.Globalization;
using LstmSharp.Autograd;

namespace LstmSharp.Layers;

/// <summary>Constructor argument checks shared by the layers; messages name the layer and argument.</summary>
internal static class LayerChecks
{
    /// <summary>The canonical Keras activation name ("linear" for null), or an error listing the valid ones.</summary>
    public static string ActivationName(string? activation, string owner)
    {
        string name = string.IsNullOrEmpty(activation) ? "linear" : activation.ToLowerInvariant();
        if (name == "hardsigmoid")
        {
            name = "hard_sigmoid";
        }

        if (!Ops.SupportedActivations.Contains(name))
        {
            throw new ArgumentException($"{owner}: unknown activation '{activation}'; expected one of {string.Join(", ", Ops.SupportedActivations)}.", nameof(activation));
        }

        return name;
    }

    /// <summary>A dropout rate, checked to be in [0, 1) (no silent clamping).</summary>
    public static float Rate(float rate, string owner, string argument) =>
        rate >= 0f && rate < 1f
            ? rate
            : throw new ArgumentOutOfRangeException(argument, $"{owner}: {argument} must be in [0, 1), got {rate.ToString(CultureInfo.InvariantCulture)}.");

    /// <summary>A size or count (units, filters, heads, ...), checked to be a positive integer.</summary>
    public static int Positive(int value, string owner, string argument) =>
        value > 0
            ? value
            : throw new ArgumentOutOfRangeException(argument, $"{owner}: {argument} must be a positive integer, got {value}.");

    public static string Initializer(string? initializer, string owner, string argument) =>
        WeightInitializers.Canonical(initializer, owner, argument);
}
