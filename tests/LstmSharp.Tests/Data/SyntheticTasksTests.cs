using LstmSharp.Data.Synthetic;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Data;

public class SyntheticTasksTests
{
    [Theory]
    [InlineData(1, 2)]
    [InlineData(7, 3)]
    [InlineData(64, 100)]
    public void AddingProblemHasTwoMarkersOneInEachHalfAndTargetsTheirSum(int samples, int timeSteps)
    {
        var d = AddingProblem.Generate(samples, timeSteps, seed: 5);
        Assert.Equal(new[] { samples, timeSteps, 2 }, d.X.ShapeArray);
        Assert.Equal(new[] { samples, 1 }, d.Y.ShapeArray);
        int half = timeSteps / 2;
        for (int i = 0; i < samples; i++)
        {
            var marked = new List<int>();
            double sum = 0;
            for (int t = 0; t < timeSteps; t++)
            {
                float v = d.X[i, t, 0], m = d.X[i, t, 1];
                Assert.InRange(v, 0f, 1f);
                Assert.True(v < 1f);
                Assert.True(m is 0f or 1f, $"marker {m} at sample {i}, step {t}");
                if (m == 1f)
                {
                    marked.Add(t);
                    sum += v;
                }
            }

            Assert.Equal(2, marked.Count);
            Assert.InRange(marked[0], 0, half - 1);
            Assert.InRange(marked[1], half, timeSteps - 1);
            Assert.Equal((float)sum, d.Y[i, 0]);
        }
    }

    [Fact]
    public void AddingProblemConstantPredictorScoresOneSixth()
    {
        // Var[(y − 1)²] = 1/15 − 1/36 ≈ 0.039: with 20000 samples the standard error is ≈ 0.0014.
        var d = AddingProblem.Generate(20000, 20, seed: 11);
        double mse = 0, mean = 0;
        foreach (float y in d.Y.Span)
        {
            mse += (y - AddingProblem.ConstantPrediction) * (y - AddingProblem.ConstantPrediction);
            mean += y;
        }

        mse /= d.Samples;
        mean /= d.Samples;
        Assert.InRange(mse, AddingProblem.ConstantPredictorMse - 0.006, AddingProblem.ConstantPredictorMse + 0.006);
        Assert.InRange(mean, 0.99, 1.01);
        Assert.Equal(1.0 / 6.0, AddingProblem.ConstantPredictorMse, 12);
    }

    [Fact]
    public void AddingProblemMarkerPositionsCoverEachHalfUniformly()
    {
        const int steps = 10;
        var d = AddingProblem.Generate(10000, steps, seed: 3);
        var counts = new int[steps];
        for (int i = 0; i < d.Samples; i++)
        {
            for (int t = 0; t < steps; t++)
            {
                counts[t] += (int)d.X[i, t, 1];
            }
        }

        // 2000 expected per position (each half has 5 positions, one marker per half per sample); sd ≈ 40.
        Assert.All(counts, c => Assert.InRange(c, 1800, 2200));
    }

    [Fact]
    public void CopyTaskLayoutFollowsThePaper()
    {
        const int delay = 5;
        var d = CopyTask.Generate(50, delay, seed: 9);
        int length = delay + 20;
        Assert.Equal(length, CopyTask.SequenceLength(delay));
        Assert.Equal(new[] { 50, length, 10 }, d.X.ShapeArray);
        Assert.Equal(new[] { 50, length }, d.Y.ShapeArray);
        for (int i = 0; i < d.Samples; i++)
        {
            var input = new int[length];
            for (int t = 0; t < length; t++)
            {
                input[t] = ArgMaxOfOneHot(d.X, i, t, 10);
            }

            Assert.All(input[..10], s => Assert.InRange(s, 1, 8));
            Assert.All(input[10..(delay + 9)], s => Assert.Equal(CopyTask.Blank, s));
            Assert.Equal(CopyTask.Delimiter, input[delay + 9]);
            Assert.All(input[(delay + 10)..], s => Assert.Equal(CopyTask.Blank, s));
            for (int t = 0; t < length; t++)
            {
                float expected = t < delay + 10 ? CopyTask.Blank : input[t - (delay + 10)];
                Assert.Equal(expected, d.Y[i, t]);
            }
        }

        var oneHot = CopyTask.Generate(50, delay, seed: 9, oneHotTargets: true);
        Assert.Equal(new[] { 50, length, 10 }, oneHot.Y.ShapeArray);
        Assert.Equal(d.X.ToArray(), oneHot.X.ToArray());
        for (int i = 0; i < 50; i++)
        {
            for (int t = 0; t < length; t++)
            {
                Assert.Equal((int)d.Y[i, t], ArgMaxOfOneHot(oneHot.Y, i, t, 10));
            }
        }
    }

