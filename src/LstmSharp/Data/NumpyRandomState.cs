namespace LstmSharp.Data;

/// <summary>
/// The Mersenne Twister (MT19937) seeded and used exactly as numpy's legacy
/// <c>np.random.RandomState(seed)</c>, which Keras's <c>imdb.load_data</c> shuffles with, so that
/// our permutation of the reviews is the one Keras applies for the same seed.
/// </summary>
/// <remarks>
/// Seeding is Matsumoto–Nishimura's <c>init_genrand</c> (numpy's <c>mt19937_seed</c> for an
/// integer seed). <c>shuffle</c> is Fisher–Yates from the last element down, drawing
/// <c>j ∈ [0, i]</c> by masked rejection: smallest all-ones mask ≥ i, redraw 32-bit outputs until
/// <c>(u &amp; mask) ≤ i</c> (numpy's <c>random_interval</c>).
/// </remarks>
internal sealed class NumpyRandomState
{
    private const int N = 624;
    private const int M = 397;
    private readonly uint[] state = new uint[N];
    private int index;

    public NumpyRandomState(uint seed)
    {
        state[0] = seed;
        for (int i = 1; i < N; i++)
        {
            state[i] = (1812433253u * (state[i - 1] ^ (state[i - 1] >> 30))) + (uint)i;
        }

        index = N;
    }

    public uint NextUInt32()
    {
        if (index >= N)
        {
            Twist();
        }

        uint y = state[index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary>A uniform integer in [0, max] (numpy's <c>random_interval</c> for max &lt; 2³²).</summary>
    public uint Interval(uint max)
    {
        if (max == 0)
        {
            return 0;
        }

        uint mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint value;
        while ((value = NextUInt32() & mask) > max)
        {
        }

        return value;
    }

    /// <summary>Shuffles in place as <c>RandomState.shuffle</c> does a 1-D array.</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = (int)Interval((uint)i);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private void Twist()
    {
        for (int i = 0; i < N; i++)
        {
            uint y = (state[i] & 0x80000000u) | (state[(i + 1) % N] & 0x7fffffffu);
            state[i] = state[(i + M) % N] ^ (y >> 1) ^ ((y & 1u) != 0 ? 0x9908b0dfu : 0u);
        }

        index = 0;
    }
}
