namespace LstmSharp.Distributed;

/// <summary>
/// The collectives data-parallel training uses, over a fixed group of <see cref="Size"/> ranks
/// (processes under MPI, or threads for tests). Every rank calls the same collectives in the same
/// order; buffers are packed (rank q's block starts where rank q − 1's ends).
/// </summary>
/// <remarks>
/// Implementations: <see cref="MpiCommunicator"/> (Open MPI's <c>MPI_COMM_WORLD</c>) and
/// <see cref="InProcessCommunicator"/> (threads of one process). Element types: float, double,
/// int, long, byte.
/// </remarks>
public interface ICommunicator : IDisposable
{
    /// <summary>This rank, 0 ≤ Rank &lt; Size.</summary>
    int Rank { get; }

    /// <summary>Number of ranks in the group.</summary>
    int Size { get; }

    /// <summary>What runs the group, e.g. "Open MPI v4.1.4, rank 0 of 2".</summary>
    string Description { get; }

    /// <summary>Copies <paramref name="root"/>'s <paramref name="data"/> into every rank's (same length everywhere).</summary>
    void Broadcast<T>(Span<T> data, int root)
        where T : unmanaged;

    /// <summary>
    /// Element-wise sum over ranks into <paramref name="result"/> on every rank. The order of the
    /// floating-point additions is the implementation's (MPI leaves it unspecified): for scalars
    /// such as a loss or a timing, never for gradients that must be reproducible.
    /// </summary>
    void AllreduceSum(ReadOnlySpan<double> send, Span<double> result);

    /// <summary>Element-wise maximum over ranks (e.g. the slowest rank's time).</summary>
    void AllreduceMax(ReadOnlySpan<double> send, Span<double> result);

    /// <summary>Every rank's <paramref name="send"/> (rank q's of length <paramref name="counts"/>[q]), concatenated in rank order, on every rank.</summary>
    void Allgatherv<T>(ReadOnlySpan<T> send, Span<T> receive, ReadOnlySpan<int> counts)
        where T : unmanaged;

    /// <summary>
    /// Personalised exchange: <paramref name="send"/> holds blocks for ranks 0, 1, ... of lengths
    /// <paramref name="sendCounts"/>; <paramref name="receive"/> gets the blocks every rank sent to
    /// this one, in rank order, of lengths <paramref name="receiveCounts"/>.
    /// </summary>
    void Alltoallv<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts)
        where T : unmanaged;

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();

    /// <summary>Ends every rank of the group with <paramref name="exitCode"/> (MPI_Abort); does not return under MPI.</summary>
    void Abort(int exitCode);
}
