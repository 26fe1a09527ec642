using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Training;

public class RegularizerTests
{
    [Fact]
    public void PenaltiesAndGradientsFollowKeras()
    {
        float[] w = [1f, -2f, 0f, 0.5f];
        // L1: 0.01·(1 + 2 + 0 + 0.5) = 0.035; L2: 0.01·(1 + 4 + 0 + 0.25) = 0.0525 (no ½).
        Assert.Equal(0.035, new L1().Penalty(w), 1e-7);
        Assert.Equal(0.0525, new L2().Penalty(w), 1e-7);
        Assert.Equal((0.1 * 3.5) + (0.2 * 5.25), new L1L2(0.1, 0.2).Penalty(w), 1e-6);

        var g = new float[] { 1f, 1f, 1f, 1f };
        new L1(0.5).AddGradient(w, g);
        Assert.Equal([1.5f, 0.5f, 1f, 1.5f], g);
        g = new float[4];
        new L2(0.5).AddGradient(w, g);
        Assert.Equal([1f, -2f, 0f, 0.5f], g);

        // Finite differences of the penalty, away from the kink of |w|.
        float[] x = [0.3f, -0.7f, 1.2f];
        foreach (var r in new Regularizer[] { new L1(0.3), new L2(0.7), new L1L2(0.3, 0.7) })
        {
            var grad = new float[3];
            r.AddGradient(x, grad);
            for (int i = 0; i < 3; i++)
            {
                var plus = (float[])x.Clone();
                var minus = (float[])x.Clone();
                plus[i] += 1e-3f;
                minus[i] -= 1e-3f;
                double fd = (r.Penalty(plus) - r.Penalty(minus)) / (plus[i] - minus[i]);
                Assert.Equal(fd, grad[i], 1e-3);
            }
        }
    }

    [Fact]
    public void AddPenaltiesAndGradientsCoversRegularizedParametersOnly()
    {
        var a = new Parameter("kernel", Tensor.FromArray([1f, 2f], 2), regularizer: new L2(0.1));
        var b = new Parameter("bias", Tensor.FromArray([3f], 1));
        var frozen = new Parameter("frozen", Tensor.FromArray([1f], 1), trainable: false, regularizer: new L1(1));
        double penalty = Regularization.AddPenaltiesAndGradients([a, b, frozen]);
        // 0.1·(1 + 4) + 1·1.
        Assert.Equal(1.5, penalty, 1e-6);
        Assert.Equal([0.2f, 0.4f], a.Grad.ToArray());
        Assert.Equal([0f], b.Grad.ToArray());
        Assert.Null(frozen.Value.Grad);
    }

    [Fact]
    public void NormConstraintsUseKerasAxisSemantics()
    {
        // Kernel [in = 2, out = 3]; axis 0 → one norm per column: 5, 0.5, 2.
        float[] w = [3f, 0.3f, 0f, 4f, 0.4f, 2f];
        int[] shape = [2, 3];
        var maxNorm = (float[])w.Clone();
        new MaxNorm(1).Apply(maxNorm, shape);
        // Column 0 scaled by 1/(1e−7 + 5); column 1 kept (0.5 < 1, factor 0.5/(ε + 0.5)); column 2 by 1/(ε + 2).
        double[] f = [1 / (1e-7 + 5), 0.5 / (1e-7 + 0.5), 1 / (1e-7 + 2)];
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(w[i] * f[i % 3], maxNorm[i], 1e-6);
        }

        var unit = (float[])w.Clone();
        new UnitNorm().Apply(unit, shape);
        Assert.Equal(1.0, Math.Sqrt((unit[0] * unit[0]) + (unit[3] * unit[3])), 1e-6);
        Assert.Equal(1.0, Math.Sqrt((unit[1] * unit[1]) + (unit[4] * unit[4])), 1e-6);

        // Axis 1 → one norm per row: row 0 = [3, .3, 0], row 1 = [4, .4, 2].
        var rows = (float[])w.Clone();
        new UnitNorm(1).Apply(rows, shape);
        Assert.Equal(1.0, Math.Sqrt(rows.Take(3).Sum(v => v * v)), 1e-6);
        Assert.Equal(1.0, Math.Sqrt(rows.Skip(3).Sum(v => v * v)), 1e-6);

        // MinMaxNorm(min 1, max 3, rate 0.5): column 1 (norm 0.5) → desired 0.5·1 + 0.5·0.5 = 0.75.
        var mm = (float[])w.Clone();
        new MinMaxNorm(1, 3, 0.5).Apply(mm, shape);
        Assert.Equal(0.75, Math.Sqrt((mm[1] * mm[1]) + (mm[4] * mm[4])), 1e-6);
        // Column 0 (norm 5) → 0.5·3 + 0.5·5 = 4.
        Assert.Equal(4.0, Math.Sqrt((mm[0] * mm[0]) + (mm[3] * mm[3])), 1e-5);

        // Axes [0, 1] of a 3-D weight → one norm per last-axis index.
        float[] w3 = [3f, 1f, 0f, 0f, 0f, 0f, 4f, 0f];
        new UnitNorm(0, 1).Apply(w3, [2, 2, 2]);
        Assert.Equal(0.6f, w3[0], 1e-6);
        Assert.Equal(0.8f, w3[6], 1e-6);
        Assert.Equal(1f, w3[1], 1e-6);

        var nonNeg = new float[] { -1f, 2f, -0.5f, 0f };
        new NonNeg().Apply(nonNeg, [4]);
        Assert.Equal([0f, 2f, 0f, 0f], nonNeg);

        var e = Assert.Throws<ArgumentException>(() => new MaxNorm(2, 2).Apply(w, shape));
        Assert.Contains("axis 2", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new UnitNorm(0, 2).Apply(new float[8], [2, 2, 2]));
        Assert.Contains("contiguous", e.Message);
    }

    [Fact]
    public void RegistriesAndConfigsRoundTrip()
    {
        Assert.Equal(0.01, Assert.IsType<L2>(Regularizers.Get("l2")).Factor);
        Assert.Equal(0.0, Assert.IsType<L1L2>(Regularizers.Get("l1_l2")).L1);
        var r = Regularizers.FromConfig(Regularizers.ToConfig(new L1L2(0.1, 0.2)));
        Assert.Equal(0.2, Assert.IsType<L1L2>(r).L2);
        Assert.Throws<ArgumentException>(() => Regularizers.Get("l3"));

        var c = Assert.IsType<MaxNorm>(Constraints.FromConfig(Constraints.ToConfig(new MaxNorm(3, 1))));
        Assert.Equal(3, c.MaxValue);
        Assert.Equal([1], c.Axes);
        var mm = Assert.IsType<MinMaxNorm>(Constraints.FromConfig(Constraints.ToConfig(new MinMaxNorm(0.5, 2, 0.7, 0, 1))));
        Assert.Equal([0, 1], mm.Axes);
        Assert.Equal(0.7, mm.Rate);
        Assert.IsType<NonNeg>(Constraints.FromConfig(Constraints.ToConfig(Constraints.Get("non_neg"))));
        Assert.Equal([0], Assert.IsType<UnitNorm>(Constraints.Get("unit_norm")).Axes);
        var e = Assert.Throws<ArgumentException>(() => Constraints.Get("radial"));
        Assert.Contains("max_norm", e.Message);
    }
}
