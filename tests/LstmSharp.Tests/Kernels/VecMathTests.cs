using System.Runtime.Intrinsics;
using LstmSharp.Kernels;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Kernels;

public class VecMathTests
{
    private static readonly ActivationKind[] Kinds = Enum.GetValues<ActivationKind>();

    private static readonly int[] Lengths = { 0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 63, 64, 129, 255, 511, 512, 513 };

    private static readonly float[] Extremes =
    {
        0f, -0f, 1e-8f, -1e-8f, 1e-30f, -1e-30f, 1e-3f, -1e-3f, 0.39999f, 0.4f, -0.4f, 0.40001f, 0.5f, -0.5f, 1f, -1f, 2.9999f, 3f, -3f, 3.0001f,
        8f, -8f, 9.5f, -9.5f, 15f, -15f, 20f, -20f, 40f, -40f, 87f, -87f, 88.7f, -88.7f, 89f, -89f, 100f, -100f, 103f, -103f, 104f, -104f,
        1e30f, -1e30f, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.Epsilon, -float.Epsilon,
    };

    /// <summary>A dense grid over [-30, 30], a log grid out to ±1e30, and the hand-picked extremes.</summary>
    private static float[] Inputs()
    {
        var xs = new List<float>();
        for (int i = -30000; i <= 30000; i++)
        {
            xs.Add(i * 1e-3f);
        }

        for (double m = 1e-12; m < 1e31; m *= 1.37)
        {
            xs.Add((float)m);
            xs.Add((float)-m);
        }

        xs.AddRange(Extremes);
        return xs.ToArray();
    }

        [Fact]
    public static void ActivationsMatchDoublePrecision()
    {
        var x = Inputs();
        var y = new float[x.Length];
        var expected = new double[x.Length];
        foreach (var kind in Kinds)
        {
            VecMath.Apply(kind, x, y);
            for (int i = 0; i < x.Length; i++)
            {
                expected[i] = kind.Apply(x[i]);
            }

            // Below the smallest normal float only an absolute error makes sense.
            Check.Close($"VecMath.Apply({kind})", expected, y, rel: 1e-6, abs: 1.2e-38, input: x);
            // Only the activations unbounded above (linear, relu, elu, softplus) may give ∞, and then only at ∞ or near float.MaxValue.
            Assert.DoesNotContain(y, v => float.IsInfinity(v) && kind is not (ActivationKind.Linear or ActivationKind.Relu or ActivationKind.Elu or ActivationKind.Softplus));
        }
    }

        [Fact]
    public static void ExpMatchesDoublePrecision()
    {
        var x = Inputs().Where(v => float.IsNaN(v) || Math.Abs(v) <= 200).ToArray();
        var y512 = new float[x.Length];
        var expected = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            expected[i] = Math.Exp(x[i]);
            if (expected[i] > float.MaxValue)
            {
                expected[i] = double.PositiveInfinity;
            }

            y512[i] = VecMath.Exp(x[i]);
        }

