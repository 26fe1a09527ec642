namespace LstmSharp.Data.Synthetic;

/// <summary>
/// SplitMix64: the generator behind the synthetic tasks until <c>LstmSharp.Tensors.Rng</c>
/// lands. Integer arithmetic only, so a seed gives the same data on every machine and
/// runtime (System.Random's sequence is not a documented contract).
/// </summary>
internal sealed class SyntheticRng(ulong seed)
{
    private ulong state = seed;

    public ulong NextUInt64()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1): 24 random bits, every value exactly representable in float32.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform integer in [0, <paramref name="exclusiveMax"/>), without modulo bias (Lemire's method).</summary>
    public int NextInt(int exclusiveMax)
    {
        uint n = (uint)exclusiveMax;
        ulong m = (NextUInt64() >> 32) * n;
        uint low = (uint)m;
        if (low < n)
        {
            uint threshold = (0u - n) % n;
            while (low < threshold)
            {
                m = (NextUInt64() >> 32) * n;
                low = (uint)m;
            }
        }

        return (int)(m >> 32);
    }

    /// <summary>Uniform integer in [<paramref name="min"/>, <paramref name="max"/>] (both inclusive).</summary>
    public int NextInclusive(int min, int max) => min + NextInt(max - min + 1);
}
