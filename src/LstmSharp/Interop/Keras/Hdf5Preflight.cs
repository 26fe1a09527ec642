using System.Buffers.Binary;
using System.Globalization;

namespace LstmSharp.Interop.Keras;

/// <summary>
/// Walks the structure of an HDF5 file before PureHDF is given it, and checks every size and
/// offset that PureHDF would allocate from or seek to: against the file's length and against the
/// structure that encloses it (a message inside its header chunk, an attribute's data inside its
/// message, a heap object inside its collection, a name inside its local heap). PureHDF allocates
/// <c>new byte[count]</c> with <c>count</c> taken from the file before it reads, so a single
/// flipped bit in a size field would otherwise cost hundreds of megabytes before the read fails.
/// <para>
/// Covered (HDF5 File Format Specification 3.0, as h5py and Keras write it): superblocks v0–v3;
/// object headers v1 and v2 with their continuation blocks; every message type PureHDF 2.2.0
/// decodes, each decoded in the same field order as PureHDF does but bounded by the message's own
/// size; shared messages in other object headers (cycles refused); symbol-table groups (B-tree v1
/// group nodes, symbol table nodes, local heaps); new-style groups with link messages and dense
/// link/attribute storage (fractal heap with B-tree v2 name index); global heap collections
/// referenced by variable-length attribute data; data layouts (compact, contiguous, chunked with a
/// B-tree v1, single-chunk, implicit or fixed-array index). Anything PureHDF would allocate from
/// that is not understood here (virtual datasets, extensible-array or B-tree v2 chunk indexes,
/// huge fractal-heap objects, variable-length data nested in compound or array attributes) is
/// refused. Every structure is visited once; the walk is bounded by <see cref="MaxVisits"/>.
/// </para>
/// </summary>
internal sealed partial class Hdf5Preflight
{
    /// <summary>Most structures (headers, messages, nodes, heap objects) one file may have.</summary>
    internal const int MaxVisits = 200_000;

    /// <summary>Deepest nesting of datatypes, shared-message chains and B-tree levels.</summary>
    private const int MaxDepth = 32;

    /// <summary>Largest chunk (bytes) allowed beyond the size of its dataset.</summary>
    private const long MaxChunkBytes = 16L << 20;

    private const ulong Undefined = ulong.MaxValue;

    private static readonly byte[] Signature = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly Stream stream;
    private readonly long length;
    private readonly Func<string, Exception> error;
    private readonly HashSet<long> walkedObjects = [];
    private readonly Dictionary<long, HeaderInfo> parsedHeaders = [];
    private readonly HashSet<long> headersInProgress = [];
    private readonly Dictionary<long, Dictionary<int, (long Position, long Size)>> globalHeaps = [];
    private readonly Dictionary<long, FractalHeap> fractalHeaps = [];
    private readonly HashSet<long> checkedStructures = [];
    private readonly Stack<(long Address, string Path)> pending = new();
    private int offsetSize;
    private int lengthSize;
    private long baseAddress;
    private int visits;
    private List<int> chunkFilters = [];
    private ulong chunkBytesLimit;
    private byte[]? inflateScratch;

    private Hdf5Preflight(Stream stream, Func<string, Exception> error)
    {
        this.stream = stream;
        length = stream.Length;
        this.error = error;
    }

    /// <summary>
    /// Checks the HDF5 file in <paramref name="stream"/> (seekable; its position is restored) and
    /// throws what <paramref name="error"/> makes, naming the structure, its address and the field,
    /// on the first size or offset that does not fit.
    /// </summary>
    public static void Check(Stream stream, Func<string, Exception> error)
    {
        long position = stream.Position;
        try
        {
            new Hdf5Preflight(stream, error).Run();
        }
        finally
        {
            stream.Position = position;
        }
    }

    private void Run()
    {
        var sb = Read(0, 9, "superblock");
        if (!sb.AsSpan(0, 8).SequenceEqual(Signature))
        {
            throw Fail("no HDF5 signature at offset 0 (files with a user block are not read)");
        }

        int version = sb[8];
        long root;
        if (version is 0 or 1)
        {
            var head = Read(0, 24, "superblock");
            SetSizes(head[13], head[14]);
            int at = version == 0 ? 24 : 28;
            var c = new Cursor(this, 0, Read(0, at + (4 * offsetSize) + (2 * offsetSize) + 24, "superblock"), "superblock");
            c.Skip(at, "fixed fields");
            baseAddress = Address(c.Offset("base address"), "superblock", "base address", 0);
            c.Offset("free-space address");
            c.Offset("end-of-file address");
            c.Offset("driver information block address");
            c.Length("root group symbol table entry: link name offset");
            root = Address(c.Offset("root group object header address"), "superblock", "root group object header address", 0);
        }
        else if (version is 2 or 3)
        {
            var head = Read(0, 11, "superblock");
            SetSizes(head[9], head[10]);
            var c = new Cursor(this, 0, Read(0, 12 + (4 * offsetSize) + 4, "superblock"), "superblock");
            c.Skip(12, "fixed fields");
            baseAddress = Address(c.Offset("base address"), "superblock", "base address", 0);
            c.Offset("superblock extension address");
            c.Offset("end-of-file address");
            root = Address(c.Offset("root group object header address"), "superblock", "root group object header address", 0);
        }
        else
        {
            throw Fail($"superblock version {version} (expected 0 to 3)");
        }

        pending.Push((root, "/"));
        while (pending.Count > 0)
        {
            var (address, path) = pending.Pop();
            if (walkedObjects.Add(address))
            {
                Walk(address, path);
            }
        }
    }

