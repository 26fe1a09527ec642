using System.Numerics;
using System.Runtime.CompilerServices;

namespace LstmSharp.Tensors;

/// <summary>
/// A seeded pseudo-random generator that yields the same sequence on every machine and .NET
/// version: xoshiro256** (Blackman and Vigna, 2018; period 2^256 − 1), its 256-bit state
/// filled from the seed by SplitMix64 (Steele, Lea and Flood, 2014), as the xoshiro authors
/// recommend. System.Random is not used because its algorithm is not guaranteed to stay the same.
/// </summary>
/// <remarks>
/// <para>
/// Integers, uniforms, shuffles and masks are bit-exact everywhere (integer arithmetic and exact
/// conversions only). Normals are drawn in double with Marsaglia's polar method, which needs
/// <see cref="Math.Log(double)"/> and <see cref="Math.Sqrt"/>; sqrt is exact by IEEE 754, and a
/// last-bit difference in a platform's log would have to straddle a float rounding boundary (about
/// one draw in 10^8) to change a float32 result.
/// </para>
/// <para>
/// Thread safety: an instance is not thread-safe (give each thread its own via <see cref="Fork"/>
/// or <see cref="Split"/>). The process-wide generator behind <see cref="SetGlobalSeed"/>,
/// <see cref="NextGlobalSeed"/> and <see cref="CreateFromGlobal"/> is locked.
/// </para>
/// </remarks>
public sealed class Rng
{
    private const ulong GoldenGamma = 0x9E37_79B9_7F4A_7C15UL;

    private static readonly Lock GlobalLock = new();
    private static Rng? global;

    private ulong s0, s1, s2, s3;

    // Marsaglia's polar method makes normals in pairs; the second waits here.
    private double spareNormal;
    private bool hasSpareNormal;

    /// <summary>A generator seeded with <paramref name="seed"/> (any value, negative included).</summary>
    public Rng(long seed)
    {
        ulong sm = unchecked((ulong)seed);
        s0 = SplitMix64(ref sm);
        s1 = SplitMix64(ref sm);
        s2 = SplitMix64(ref sm);
        s3 = SplitMix64(ref sm);
    }

    private Rng(ulong a, ulong b, ulong c, ulong d)
    {
        if ((a | b | c | d) == 0)
        {
            throw new ArgumentException("Rng: the all-zero state is not allowed for xoshiro256** (it never leaves zero).");
        }

        (s0, s1, s2, s3) = (a, b, c, d);
    }

