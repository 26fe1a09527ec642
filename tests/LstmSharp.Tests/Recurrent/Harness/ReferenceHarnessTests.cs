namespace LstmSharp.Tests.Recurrent.Harness;

/// <summary>
/// Every LSTM variant (Greff et al.'s eight, the 1997 cell, the standard cell, combinations,
/// other activations, no bias) × every option set × its implementations (fused kernel, and
/// RNN(LstmAutogradCell) for the standard cell) against the double reference and its finite
/// differences (<see cref="ReferenceHarness"/>). One class per family so the families run in parallel.
/// </summary>
public class LstmReferenceTests
{
    public static TheoryData<string, string, Implementation> Cases() => ReferenceHarness.Cases("lstm/");

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheDoubleReferenceAndFiniteDifferences(string entry, string options, Implementation implementation) =>
        ReferenceHarness.Check(entry, options, implementation);
}

/// <summary>GRU (reset_after either way, other activations, no bias) through <see cref="ReferenceHarness"/>: fused kernel and RNN(GruAutogradCell).</summary>
public class GruReferenceTests
{
    public static TheoryData<string, string, Implementation> Cases() => ReferenceHarness.Cases("gru/");

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheDoubleReferenceAndFiniteDifferences(string entry, string options, Implementation implementation) =>
        ReferenceHarness.Check(entry, options, implementation);
}

/// <summary>SimpleRNN (tanh, relu, sigmoid without bias, hard_sigmoid, linear) through <see cref="ReferenceHarness"/>: fused kernel and RNN(SimpleRnnAutogradCell).</summary>
public class SimpleRnnReferenceTests
{
    public static TheoryData<string, string, Implementation> Cases() => ReferenceHarness.Cases("simplernn/");

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheDoubleReferenceAndFiniteDifferences(string entry, string options, Implementation implementation) =>
        ReferenceHarness.Check(entry, options, implementation);
}

/// <summary>
/// The layer-normalised LSTM (standard, without bias, relu/hard_sigmoid) through
/// <see cref="ReferenceHarness"/>: fused kernel (whose inference forward must also give the
/// training forward's bits) and RNN(LayerNormLstmAutogradCell).
/// </summary>
public class LayerNormLstmReferenceTests
{
    public static TheoryData<string, string, Implementation> Cases() => ReferenceHarness.Cases("lnlstm/");

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheDoubleReferenceAndFiniteDifferences(string entry, string options, Implementation implementation) =>
        ReferenceHarness.Check(entry, options, implementation);
}
