using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Recurrent;

/// <summary>GRU and SimpleRNN through the Layer API: the wiring of outputs, states and masks to the kernels.</summary>
public class SingleStateLayerTests
{
    public static TheoryData<string, bool, bool, bool> Cases() => new()
    {
        { "gru", false, false, false },
        { "gru", true, true, false },
        { "gru-reset-before", true, true, true },
        { "srn", false, true, false },
        { "srn", true, false, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsWithRespectToInputAndInitialStateMatchFiniteDifferences(string kind, bool returnSequences, bool returnState, bool goBackwards)
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(5);
        var layer = Make(kind, 4, returnSequences, returnState, goBackwards);
        var x = GradientChecker.Random(1, -1, 1, 2, 5, 3);
        var h0 = GradientChecker.Random(2, -0.5f, 0.5f, 2, 4);
        GradientChecker.CheckFloat($"{kind} seq={returnSequences} state={returnState} back={goBackwards}", inputs =>
        {
            var outs = layer.Apply([inputs[0], inputs[1]], null, training: false, out _);
            return outs.Count == 1 ? outs[0] : Ops.Concatenate([Ops.Reshape(outs[0], 2, -1), outs[1]], axis: 1);
        }, [x, h0]);
    }

    [Fact]
    public void WeightGradientsOfTheLayerEqualFiniteDifferencesOfTheLoss()
    {
        foreach (string kind in new[] { "gru", "gru-reset-before", "srn" })
        {
            Layer.ClearSession();
            Layer.SetRandomSeed(9);
            var layer = Make(kind, 3, returnSequences: true, returnState: false, goBackwards: false);
            var x = GradientChecker.Random(3, -1, 1, 2, 4, 2);
            var r = GradientChecker.Random(4, -1, 1, 2, 4, 3);
            double Loss()
            {
                using var noGrad = Tape.NoGrad();
                var y = layer.Apply(x);
                double s = 0;
                for (int i = 0; i < y.Length; i++)
                {
                    s += (double)y.Span[i] * r.Span[i];
                }

                return s;
            }

            foreach (var p in layer.Parameters)
            {
                p.Grad.Clear();
            }

            using (var tape = Tape.Record())
            {
                var y = layer.Apply(x, training: true);
                tape.Backward(y, r);
            }

            foreach (var p in layer.Parameters)
            {
                var w = p.Value.Span;
                for (int i = 0; i < w.Length; i += 3)
                {
                    float keep = w[i];
                    const float h = 1f / 64;
                    w[i] = keep + h;
                    double up = Loss();
                    w[i] = keep - h;
                    double down = Loss();
                    w[i] = keep + (h / 2);
                    double up2 = Loss();
                    w[i] = keep - (h / 2);
                    double down2 = Loss();
                    w[i] = keep;
                    double d1 = (up - down) / (2 * h), d2 = (up2 - down2) / h;
                    double numeric = ((4 * d2) - d1) / 3;
                    double analytic = p.Grad.Span[i];
                    Assert.True(Math.Abs(analytic - numeric) <= 2e-3 + (1e-3 * Math.Abs(numeric)), $"{kind} {p.Path}[{i}]: analytic {analytic}, numeric {numeric}");
                }
            }
        }
    }

    [Fact]
    public void SummariesMatchTheArticlesParameterCounts()
    {
        Layer.ClearSession();
        Assert.Equal(20_096, new SimpleRNN(128, inputShape: [28, 28]).CountParams());
        Assert.Equal(60_288, new GRU(128, resetAfter: false, inputShape: [28, 28]).CountParams());
        Assert.Equal(60_672, new GRU(128, inputShape: [28, 28]).CountParams());
        var model = new Sequential();
        model.Add(new GRU(128, resetAfter: false, inputShape: [28, 28]));
        model.Add(new Dense(10));
        string text = model.SummaryText();
        Assert.Contains("(GRU)", text);
        Assert.Contains("Total params: 61,578", text);
    }

    [Fact]
    public void MaskedPaddingCarriesTheStateThrough()
    {
        foreach (string kind in new[] { "gru", "srn" })
        {
            Layer.ClearSession();
            Layer.SetRandomSeed(2);
            var embedding = new Embedding(10, 3, maskZero: true);
            var layer = Make(kind, 4, false, false, false);
            var padded = new Tensor(new float[] { 0, 0, 3, 5, 7, 2, 4, 0, 0, 0 }, 2, 5); // pre- and post-padding
            var e = embedding.Apply(padded, null, false, out var mask);
            var y = layer.Apply([e], [mask], false, out _)[0];
            var e1 = embedding.Apply(new Tensor(new float[] { 3, 5, 7 }, 1, 3));
            var e2 = embedding.Apply(new Tensor(new float[] { 2, 4 }, 1, 2));
            var y1 = layer.Apply(e1);
            var y2 = layer.Apply(e2);
            for (int u = 0; u < 4; u++)
            {
                Assert.Equal(y1[0, u], y[0, u], 1e-5);
                Assert.Equal(y2[0, u], y[1, u], 1e-5);
            }
        }
    }

    private static Layer Make(string kind, int units, bool returnSequences, bool returnState, bool goBackwards) => kind switch
    {
        "gru" => new GRU(units, returnSequences: returnSequences, returnState: returnState, goBackwards: goBackwards),
        "gru-reset-before" => new GRU(units, resetAfter: false, returnSequences: returnSequences, returnState: returnState, goBackwards: goBackwards),
        _ => new SimpleRNN(units, returnSequences: returnSequences, returnState: returnState, goBackwards: goBackwards),
    };
}