        Check.Close("VecMath.Exp(float)", expected, y512, rel: 1e-6, abs: 1.2e-38, input: x);
    }

        /// <summary>The Vector512 and Vector256 overloads run the scalar twin's operations lane by lane, so the bits agree.</summary>
    [Fact]
    public static void VectorWidthsGiveTheScalarTwinsBits()
    {
        var x = Inputs();
        int n = x.Length - (x.Length % 16);
        var s = new float[n];
        var v256 = new float[n];
        var v512 = new float[n];
        var ds = new float[n];
        var d256 = new float[n];
        var d512 = new float[n];
        foreach (var kind in Kinds)
        {
            for (int i = 0; i < n; i++)
            {
                s[i] = VecMath.Activate(kind, x[i]);
                ds[i] = VecMath.DerivativeFromOutput(kind, s[i]);
            }

            for (int i = 0; i < n; i += 8)
            {
                VecMath.Activate<Lanes256, Vector256<float>>(kind, Vector256.Create(x, i)).CopyTo(v256, i);
                VecMath.DerivativeFromOutput<Lanes256, Vector256<float>>(kind, Vector256.Create(s, i)).CopyTo(d256, i);
            }

            for (int i = 0; i < n; i += 16)
            {
                VecMath.Activate<Lanes512, Vector512<float>>(kind, Vector512.Create(x, i)).CopyTo(v512, i);
                VecMath.DerivativeFromOutput<Lanes512, Vector512<float>>(kind, Vector512.Create(s, i)).CopyTo(d512, i);
            }

            Check.Identical($"Vector256 Activate({kind})", s, v256, x);
            Check.Identical($"Vector512 Activate({kind})", s, v512, x);
            Check.Identical($"Vector256 DerivativeFromOutput({kind})", ds, d256, s);
            Check.Identical($"Vector512 DerivativeFromOutput({kind})", ds, d512, s);
        }

        for (int i = 0; i < n; i++)
        {
            s[i] = VecMath.Exp(x[i]);
        }

        for (int i = 0; i < n; i += 16)
        {
            VecMath.Exp<Lanes512, Vector512<float>>(Vector512.Create(x, i)).CopyTo(v512, i);
            VecMath.Exp<Lanes256, Vector256<float>>(Vector256.Create(x, i)).CopyTo(v256, i);
            VecMath.Exp<Lanes256, Vector256<float>>(Vector256.Create(x, i + 8)).CopyTo(v256, i + 8);
        }

        Check.Identical("Vector512 Exp", s, v512, x);
        Check.Identical("Vector256 Exp", s, v256, x);
    }

        [Fact]
    public static void SpanKernelsMatchScalarTwinAndReferenceAtAwkwardLengths()
    {
        var rng = new Random(7);
        foreach (int len in Lengths)
        {
            var x = new float[len];
            var g = new float[len];
            for (int i = 0; i < len; i++)
            {
                x[i] = (float)((rng.NextDouble() - 0.5) * 16);
                g[i] = (float)((rng.NextDouble() - 0.5) * 4);
            }

            foreach (var kind in Kinds)
            {
                string where = $"{kind}, length {len}";
                var y = new float[len];
                var yScalar = new float[len];
                VecMath.Apply(kind, x, y);
                VecMath.ApplyScalar(kind, x, yScalar);
                Check.Identical($"Apply vs ApplyScalar ({where})", yScalar, y, x);

                var inPlace = (float[])x.Clone();
                VecMath.Apply(kind, inPlace);
                Check.Identical($"Apply in place ({where})", yScalar, inPlace, x);

                var expected = x.Select(v => kind.Apply(v)).ToArray();
                Check.Close($"Apply vs double ({where})", expected, y, rel: 1e-6, abs: 1e-38, input: x);

                var grad = (float[])g.Clone();
                var gradScalar = (float[])g.Clone();
                VecMath.MultiplyByDerivativeFromOutput(kind, y, grad);
                VecMath.MultiplyByDerivativeFromOutputScalar(kind, y, gradScalar);
                Check.Identical($"MultiplyByDerivativeFromOutput vs scalar ({where})", gradScalar, grad, y);

                // Reference: the double derivative at the same (float) output.
                var gradExpected = new double[len];
                for (int i = 0; i < len; i++)
                {
                    gradExpected[i] = g[i] * kind.DerivativeFromOutput(y[i]);
                }

                Check.Close($"MultiplyByDerivativeFromOutput vs double ({where})", gradExpected, grad, rel: 1e-6, abs: 1e-7, input: y);
            }
        }
    }

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void EveryPathAgreesInAChildProcess(SimdPath path)
    {
        SimdChildProcess.Run(path, typeof(VecMathTests), new[]
        {
            nameof(ActivationsMatchDoublePrecision),
            nameof(ExpMatchesDoublePrecision),
            nameof(VectorWidthsGiveTheScalarTwinsBits),
            nameof(SpanKernelsMatchScalarTwinAndReferenceAtAwkwardLengths),
            nameof(TanhStaysWithinTheUnitIntervalNearSaturation),
        });
    }

    [Fact]
    public void ExtremesSaturateWithoutOverflow()
    {
        Assert.Equal(1e-8f, VecMath.Tanh(1e-8f));
        Assert.Equal(-1e-8f, VecMath.Tanh(-1e-8f));
        foreach (float big in new[] { 9.1f, 20f, 100f, 1e30f, float.MaxValue, float.PositiveInfinity })
        {
            Assert.Equal(1f, VecMath.Tanh(big));
            Assert.Equal(-1f, VecMath.Tanh(-big));
            Assert.Equal(1f, VecMath.Sigmoid(big + 8f));
            Assert.Equal(1f, VecMath.Tanh<Lanes512, Vector512<float>>(Vector512.Create(big)).GetElement(3));
            Assert.Equal(-1f, VecMath.Tanh<Lanes256, Vector256<float>>(Vector256.Create(-big)).GetElement(5));
        }

        // sigmoid(-100) = e^-100 / (1 + e^-100) ≈ 3.7e-44 is a float subnormal: positive, finite.
        float s = VecMath.Sigmoid(-100f);
        Assert.True(s > 0f && s < 1e-43f, $"sigmoid(-100) = {s}");
        Assert.Equal(0f, VecMath.Sigmoid(-1e30f));
        Assert.Equal(0f, VecMath.Sigmoid(float.NegativeInfinity));
        Assert.Equal(0.5f, VecMath.Sigmoid(0f));
        Assert.Equal(0f, VecMath.Tanh(0f));
        Assert.Equal(float.PositiveInfinity, VecMath.Exp(100f));
        Assert.Equal(0f, VecMath.Exp(-200f));
        Assert.Equal(1f, VecMath.Exp(0f));
    }

    /// <summary>|tanh| never exceeds 1 (so 1 − y² ≥ 0) and tanh is odd, on every float in [6, 12].</summary>
    [Fact]
    public static void TanhStaysWithinTheUnitIntervalNearSaturation()
    {
        var x = new List<float>();
        for (float v = 6f; v <= 12f; v = MathF.BitIncrement(v))
        {
            x.Add(v);
        }

        var pos = x.ToArray();
        var neg = pos.Select(v => -v).ToArray();
        var yp = new float[pos.Length];
        var yn = new float[neg.Length];
        VecMath.Apply(ActivationKind.Tanh, pos, yp);
        VecMath.Apply(ActivationKind.Tanh, neg, yn);
        for (int i = 0; i < pos.Length; i++)
        {
            Assert.True(yp[i] <= 1f && yp[i] > 0.9999f, $"tanh({pos[i]:R}) = {yp[i]:R}");
            Assert.True(yn[i] == -yp[i], $"tanh({neg[i]:R}) = {yn[i]:R}, tanh({pos[i]:R}) = {yp[i]:R}");
        }
    }

    [Fact]
    public void NaNPropagatesThroughEveryActivation()
    {
        foreach (var kind in Kinds)
        {
            Assert.True(float.IsNaN(VecMath.Activate(kind, float.NaN)), $"{kind} scalar");
            Assert.True(float.IsNaN(VecMath.Activate<Lanes256, Vector256<float>>(kind, Vector256.Create(float.NaN)).GetElement(0)), $"{kind} Vector256");
            Assert.True(float.IsNaN(VecMath.Activate<Lanes512, Vector512<float>>(kind, Vector512.Create(float.NaN)).GetElement(15)), $"{kind} Vector512");
            var x = new float[37];
            x[33] = float.NaN;
            x[5] = float.NaN;
            VecMath.Apply(kind, x, x);
            Assert.True(float.IsNaN(x[33]) && float.IsNaN(x[5]), $"{kind} span");
        }
    }

    [Fact]
    public void LengthMismatchNamesTheArguments()
    {
        var e = Assert.Throws<ArgumentException>(() => VecMath.Apply(ActivationKind.Tanh, new float[4], new float[3]));
        Assert.Contains("Apply", e.Message);
        Assert.Contains("length 3", e.Message);
        Assert.Contains("expected 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => VecMath.MultiplyByDerivativeFromOutput(ActivationKind.Sigmoid, new float[4], new float[5]));
        Assert.Contains("grad", e.Message);
    }
}
