namespace LstmSharp.Tests.Kernels;

/// <summary>Test data for the kernel tests: awkward lengths around every vector width, seeded values.</summary>
internal static class KernelData
{
    public static readonly int[] Lengths = { 0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 63, 64, 129, 255, 511, 512, 513 };

    /// <summary>Uniform values in [lo, hi) from a fixed seed (System.Random is fine for test data).</summary>
    public static float[] Uniform(int seed, int n, float lo = -1f, float hi = 1f)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = lo + ((hi - lo) * (float)rng.NextDouble());
        }

        return x;
    }

    /// <summary>One float rounding, relative: 2^-24.</summary>
    public const double HalfUlp = 5.9604644775390625e-8;
}
