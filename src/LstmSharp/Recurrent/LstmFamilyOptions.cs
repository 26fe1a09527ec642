using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// The options and extra weights an LSTM-family layer and its autograd cell share, so the fused
/// layer and its slow oracle check, name and lay them out alike: the projection size
/// (<see cref="LSTM"/>, <see cref="LstmAutogradCell"/>), and the normalisations' ε and gains
/// (<see cref="LayerNormLSTM"/>, <see cref="LayerNormLstmAutogradCell"/>).
/// </summary>
internal static class LstmFamilyOptions
{
    /// <summary>The projection size P, checked: 0 (none) or positive.</summary>
    internal static int CheckProjSize(int projSize, string owner) =>
        projSize >= 0
            ? projSize
            : throw new ArgumentOutOfRangeException(nameof(projSize), $"{owner}: projSize must be 0 (no projection) or a positive integer, got {projSize}.");

    /// <summary>ε of the normalisations, checked: positive and finite.</summary>
    internal static float CheckNormEpsilon(float normEpsilon, string owner) =>
        normEpsilon > 0f && !float.IsInfinity(normEpsilon)
            ? normEpsilon
            : throw new ArgumentOutOfRangeException(nameof(normEpsilon), $"{owner}: normEpsilon must be a positive finite number, got {normEpsilon}.");

    /// <summary>The config's <c>unit_forget_bias</c>, or Keras's default (true) when absent.</summary>
    internal static bool ReadUnitForgetBias(JsonObject c) => c.GetBool("unit_forget_bias", true);

    /// <summary>The config's <c>proj_size</c>, or 0 (no projection) when absent.</summary>
    internal static int ReadProjSize(JsonObject c) => c.GetIntOrNull("proj_size") ?? 0;

    /// <summary>The config's <c>norm_epsilon</c>, or the default when absent.</summary>
    internal static float ReadNormEpsilon(JsonObject c) =>
        c["norm_epsilon"] is null ? LayerNormLstmCell.DefaultEpsilon : c.GetFloat("norm_epsilon");

    /// <summary>
    /// Writes the family's own keys after the shared ones, in this order: <c>unit_forget_bias</c>;
    /// <c>proj_size</c> only with a projection (<paramref name="projSize"/> &gt; 0); <c>norm_epsilon</c>
    /// only for a layer-normalised cell (<paramref name="normEpsilon"/> given).
    /// </summary>
    internal static void WriteConfig(JsonObject c, bool unitForgetBias, int projSize = 0, float? normEpsilon = null)
    {
        c["unit_forget_bias"] = unitForgetBias;
        if (projSize > 0)
        {
            c["proj_size"] = projSize;
        }

        if (normEpsilon is { } epsilon)
        {
            c["norm_epsilon"] = epsilon;
        }
    }

    /// <summary>
    /// Keras's <c>unit_forget_bias</c> at initialisation: sets the forget gate's bias block
    /// (<paramref name="units"/> values from <paramref name="offset"/>) to 1. Nothing without a
    /// bias, with the option off, or for a cell without a forget gate (<paramref name="offset"/> &lt; 0).
    /// </summary>
    internal static void InitForgetBias(Parameter? bias, bool unitForgetBias, int offset, int units)
    {
        if (bias is not null && unitForgetBias && offset >= 0)
        {
            bias.Value.Span.Slice(offset, units).Fill(1f);
        }
    }

    /// <summary>
    /// Creates a layer-normalised LSTM's gains and offset (10·n values, reserved by the caller as
    /// "norms"), in this order and with these names: γx <c>input_gamma [4n]</c> and γh
    /// <c>recurrent_gamma [4n]</c> (ones), γc <c>cell_gamma [n]</c> (ones), βc <c>cell_beta [n]</c> (zeros).
    /// </summary>
    /// <param name="units">n.</param>
    /// <param name="add">The layer's AddWeight(name, shape, initializer).</param>
    internal static (Parameter InputGamma, Parameter RecurrentGamma, Parameter CellGamma, Parameter CellBeta) AddNormWeights(int units, Func<string, int[], string, Parameter> add)
    {
        int n = units;
        return (add("input_gamma", [4 * n], "ones"), add("recurrent_gamma", [4 * n], "ones"), add("cell_gamma", [n], "ones"), add("cell_beta", [n], "zeros"));
    }
}
