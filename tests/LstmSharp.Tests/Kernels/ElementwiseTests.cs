using LstmSharp.Kernels;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Kernels;

public class ElementwiseTests
{
    // Each kernel is a single correctly rounded operation per element (the multiply-adds are fused),
    // so the float result is within half an ulp of the exact double result.
    private const double OneRounding = KernelData.HalfUlp * 1.0000001;

    [Fact]
    public static void BinaryAndFusedKernelsAreCorrectlyRounded()
    {
        foreach (int n in KernelData.Lengths)
        {
            var a = KernelData.Uniform(1 + n, n, -3, 3);
            var b = KernelData.Uniform(2 + n, n, -3, 3);
            var c = KernelData.Uniform(3 + n, n, -3, 3);
            var y = new float[n];

            void Expect(string op, Func<int, double> reference)
            {
                var e = new double[n];
                for (int i = 0; i < n; i++)
                {
                    e[i] = reference(i);
                }

                Check.Close($"Elementwise.{op}, length {n}", e, y, rel: OneRounding, input: a);
            }

            Elementwise.Add(a, b, y);
            Expect("Add", i => (double)a[i] + b[i]);
            Elementwise.Subtract(a, b, y);
            Expect("Subtract", i => (double)a[i] - b[i]);
            Elementwise.Multiply(a, b, y);
            Expect("Multiply", i => (double)a[i] * b[i]);
            Elementwise.MultiplyAdd(a, b, c, y);
            Expect("MultiplyAdd", i => ((double)a[i] * b[i]) + c[i]);

            c.CopyTo(y, 0);
            Elementwise.MultiplyAccumulate(a, b, y);
            Expect("MultiplyAccumulate", i => ((double)a[i] * b[i]) + c[i]);

            c.CopyTo(y, 0);
            Elementwise.Axpy(-0.37f, a, y);
            Expect("Axpy", i => (-0.37f * (double)a[i]) + c[i]);

            Elementwise.Scale(a, 1.7f, y);
            Expect("Scale", i => 1.7f * (double)a[i]);
            Elementwise.AddScalar(a, 0.25f, y);
            Expect("AddScalar", i => a[i] + 0.25);

            a.CopyTo(y, 0);
            Elementwise.Scale(y, -2.5f);
            Expect("Scale in place", i => -2.5 * a[i]);

            a.CopyTo(y, 0);
            Elementwise.Add(y, b, y);
            Expect("Add in place", i => (double)a[i] + b[i]);
        }
    }

    [Fact]
    public static void ActivationWrappersMatchDoublePrecision()
    {
        foreach (int n in KernelData.Lengths)
        {
            var x = KernelData.Uniform(n, n, -12, 12);
            var y = new float[n];
            foreach (var (kind, run) in new (ActivationKind, Action)[]
            {
                (ActivationKind.Sigmoid, () => Elementwise.Sigmoid(x, y)),
                (ActivationKind.Tanh, () => Elementwise.Tanh(x, y)),
                (ActivationKind.HardSigmoid, () => Elementwise.HardSigmoid(x, y)),
                (ActivationKind.Relu, () => Elementwise.Relu(x, y)),
            })
            {
                run();
                Check.Close($"Elementwise.{kind}, length {n}", x.Select(v => kind.Apply(v)).ToArray(), y, rel: 1e-6, abs: 1e-38, input: x);

                var g = KernelData.Uniform(100 + n, n);
                var expected = g.Select((gv, i) => gv * kind.DerivativeFromOutput(y[i])).ToArray();
                Elementwise.MultiplyByDerivativeFromOutput(kind, y, g);
                Check.Close($"Elementwise.MultiplyByDerivativeFromOutput({kind}), length {n}", expected, g, rel: 1e-6, abs: 1e-7, input: y);
            }
        }
    }

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void EveryPathAgreesInAChildProcess(SimdPath path) =>
        SimdChildProcess.Run(path, typeof(ElementwiseTests), new[] { nameof(BinaryAndFusedKernelsAreCorrectlyRounded), nameof(ActivationWrappersMatchDoublePrecision) });

    [Fact]
    public void MismatchedLengthsNameTheOpAndArgument()
    {
        var e = Assert.Throws<ArgumentException>(() => Elementwise.Add(new float[3], new float[4], new float[3]));
        Assert.Contains("Elementwise.Add", e.Message);
        Assert.Contains("b has length 4, expected 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => Elementwise.MultiplyAdd(new float[3], new float[3], new float[2], new float[3]));
        Assert.Contains("c has length 2", e.Message);
        e = Assert.Throws<ArgumentException>(() => Elementwise.Axpy(1f, new float[3], new float[5]));
        Assert.Contains("Elementwise.Axpy: y has length 5", e.Message);
    }
}
