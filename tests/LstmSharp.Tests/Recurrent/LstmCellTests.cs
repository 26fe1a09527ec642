using LstmSharp.Recurrent;
using LstmSharp.Tests.Infrastructure;

namespace LstmSharp.Tests.Recurrent;

public class LstmCellTests
{
    // 10 and 26 reach the 256-bit loop after the 512-bit one (none, resp. one block of 16).
    private static readonly int[] UnitCounts = [1, 3, 7, 8, 9, 10, 15, 16, 17, 26, 33, 37];

    /// <summary>The vectorised row kernels give exactly the scalar twin's bits, for every variant and awkward widths.</summary>
    internal static void VectorRowsGiveTheScalarTwinsBits()
    {
        foreach (string name in LstmKernelTests.VariantNames)
        {
            var (variant, useBias) = LstmKernelTests.Variant(name);
            foreach (int n in UnitCounts)
            {
                var layout = new LstmLayout(variant, 2, n, useBias);
                var rng = new Random(n * 31);
                int su = layout.WeightedGateCount * n;
                var z = Random(rng, layout.GateWidth, 3f);
                var c = Random(rng, n, 2f);
                var p = layout.HasPeepholes ? Random(rng, su, 1f) : [];
                float[] z1 = (float[])z.Clone(), z2 = (float[])z.Clone(), c1 = (float[])c.Clone(), c2 = (float[])c.Clone();
                float[] h1 = new float[n], h2 = new float[n];
                float[] g1 = layout.HasGateRecurrence ? new float[su] : [], g2 = layout.HasGateRecurrence ? new float[su] : [];
                LstmCell.ForwardRow(layout, z1, c1, h1, p, g1);
                LstmCell.ForwardRowScalar(layout, z2, c2, h2, p, g2);
                string where = $"{name} units={n}";
                Assert.True(z1.AsSpan().SequenceEqual(z2), $"{where}: gate activations differ");
                Assert.True(c1.AsSpan().SequenceEqual(c2), $"{where}: c_t differs");
                Assert.True(h1.AsSpan().SequenceEqual(h2), $"{where}: h_t differs");
                Assert.True(g1.AsSpan().SequenceEqual(g2), $"{where}: FGR gates differ");

                var dh = Random(rng, n, 1f);
                var dc = Random(rng, n, 1f);
                var dg = layout.HasGateRecurrence ? Random(rng, su, 1f) : [];
                float[] a1 = (float[])z1.Clone(), a2 = (float[])z1.Clone(), dc1 = (float[])dc.Clone(), dc2 = (float[])dc.Clone();
                LstmCell.BackwardRow(layout, a1, dh, dc1, c1, c, p, dg);
                LstmCell.BackwardRowScalar(layout, a2, dh, dc2, c1, c, p, dg);
                Assert.True(a1.AsSpan().SequenceEqual(a2), $"{where}: dz differs");
                Assert.True(dc1.AsSpan().SequenceEqual(dc2), $"{where}: dc_(t-1) differs");
            }
        }
    }

    [Fact]
    public void VectorRows() => VectorRowsGiveTheScalarTwinsBits();

    [Theory]
    [InlineData(SimdPath.Vector256)]
    [InlineData(SimdPath.Scalar)]
    public void EverySimdPathMatches(SimdPath path) =>
        SimdChildProcess.Run(path, typeof(LstmCellTests), new[] { nameof(VectorRowsGiveTheScalarTwinsBits), nameof(WideUnitsOnThisPath) });

    internal static void WideUnitsOnThisPath() => LstmKernelTests.WideUnitsMatchTheDoubleReference();

    [Fact]
    public void RowLengthsAreChecked()
    {
        var layout = new LstmLayout(LstmVariant.Standard, 2, 4);
        var e = Assert.Throws<ArgumentException>(() => LstmCell.ForwardRow(layout, new float[15], new float[4], new float[4], [], []));
        Assert.Contains("[16]", e.Message);
        Assert.Contains("got 15", e.Message);
    }

    private static float[] Random(Random rng, int n, float scale)
    {
        var a = new float[n];
        for (int k = 0; k < n; k++)
        {
            a[k] = (float)(((rng.NextDouble() * 2) - 1) * scale);
        }

        return a;
    }
}
