using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Recurrent;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// The options the LSTM family adds to the shared ones (<c>unit_forget_bias</c>, <c>proj_size</c>,
/// <c>norm_epsilon</c>), for the fused layers and their autograd cells alike: config keys,
/// their order and defaults, and what <c>unit_forget_bias</c> does to the bias.
/// </summary>
public class LstmFamilyOptionsTests
{
    public static TheoryData<string> Members => new() { "LSTM", "LayerNormLSTM", "LSTMCell", "LayerNormLSTMCell" };

    private static bool Normalised(string kind) => kind.StartsWith("LayerNorm", StringComparison.Ordinal);

    /// <summary>Each member with every family option away from its default.</summary>
    private static Layer NonDefault(string kind) => kind switch
    {
        "LSTM" => new LSTM(3, unitForgetBias: false, projSize: 2, name: "fam_lstm"),
        "LayerNormLSTM" => new LayerNormLSTM(3, unitForgetBias: false, normEpsilon: 1e-4f, name: "fam_lnlstm"),
        "LSTMCell" => new LstmAutogradCell(3, unitForgetBias: false, projSize: 2, name: "fam_lstm_cell"),
        _ => new LayerNormLstmAutogradCell(3, unitForgetBias: false, name: "fam_lnlstm_cell", normEpsilon: 1e-4f),
    };

    private static Layer Plain(string kind, bool unitForgetBias) => kind switch
    {
        "LSTM" => new LSTM(3, unitForgetBias: unitForgetBias),
        "LayerNormLSTM" => new LayerNormLSTM(3, unitForgetBias: unitForgetBias),
        "LSTMCell" => new LstmAutogradCell(3, unitForgetBias: unitForgetBias),
        _ => new LayerNormLstmAutogradCell(3, unitForgetBias: unitForgetBias),
    };

    [Theory]
    [MemberData(nameof(Members))]
    public void FamilyOptionsRoundTripThroughTheConfigInKerasOrder(string kind)
    {
        var layer = NonDefault(kind);
        var config = layer.GetConfig();
        var keys = config.Select(kv => kv.Key).ToList();
        int ufb = keys.IndexOf("unit_forget_bias");
        Assert.True(ufb > keys.IndexOf("recurrent_dropout"), $"{kind}: unit_forget_bias comes after the shared keys, got {string.Join(", ", keys)}");
        Assert.False(config["unit_forget_bias"]!.GetValue<bool>());
        string extra = Normalised(kind) ? "norm_epsilon" : "proj_size";
        Assert.Equal(ufb + 1, keys.IndexOf(extra));
        Assert.DoesNotContain(Normalised(kind) ? "proj_size" : "norm_epsilon", keys);

        var loaded = LayerRegistry.FromConfig(kind, (JsonObject)config.DeepClone());
        Assert.Equal(config.ToJsonString(), loaded.GetConfig().ToJsonString());
        switch (loaded)
        {
            case LSTM l:
                Assert.False(l.UnitForgetBias);
                Assert.Equal(2, l.ProjSize);
                break;
            case LayerNormLSTM l:
                Assert.False(l.UnitForgetBias);
                Assert.Equal(1e-4f, l.NormEpsilon);
                break;
            case LstmAutogradCell l:
                Assert.False(l.UnitForgetBias);
                Assert.Equal(2, l.ProjSize);
                break;
            case LayerNormLstmAutogradCell l:
                Assert.False(l.UnitForgetBias);
                Assert.Equal(1e-4f, l.NormEpsilon);
                break;
            default:
                Assert.Fail($"{kind} loaded as {loaded.GetType().Name}");
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Members))]
    public void AConfigWithoutFamilyKeysGetsTheDefaults(string kind)
    {
        var loaded = LayerRegistry.FromConfig(kind, new JsonObject { ["units"] = 3 });
        var config = loaded.GetConfig();
        Assert.True(config["unit_forget_bias"]!.GetValue<bool>());
        Assert.False(config.ContainsKey("proj_size"));
        if (Normalised(kind))
        {
            Assert.Equal(LayerNormLstmCell.DefaultEpsilon, config["norm_epsilon"]!.GetValue<float>());
        }
        else
        {
            Assert.False(config.ContainsKey("norm_epsilon"));
        }
    }

    /// <summary>Keras's unit_forget_bias: the forget block (second of i, f, c, o) starts at 1, the rest at 0; off, all 0.</summary>
    [Theory]
    [MemberData(nameof(Members))]
    public void UnitForgetBiasSetsOnlyTheForgetBlock(string kind)
    {
        foreach (bool on in new[] { true, false })
        {
            var layer = Plain(kind, on);
            layer.Build(kind.EndsWith("Cell", StringComparison.Ordinal) ? [5] : [-1, 5]);
            var bias = layer.Parameters.Single(p => p.Name == "bias").Value.ToArray();
            Assert.Equal(12, bias.Length);
            for (int k = 0; k < bias.Length; k++)
            {
                Assert.Equal(on && k is >= 3 and < 6 ? 1f : 0f, bias[k]);
            }
        }
    }

    [Fact]
    public void UnitForgetBiasLeavesAVariantWithoutForgetGateAlone()
    {
        var layer = new LSTM(3, variant: LstmVariant.FromName("NFG"));
        layer.Build([-1, 5]);
        Assert.True(layer.UnitForgetBias);
        Assert.All(layer.Bias!.Value.ToArray(), v => Assert.Equal(0f, v));
    }
}
