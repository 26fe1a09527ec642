namespace LstmSharp.Distributed;

/// <summary>Argument checks and layouts shared by the communicators.</summary>
internal static class Collectives
{
    /// <summary>Packed displacements of <paramref name="counts"/> (one per rank), checked against the buffer length.</summary>
    public static int[] Displacements(ReadOnlySpan<int> counts, int size, int bufferLength, string what)
    {
        if (counts.Length != size)
        {
            throw new ArgumentException($"{what}: expected {size} counts (one per rank), got {counts.Length}.", nameof(counts));
        }

        var displs = new int[size];
        long total = 0;
        for (int q = 0; q < size; q++)
        {
            if (counts[q] < 0)
            {
                throw new ArgumentException($"{what}: counts[{q}] must be >= 0, got {counts[q]}.", nameof(counts));
            }

            displs[q] = checked((int)total);
            total += counts[q];
        }

        if (total != bufferLength)
        {
            throw new ArgumentException($"{what}: the counts add up to {total} elements, the buffer holds {bufferLength}.", nameof(counts));
        }

        return displs;
    }
}
