using System.Globalization;
using System.Text;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Infrastructure;

/// <summary>
/// Checks the tape's gradients of a float32 computation against central finite differences.
/// </summary>
/// <remarks>
/// <para>The output y is reduced to a scalar by a fixed random projection L = Σ r_i·y_i
/// (r uniform in [-1, 1], seeded), so one backward pass seeded with dy = r checks every output
/// component at once: the analytic dL/dx is what the tape accumulates into each input's Grad.</para>
/// <para>Two ways to get the numeric side, strongest first:</para>
/// <list type="number">
/// <item><see cref="CheckAgainstReference"/>: the caller also gives a double-precision
/// reference written straight from the equations. The forward is compared with it, and the
/// numeric gradient is the central difference of the <em>double</em> reference with h = 1e-6
/// (truncation ~h² ≈ 1e-12, rounding ~1e-16/h ≈ 1e-10), i.e. essentially exact. What remains is
/// float32 rounding in the analytic backward, so the tolerance is tight:
/// |analytic − numeric| ≤ 1e-4·|numeric| + 1e-5·max|numeric|.</item>
/// <item><see cref="CheckFloat"/>: for compositions with no double twin (layers). The numeric
/// side differentiates the float32 computation itself, with L summed in double and Richardson
/// extrapolation (4·D(h/2) − D(h))/3 over steps h = 1/16 and 1/32 (powers of two, so x ± h is
/// exact in float32): truncation is O(h⁴), and float32 rounding of y (~6e-8·|y|) divided by h
/// stays near 1e-5. Tolerance: |analytic − numeric| ≤ 1e-3·|numeric| + 2e-4·max|numeric|.
/// Inputs must keep away from kinks (relu at 0, hard_sigmoid at ±3) by more than h.</item>
/// </list>
/// </remarks>
public static class GradientChecker
{
    /// <summary>Checks <paramref name="f"/>'s forward against <paramref name="reference"/> and its backward against the reference's central differences.</summary>
    /// <param name="label">Names the check in failure messages.</param>
    /// <param name="f">The float32 computation (ops on the tape).</param>
    /// <param name="reference">The same function in double: inputs as flat arrays, output flat.</param>
    /// <param name="inputs">Inputs; each gets RequiresGrad = true (except those listed in <paramref name="constant"/>).</param>
    /// <param name="constant">Indices of inputs not differentiated (embedding indices).</param>
    /// <param name="seed">Seed of the output projection r.</param>
    /// <param name="forwardTolerance">Allowed |op − reference| relative to |reference| + max|reference|.</param>
    public static void CheckAgainstReference(
        string label,
        Func<Tensor[], Tensor> f,
        Func<double[][], double[]> reference,
        Tensor[] inputs,
        int[]? constant = null,
        int seed = 1234,
        double forwardTolerance = 2e-6)
    {
        var (output, analytic, r) = Analytic(f, inputs, constant, seed);

        var x = inputs.Select(t => t.ToArray().Select(v => (double)v).ToArray()).ToArray();
        var yRef = reference(x);
        Assert.True(yRef.Length == output.Length, $"{label}: reference output has {yRef.Length} values, op output {Tensor.FormatShape(output.Shape)} has {output.Length}.");
        double yScale = Math.Max(1e-3, yRef.Max(Math.Abs));
        for (int i = 0; i < yRef.Length; i++)
        {
            double err = Math.Abs(output.Span[i] - yRef[i]);
            Assert.True(
                err <= forwardTolerance * (Math.Abs(yRef[i]) + yScale),
                $"{label}: forward differs from the double reference at flat index {i}: op {output.Span[i].ToString("R", CultureInfo.InvariantCulture)}, reference {yRef[i].ToString("R", CultureInfo.InvariantCulture)} (abs err {err:E2}).");
        }

        const double h = 1e-6;
        var numeric = new double[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (IsConstant(constant, i))
            {
                continue;
            }

            numeric[i] = new double[x[i].Length];
            for (int j = 0; j < x[i].Length; j++)
            {
                double v = x[i][j];
                x[i][j] = v + h;
                double lp = Dot(r, reference(x));
                x[i][j] = v - h;
                double lm = Dot(r, reference(x));
                x[i][j] = v;
                numeric[i][j] = (lp - lm) / (2 * h);
            }
        }

        Compare(label, inputs, constant, analytic, numeric, rtol: 1e-4, atolScale: 1e-5);
    }

