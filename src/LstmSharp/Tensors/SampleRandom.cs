namespace LstmSharp.Tensors;

/// <summary>
/// Dropout masks keyed by sample instead of by call order: while a scope is entered on a thread,
/// a layer's mask for the rows of the current batch is drawn row by row, row r from a generator
/// seeded by (training seed, epoch, the dataset index of row r's sample, the layer's stream and
/// call). A sample then gets the same mask whichever batch slice, rank or process computes it —
/// what makes data-parallel training bit-identical to one process. Outside a scope layers draw
/// from their own generators, as always.
/// </summary>
/// <remarks>
/// A mask over a tensor whose first axis is not the batch but a multiple of it (TimeDistributed's
/// <c>[batch · time, ...]</c>) is split into equal contiguous parts, one per sample, which is the
/// layout of such tensors.
/// </remarks>
internal static class SampleRandom
{
    [ThreadStatic]
    private static Scope? current;

    public static bool Active => current is not null;

    /// <summary>Enters a scope for a batch whose row r is dataset sample <paramref name="samples"/>[r]; dispose to leave it.</summary>
    public static IDisposable Enter(long seed, int epoch, int[] samples)
    {
        var scope = new Scope(seed, epoch, samples, current);
        current = scope;
        return scope;
    }

    /// <summary>
    /// An inverted-dropout mask of <paramref name="length"/> values (0 or 1/(1 − rate)) for the
    /// current scope's batch, for the layer stream <paramref name="stream"/> (a layer name and
    /// role; <paramref name="layerSeed"/> the layer's own seed, if any).
    /// </summary>
    public static float[] DropoutMask(string stream, int? layerSeed, int length, float rate)
    {
        var scope = current ?? throw new InvalidOperationException("SampleRandom.DropoutMask: no sample scope is entered on this thread.");
        int rows = scope.Samples.Length;
        if (rows == 0 || length % rows != 0)
        {
            throw new NotSupportedException($"Dropout '{stream}': a per-sample mask needs a tensor whose {length} values split evenly over the batch's {rows} samples.");
        }

        int perRow = length / rows;
        ulong key = StreamKey(stream, layerSeed, scope.NextCall(stream));
        var mask = new float[length];
        for (int r = 0; r < rows; r++)
        {
            ulong h = unchecked((ulong)scope.Seed);
            h = Rng.SplitMix64(ref h) ^ unchecked((ulong)(uint)scope.Epoch);
            h = Rng.SplitMix64(ref h) ^ unchecked((ulong)(uint)scope.Samples[r]);
            h = Rng.SplitMix64(ref h) ^ key;
            new Rng(unchecked((long)Rng.SplitMix64(ref h))).DropoutMask(mask.AsSpan(r * perRow, perRow), rate);
        }

        return mask;
    }

    /// <summary>Fills <paramref name="mask"/> as <see cref="DropoutMask"/> does when a scope is entered; false (mask untouched) otherwise.</summary>
    public static bool TryFill(string stream, int? layerSeed, Span<float> mask, float rate)
    {
        if (current is null)
        {
            return false;
        }

        DropoutMask(stream, layerSeed, mask.Length, rate).CopyTo(mask);
        return true;
    }

    /// <summary>FNV-1a of the stream name (string.GetHashCode differs between processes), mixed with the seed and call number.</summary>
    private static ulong StreamKey(string stream, int? layerSeed, int call)
    {
        ulong h = 0xCBF2_9CE4_8422_2325UL;
        foreach (char c in stream)
        {
            h = unchecked((h ^ c) * 0x0000_0100_0000_01B3UL);
        }

        h ^= unchecked((ulong)(uint)(layerSeed ?? 0)) << 32 | (uint)call;
        return Rng.SplitMix64(ref h);
    }

    private sealed class Scope(long seed, int epoch, int[] samples, Scope? outer) : IDisposable
    {
        private readonly Dictionary<string, int> calls = new(StringComparer.Ordinal);

        public long Seed { get; } = seed;

        public int Epoch { get; } = epoch;

        public int[] Samples { get; } = samples;

        /// <summary>How many masks this stream drew before in this scope (a layer called twice in one step draws two).</summary>
        public int NextCall(string stream)
        {
            calls.TryGetValue(stream, out int n);
            calls[stream] = n + 1;
            return n;
        }

        public void Dispose() => current = outer;
    }
}
