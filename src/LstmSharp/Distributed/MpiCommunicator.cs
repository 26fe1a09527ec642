using System.Runtime.InteropServices;

namespace LstmSharp.Distributed;

/// <summary>
/// <see cref="ICommunicator"/> over Open MPI's <c>MPI_COMM_WORLD</c>, for a job started by
/// <c>mpirun -np N</c>. Initialises MPI (thread level SERIALIZED) unless already initialised,
/// and finalises it on <see cref="Dispose"/> if it initialised it.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    private readonly MpiLibrary mpi;
    private readonly nint comm;
    private readonly bool ownsInit;
    private bool disposed;

    private MpiCommunicator(MpiLibrary mpi, bool ownsInit)
    {
        this.mpi = mpi;
        this.ownsInit = ownsInit;
        comm = mpi.CommWorld;
        Rank = mpi.Rank(comm);
        Size = mpi.Size(comm);
        Library = mpi.LibraryVersion();
    }

    public int Rank { get; }

    public int Size { get; }

    /// <summary>The MPI library's version line.</summary>
    public string Library { get; }

    public string Description => $"{Library}, rank {Rank} of {Size}";

    /// <summary>
    /// True when this process was started by an MPI launcher (Open MPI's mpirun, or a PMI/PMIx
    /// one such as srun or MPICH's Hydra): its environment names a rank.
    /// </summary>
    public static bool LaunchedByMpirun =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null ||
        Environment.GetEnvironmentVariable("PMIX_RANK") is not null ||
        Environment.GetEnvironmentVariable("PMI_RANK") is not null;

    /// <summary>The world communicator (loads libmpi and calls MPI_Init_thread on first use).</summary>
    public static MpiCommunicator World()
    {
        var mpi = MpiLibrary.Load();
        if (mpi.IsFinalized)
        {
            throw new MpiException("MPI: already finalised in this process; MPI cannot be initialised twice.");
        }

        bool init = !mpi.IsInitialized;
        if (init)
        {
            int provided = mpi.InitThread(MpiLibrary.ThreadSerialized);
            if (provided < MpiLibrary.ThreadSerialized)
            {
                // Calls come from one thread at a time (the training loop), which FUNNELED does not promise when await resumes elsewhere.
                throw new MpiException($"MPI: the library provides thread level {provided}, training needs MPI_THREAD_SERIALIZED ({MpiLibrary.ThreadSerialized}).");
            }
        }

        return new MpiCommunicator(mpi, init);
    }

    public void Broadcast<T>(Span<T> data, int root)
        where T : unmanaged
    {
        CheckRoot(root);
        nint type = TypeOf<T>();
        fixed (T* p = data)
        {
            mpi.Bcast(p, data.Length, type, root, comm);
        }
    }

    public void AllreduceSum(ReadOnlySpan<double> send, Span<double> result) => Allreduce(send, result, mpi.OpSum);

    public void AllreduceMax(ReadOnlySpan<double> send, Span<double> result) => Allreduce(send, result, mpi.OpMax);

    public void Allgatherv<T>(ReadOnlySpan<T> send, Span<T> receive, ReadOnlySpan<int> counts)
        where T : unmanaged
    {
        var displs = Collectives.AllgathervDisplacements(counts, Rank, Size, send.Length, receive.Length);

        fixed (T* s = send)
        fixed (T* r = receive)
        fixed (int* c = counts)
        fixed (int* d = displs)
        {
            mpi.Allgatherv(s, send.Length, TypeOf<T>(), r, c, d, comm);
        }
    }

    public void Alltoallv<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts)
        where T : unmanaged
    {
        var sd = Collectives.Displacements(sendCounts, Size, send.Length, "Alltoallv send");
        var rd = Collectives.Displacements(receiveCounts, Size, receive.Length, "Alltoallv receive");
        fixed (T* s = send)
        fixed (T* r = receive)
        fixed (int* sc = sendCounts)
        fixed (int* sdp = sd)
        fixed (int* rc = receiveCounts)
        fixed (int* rdp = rd)
        {
            mpi.Alltoallv(s, sc, sdp, TypeOf<T>(), r, rc, rdp, comm);
        }
    }

    public void Barrier() => mpi.Barrier(comm);

    public void Abort(int exitCode) => mpi.Abort(comm, exitCode);

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (ownsInit && !mpi.IsFinalized)
        {
            mpi.FinalizeMpi();
        }
    }

    private void Allreduce(ReadOnlySpan<double> send, Span<double> result, nint op)
    {
        if (result.Length != send.Length)
        {
            throw new ArgumentException($"Allreduce: result holds {result.Length} elements, send {send.Length}.", nameof(result));
        }

        fixed (double* s = send)
        fixed (double* r = result)
        {
            mpi.Allreduce(s, r, send.Length, mpi.Double, op, comm);
        }
    }

    private void CheckRoot(int root)
    {
        if ((uint)root >= (uint)Size)
        {
            throw new ArgumentOutOfRangeException(nameof(root), $"Broadcast: root must be a rank in [0, {Size}), got {root}.");
        }
    }

    private nint TypeOf<T>()
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return mpi.Float;
        }

        if (typeof(T) == typeof(double))
        {
            return mpi.Double;
        }

        if (typeof(T) == typeof(int))
        {
            return mpi.Int;
        }

        if (typeof(T) == typeof(long))
        {
            return mpi.Long;
        }

        if (typeof(T) == typeof(byte))
        {
            return mpi.Byte;
        }

        throw new NotSupportedException($"MpiCommunicator: element type {typeof(T).Name} is not supported (float, double, int, long, byte); size {Marshal.SizeOf<T>()}.");
    }
}