    [Fact]
    public void CopyTaskBestMemorylessPredictorMatchesTheBaselineFormula()
    {
        // The best predictor that ignores the input outputs each step's marginal class
        // frequencies; its cross-entropy, estimated from data, must match 10 ln 8 / (T + 20).
        const int delay = 30, samples = 8000;
        var d = CopyTask.Generate(samples, delay, seed: 21);
        int length = CopyTask.SequenceLength(delay);
        var freq = new double[length, CopyTask.Categories];
        for (int i = 0; i < samples; i++)
        {
            for (int t = 0; t < length; t++)
            {
                freq[t, (int)d.Y[i, t]] += 1.0 / samples;
            }
        }

        double ce = 0;
        for (int i = 0; i < samples; i++)
        {
            for (int t = 0; t < length; t++)
            {
                ce -= Math.Log(freq[t, (int)d.Y[i, t]]);
            }
        }

        ce /= (double)samples * length;
        Assert.Equal(CopyTask.MemorylessCrossEntropy(delay), ce, 0.01);
        Assert.Equal(10 * Math.Log(8) / 50, CopyTask.MemorylessCrossEntropy(delay), 12);
        for (int s = 1; s <= 8; s++)
        {
            Assert.InRange(freq[length - 1, s], 0.125 - 0.02, 0.125 + 0.02);
        }
    }

    [Theory]
    [InlineData(10)]
    [InlineData(37)]
    [InlineData(100)]
    public void TemporalOrderTaskPlacesMarkersInTheirWindowsAndLabelsTheOrder(int timeSteps)
    {
        var d = TemporalOrderTask.Generate(300, timeSteps, seed: 13);
        Assert.Equal(new[] { 300, timeSteps, 8 }, d.X.ShapeArray);
        Assert.Equal(new[] { 300, 4 }, d.Y.ShapeArray);
        var (w1, w2) = TemporalOrderTask.Windows(timeSteps);
        if (timeSteps == 100)
        {
            Assert.Equal((10, 20), w1);
            Assert.Equal((50, 60), w2);
        }

        for (int i = 0; i < d.Samples; i++)
        {
            Assert.Equal(TemporalOrderTask.StartMarker, ArgMaxOfOneHot(d.X, i, 0, 8));
            Assert.Equal(TemporalOrderTask.EndMarker, ArgMaxOfOneHot(d.X, i, timeSteps - 1, 8));
            var relevant = new List<(int T, int Symbol)>();
            for (int t = 1; t < timeSteps - 1; t++)
            {
                int s = ArgMaxOfOneHot(d.X, i, t, 8);
                if (s is TemporalOrderTask.SymbolX or TemporalOrderTask.SymbolY)
                {
                    relevant.Add((t, s));
                }
                else
                {
                    Assert.InRange(s, TemporalOrderTask.SymbolA, TemporalOrderTask.SymbolD);
                }
            }

            Assert.Equal(2, relevant.Count);
            Assert.InRange(relevant[0].T, w1.Min, w1.Max);
            Assert.InRange(relevant[1].T, w2.Min, w2.Max);
            int expectedClass = (2 * (relevant[0].Symbol - TemporalOrderTask.SymbolX)) + (relevant[1].Symbol - TemporalOrderTask.SymbolX);
            Assert.Equal(expectedClass, ArgMaxOfOneHot(d.Y, i, 4));
        }
    }

    [Fact]
    public void TemporalOrderClassesAreBalancedAndWindowsFullyCovered()
    {
        const int samples = 8000, steps = 100;
        var d = TemporalOrderTask.Generate(samples, steps, seed: 17);
        var classCounts = new int[4];
        var t1Seen = new HashSet<int>();
        var t2Seen = new HashSet<int>();
        var distractors = new int[4];
        for (int i = 0; i < samples; i++)
        {
            classCounts[ArgMaxOfOneHot(d.Y, i, 4)]++;
            bool firstFound = false;
            for (int t = 1; t < steps - 1; t++)
            {
                int s = ArgMaxOfOneHot(d.X, i, t, 8);
                if (s >= TemporalOrderTask.SymbolX)
                {
                    (firstFound ? t2Seen : t1Seen).Add(t);
                    firstFound = true;
                }
                else
                {
                    distractors[s]++;
                }
            }
        }

        // Binomial sd for 8000 × 1/4 is ≈ 39; allow 5 sd.
        Assert.All(classCounts, c => Assert.InRange(c, 2000 - 200, 2000 + 200));
        Assert.Equal(Enumerable.Range(10, 11), t1Seen.Order());
        Assert.Equal(Enumerable.Range(50, 11), t2Seen.Order());
        double total = distractors.Sum();
        Assert.All(distractors, c => Assert.InRange(c / total, 0.245, 0.255));
        Assert.Equal(0.25, TemporalOrderTask.BaselineAccuracy);
    }

