using System.Runtime.InteropServices;

namespace LstmSharp.Distributed;

/// <summary>
/// The dozen MPI functions data-parallel training needs, bound at run time to Open MPI's
/// <c>libmpi.so.40</c> (no MPI binding package: MPI.NET is MS-MPI only).
/// </summary>
/// <remarks>
/// <para>
/// Open MPI can load its transports as plug-ins that resolve symbols of libmpi itself; .NET's
/// own loader opens libraries <c>RTLD_LOCAL</c>, with which such a build fails inside
/// <c>MPI_Init</c>. So the library is opened here with libc's <c>dlopen</c>
/// (<c>RTLD_NOW | RTLD_GLOBAL</c>) before <c>MPI_Init_thread</c>, and every function is taken
/// from that handle as a function pointer. (Debian 12's Open MPI 4.1.4 links its plug-ins
/// against libmpi and also initialises when opened <c>RTLD_LOCAL</c>: checked with ctypes.)
/// </para>
/// <para>
/// Open MPI's handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>, <c>MPI_SUM</c>, ...) are the
/// addresses of exported globals (<c>ompi_mpi_comm_world</c>, ...), read with
/// <see cref="NativeLibrary.GetExport"/>. MPICH's are integer constants; passing them as a
/// pointer-sized argument is ABI-compatible on x86-64, so a second target would only add a
/// table of constants.
/// </para>
/// <para>
/// Errors: <c>MPI_COMM_WORLD</c>'s default handler is <c>MPI_ERRORS_ARE_FATAL</c>, so a failed
/// collective (a dead peer) aborts the whole job rather than returning; a non-zero return code
/// is still turned into an <see cref="MpiException"/>.
/// </para>
/// </remarks>
internal sealed unsafe class MpiLibrary
{
    public const string OpenMpiSoname = "libmpi.so.40";

    private const int RtldNow = 0x2;
    private const int RtldGlobal = 0x100;

    /// <summary>MPI_THREAD_SERIALIZED: any thread may call MPI, one at a time (the training loop's thread).</summary>
    public const int ThreadSerialized = 2;

    private static readonly Lock LoadLock = new();
    private static MpiLibrary? loaded;

    private readonly delegate* unmanaged<int*, nint, int, int*, int> initThread;
    private readonly delegate* unmanaged<int*, int> initialized;
    private readonly delegate* unmanaged<int*, int> finalized;
    private readonly delegate* unmanaged<int> finalize;
    private readonly delegate* unmanaged<nint, int*, int> commRank;
    private readonly delegate* unmanaged<nint, int*, int> commSize;
    private readonly delegate* unmanaged<void*, int, nint, int, nint, int> bcast;
    private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> allreduce;
    private readonly delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int> allgatherv;
    private readonly delegate* unmanaged<void*, int*, int*, nint, void*, int*, int*, nint, nint, int> alltoallv;
    private readonly delegate* unmanaged<nint, int> barrier;
    private readonly delegate* unmanaged<nint, int, int> abort;
    private readonly delegate* unmanaged<sbyte*, int*, int> getLibraryVersion;

    private MpiLibrary(nint handle, string path)
    {
        Path = path;
        initThread = (delegate* unmanaged<int*, nint, int, int*, int>)Export(handle, "MPI_Init_thread");
        initialized = (delegate* unmanaged<int*, int>)Export(handle, "MPI_Initialized");
        finalized = (delegate* unmanaged<int*, int>)Export(handle, "MPI_Finalized");
        finalize = (delegate* unmanaged<int>)Export(handle, "MPI_Finalize");
        commRank = (delegate* unmanaged<nint, int*, int>)Export(handle, "MPI_Comm_rank");
        commSize = (delegate* unmanaged<nint, int*, int>)Export(handle, "MPI_Comm_size");
        bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export(handle, "MPI_Bcast");
        allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export(handle, "MPI_Allreduce");
        allgatherv = (delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int>)Export(handle, "MPI_Allgatherv");
        alltoallv = (delegate* unmanaged<void*, int*, int*, nint, void*, int*, int*, nint, nint, int>)Export(handle, "MPI_Alltoallv");
        barrier = (delegate* unmanaged<nint, int>)Export(handle, "MPI_Barrier");
        abort = (delegate* unmanaged<nint, int, int>)Export(handle, "MPI_Abort");
        getLibraryVersion = (delegate* unmanaged<sbyte*, int*, int>)Export(handle, "MPI_Get_library_version");

        CommWorld = Export(handle, "ompi_mpi_comm_world");
        Float = Export(handle, "ompi_mpi_float");
        Double = Export(handle, "ompi_mpi_double");
        Int = Export(handle, "ompi_mpi_int");
        Long = Export(handle, "ompi_mpi_int64_t");
        Byte = Export(handle, "ompi_mpi_byte");
        OpSum = Export(handle, "ompi_mpi_op_sum");
        OpMax = Export(handle, "ompi_mpi_op_max");
    }

