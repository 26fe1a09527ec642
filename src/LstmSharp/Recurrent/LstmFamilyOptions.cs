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

    /// <summary>The config's <c>norm_epsilon</c>, or the default when absent.</summary>
    internal static float ReadNormEpsilon(JsonObject c) =>
        c["norm_epsilon"] is null ? LayerNormLstmCell.DefaultEpsilon : c.GetFloat("norm_epsilon");

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