    /// <summary>A generator with the given raw xoshiro256** state (4 words, not all zero): for checkpoints and reference tests.</summary>
    public static Rng FromState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 4)
        {
            throw new ArgumentException($"Rng.FromState: expected 4 state words, got {state.Length}.", nameof(state));
        }

        return new Rng(state[0], state[1], state[2], state[3]);
    }

    /// <summary>The raw xoshiro256** state (a pending spare normal is not part of it).</summary>
    public ulong[] GetState() => new[] { s0, s1, s2, s3 };

    /// <summary>One step of SplitMix64: advances <paramref name="state"/> by the golden gamma and returns the mixed value.</summary>
    public static ulong SplitMix64(ref ulong state)
    {
        unchecked
        {
            ulong z = state += GoldenGamma;
            z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
            return z ^ (z >> 31);
        }
    }

    // ---------------------------------------------------------------- global seed

    /// <summary>
    /// Seeds the process-wide generator (Keras's <c>keras.utils.set_random_seed</c>): layers
    /// created in the same order after the same global seed get identical weights.
    /// </summary>
    public static void SetGlobalSeed(int seed)
    {
        lock (GlobalLock)
        {
            global = new Rng(seed);
        }
    }

    /// <summary>
    /// Draws a seed from the process-wide generator (locked). Without <see cref="SetGlobalSeed"/>,
    /// that generator starts from an unpredictable seed, so runs differ, as in Keras.
    /// </summary>
    public static long NextGlobalSeed()
    {
        lock (GlobalLock)
        {
            global ??= new Rng(Random.Shared.NextInt64(long.MinValue, long.MaxValue));
            return unchecked((long)global.NextUInt64());
        }
    }

    /// <summary>A new generator seeded from the process-wide one.</summary>
    public static Rng CreateFromGlobal() => new(NextGlobalSeed());

    // ---------------------------------------------------------------- children

    /// <summary>A child generator seeded from this one's next output (advances this generator).</summary>
    public Rng Fork() => new(unchecked((long)NextUInt64()));

    /// <summary>
    /// The child generator number <paramref name="stream"/>: a function of this generator's current
    /// state and the stream number only (this generator does not advance), so the same state and
    /// stream give the same child and different streams give unrelated children (their seeds are
    /// SplitMix64 hashes of the state and the stream). For provably disjoint streams use <see cref="Jump"/>.
    /// </summary>
    public Rng Split(int stream)
    {
        ulong h = unchecked((ulong)stream);
        ulong seed = SplitMix64(ref h);
        foreach (ulong w in new[] { s0, s1, s2, s3 })
        {
            h = seed ^ w;
            seed = SplitMix64(ref h);
        }

        return new Rng(unchecked((long)seed));
    }

    /// <summary>Advances the state by 2^128 steps (the xoshiro authors' jump): 2^128 non-overlapping subsequences.</summary>
    public void Jump() => JumpBy(0x180E_C6D3_3CFD_0ABAUL, 0xD5A6_1266_F0C9_392CUL, 0xA958_2618_E03F_C9AAUL, 0x39AB_DC45_29B1_661CUL);

    /// <summary>Advances the state by 2^192 steps (the authors' long jump).</summary>
    public void LongJump() => JumpBy(0x76E1_5D3E_FEFD_CBBFUL, 0xC500_4E44_1C52_2FB3UL, 0x7771_0069_854E_E241UL, 0x3910_9BB0_2ACB_E635UL);

    // ---------------------------------------------------------------- integers and uniforms

    /// <summary>The next 64 random bits (xoshiro256**).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        unchecked
        {
            ulong result = BitOperations.RotateLeft(s1 * 5, 7) * 9;
            ulong t = s1 << 17;
            s2 ^= s0;
            s3 ^= s1;
            s1 ^= s2;
            s0 ^= s3;
            s2 ^= t;
            s3 = BitOperations.RotateLeft(s3, 45);
            return result;
        }
    }

    /// <summary>The next 32 random bits (the high half of <see cref="NextUInt64"/>, the better-mixed one).</summary>
    public uint NextUInt32() => (uint)(NextUInt64() >> 32);

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias (Lemire's multiply-and-reject).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), $"Rng.NextInt: maxExclusive must be positive, got {maxExclusive}.");
        }

        uint range = (uint)maxExclusive;
        ulong m = (ulong)NextUInt32() * range;
        if ((uint)m < range)
        {
            uint threshold = (0u - range) % range;
            while ((uint)m < threshold)
            {
                m = (ulong)NextUInt32() * range;
            }
        }

        return (int)(m >> 32);
    }

    /// <summary>A uniform integer in [<paramref name="minInclusive"/>, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int minInclusive, int maxExclusive)
    {
        if (maxExclusive <= minInclusive)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), $"Rng.NextInt: expected minInclusive < maxExclusive, got [{minInclusive}, {maxExclusive}).");
        }

        long span = (long)maxExclusive - minInclusive;
        if (span <= int.MaxValue)
        {
            return minInclusive + NextInt((int)span);
        }

        // Wider than int: reject from 64 bits (rare path).
        ulong limit = ulong.MaxValue - (ulong.MaxValue % (ulong)span);
        ulong x;
        do
        {
            x = NextUInt64();
        }
        while (x >= limit);
        return (int)(minInclusive + (long)(x % (ulong)span));
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>
    /// A uniform float in [<paramref name="low"/>, <paramref name="high"/>), computed in double; the
    /// rare rounding onto <paramref name="high"/> is mapped to the float just below it.
    /// </summary>
    public float Uniform(float low, float high)
    {
        CheckUniformRange(nameof(Uniform), low, high);
        float v = (float)(low + ((high - (double)low) * NextDouble()));
        return v < high ? v : MathF.BitDecrement(high);
    }

    // ---------------------------------------------------------------- normals

    /// <summary>A standard normal draw (double), by Marsaglia's polar method.</summary>
    public double NextStandardNormal()
    {
        if (hasSpareNormal)
        {
            hasSpareNormal = false;
            return spareNormal;
        }

        double u, v, s;
        do
        {
            u = (2.0 * NextDouble()) - 1.0;
            v = (2.0 * NextDouble()) - 1.0;
            s = (u * u) + (v * v);
        }
        while (s >= 1.0 || s == 0.0);

        double f = Math.Sqrt(-2.0 * Math.Log(s) / s);
        spareNormal = v * f;
        hasSpareNormal = true;
        return u * f;
    }

    /// <summary>A normal draw with the given mean and standard deviation.</summary>
    public float Normal(float mean = 0f, float stddev = 1f)
    {
        CheckStddev(nameof(Normal), stddev);
        return (float)(mean + (stddev * NextStandardNormal()));
    }

    /// <summary>
    /// A truncated normal draw as Keras's <c>TruncatedNormal</c>: standard normal values beyond two
    /// standard deviations are discarded and redrawn, then scaled and shifted.
    /// </summary>
    public float TruncatedNormal(float mean = 0f, float stddev = 1f)
    {
        CheckStddev(nameof(TruncatedNormal), stddev);
        double z;
        do
        {
            z = NextStandardNormal();
        }
        while (Math.Abs(z) > 2.0);

        return (float)(mean + (stddev * z));
    }

    // ---------------------------------------------------------------- spans

    /// <summary>Fills <paramref name="destination"/> with <see cref="Uniform"/> draws.</summary>
    public void FillUniform(Span<float> destination, float low, float high)
    {
        CheckUniformRange(nameof(FillUniform), low, high);
        double width = high - (double)low;
        for (int i = 0; i < destination.Length; i++)
        {
            float v = (float)(low + (width * NextDouble()));
            destination[i] = v < high ? v : MathF.BitDecrement(high);
        }
    }

    /// <summary>Fills <paramref name="destination"/> with normal draws.</summary>
    public void FillNormal(Span<float> destination, float mean = 0f, float stddev = 1f)
    {
        CheckStddev(nameof(FillNormal), stddev);
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (float)(mean + (stddev * NextStandardNormal()));
        }
    }

    /// <summary>Fills <paramref name="destination"/> with <see cref="TruncatedNormal"/> draws.</summary>
    public void FillTruncatedNormal(Span<float> destination, float mean = 0f, float stddev = 1f)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = TruncatedNormal(mean, stddev);
        }
    }

    /// <summary>Shuffles <paramref name="values"/> in place, every permutation equally likely (Fisher–Yates).</summary>
    public void Shuffle(Span<int> values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>A random permutation of 0 … n−1.</summary>
    public int[] Permutation(int n)
    {
        if (n < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), $"Rng.Permutation: n must be non-negative, got {n}.");
        }

        var p = new int[n];
        for (int i = 0; i < n; i++)
        {
            p[i] = i;
        }

        Shuffle(p);
        return p;
    }

    /// <summary>
    /// Bernoulli mask: each element is <paramref name="onValue"/> with probability
    /// <paramref name="p"/>, else 0.
    /// </summary>
    public void Bernoulli(Span<float> mask, float p, float onValue = 1f)
    {
        if (!(p >= 0f && p <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"Rng.Bernoulli: probability must be in [0, 1], got {p}.");
        }

        // 2^32·p as an integer threshold: exact comparisons, and p = 1 keeps everything.
        ulong threshold = (ulong)Math.Round(p * 4294967296.0);
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = NextUInt32() < threshold ? onValue : 0f;
        }
    }

    /// <summary>
    /// Inverted-dropout mask (Keras): each element is dropped (0) with probability
    /// <paramref name="rate"/> and otherwise 1/(1 − rate), so the expected value is 1.
    /// </summary>
    public void DropoutMask(Span<float> mask, float rate)
    {
        if (!(rate >= 0f && rate < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), $"Rng.DropoutMask: rate must be in [0, 1), got {rate}.");
        }

        Bernoulli(mask, 1f - rate, 1f / (1f - rate));
    }

    private void JumpBy(ulong j0, ulong j1, ulong j2, ulong j3)
    {
        ulong a = 0, b = 0, c = 0, d = 0;
        foreach (ulong word in new[] { j0, j1, j2, j3 })
        {
            for (int bit = 0; bit < 64; bit++)
            {
                if ((word & (1UL << bit)) != 0)
                {
                    a ^= s0;
                    b ^= s1;
                    c ^= s2;
                    d ^= s3;
                }

                NextUInt64();
            }
        }

        (s0, s1, s2, s3) = (a, b, c, d);
        hasSpareNormal = false;
    }

    private static void CheckUniformRange(string op, float low, float high)
    {
        if (!(low < high) || !float.IsFinite(low) || !float.IsFinite(high))
        {
            throw new ArgumentOutOfRangeException(nameof(high), $"Rng.{op}: expected finite low < high, got [{low}, {high}).");
        }
    }

    private static void CheckStddev(string op, float stddev)
    {
        if (!(stddev >= 0f) || !float.IsFinite(stddev))
        {
            throw new ArgumentOutOfRangeException(nameof(stddev), $"Rng.{op}: stddev must be finite and non-negative, got {stddev}.");
        }
    }
}