    public string Path { get; }

    public nint CommWorld { get; }

    public nint Float { get; }

    public nint Double { get; }

    public nint Int { get; }

    public nint Long { get; }

    public nint Byte { get; }

    public nint OpSum { get; }

    public nint OpMax { get; }

    /// <summary>
    /// Opens Open MPI's library once per process (<c>RTLD_NOW | RTLD_GLOBAL</c>):
    /// <c>$LSTMSHARP_MPI_LIBRARY</c> when set, else <c>libmpi.so.40</c> from the loader's path.
    /// </summary>
    public static MpiLibrary Load()
    {
        lock (LoadLock)
        {
            if (loaded is not null)
            {
                return loaded;
            }

            if (!OperatingSystem.IsLinux())
            {
                throw new MpiException($"MPI: distributed training runs on Linux with Open MPI ({OpenMpiSoname}); this is {RuntimeInformation.OSDescription}.");
            }

            string path = Environment.GetEnvironmentVariable("LSTMSHARP_MPI_LIBRARY") is { Length: > 0 } given ? given : OpenMpiSoname;
            nint handle = DlOpen(path, RtldNow | RtldGlobal);
            if (handle == 0)
            {
                string why = Marshal.PtrToStringUTF8(DlError()) ?? "unknown error";
                throw new MpiException($"MPI: could not load {path} ({why}). Install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin) or set LSTMSHARP_MPI_LIBRARY to its libmpi.so.");
            }

            loaded = new MpiLibrary(handle, path);
            return loaded;
        }
    }

    public bool IsInitialized
    {
        get
        {
            int flag;
            Check(initialized(&flag), "MPI_Initialized");
            return flag != 0;
        }
    }

    public bool IsFinalized
    {
        get
        {
            int flag;
            Check(finalized(&flag), "MPI_Finalized");
            return flag != 0;
        }
    }

    /// <summary>MPI_Init_thread(NULL, NULL, required, &amp;provided); returns the provided level.</summary>
    public int InitThread(int required)
    {
        int provided;
        Check(initThread(null, 0, required, &provided), "MPI_Init_thread");
        return provided;
    }

    public void FinalizeMpi() => Check(finalize(), "MPI_Finalize");

    public int Rank(nint comm)
    {
        int r;
        Check(commRank(comm, &r), "MPI_Comm_rank");
        return r;
    }

    public int Size(nint comm)
    {
        int s;
        Check(commSize(comm, &s), "MPI_Comm_size");
        return s;
    }

    public void Bcast(void* buffer, int count, nint type, int root, nint comm) =>
        Check(bcast(buffer, count, type, root, comm), "MPI_Bcast");

    public void Allreduce(void* send, void* recv, int count, nint type, nint op, nint comm) =>
        Check(allreduce(send, recv, count, type, op, comm), "MPI_Allreduce");

    public void Allgatherv(void* send, int sendCount, nint type, void* recv, int* recvCounts, int* displs, nint comm) =>
        Check(allgatherv(send, sendCount, type, recv, recvCounts, displs, type, comm), "MPI_Allgatherv");

    public void Alltoallv(void* send, int* sendCounts, int* sendDispls, nint type, void* recv, int* recvCounts, int* recvDispls, nint comm) =>
        Check(alltoallv(send, sendCounts, sendDispls, type, recv, recvCounts, recvDispls, type, comm), "MPI_Alltoallv");

    public void Barrier(nint comm) => Check(barrier(comm), "MPI_Barrier");

    public void Abort(nint comm, int code) => abort(comm, code);

    /// <summary>MPI_Get_library_version, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...".</summary>
    public string LibraryVersion()
    {
        // MPI_MAX_LIBRARY_VERSION_STRING is 256 in Open MPI and 8192 in MPICH.
        var text = stackalloc sbyte[8192];
        int length;
        Check(getLibraryVersion(text, &length), "MPI_Get_library_version");
        return new string(text, 0, Math.Clamp(length, 0, 8192)).Split(',', 2)[0].Trim();
    }

    private static void Check(int code, string function)
    {
        if (code != 0)
        {
            throw new MpiException($"MPI: {function} returned error code {code}.");
        }
    }

    private static nint Export(nint handle, string name)
    {
        if (!NativeLibrary.TryGetExport(handle, name, out nint address))
        {
            throw new MpiException($"MPI: the loaded library has no symbol '{name}'; expected Open MPI 4.x ({OpenMpiSoname}).");
        }

        return address;
    }

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint DlOpen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);

    [DllImport("libc", EntryPoint = "dlerror")]
    private static extern nint DlError();
}

/// <summary>An MPI library that cannot be loaded or a call that failed.</summary>
public sealed class MpiException(string message) : InvalidOperationException(message);