    /// <summary>Checks <paramref name="f"/>'s backward against Richardson-extrapolated central differences of itself (float32 forward, double sums).</summary>
    public static void CheckFloat(string label, Func<Tensor[], Tensor> f, Tensor[] inputs, int[]? constant = null, int seed = 1234)
    {
        var (_, analytic, r) = Analytic(f, inputs, constant, seed);
        const float h = 1f / 16f;
        var numeric = new double[inputs.Length][];
        using (Tape.NoGrad())
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                if (IsConstant(constant, i))
                {
                    continue;
                }

                var s = inputs[i].Span;
                numeric[i] = new double[s.Length];
                for (int j = 0; j < s.Length; j++)
                {
                    float v = s[j];
                    double dh = Central(f, inputs, r, i, j, v, h);
                    double dh2 = Central(f, inputs, r, i, j, v, h / 2);
                    inputs[i].Span[j] = v;
                    numeric[i][j] = ((4 * dh2) - dh) / 3;
                }
            }
        }

        Compare(label, inputs, constant, analytic, numeric, rtol: 1e-3, atolScale: 2e-4);
    }

    private static double Central(Func<Tensor[], Tensor> f, Tensor[] inputs, double[] r, int i, int j, float v, float h)
    {
        var s = inputs[i];
        s.Span[j] = v + h;
        double lp = Dot(r, f(inputs));
        s.Span[j] = v - h;
        double lm = Dot(r, f(inputs));
        return (lp - lm) / (2.0 * h);
    }

    private static (Tensor Output, double[][] Analytic, double[] R) Analytic(Func<Tensor[], Tensor> f, Tensor[] inputs, int[]? constant, int seed)
    {
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i].RequiresGrad = !IsConstant(constant, i);
            inputs[i].Grad = null;
        }

        Tensor output;
        double[] r;
        using (var tape = Tape.Record())
        {
            output = f(inputs);
            var rng = new Random(seed);
            r = Enumerable.Range(0, output.Length).Select(_ => (2 * rng.NextDouble()) - 1).ToArray();
            var dy = Tensor.FromArray(r.Select(v => (float)v).ToArray(), output.ShapeArray);
            tape.Backward(output, dy);
        }

        var analytic = new double[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!IsConstant(constant, i))
            {
                // An input the output does not depend on legitimately has no gradient buffer.
                analytic[i] = inputs[i].Grad?.ToArray().Select(v => (double)v).ToArray() ?? new double[inputs[i].Length];
            }
        }

        var snapshot = output.Clone();
        return (snapshot, analytic, r);
    }

    private static void Compare(string label, Tensor[] inputs, int[]? constant, double[][] analytic, double[][] numeric, double rtol, double atolScale)
    {
        var failures = new StringBuilder();
        int failed = 0;
        double worst = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            if (IsConstant(constant, i))
            {
                continue;
            }

            double scale = Math.Max(1e-2, numeric[i].Length == 0 ? 0 : numeric[i].Max(Math.Abs));
            for (int j = 0; j < numeric[i].Length; j++)
            {
                double a = analytic[i][j];
                double n = numeric[i][j];
                double err = Math.Abs(a - n);
                double allowed = (rtol * Math.Abs(n)) + (atolScale * scale);
                worst = Math.Max(worst, err / allowed);
                if (!(err <= allowed))
                {
                    if (failed++ < 8)
                    {
                        failures.AppendLine(CultureInfo.InvariantCulture, $"  input {i} {Tensor.FormatShape(inputs[i].Shape)} flat {j}: analytic {a:G7}, numeric {n:G7}, |diff| {err:E2} > allowed {allowed:E2}");
                    }
                }
            }
        }

        Assert.True(failed == 0, $"{label}: {failed} gradient element(s) disagree with finite differences (worst err/allowed {worst:F2}):\n{failures}");
    }

    private static bool IsConstant(int[]? constant, int i) => constant is not null && constant.Contains(i);

    private static double Dot(double[] r, Tensor y)
    {
        var s = y.Span;
        double acc = 0;
        for (int i = 0; i < s.Length; i++)
        {
            acc += r[i] * s[i];
        }

        return acc;
    }

    private static double Dot(double[] r, double[] y)
    {
        double acc = 0;
        for (int i = 0; i < y.Length; i++)
        {
            acc += r[i] * y[i];
        }

        return acc;
    }

    /// <summary>A tensor of the given shape with values uniform in [lo, hi), seeded.</summary>
    public static Tensor Random(int seed, float lo, float hi, params int[] shape)
    {
        var rng = new Random(seed);
        var t = new Tensor(shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = lo + ((hi - lo) * rng.NextSingle());
        }

        return t;
    }

    /// <summary>Like <see cref="Random"/> but every |value| ≥ <paramref name="gap"/>, for functions with a kink at 0.</summary>
    public static Tensor RandomAwayFromZero(int seed, float magnitude, float gap, params int[] shape)
    {
        var t = Random(seed, -magnitude, magnitude, shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++)
        {
            if (Math.Abs(s[i]) < gap)
            {
                s[i] = s[i] < 0 ? s[i] - gap : s[i] + gap;
            }
        }

        return t;
    }
}
