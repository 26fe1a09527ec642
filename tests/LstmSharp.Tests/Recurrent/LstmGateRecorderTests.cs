using LstmSharp.Layers;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Recurrent;

[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class LstmGateRecorderTests
{
    public static TheoryData<string, bool> Variants => new()
    {
        { "standard", false }, { "vanilla", false }, { "cifg", false }, { "nfg", false }, { "nig", false },
        { "nog", false }, { "niaf", false }, { "noaf", false }, { "fgr", false }, { "standard", true }, { "fgr", true },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void RecordedOutputsEqualTheLayersOwnOutputs(string variant, bool goBackwards)
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(11);
        const int time = 9, features = 3, units = 5;
        var layer = new LSTM(units, returnSequences: true, returnState: true, goBackwards: goBackwards, variant: LstmVariant.FromName(variant), inputShape: [time, features]);
        var x = RandomInput(time, features, seed: 3);
        layer.Build([[time, features]]);
        // Non-zero biases and peepholes so every term of the cell matters.
        var rng = new Rng(5);
        foreach (var p in layer.Parameters)
        {
            var span = p.Value.Span;
            for (int k = 0; k < span.Length; k++)
            {
                span[k] += (rng.NextFloat() - 0.5f) * 0.4f;
            }
        }

        var outs = layer.Apply([x], null, training: false, out _);
        var rec = LstmGateRecorder.Record(layer, x);

        Assert.Equal(time, rec.Time);
        Assert.Equal(units, rec.Units);
        // The layer's sequence is in processing order as well (Keras go_backwards semantics).
        Check.Close($"{variant} h", ToDouble(outs[0].Span), rec.Hidden.Span, rel: 1e-4, abs: 2e-6);
        Check.Close($"{variant} h_T", ToDouble(outs[1].Span), rec.Hidden.Span.Slice((time - 1) * units, units), rel: 1e-4, abs: 2e-6);
        Check.Close($"{variant} c_T", ToDouble(outs[2].Span), rec.Cell.Span.Slice((time - 1) * units, units), rel: 1e-4, abs: 2e-6);
    }

    [Theory]
    [InlineData("standard")]
    [InlineData("cifg")]
    [InlineData("nfg")]
    public void RecordedGatesSatisfyTheCellEquations(string variant)
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(12);
        const int time = 7, features = 2, units = 4;
        var layer = new LSTM(units, returnSequences: true, variant: LstmVariant.FromName(variant), inputShape: [time, features]);
        var x = RandomInput(time, features, seed: 4);
        layer.Build([[time, features]]);
        var rec = LstmGateRecorder.Record(layer, x.Reshape(time, features));
        for (int t = 0; t < time; t++)
        {
            for (int j = 0; j < units; j++)
            {
                float cPrev = t == 0 ? 0f : rec.Cell[t - 1, j];
                float i = rec.InputGate[t, j], f = rec.ForgetGate[t, j], g = rec.Candidate[t, j], o = rec.OutputGate[t, j];
                Assert.InRange(i, 0f, 1f);
                Assert.InRange(f, 0f, 1f);
                Assert.InRange(o, 0f, 1f);
                Assert.Equal((f * cPrev) + (i * g), rec.Cell[t, j], 1e-5);
                Assert.Equal(o * MathF.Tanh(rec.Cell[t, j]), rec.Hidden[t, j], 1e-5);
                if (variant == "cifg")
                {
                    Assert.Equal(1f - i, f, 1e-6);
                }

                if (variant == "nfg")
                {
                    Assert.Equal(1f, f);
                }
            }
        }
    }

    [Fact]
    public void BadInputsAreRefusedWithTheLayerName()
    {
        Layer.ClearSession();
        var unbuilt = new LSTM(3, name: "enc");
        var e1 = Assert.Throws<InvalidOperationException>(() => LstmGateRecorder.Record(unbuilt, new Tensor(4, 2)));
        Assert.Contains("'enc'", e1.Message);
        var layer = new LSTM(3, name: "dec", inputShape: [4, 2]);
        layer.Build([[4, 2]]);
        var e2 = Assert.Throws<ArgumentException>(() => LstmGateRecorder.Record(layer, new Tensor(2, 4, 2)));
        Assert.Contains("[time, 2]", e2.Message);
        Assert.Contains("[2, 4, 2]", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => LstmGateRecorder.Record(layer, new Tensor(4, 3)));
        Assert.Contains("'dec'", e3.Message);
    }

    private static Tensor RandomInput(int time, int features, long seed)
    {
        var rng = new Rng(seed);
        var x = new Tensor(1, time, features);
        var s = x.Span;
        for (int k = 0; k < s.Length; k++)
        {
            s[k] = (rng.NextFloat() * 2f) - 1f;
        }

        return x;
    }

    private static double[] ToDouble(ReadOnlySpan<float> s)
    {
        var d = new double[s.Length];
        for (int k = 0; k < s.Length; k++)
        {
            d[k] = s[k];
        }

        return d;
    }
}
