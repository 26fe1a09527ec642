using LstmSharp.Autograd;
using LstmSharp.Tensors;
using Xunit.Sdk;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Infrastructure;

/// <summary>The checker must be able to fail: a backward that is off by 0.5% is rejected by both modes.</summary>
public class GradientCheckerTests
{
    [Fact]
    public void RejectsASlightlyWrongBackward()
    {
        var x = Random(1, -1, 1, 3, 4);
        var e1 = Assert.ThrowsAny<XunitException>(() =>
            CheckAgainstReference("cube", t => WrongCube(t[0]), r => r[0].Select(v => v * v * v).ToArray(), [x]));
        Assert.Contains("disagree", e1.Message);
        var e2 = Assert.ThrowsAny<XunitException>(() => CheckFloat("cube", t => WrongCube(t[0]), [x]));
        Assert.Contains("disagree", e2.Message);
    }

    [Fact]
    public void RejectsAWrongForward()
    {
        var x = Random(2, -1, 1, 5);
        var e = Assert.ThrowsAny<XunitException>(() =>
            CheckAgainstReference("scale", t => Ops.Scale(t[0], 2.0001f), r => r[0].Select(v => 2 * v).ToArray(), [x]));
        Assert.Contains("forward differs", e.Message);
    }

    /// <summary>y = x³ with dy/dx = 3.015·x² instead of 3·x².</summary>
    private static Tensor WrongCube(Tensor x)
    {
        var y = new Tensor(x.ShapeArray);
        for (int i = 0; i < y.Length; i++)
        {
            y.Span[i] = x.Span[i] * x.Span[i] * x.Span[i];
        }

        Tape.Track("wrong_cube", y, x, () =>
        {
            var dx = x.EnsureGrad().Span;
            for (int i = 0; i < dx.Length; i++)
            {
                dx[i] += y.Grad!.Span[i] * 3.015f * x.Span[i] * x.Span[i];
            }
        });
        return y;
    }
}
