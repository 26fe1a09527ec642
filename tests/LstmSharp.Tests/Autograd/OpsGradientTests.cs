using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Tensors;
using LstmSharp.Tests.Infrastructure;
using LstmSharp.Tests.Kernels;
using static LstmSharp.Tests.Infrastructure.GradientChecker;

namespace LstmSharp.Tests.Autograd;

/// <summary>
/// Every op: forward against a double-precision loop written from its definition, backward
/// against central differences of that loop (<see cref="GradientChecker.CheckAgainstReference"/>).
/// </summary>
public class OpsGradientTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatMul2D(bool ta, bool tb)
    {
        const int m = 3, k = 4, n = 5;
        var a = Random(1, -1, 1, ta ? [k, m] : [m, k]);
        var b = Random(2, -1, 1, tb ? [n, k] : [k, n]);
        CheckAgainstReference(
            $"matmul ta={ta} tb={tb}",
            x => Ops.MatMul(x[0], x[1], ta, tb),
            x =>
            {
                var y = new double[m * n];
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        for (int p = 0; p < k; p++)
                        {
                            double av = ta ? x[0][(p * m) + i] : x[0][(i * k) + p];
                            double bv = tb ? x[1][(j * k) + p] : x[1][(p * n) + j];
                            y[(i * n) + j] += av * bv;
                        }
                    }
                }

                return y;
            },
            [a, b]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatMulBatchedSequence(bool tb)
    {
        // [B, T, D]·[D, N] is one GEMM over B·T rows; the output keeps [B, T, N].
        const int bt = 2, t = 3, d = 4, n = 2;
        var a = Random(3, -1, 1, bt, t, d);
        var w = Random(4, -1, 1, tb ? [n, d] : [d, n]);
        var y = Ops.MatMul(a, w, transposeB: tb);
        Assert.Equal(new[] { bt, t, n }, y.ShapeArray);
        CheckAgainstReference(
            "matmul [B,T,D]",
            x => Ops.MatMul(x[0], x[1], transposeB: tb),
            x =>
            {
                var r = new double[bt * t * n];
                for (int row = 0; row < bt * t; row++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        for (int p = 0; p < d; p++)
                        {
                            r[(row * n) + j] += x[0][(row * d) + p] * (tb ? x[1][(j * d) + p] : x[1][(p * n) + j]);
                        }
                    }
                }

                return r;
            },
            [a, w]);
    }

    [Fact]
    public void AddSubtractMulSameShape()
    {
        var a = Random(5, -2, 2, 3, 4);
        var b = Random(6, -2, 2, 3, 4);
        CheckAgainstReference("add", x => Ops.Add(x[0], x[1]), x => x[0].Zip(x[1], (p, q) => p + q).ToArray(), [a, b]);
        CheckAgainstReference("subtract", x => Ops.Subtract(x[0], x[1]), x => x[0].Zip(x[1], (p, q) => p - q).ToArray(), [a, b]);
        CheckAgainstReference("mul", x => Ops.Mul(x[0], x[1]), x => x[0].Zip(x[1], (p, q) => p * q).ToArray(), [a, b]);
    }

    [Fact]
    public void BroadcastOverLeadingAxes()
    {
        // A bias [4] over [2, 3, 4]: its gradient sums dy over the 6 rows.
        var a = Random(7, -2, 2, 2, 3, 4);
        var b = Random(8, -2, 2, 4);
        static double[] Ref(double[] a, double[] b, Func<double, double, double> op) =>
            a.Select((v, i) => op(v, b[i % b.Length])).ToArray();
        CheckAgainstReference("add bias", x => Ops.Add(x[0], x[1]), x => Ref(x[0], x[1], (p, q) => p + q), [a, b]);
        CheckAgainstReference("add bias (bias first)", x => Ops.Add(x[1], x[0]), x => Ref(x[0], x[1], (p, q) => p + q), [a, b]);
        CheckAgainstReference("subtract bias", x => Ops.Subtract(x[0], x[1]), x => Ref(x[0], x[1], (p, q) => p - q), [a, b]);
        CheckAgainstReference("mul broadcast", x => Ops.Mul(x[0], x[1]), x => Ref(x[0], x[1], (p, q) => p * q), [a, b]);
    }

    [Fact]
    public void Scale()
    {
        var a = Random(9, -2, 2, 5);
        CheckAgainstReference("scale", x => Ops.Scale(x[0], -2.5f), x => x[0].Select(v => -2.5 * v).ToArray(), [a]);
    }

    [Theory]
    [InlineData(ActivationKind.Sigmoid)]
    [InlineData(ActivationKind.Tanh)]
    [InlineData(ActivationKind.Relu)]
    [InlineData(ActivationKind.HardSigmoid)]
    [InlineData(ActivationKind.Linear)]
    public void Activations(ActivationKind kind)
    {
        // Values in ±4 cover both hard_sigmoid saturations; a gap keeps x ± h off the kinks (0 for relu, ±3 for hard_sigmoid).
        var x0 = RandomAwayFromZero(10, 4, 0.1f, 4, 6);
        foreach (ref float v in x0.Span)
        {
            if (Math.Abs(Math.Abs(v) - 3f) < 0.1f)
            {
                v += 0.25f;
            }
        }

        if (kind == ActivationKind.Linear)
        {
            // linear is the identity and returns its input itself: nothing to record.
            Assert.Same(x0, Ops.Activation(x0, kind));
            return;
        }

        CheckAgainstReference(kind.ToName(), x => Ops.Activation(x[0], kind), x => x[0].Select(v => kind.Apply(v)).ToArray(), [x0]);
    }

    [Fact]
    public void SoftmaxOverLastAxis() =>
        CheckAgainstReference("softmax", x => Ops.Softmax(x[0]), x => RowsTests.SoftmaxReference(x[0], 6, 5, log: false), [Random(11, -3, 3, 2, 3, 5)]);

    [Fact]
    public void LogSoftmaxOverLastAxis() =>
        CheckAgainstReference("log_softmax", x => Ops.LogSoftmax(x[0]), x => RowsTests.SoftmaxReference(x[0], 6, 5, log: true), [Random(12, -3, 3, 2, 3, 5)]);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-1)]
    public void ConcatenateAndSplit(int axis)
    {
        var a = Random(12, -1, 1, 2, 3, 2);
        int[] bShape = [2, 3, 2];
        bShape[axis < 0 ? 2 : axis] = 1;
        var b = Random(13, -1, 1, bShape);
        int ax = axis < 0 ? 2 : axis;
        double[] RefConcat(double[][] x)
        {
            // Index arithmetic straight from the definition: out[i0, i1, i2] picks a or b by the axis coordinate.
            int[] outShape = [2, 3, 2];
            outShape[ax] += bShape[ax];
            var y = new double[outShape[0] * outShape[1] * outShape[2]];
            for (int i0 = 0; i0 < outShape[0]; i0++)
            {
                for (int i1 = 0; i1 < outShape[1]; i1++)
                {
                    for (int i2 = 0; i2 < outShape[2]; i2++)
                    {
                        int[] idx = [i0, i1, i2];
                        bool fromA = idx[ax] < 2 + (ax == 1 ? 1 : 0);
                        int[] src = (int[])idx.Clone();
                        int[] shape = fromA ? [2, 3, 2] : bShape;
                        if (!fromA)
                        {
                            src[ax] -= ax == 1 ? 3 : 2;
                        }

                        double v = (fromA ? x[0] : x[1])[(((src[0] * shape[1]) + src[1]) * shape[2]) + src[2]];
                        y[(((i0 * outShape[1]) + i1) * outShape[2]) + i2] = v;
                    }
                }
            }

            return y;
        }

        CheckAgainstReference($"concatenate axis {axis}", x => Ops.Concatenate([x[0], x[1]], axis), RefConcat, [a, b]);

        // split(concat(a, b)) returns a and b; checked through a weighted sum of both pieces.
        var joined = Random(14, -1, 1, ax == 0 ? [3, 3, 2] : ax == 1 ? [2, 4, 2] : [2, 3, 3]);
        int first = ax == 1 ? 3 : 2;
        CheckAgainstReference(
            $"split axis {axis}",
            x =>
            {
                var parts = Ops.Split(x[0], [first, 1], axis);
                return Ops.Concatenate([Ops.Scale(parts[1], 3f), parts[0]], axis);
            },
            x =>
            {
                // Move the last slice along the axis to the front and triple it.
                int[] s = ax == 0 ? [3, 3, 2] : ax == 1 ? [2, 4, 2] : [2, 3, 3];
                var y = new double[x[0].Length];
                for (int i0 = 0; i0 < s[0]; i0++)
                {
                    for (int i1 = 0; i1 < s[1]; i1++)
                    {
                        for (int i2 = 0; i2 < s[2]; i2++)
                        {
                            int[] idx = [i0, i1, i2];
                            int[] src = (int[])idx.Clone();
                            src[ax] = idx[ax] == 0 ? s[ax] - 1 : idx[ax] - 1;
                            double v = x[0][(((src[0] * s[1]) + src[1]) * s[2]) + src[2]];
                            y[(((i0 * s[1]) + i1) * s[2]) + i2] = idx[ax] == 0 ? 3 * v : v;
                        }
                    }
                }

                return y;
            },
            [joined]);
    }

    [Fact]
    public void TimeStepAndStack()
    {
        const int b = 2, t = 3, d = 2;
        var seq = Random(15, -1, 1, b, t, d);
        CheckAgainstReference(
            "time_step 1",
            x => Ops.TimeStep(x[0], 1),
            x => Enumerable.Range(0, b * d).Select(i => x[0][(((i / d) * t) + 1) * d + (i % d)]).ToArray(),
            [seq]);

        // Stack the steps in reverse order: out[b, s, :] = seq[b, t-1-s, :].
        CheckAgainstReference(
            "stack reversed steps",
            x => Ops.Stack([Ops.TimeStep(x[0], 2), Ops.TimeStep(x[0], 1), Ops.TimeStep(x[0], 0)], axis: 1),
            x =>
            {
                var y = new double[b * t * d];
                for (int i = 0; i < b; i++)
                {
                    for (int s = 0; s < t; s++)
                    {
                        for (int j = 0; j < d; j++)
                        {
                            y[(((i * t) + s) * d) + j] = x[0][(((i * t) + (t - 1 - s)) * d) + j];
                        }
                    }
                }

                return y;
            },
            [seq]);
    }

    [Fact]
    public void ReshapeAndTranspose()
    {
        var a = Random(16, -1, 1, 2, 3, 4);
        CheckAgainstReference("reshape", x => Ops.Mul(Ops.Reshape(x[0], 6, 4), Ops.Reshape(x[0], 6, 4)), x => x[0].Select(v => v * v).ToArray(), [a]);
        CheckAgainstReference(
            "transpose last 2",
            x => Ops.TransposeLast2(x[0]),
            x =>
            {
                var y = new double[24];
                for (int bb = 0; bb < 2; bb++)
                {
                    for (int i = 0; i < 3; i++)
                    {
                        for (int j = 0; j < 4; j++)
                        {
                            y[(bb * 12) + (j * 3) + i] = x[0][(bb * 12) + (i * 4) + j];
                        }
                    }
                }

                return y;
            },
            [a]);
    }

    [Fact]
    public void EmbeddingLookup()
    {
        var table = Random(17, -1, 1, 5, 3);
        var idx = Tensor.FromArray([4, 0, 4, 2, 2, 2], 2, 3);
        CheckAgainstReference(
            "embedding",
            x => Ops.Embedding(x[0], x[1]),
            x => x[0].SelectMany(i => Enumerable.Range(0, 3).Select(j => x[1][((int)i * 3) + j])).ToArray(),
            [idx, table],
            constant: [0]);
    }

    [Fact]
    public void SumMeanAndPenalty()
    {
        var a = Random(18, -1, 1, 3, 4);
        CheckAgainstReference("sum", x => Ops.Sum(x[0]), x => [x[0].Sum()], [a]);
        CheckAgainstReference("mean", x => Ops.Mean(x[0]), x => [x[0].Average()], [a]);
        var l2 = new L2Penalty(0.3);
        CheckAgainstReference("penalty", x => LstmSharp.Training.Regularization.Penalty(x[0], l2, 0.5f), x => [0.5 * 0.3 * x[0].Sum(v => v * v)], [a]);
    }

    [Fact]
    public void DropoutGradientUsesTheSameMask()
    {
        // With the generator re-seeded on every evaluation the mask is fixed, so dropout is linear in x.
        var a = Random(19, -1, 1, 4, 5);
        var maskRun = Ops.Dropout(Tensor.Full(1f, 4, 5), 0.4f, new Rng(7), training: true).ToArray();
        CheckAgainstReference(
            "dropout",
            x => Ops.Dropout(x[0], 0.4f, new Rng(7), training: true),
            x => x[0].Select((v, i) => v * maskRun[i]).ToArray(),
            [a]);
    }

    [Fact]
    public void ComposedExpressionAgainstFloatDifferences()
    {
        // The float-only checker on a chain with no double twin handy: softmax(tanh(x·W + b)) ⊙ x.
        var x0 = Random(20, -1, 1, 3, 4);
        var w = Random(21, -1, 1, 4, 4);
        var b = Random(22, -1, 1, 4);
        CheckFloat("composed", x => Ops.Mul(Ops.Softmax(Ops.Tanh(Ops.Add(Ops.MatMul(x[0], x[1]), x[2]))), x[0]), [x0, w, b]);
    }

    /// <summary>c·Σw², written here so the ops tests do not depend on the Training folder.</summary>
    private sealed class L2Penalty(double c) : LstmSharp.Training.IRegularizer
    {
        public double Penalty(ReadOnlySpan<float> w)
        {
            double s = 0;
            foreach (float v in w)
            {
                s += (double)v * v;
            }

            return c * s;
        }

        public void AddGradient(ReadOnlySpan<float> w, Span<float> grad)
        {
            for (int i = 0; i < w.Length; i++)
            {
                grad[i] += (float)(2 * c * w[i]);
            }
        }
    }
}
