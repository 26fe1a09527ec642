using System.Globalization;
using System.Text;

namespace LstmSharp.Tests.Infrastructure;

/// <summary>
/// Comparisons whose failure text can be read: the label, the first offending index with its
/// input, expected and actual values, how many elements are off and the largest error.
/// </summary>
public static class Check
{
    /// <summary>
    /// Asserts |actual - expected| ≤ rel·|expected| + abs elementwise. NaN must match NaN and
    /// infinities must match exactly.
    /// </summary>
    public static void Close(string label, ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double rel, double abs = 0, ReadOnlySpan<float> input = default)
    {
        Assert.True(expected.Length == actual.Length, $"{label}: expected {expected.Length} values, got {actual.Length}.");
        int bad = 0, first = -1;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            bool ok;
            if (double.IsNaN(e) || double.IsNaN(a) || double.IsInfinity(e) || double.IsInfinity(a))
            {
                ok = double.IsNaN(e) ? double.IsNaN(a) : e == a;
            }
            else
            {
                double err = Math.Abs(a - e);
                double allowed = (rel * Math.Abs(e)) + abs;
                ok = err <= allowed;
                worst = Math.Max(worst, err / Math.Max(Math.Abs(e), double.Epsilon));
            }

            if (!ok)
            {
                bad++;
                if (first < 0)
                {
                    first = i;
                }
            }
        }

        if (bad > 0)
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"{label}: {bad} of {expected.Length} values outside rel {rel:G3} + abs {abs:G3} (largest relative error {worst:G3}). First at [{first}]: ");
            if (!input.IsEmpty)
            {
                sb.Append(CultureInfo.InvariantCulture, $"Input {input[first]:R}, ");
            }

            sb.Append(CultureInfo.InvariantCulture, $"Expected {expected[first]:R}, Actual {actual[first]:R}.");
            Assert.Fail(sb.ToString());
        }
    }

    /// <summary>Asserts two float sequences are identical bit for bit (any NaN equals any NaN).</summary>
    public static void Identical(string label, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, ReadOnlySpan<float> input = default)
    {
        Assert.True(expected.Length == actual.Length, $"{label}: expected {expected.Length} values, got {actual.Length}.");
        for (int i = 0; i < expected.Length; i++)
        {
            bool same = BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i])
                || (float.IsNaN(expected[i]) && float.IsNaN(actual[i]));
            if (!same)
            {
                string inp = input.IsEmpty ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"Input {input[i]:R}, ");
                Assert.Fail(string.Create(CultureInfo.InvariantCulture, $"{label}: differs at [{i}] of {expected.Length}: {inp}Expected {expected[i]:R}, Actual {actual[i]:R}."));
            }
        }
    }

    /// <summary>Asserts |actual[i] - expected[i]| ≤ bound[i] (bounds from an error analysis of the kernel).</summary>
    public static void Within(string label, ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, ReadOnlySpan<double> bound)
    {
        Assert.True(expected.Length == actual.Length, $"{label}: expected {expected.Length} values, got {actual.Length}.");
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (!(err <= bound[i]))
            {
                Assert.Fail(string.Create(CultureInfo.InvariantCulture, $"{label}: at [{i}] of {expected.Length}: Expected {expected[i]:R}, Actual {actual[i]:R}, error {err:G3} > bound {bound[i]:G3}."));
            }
        }
    }
}
