using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Recurrent;

/// <summary>
/// The recurrent layers' input gradient as the tape delivers it: written straight into x's
/// gradient when x has none yet, added to it when another consumer of x ran its backward first.
/// Both paths are checked against finite differences of the layer itself.
/// </summary>
public class RecurrentLayerInputGradientTests
{
    public static TheoryData<string> Cells => new() { "lstm", "gru", "simplernn" };

    private static Layer Make(string cell) => cell switch
    {
        "lstm" => new LSTM(3, returnSequences: true, inputShape: [4, 2]),
        "gru" => new GRU(3, returnSequences: true, inputShape: [4, 2]),
        _ => new SimpleRNN(3, returnSequences: true, inputShape: [4, 2]),
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void InputGradientWhenTheLayerIsTheOnlyConsumer(string cell)
    {
        var layer = Make(cell);
        CheckFloat($"{cell} dx (sole consumer)", t => layer.Apply(t[0]), [Random(5, -1, 1, 2, 4, 2)]);
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void InputGradientAddsToAnEarlierContribution(string cell)
    {
        var layer = Make(cell);
        var weight = Random(6, -1, 1, 2, 4, 3);

        // x ⊙ x is recorded after the layer, so its backward runs first and x already has a
        // gradient when the layer's backward adds its own.
        CheckFloat(
            $"{cell} dx (second contribution)",
            t =>
            {
                var y = layer.Apply(t[0]);
                var square = Ops.Sum(Ops.Mul(t[0], t[0]));
                return Ops.Add(Ops.Sum(Ops.Mul(y, weight)), square);
            },
            [Random(7, -1, 1, 2, 4, 2)]);
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void InputGradientOfTheTwoPathsAgrees(string cell)
    {
        var layer = Make(cell);
        var x = Random(8, -1, 1, 2, 4, 2);
        var dy = Random(9, -1, 1, 2, 4, 3);

        float[] Grad(bool alsoSquare)
        {
            x.Grad = null;
            x.RequiresGrad = true;
            using var tape = Tape.Record();
            var y = layer.Apply(x);
            var loss = Ops.Sum(Ops.Mul(y, dy));
            if (alsoSquare)
            {
                loss = Ops.Add(loss, Ops.Sum(Ops.Mul(x, x)));
            }

            tape.Backward(loss);
            return x.Grad!.ToArray();
        }

        var alone = Grad(false);
        var both = Grad(true);
        for (int i = 0; i < alone.Length; i++)
        {
            Assert.Equal(alone[i] + (2 * x.Span[i]), both[i], 1e-5);
        }
    }
}
