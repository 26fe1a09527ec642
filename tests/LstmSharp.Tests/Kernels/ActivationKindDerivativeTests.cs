using LstmSharp.Kernels;

namespace LstmSharp.Tests.Kernels;

/// <summary>Every <see cref="ActivationKind"/>'s derivative written through its output, against central differences of the activation itself.</summary>
public class ActivationKindDerivativeTests
{
    public static TheoryData<ActivationKind> Kinds() => new(Enum.GetValues<ActivationKind>());

    [Theory]
    [MemberData(nameof(Kinds))]
    public void DerivativeFromOutputMatchesCentralDifferences(ActivationKind kind)
    {
        // Points away from the kinks of relu (0) and hard_sigmoid (±3).
        double[] points = [-8.3, -2.9, -1.4, -0.6, -0.13, -1e-3, 2e-3, 0.21, 0.77, 1.9, 2.6, 7.1];
        const double h = 1e-6;
        foreach (double x in points)
        {
            double numeric = (kind.Apply(x + h) - kind.Apply(x - h)) / (2 * h);
            double fromOutput = kind.DerivativeFromOutput(kind.Apply(x));
            Assert.True(Math.Abs(numeric - fromOutput) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"{kind} at {x}: derivative from output {fromOutput}, central difference {numeric}.");

            // The float kernels (scalar twin) agree with the double reference.
            float y = VecMath.Activate(kind, (float)x);
            Assert.True(Math.Abs(VecMath.DerivativeFromOutput(kind, y) - fromOutput) <= 2e-6 * Math.Max(1, Math.Abs(fromOutput)), $"{kind} at {x}: float derivative {VecMath.DerivativeFromOutput(kind, y)}, double {fromOutput}.");
        }
    }

    [Theory]
    [InlineData("elu", ActivationKind.Elu)]
    [InlineData("softsign", ActivationKind.Softsign)]
    [InlineData("softplus", ActivationKind.Softplus)]
    public void KerasNamesRoundTrip(string name, ActivationKind kind)
    {
        Assert.Equal(kind, ActivationNames.Parse(name));
        Assert.Equal(name, kind.ToName());
    }
}