    private void SetSizes(byte offsets, byte lengths)
    {
        if (offsets is not (2 or 4 or 8) || lengths is not (2 or 4 or 8))
        {
            throw Fail($"superblock: size of offsets {offsets} and of lengths {lengths} (each must be 2, 4 or 8)");
        }

        offsetSize = offsets;
        lengthSize = lengths;
    }

    // ---------------------------------------------------------------- primitives

    private void Visit(string where)
    {
        if (++visits > MaxVisits)
        {
            throw Fail($"more than {MaxVisits} structures (at {where}); refusing to walk further");
        }
    }

    /// <summary>An address field made absolute (base address added); <paramref name="minimum"/> excludes 0 for things that cannot sit in the superblock.</summary>
    private long Address(ulong value, string where, string field, long minimum)
    {
        if (value == Undefined || value > (ulong)length || (long)value + baseAddress >= length || (long)value < minimum)
        {
            throw Fail($"{where}: {field} 0x{value:X} is outside the file ({length} bytes)");
        }

        return (long)value + baseAddress;
    }

    /// <summary>Checks that <paramref name="size"/> bytes from <paramref name="at"/> lie in the file; returns the size.</summary>
    private long Extent(long at, ulong size, string where, string field)
    {
        if (size > (ulong)(length - at))
        {
            throw Fail($"{where} claims {field} of {size} bytes at 0x{at:X}; the file has {length}");
        }

        return (long)size;
    }

    private byte[] Read(long at, int count, string where)
    {
        if (count < 0 || at < 0 || at > length - count)
        {
            throw Fail($"{where}: {count} bytes at 0x{at:X} lie beyond the end of the file ({length} bytes)");
        }

        var buffer = new byte[count];
        stream.Position = at;
        stream.ReadExactly(buffer);
        return buffer;
    }

    private static ulong ReadUint(ReadOnlySpan<byte> b, int size)
    {
        ulong v = 0;
        for (int i = size - 1; i >= 0; i--)
        {
            v = (v << 8) | b[i];
        }

        return v;
    }

    private Exception Fail(string problem) => error("HDF5 check: " + problem);

    /// <summary>Reads fields of one structure, never past its end (the enclosing message, chunk or heap object).</summary>
    private sealed class Cursor(Hdf5Preflight owner, long fileOffset, byte[] bytes, string where)
    {
        private int pos;

        public string Where { get; set; } = where;

        public int Left => bytes.Length - pos;

        public long Position => fileOffset + pos;

        public int LengthSize => owner.lengthSize;

        public int U8(string field) => Take(1, field)[0];

        public int U16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field));

        public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));

        public ulong Uint(int size, string field) => ReadUint(Take(size, field), size);

        public ulong Offset(string field) => Uint(owner.offsetSize, field);

        public ulong Length(string field) => Uint(owner.lengthSize, field);

        public void Skip(long n, string field)
        {
            if (n < 0 || n > Left)
            {
                throw owner.Fail($"{Where}: {field} ({n} bytes at 0x{Position:X}) runs past the end of the structure ({Left} bytes left)");
            }

            pos += (int)n;
        }

        public byte[] Bytes(ulong n, string field)
        {
            if (n > (ulong)Left)
            {
                throw owner.Fail($"{Where} claims {field} of {n} bytes; the structure has {Left} bytes left");
            }

            return Take((int)n, field).ToArray();
        }

        public byte[] Bytes(long n, string field) => n < 0 ? throw owner.Fail($"{Where}: {field} of {n} bytes") : Bytes((ulong)n, field);

        public string Text(ulong n, string field) => System.Text.Encoding.UTF8.GetString(Bytes(n, field));

        /// <summary>A NUL-terminated string that must end inside the structure; padded to 8 bytes (counting the NUL) if asked.</summary>
        public string CString(string field, bool pad)
        {
            int end = Array.IndexOf(bytes, (byte)0, pos);
            if (end < 0)
            {
                throw owner.Fail($"{Where}: {field} at 0x{Position:X} has no terminating NUL inside the structure");
            }

            string s = System.Text.Encoding.UTF8.GetString(bytes, pos, end - pos);
            int n = end - pos + 1;
            pos = end + 1;
            if (pad)
            {
                Skip((8 - (n % 8)) % 8, field + " padding");
            }

            return s;
        }

        private ReadOnlySpan<byte> Take(int n, string field)
        {
            if (n > Left)
            {
                throw owner.Fail($"{Where}: {field} ({n} bytes at 0x{Position:X}) runs past the end of the structure ({Left} bytes left)");
            }

            var span = bytes.AsSpan(pos, n);
            pos += n;
            return span;
        }
    }

    private sealed class HeaderInfo
    {
        public long Address;
        public string Path = string.Empty;
        public int Depth;
        public (ulong BTree, ulong Heap)? SymbolTable;
        public (long Heap, long NameIndex)? LinkHeap;
        public (long Heap, long NameIndex)? AttributeHeap;
        public List<(string Name, long Target)> HardLinks = [];
        public SpaceInfo? Dataspace;
        public uint ElementSize;
        public TypeInfo? Type;
        public LayoutInfo? Layout;
        public List<int>? Filters;
    }

    private sealed class LayoutInfo
    {
        public string Where = string.Empty;
        public int Version;
        public int Class = -1;
        public int Flags;
        public int Index = -1;
        public ulong Address = Undefined;
        public ulong Size;
        public uint Mask;
        public ulong[]? ChunkDims;
    }

    private sealed record SpaceInfo(ulong[] Dims, ulong Count, ulong[] MaxDims);

    private readonly record struct TypeInfo(uint Size, bool Vlen, bool Nested, bool VlenString);
}
