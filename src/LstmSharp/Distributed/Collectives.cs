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

    /// <summary>The checks of Allgatherv (this rank's count is what it sends) and the receive buffer's displacements.</summary>
    public static int[] AllgathervDisplacements(ReadOnlySpan<int> counts, int rank, int size, int sendLength, int receiveLength)
    {
        var displs = Displacements(counts, size, receiveLength, "Allgatherv receive");
        if (counts[rank] != sendLength)
        {
            throw new ArgumentException($"Allgatherv: counts[{rank}] is {counts[rank]} but this rank sends {sendLength} elements.", nameof(counts));
        }

        return displs;
    }
}