    [Fact]
    public void SameSeedSameDataDifferentSeedDifferentData()
    {
        Assert.Equal(AddingProblem.Generate(8, 30, 1).X.ToArray(), AddingProblem.Generate(8, 30, 1).X.ToArray());
        Assert.Equal(AddingProblem.Generate(8, 30, 1).Y.ToArray(), AddingProblem.Generate(8, 30, 1).Y.ToArray());
        Assert.NotEqual(AddingProblem.Generate(8, 30, 1).X.ToArray(), AddingProblem.Generate(8, 30, 2).X.ToArray());

        Assert.Equal(CopyTask.Generate(8, 10, 1).X.ToArray(), CopyTask.Generate(8, 10, 1).X.ToArray());
        Assert.NotEqual(CopyTask.Generate(8, 10, 1).X.ToArray(), CopyTask.Generate(8, 10, 2).X.ToArray());

        Assert.Equal(TemporalOrderTask.Generate(8, 50, 1).X.ToArray(), TemporalOrderTask.Generate(8, 50, 1).X.ToArray());
        Assert.Equal(TemporalOrderTask.Generate(8, 50, 1).Y.ToArray(), TemporalOrderTask.Generate(8, 50, 1).Y.ToArray());
        Assert.NotEqual(TemporalOrderTask.Generate(8, 50, 1).X.ToArray(), TemporalOrderTask.Generate(8, 50, 2).X.ToArray());
    }

    [Fact]
    public void DataComeFromTheLibraryRngInAFixedOrder()
    {
        // Rng is bit-exact on every machine; the task draws values step by step, then the markers.
        var d = AddingProblem.Generate(1, 4, seed: 42);
        var rng = new Rng(42);
        for (int t = 0; t < 4; t++)
        {
            Assert.Equal(rng.NextFloat(), d.X[0, t, 0]);
        }

        int first = rng.NextInt(2);
        int second = 2 + rng.NextInt(2);
        Assert.Equal(1f, d.X[0, first, 1]);
        Assert.Equal(1f, d.X[0, second, 1]);
    }

    [Fact]
    public void BadArgumentsAreRejectedWithTheirNames()
    {
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => AddingProblem.Generate(4, 1, 0));
        Assert.Contains("AddingProblem.Generate: timeSteps must be at least 2, got 1", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => CopyTask.Generate(0, 10, 0));
        Assert.Contains("samples must be at least 1, got 0", e2.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => CopyTask.Generate(1, 0, 0));
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => TemporalOrderTask.Generate(4, 9, 0));
        Assert.Contains("timeSteps must be at least 10, got 9", e3.Message);
        Assert.Throws<ArgumentException>(() => CopyTask.Generate(int.MaxValue, 1000, 0));
    }

    private static int ArgMaxOfOneHot(Tensor t, int i, int j, int classes) =>
        HotIndex(t.Span.Slice(((i * t.Dim(1)) + j) * classes, classes), $"[{i}, {j}]");

    private static int ArgMaxOfOneHot(Tensor t, int i, int classes) =>
        HotIndex(t.Span.Slice(i * classes, classes), $"[{i}]");

    /// <summary>The index of the single 1 in a row of zeros; fails on anything else.</summary>
    private static int HotIndex(ReadOnlySpan<float> row, string where)
    {
        int hot = -1;
        for (int c = 0; c < row.Length; c++)
        {
            if (row[c] == 1f && hot == -1)
            {
                hot = c;
            }
            else if (row[c] != 0f)
            {
                Assert.Fail($"row {where} is not one-hot: [{string.Join(", ", row.ToArray())}]");
            }
        }

        if (hot == -1)
        {
            Assert.Fail($"row {where} is all zeros");
        }

        return hot;
    }
}
