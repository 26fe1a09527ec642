using LstmSharp.Autograd;
using LstmSharp.Tensors;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Autograd;

/// <summary>
/// Add, Sub and Mul with a one-element b (a learned scalar such as Attention's scale) take one
/// vector call instead of one per element: forward and da elementwise, db summed in element order
/// in float — the same bits as the per-row loop they replace, checked here against that loop
/// written out.
/// </summary>
public class ScalarBroadcastTests
{
    [Theory]
    [InlineData("add")]
    [InlineData("sub")]
    [InlineData("mul")]
    public void AScalarOperandGivesTheElementLoopsBits(string kind)
    {
        var a = Random(71, -2, 2, 7, 13, 11);
        var b = Tensor.FromArray([0.37f]);
        var dy = Random(72, -1, 1, 7, 13, 11);
        a.RequiresGrad = b.RequiresGrad = true;
        a.Grad = Random(73, -1, 1, 7, 13, 11); // gradients accumulate onto what is there
        b.Grad = Tensor.FromArray([0.25f]);
        var da0 = a.Grad.ToArray();
        using (var tape = Tape.Record())
        {
            var y = kind switch { "add" => Ops.Add(a, b), "sub" => Ops.Subtract(a, b), _ => Ops.Mul(a, b) };
            float s = b.Span[0];
            for (int i = 0; i < a.Length; i++)
            {
                float e = kind switch { "add" => a.Span[i] + s, "sub" => a.Span[i] - s, _ => a.Span[i] * s };
                Assert.Equal(e, y.Span[i]);
            }

            tape.Backward(y, dy);
        }

        float acc = 0.25f;
        for (int i = 0; i < a.Length; i++)
        {
            float g = dy.Span[i];
            float e = kind == "mul" ? (g * 0.37f) + da0[i] : da0[i] + g;
            Assert.Equal(e, a.Grad.Span[i]);
            acc = kind switch { "add" => acc + g, "sub" => acc - g, _ => (g * a.Span[i]) + acc };
        }

        Assert.Equal(acc, b.Grad.Span[0]);
    }
}
