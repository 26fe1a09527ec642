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
internal sealed class Hdf5Preflight
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

    // ---------------------------------------------------------------- objects and groups

    /// <summary>One object: its header, then what it links to (pushed on <see cref="pending"/>).</summary>
    private void Walk(long address, string path)
    {
        var info = Header(address, path, 0);
        if (info.SymbolTable is { } st)
        {
            var heap = LocalHeap(st.Heap, path);
            GroupBTree(st.BTree, heap, path, -1, 0);
        }

        foreach (var (name, target) in info.HardLinks)
        {
            pending.Push((target, Join(path, name)));
        }

        if (info.LinkHeap is { } links)
        {
            DenseStorage(links.Heap, links.NameIndex, 5, path, address, isLink: true);
        }

        if (info.AttributeHeap is { } attrs)
        {
            DenseStorage(attrs.Heap, attrs.NameIndex, 8, path, address, isLink: false);
        }

        if (info.Layout is { } layout)
        {
            Layout(layout, info, path);
        }
    }

    private static string Join(string path, string name) => path == "/" ? "/" + name : path + "/" + name;

    /// <summary>Parses (once) the object header at <paramref name="address"/> with all its messages, as PureHDF's ObjectHeader.Construct does.</summary>
    private HeaderInfo Header(long address, string path, int depth)
    {
        if (parsedHeaders.TryGetValue(address, out var done))
        {
            return done;
        }

        if (depth > MaxDepth)
        {
            throw Fail($"object header at 0x{address:X} ('{path}'): shared messages nest deeper than {MaxDepth}");
        }

        if (!headersInProgress.Add(address))
        {
            throw Fail($"object header at 0x{address:X} ('{path}'): its shared messages refer back to itself (a cycle)");
        }

        var info = new HeaderInfo { Address = address, Path = path, Depth = depth };
        string where = $"object header at 0x{address:X} ('{path}')";
        Visit(where);
        var first = Read(address, 1, where);
        var chunks = new Queue<(long Start, long Size)>();
        int version;
        bool creationOrder = false;
        if (first[0] == 1)
        {
            version = 1;
            var c = new Cursor(this, address, Read(address, 16, where), where);
            c.Skip(8, "version, message count and reference count");
            long size = c.U32("header size");
            chunks.Enqueue((address + 16, Extent(address + 16, (ulong)size, where, "header size")));
        }
        else
        {
            var sig = Read(address, 6, where);
            if (!sig.AsSpan(0, 4).SequenceEqual("OHDR"u8) || sig[4] != 2)
            {
                throw Fail($"{where}: neither a version 1 header nor an OHDR signature with version 2");
            }

            version = 2;
            int flags = sig[5];
            creationOrder = (flags & 0x04) != 0;
            int at = 6 + ((flags & 0x20) != 0 ? 16 : 0) + ((flags & 0x10) != 0 ? 4 : 0);
            int field = 1 << (flags & 0x03);
            var c = new Cursor(this, address, Read(address, at + field, where), where);
            c.Skip(at, "prefix");
            ulong size = c.Uint(field, "size of chunk #0");
            long start = address + at + field;
            chunks.Enqueue((start, Extent(start, size, where, "size of chunk #0")));
        }

        var seenChunks = new HashSet<long>();
        while (chunks.Count > 0)
        {
            var (start, size) = chunks.Dequeue();
            if (!seenChunks.Add(start))
            {
                throw Fail($"{where}: continuation block at 0x{start:X} is visited twice (a cycle)");
            }

            Messages(info, start, size, version, creationOrder, chunks);
        }

        headersInProgress.Remove(address);
        parsedHeaders[address] = info;
        return info;
    }

    /// <summary>The messages of one header chunk; continuation blocks are queued.</summary>
    private void Messages(HeaderInfo info, long start, long size, int version, bool creationOrder, Queue<(long, long)> chunks)
    {
        string where = $"object header at 0x{info.Address:X} ('{info.Path}')";
        long prefix = version == 1 ? 8 : 4 + (creationOrder ? 2 : 0);
        long gap = version == 1 ? 0 : prefix;
        long end = start + size;
        long pos = start;
        while (end - pos > gap)
        {
            Visit(where);
            if (end - pos < prefix)
            {
                throw Fail($"{where}: a message header at 0x{pos:X} crosses the end of its chunk at 0x{end:X}");
            }

            var p = Read(pos, (int)prefix, where);
            int type = version == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(p) : p[0];
            int dataSize = version == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(p.AsSpan(2)) : BinaryPrimitives.ReadUInt16LittleEndian(p.AsSpan(1));
            int flags = version == 1 ? p[4] : p[3];
            long dataStart = pos + prefix;
            if (dataSize > end - dataStart)
            {
                throw Fail($"{where}: message of type {type} at 0x{pos:X} claims {dataSize} bytes; its chunk has {end - dataStart} left");
            }

            var c = new Cursor(this, dataStart, Read(dataStart, dataSize, where), $"{where}, {MessageName(type)} message at 0x{dataStart:X}");
            Message(info, type, flags, c, chunks, version);
            pos = dataStart + dataSize;
        }
    }

    private static string MessageName(int type) => type switch
    {
        1 => "dataspace",
        2 => "link info",
        3 => "datatype",
        4 => "old fill value",
        5 => "fill value",
        6 => "link",
        7 => "external file list",
        8 => "data layout",
        10 => "group info",
        11 => "filter pipeline",
        12 => "attribute",
        13 => "comment",
        16 => "continuation",
        17 => "symbol table",
        20 => "driver info",
        21 => "attribute info",
        _ => $"type-{type}",
    };

    private void Message(HeaderInfo info, int type, int flags, Cursor c, Queue<(long, long)> chunks, int headerVersion)
    {
        bool shared = (flags & 0x02) != 0 && type is 1 or 3 or 4 or 5 or 11 or 12;
        if (shared)
        {
            var target = SharedMessage(c, info);
            if (type == 1 && target?.Dataspace is { } d)
            {
                info.Dataspace = d;
            }
            else if (type == 3 && target?.Type is { } t)
            {
                info.Type = t;
                info.ElementSize = t.Size;
            }
            else if (type == 11 && target?.Filters is { } f)
            {
                info.Filters = f;
            }

            return;
        }

        switch (type)
        {
            case 1:
                info.Dataspace = Dataspace(c);
                break;
            case 2:
            {
                c.U8("version");
                int f = c.U8("flags");
                if ((f & 1) != 0)
                {
                    c.Skip(8, "maximum creation index");
                }

                ulong heap = c.Offset("fractal heap address");
                ulong names = c.Offset("name index address");
                if ((f & 2) != 0)
                {
                    c.Offset("creation order index address");
                }

                if (heap != Undefined)
                {
                    info.LinkHeap = (Address(heap, c.Where, "fractal heap address", 1), Address(names, c.Where, "name index address", 1));
                }

                break;
            }

            case 3:
                info.Type = Datatype(c, 0);
                info.ElementSize = info.Type.Value.Size;
                break;
            case 4:
                c.Bytes(c.U32("fill value size"), "fill value");
                break;
            case 5:
                FillValue(c);
                break;
            case 6:
                Link(c, info);
                break;
            case 7:
            {
                c.U8("version");
                c.Skip(3, "reserved");
                c.U16("allocated slots");
                int used = c.U16("used slots");
                ulong heap = c.Offset("local heap address");
                c.Skip((long)used * 3 * lengthSize, "slot definitions");
                if (heap != Undefined)
                {
                    LocalHeap(heap, info.Path);
                }

                break;
            }

            case 8:
                info.Layout = Layout(c);
                break;
            case 9:
                c.U32("bogus value");
                break;
            case 10:
            {
                c.U8("version");
                int f = c.U8("flags");
                c.Skip(((f & 1) != 0 ? 4 : 0) + ((f & 2) != 0 ? 4 : 0), "phase change and estimates");
                break;
            }

            case 11:
                info.Filters = FilterPipeline(c);
                break;
            case 12:
                Attribute(c, info);
                break;
            case 13:
                c.CString("comment", pad: false);
                break;
            case 14:
                c.Skip(16, "modification time");
                break;
            case 15:
                c.U8("version");
                c.Offset("shared message table address");
                c.U8("index count");
                break;
            case 16:
            {
                ulong offset = c.Offset("continuation offset");
                ulong size = c.Length("continuation length");
                long at = Address(offset, c.Where, "continuation offset", 1);
                long extent = Extent(at, size, c.Where, "continuation length");
                if (headerVersion == 1)
                {
                    chunks.Enqueue((at, extent));
                }
                else
                {
                    if (extent < 8)
                    {
                        throw Fail($"{c.Where}: continuation block of {extent} bytes (at least 8: OCHK and checksum)");
                    }

                    var sig = Read(at, 4, c.Where);
                    if (!sig.AsSpan().SequenceEqual("OCHK"u8))
                    {
                        throw Fail($"{c.Where}: no OCHK signature at continuation block 0x{at:X}");
                    }

                    chunks.Enqueue((at + 4, extent - 8));
                }

                break;
            }

            case 17:
            {
                ulong btree = c.Offset("B-tree address");
                ulong heap = c.Offset("local heap address");
                info.SymbolTable = (btree, heap);
                break;
            }

            case 18:
                c.Skip(8, "modification time");
                break;
            case 19:
                c.Skip(7, "B-tree K values");
                break;
            case 20:
                c.U8("version");
                c.Skip(8, "driver identification");
                c.Bytes(c.U16("driver information size"), "driver information");
                break;
            case 21:
            {
                c.U8("version");
                int f = c.U8("flags");
                if ((f & 1) != 0)
                {
                    c.U16("maximum creation index");
                }

                ulong heap = c.Offset("fractal heap address");
                ulong names = c.Offset("name index address");
                if ((f & 2) != 0)
                {
                    c.Offset("creation order index address");
                }

                if (heap != Undefined)
                {
                    info.AttributeHeap = (Address(heap, c.Where, "fractal heap address", 1), Address(names, c.Where, "name index address", 1));
                }

                break;
            }

            case 22:
                c.Skip(5, "reference count");
                break;
            default:
                // PureHDF refuses other message types without allocating (NotSupportedException).
                break;
        }
    }

    /// <summary>A shared message: PureHDF reads the message from another object header, which must therefore parse too (and not lead back here).</summary>
    private HeaderInfo? SharedMessage(Cursor c, HeaderInfo info)
    {
        int version = c.U8("shared message version");
        int type = c.U8("shared message type");
        if (version == 1)
        {
            c.Skip(6, "reserved");
        }

        if (version == 3 && type == 1)
        {
            return null; // in the shared-message heap: PureHDF refuses it (not implemented) without allocating
        }

        ulong target = c.Offset("shared message address");
        long at = Address(target, c.Where, "shared message address", 1);
        // The same header: PureHDF refuses it (not implemented) without allocating.
        return at == info.Address ? null : Header(at, info.Path + " (shared message)", info.Depth + 1);
    }

    private static SpaceInfo Dataspace(Cursor c)
    {
        int version = c.U8("version");
        int rank = c.U8("rank");
        int flags = c.U8("flags");
        int type = 1;
        if (version == 1)
        {
            type = rank > 0 ? 1 : 0;
            c.Skip(5, "reserved");
        }
        else
        {
            type = c.U8("type");
        }

        var dims = new ulong[rank];
        for (int i = 0; i < rank; i++)
        {
            dims[i] = c.Length("dimension size");
        }

        var max = dims;
        if ((flags & 1) != 0)
        {
            max = new ulong[rank];
            for (int i = 0; i < rank; i++)
            {
                max[i] = c.Length("maximum dimension size");
            }
        }

        if ((flags & 2) != 0)
        {
            c.Skip((long)rank * c.LengthSize, "permutation indices");
        }

        ulong count = type == 2 ? 0UL : 1UL;
        foreach (ulong d in dims)
        {
            count = d == 0 || count == 0 ? 0 : count > ulong.MaxValue / d ? ulong.MaxValue : count * d;
        }

        return new SpaceInfo(dims, count, max);
    }

    /// <summary>A datatype, decoded as PureHDF's DatatypeMessage.Decode reads it.</summary>
    private TypeInfo Datatype(Cursor c, int depth)
    {
        if (depth > MaxDepth)
        {
            throw Fail($"{c.Where}: datatypes nest deeper than {MaxDepth}");
        }

        int classVersion = c.U8("datatype class and version");
        int version = classVersion >> 4;
        int cls = classVersion & 0x0F;
        var bits = c.Bytes(3, "datatype bit field");
        uint size = c.U32("datatype size");
        bool vlen = false;
        bool nested = false;
        switch (cls)
        {
            case 0 or 4:
                c.Skip(4, "bit offset and precision");
                break;
            case 1:
                c.Skip(12, "floating-point properties");
                break;
            case 2:
                c.Skip(2, "bit precision");
                break;
            case 3 or 7:
                break;
            case 5:
                c.Skip(bits[0], "opaque tag");
                break;
            case 6:
            {
                int members = bits[0] | (bits[1] << 8);
                for (int i = 0; i < members; i++)
                {
                    Visit(c.Where);
                    switch (version)
                    {
                        case 1:
                            c.CString("compound member name", pad: true);
                            c.Skip(4 + 1 + 3 + 4 + 4 + 16, "compound member offset and dimensions");
                            break;
                        case 2:
                            c.CString("compound member name", pad: true);
                            c.Skip(4, "compound member offset");
                            break;
                        default:
                            c.CString("compound member name", pad: false);
                            c.Skip(MinByteCount(size), "compound member offset");
                            break;
                    }

                    var member = Datatype(c, depth + 1);
                    nested |= member.Vlen || member.Nested;
                }

                break;
            }

            case 8:
            {
                int members = bits[0] | (bits[1] << 8);
                Datatype(c, depth + 1);
                for (int i = 0; i < members; i++)
                {
                    c.CString("enumeration member name", pad: version <= 2);
                }

                c.Skip((long)members * size, "enumeration values");
                break;
            }

            case 9:
            {
                var b = Datatype(c, depth + 1);
                vlen = true;
                nested = b.Vlen || b.Nested;
                break;
            }

            case 10:
            {
                int rank = c.U8("array rank");
                if (version == 2)
                {
                    c.Skip(3, "reserved");
                }

                c.Skip(4L * rank, "array dimensions");
                if (version == 2)
                {
                    c.Skip(4L * rank, "array permutation");
                }

                var b = Datatype(c, depth + 1);
                nested = b.Vlen || b.Nested;
                break;
            }

            default:
                throw Fail($"{c.Where}: datatype class {cls} (expected 0 to 10)");
        }

        return new TypeInfo(size, vlen, nested, cls == 9 && (bits[0] & 0x0F) == 1);
    }

    private static int MinByteCount(uint value)
    {
        int bits = 1;
        while ((value >>= 1) != 0)
        {
            bits++;
        }

        return (bits + 7) / 8;
    }

    private static void FillValue(Cursor c)
    {
        int version = c.U8("version");
        if (version is 1 or 2)
        {
            c.Skip(2, "allocation and fill times");
            if (c.U8("fill value defined") == 1)
            {
                c.Bytes(c.U32("fill value size"), "fill value");
            }
        }
        else if (version == 3)
        {
            int flags = c.U8("flags");
            if ((flags & 0x10) == 0 && (flags & 0x20) != 0)
            {
                c.Bytes(c.U32("fill value size"), "fill value");
            }
        }
    }

    private void Link(Cursor c, HeaderInfo info)
    {
        Visit(c.Where);
        c.U8("version");
        int flags = c.U8("flags");
        int type = (flags & 0x08) != 0 ? c.U8("link type") : 0;
        if ((flags & 0x04) != 0)
        {
            c.Skip(8, "creation order");
        }

        if ((flags & 0x10) != 0)
        {
            c.U8("link name character set");
        }

        ulong nameLength = c.Uint(1 << (flags & 0x03), "link name length");
        string name = c.Text(nameLength, "link name");
        switch (type)
        {
            case 0:
                info.HardLinks.Add((name, Address(c.Offset("link target address"), c.Where, $"address of link '{name}'", 1)));
                break;
            case 1:
                c.Bytes(c.U16("soft link length"), "soft link value");
                break;
            case 64:
                c.U16("external link length");
                c.U8("external link version and flags");
                c.CString("external link file name", pad: false);
                c.CString("external link object path", pad: false);
                break;
            case >= 65:
                c.Bytes(c.U16("user-defined link length"), "user-defined link data");
                break;
        }
    }

    /// <summary>A filter pipeline; returns the filter identifiers in pipeline order.</summary>
    private static List<int> FilterPipeline(Cursor c)
    {
        var ids = new List<int>();
        int version = c.U8("version");
        int count = c.U8("number of filters");
        if (version == 1)
        {
            c.Skip(6, "reserved");
        }

        for (int i = 0; i < count && i <= 32; i++)
        {
            int id = c.U16("filter identifier");
            ids.Add(id);
            int nameLength = version == 1 || id >= 256 ? c.U16("filter name length") : 0;
            c.U16("filter flags");
            int values = c.U16("number of client data values");
            if (nameLength > 0)
            {
                if (version == 1)
                {
                    c.CString("filter name", pad: true);
                }
                else
                {
                    c.Bytes((uint)nameLength, "filter name");
                }
            }

            c.Skip(4L * values, "client data");
            if (version == 1 && values % 2 != 0)
            {
                c.Skip(4, "padding");
            }
        }

        return ids;
    }

    /// <summary>An attribute message (in an object header or a fractal heap), decoded as PureHDF's AttributeMessage.Decode reads it.</summary>
    private void Attribute(Cursor c, HeaderInfo info)
    {
        Visit(c.Where);
        int version = c.U8("attribute version");
        int flags = c.U8("attribute flags");
        c.U16("attribute name size");
        int datatypeSize = c.U16("attribute datatype size");
        int dataspaceSize = c.U16("attribute dataspace size");
        if (version == 3)
        {
            c.U8("attribute name character set");
        }

        string name = c.CString("attribute name", pad: version == 1);
        c.Where = $"{c.Where}, attribute '{Printable(name)}'";
        TypeInfo type;
        if (version >= 2 && (flags & 1) != 0)
        {
            // a committed datatype: its size is the one in the header it lives in
            var shared = SharedMessage(c, info);
            if (shared?.Type is not { } t)
            {
                return; // PureHDF cannot read it either (and does not allocate for it)
            }

            type = t;
        }
        else
        {
            type = Datatype(c, 0);
        }

        if (version == 1)
        {
            c.Skip(((datatypeSize + 7) / 8 * 8) - datatypeSize, "datatype padding");
        }

        SpaceInfo space;
        if (version >= 2 && (flags & 2) != 0)
        {
            var shared = SharedMessage(c, info);
            if (shared?.Dataspace is not { } d)
            {
                return;
            }

            space = d;
        }
        else
        {
            space = Dataspace(c);
        }

        if (version == 1)
        {
            c.Skip(((dataspaceSize + 7) / 8 * 8) - dataspaceSize, "dataspace padding");
        }

        ulong count = space.Count;
        ulong bytes = type.Size == 0 || count == 0 ? 0 : count > ulong.MaxValue / type.Size ? ulong.MaxValue : count * type.Size;
        if (bytes > (ulong)c.Left || count > (ulong)c.Left + 1)
        {
            throw Fail($"{c.Where} claims {DescribeCount(space)} elements of {type.Size} bytes; its message has {c.Left} bytes left");
        }

        long dataAt = c.Position;
        var data = c.Bytes(bytes, "attribute data");
        if (type.Nested)
        {
            throw Fail($"{c.Where}: variable-length data inside a compound or array attribute (not read)");
        }

        if (type.Vlen && count > 0)
        {
            int element = 4 + offsetSize + 4;
            if (type.Size < element)
            {
                throw Fail($"{c.Where}: variable-length elements of {type.Size} bytes (a length and a global heap ID take {element})");
            }

            for (ulong i = 0; i < count; i++)
            {
                var e = data.AsSpan((int)(i * type.Size));
                uint n = BinaryPrimitives.ReadUInt32LittleEndian(e);
                if (n == 0)
                {
                    continue;
                }

                ulong collection = ReadUint(e.Slice(4), offsetSize);
                int index = (int)BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(4 + offsetSize));
                long size = GlobalHeapObject(collection, index, $"{c.Where}, element {i} at 0x{dataAt + (long)(i * type.Size):X}");
                if (n > size)
                {
                    throw Fail($"{c.Where}, element {i}: claims {n} items; its global heap object holds {size} bytes");
                }
            }
        }
    }

    private static string DescribeCount(SpaceInfo s) => s.Dims.Length == 0 ? "1" : string.Join(" x ", s.Dims);

    private static string Printable(string s) => s.Length > 64 ? s[..64] + "..." : s;

    // ---------------------------------------------------------------- data layout

    private LayoutInfo Layout(Cursor c)
    {
        int version = c.U8("version");
        var l = new LayoutInfo { Where = c.Where };
        if (version is 1 or 2)
        {
            int rank = c.U8("dimensionality");
            l.Class = c.U8("layout class");
            c.Skip(5, "reserved");
            if (l.Class is 1 or 2)
            {
                l.Address = c.Offset("data address");
            }

            l.ChunkDims = new ulong[rank];
            for (int i = 0; i < rank; i++)
            {
                l.ChunkDims[i] = c.U32("dimension size");
            }

            if (l.Class == 0)
            {
                c.Bytes(c.U32("compact data size"), "compact data");
            }
            else if (l.Class == 1)
            {
                l.ChunkDims = null;
                l.Size = Undefined; // the size is the dataset's
            }
            else
            {
                l.Index = 0;
            }

            return l;
        }

        if (version is not (3 or 4))
        {
            return l; // PureHDF refuses other versions without allocating
        }

        l.Class = c.U8("layout class");
        switch (l.Class)
        {
            case 0:
                c.Bytes(c.U16("compact data size"), "compact data");
                break;
            case 1:
                l.Address = c.Offset("data address");
                l.Size = c.Length("data size");
                break;
            case 2 when version == 3:
            {
                int rank = c.U8("dimensionality");
                l.Address = c.Offset("B-tree address");
                l.ChunkDims = new ulong[rank];
                for (int i = 0; i < rank; i++)
                {
                    l.ChunkDims[i] = c.U32("chunk dimension size");
                }

                l.Index = 0;
                break;
            }

            case 2:
            {
                l.Flags = c.U8("chunked layout flags");
                int rank = c.U8("dimensionality");
                int width = c.U8("dimension size encoded length");
                if (width is < 1 or > 8)
                {
                    throw Fail($"{c.Where}: chunk dimension sizes of {width} bytes (1 to 8)");
                }

                l.ChunkDims = new ulong[rank];
                for (int i = 0; i < rank; i++)
                {
                    l.ChunkDims[i] = c.Uint(width, "chunk dimension size");
                }

                l.Index = c.U8("chunk indexing type");
                switch (l.Index)
                {
                    case 1:
                        if ((l.Flags & 2) != 0)
                        {
                            l.Size = c.Length("filtered chunk size");
                            l.Mask = c.U32("filter mask");
                        }

                        break;
                    case 2:
                        break;
                    case 3:
                        c.U8("page bits");
                        break;
                    case 4:
                        c.Skip(5, "extensible array parameters");
                        break;
                    case 5:
                        c.Skip(6, "B-tree v2 parameters");
                        break;
                }

                l.Address = c.Offset("chunk index address");
                break;
            }

            case 3:
                throw Fail($"{c.Where}: a virtual dataset (not read)");
        }

        l.Version = version;
        return l;
    }

    private void Layout(LayoutInfo l, HeaderInfo info, string path)
    {
        string where = l.Where;
        if (l.Class == 1 && l.Address != Undefined)
        {
            long at = Address(l.Address, where, "data address", 0);
            ulong size = l.Size;
            if (size == Undefined)
            {
                // layout v1/v2: the size is the dataset's
                size = info.Dataspace is { } s && s.Count <= (ulong)length ? s.Count * Math.Max(info.ElementSize, 1u) : ulong.MaxValue;
            }

            Extent(at, size, where, "data size");
        }

        if (l.Class != 2 || l.ChunkDims is null)
        {
            return;
        }

        if (l.ChunkDims.Length < 1)
        {
            throw Fail($"{where}: a chunked layout without dimensions");
        }

        // As libhdf5 requires: a chunk is no larger than a fixed-size dimension.
        if (info.Dataspace is { } fixedSpace)
        {
            for (int i = 0; i < fixedSpace.MaxDims.Length && i < l.ChunkDims.Length - 1; i++)
            {
                ulong max = fixedSpace.MaxDims[i];
                if (max != Undefined && l.ChunkDims[i] > Math.Max(max, 1))
                {
                    throw Fail($"{where}: chunk dimension {i} of {l.ChunkDims[i]} exceeds the dataset's maximum dimension {max}");
                }
            }
        }

        // PureHDF allocates chunks of (product of the chunk dimensions but the last) x element size.
        ulong chunkBytes = Math.Max(info.ElementSize, 1u);
        for (int i = 0; i < l.ChunkDims.Length - 1; i++)
        {
            ulong d = l.ChunkDims[i];
            chunkBytes = d == 0 ? 0 : chunkBytes > ulong.MaxValue / d ? ulong.MaxValue : chunkBytes * d;
        }

        ulong datasetBytes = info.Dataspace is { } space && space.Count <= ulong.MaxValue / Math.Max(info.ElementSize, 1u) ? space.Count * Math.Max(info.ElementSize, 1u) : ulong.MaxValue;
        if (chunkBytes > Math.Max((ulong)MaxChunkBytes, datasetBytes))
        {
            throw Fail($"{where}: chunks of {chunkBytes} bytes (chunk dimensions [{string.Join(", ", l.ChunkDims)}]) for a dataset of {datasetBytes} bytes");
        }

        if (info.Filters?.FirstOrDefault(id => id is 4 or 6) is { } unread and not 0)
        {
            throw Fail($"{where}: filter {unread} ({(unread == 4 ? "n-bit" : "scale-offset")}) sizes its output from its parameters (not read)");
        }

        if (l.Address == Undefined)
        {
            return; // no chunk written yet
        }

        chunkFilters = info.Filters ?? [];
        chunkBytesLimit = chunkBytes;

        long index = Address(l.Address, where, "chunk index address", 1);
        switch (l.Version, l.Index)
        {
            case ( < 4, _):
                ChunkBTree(index, l.ChunkDims.Length, where, -1, 0);
                break;
            case (4, 1):
                Chunk(index, (l.Flags & 2) != 0 ? l.Size : chunkBytes, l.Mask, where, "single chunk size");
                break;
            case (4, 2):
            {
                ulong chunks = 1;
                if (info.Dataspace is { } s)
                {
                    for (int i = 0; i < s.Dims.Length && i < l.ChunkDims.Length; i++)
                    {
                        ulong n = l.ChunkDims[i] == 0 ? 0 : (s.Dims[i] + l.ChunkDims[i] - 1) / l.ChunkDims[i];
                        chunks = n != 0 && chunks > ulong.MaxValue / n ? ulong.MaxValue : chunks * n;
                    }
                }

                Extent(index, chunks != 0 && chunkBytes > ulong.MaxValue / chunks ? ulong.MaxValue : chunks * chunkBytes, where, "implicitly indexed chunks");
                break;
            }

            case (4, 3):
                FixedArray(index, (l.Flags & 2) != 0, where);
                break;
            default:
                throw Fail($"{where}: chunk indexing type {l.Index} (only B-tree v1, single chunk, implicit and fixed array indexes are read)");
        }
    }

    /// <summary>A B-tree v1 of raw data chunks (node type 1): every node and every chunk inside the file.</summary>
    private void ChunkBTree(long address, int rank, string where, int expectedLevel, int depth)
    {
        string node = $"chunk B-tree node at 0x{address:X} ({where})";
        var (level, entries) = BTreeNodeHeader(address, 1, node, expectedLevel, depth);
        int keySize = 8 + (8 * rank);
        int entry = keySize + offsetSize;
        long at = address + 8 + (2 * offsetSize);
        Extent(at, (ulong)((long)entries * entry) + (ulong)keySize, node, $"{entries} entries");
        var c = new Cursor(this, at, Read(at, (entries * entry) + keySize, node), node);
        for (int i = 0; i < entries; i++)
        {
            Visit(node);
            uint chunkSize = c.U32("chunk size");
            uint mask = c.U32("filter mask");
            c.Skip(8 * rank, "chunk offsets");
            long child = Address(c.Offset("child address"), node, "child address", 1);
            if (level > 0)
            {
                ChunkBTree(child, rank, where, level - 1, depth + 1);
            }
            else
            {
                Chunk(child, chunkSize, mask, node, $"chunk {i} size");
            }
        }
    }

    private (int Level, int Entries) BTreeNodeHeader(long address, int type, string node, int expectedLevel, int depth)
    {
        Visit(node);
        if (depth > MaxDepth || !checkedStructures.Add(address))
        {
            throw Fail($"{node}: reached twice or deeper than {MaxDepth} levels (a cycle)");
        }

        var h = Read(address, 8, node);
        if (!h.AsSpan(0, 4).SequenceEqual("TREE"u8) || h[4] != type)
        {
            throw Fail($"{node}: not a TREE node of type {type}");
        }

        int level = h[5];
        if (expectedLevel >= 0 && level != expectedLevel)
        {
            throw Fail($"{node}: level {level} under a node of level {expectedLevel + 1}");
        }

        return (level, BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(6)));
    }

    /// <summary>
    /// One stored chunk: inside the file, and, when PureHDF will inflate it, inflating to no more
    /// than a chunk (PureHDF's deflate filter grows its output with whatever the stream yields).
    /// PureHDF applies pipeline filter k unless bit k+1 of the mask is set (libhdf5 reads bit k).
    /// </summary>
    private void Chunk(long at, ulong storedSize, uint mask, string where, string field)
    {
        long size = Extent(at, storedSize, where, field);
        if (chunkFilters.Count == 0)
        {
            return;
        }

        for (int k = chunkFilters.Count - 1; k >= 0; k--)
        {
            if (k + 1 < 32 && ((mask >> (k + 1)) & 1) != 0)
            {
                continue;
            }

            if (chunkFilters[k] == 3)
            {
                size -= 4; // Fletcher-32 drops its checksum
                if (size < 0)
                {
                    return; // PureHDF fails on it without allocating
                }
            }
            else if (chunkFilters[k] == 1)
            {
                Visit(where);
                stream.Position = at;
                using var window = new WindowStream(stream, size);
                using var z = new System.IO.Compression.ZLibStream(window, System.IO.Compression.CompressionMode.Decompress);
                var scratch = inflateScratch ??= new byte[16384];
                long total = 0;
                try
                {
                    int n;
                    while ((n = z.Read(scratch, 0, scratch.Length)) > 0)
                    {
                        total += n;
                        if ((ulong)total > chunkBytesLimit)
                        {
                            throw Fail($"{where}: the deflated chunk at 0x{at:X} ({size} bytes) inflates to more than a chunk's {chunkBytesLimit} bytes");
                        }
                    }
                }
                catch (InvalidDataException)
                {
                    // not deflate data: PureHDF fails on it (inside ZLibStream, with bounded buffers)
                }

                return;
            }
        }
    }

    /// <summary>A read-only view of <paramref name="count"/> bytes of the file from its current position.</summary>
    private sealed class WindowStream(Stream inner, long count) : Stream
    {
        private long left = count;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int n)
        {
            int got = inner.Read(buffer, offset, (int)Math.Min(n, left));
            left -= got;
            return got;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A fixed array chunk index (FAHD + FADB), unpaged.</summary>
    private void FixedArray(long address, bool filtered, string where)
    {
        string hdr = $"fixed array header at 0x{address:X} ({where})";
        Visit(hdr);
        var c = new Cursor(this, address, Read(address, 8 + lengthSize + offsetSize + 4, hdr), hdr);
        if (!c.Bytes(4, "signature").AsSpan().SequenceEqual("FAHD"u8))
        {
            throw Fail($"{hdr}: no FAHD signature");
        }

        c.U8("version");
        c.U8("client ID");
        int entrySize = c.U8("entry size");
        int pageBits = c.U8("page bits");
        ulong count = c.Length("maximum number of entries");
        ulong dataBlock = c.Offset("data block address");
        int expected = filtered ? offsetSize + 4 + 4 : offsetSize;
        if (entrySize < expected)
        {
            throw Fail($"{hdr}: entries of {entrySize} bytes");
        }

        if (pageBits >= 32 || count > (1UL << pageBits))
        {
            throw Fail($"{hdr}: {count} entries with pages of 2^{pageBits} (paged fixed arrays are not read)");
        }

        if (dataBlock == Undefined)
        {
            return;
        }

        long at = Address(dataBlock, hdr, "data block address", 1);
        string blk = $"fixed array data block at 0x{at:X} ({where})";
        long prefix = 4 + 1 + 1 + offsetSize;
        Extent(at, (ulong)prefix + (count * (ulong)entrySize) + 4, blk, $"{count} entries of {entrySize} bytes");
        var d = new Cursor(this, at, Read(at, (int)(prefix + ((long)count * entrySize)), blk), blk);
        if (!d.Bytes(4, "signature").AsSpan().SequenceEqual("FADB"u8))
        {
            throw Fail($"{blk}: no FADB signature");
        }

        d.Skip(2 + offsetSize, "version, client ID and header address");
        for (ulong i = 0; i < count; i++)
        {
            Visit(blk);
            var e = new Cursor(this, d.Position, d.Bytes((uint)entrySize, "entry"), blk);
            ulong chunk = e.Offset("chunk address");
            if (chunk == Undefined)
            {
                continue;
            }

            if (filtered)
            {
                ulong size = e.Uint(Math.Min(entrySize - offsetSize - 4, 8), "filtered chunk size");
                uint mask = e.U32("filter mask");
                Chunk(Address(chunk, blk, "chunk address", 1), size, mask, blk, $"entry {i} size");
            }
            else
            {
                Address(chunk, blk, "chunk address", 1);
            }
        }
    }

    // ---------------------------------------------------------------- symbol-table groups

    /// <summary>A local heap: its data segment must lie in the file (PureHDF reads all of it into one array).</summary>
    private (long Data, long Size) LocalHeap(ulong heapAddress, string path)
    {
        long address = Address(heapAddress, $"group '{path}'", "local heap address", 1);
        string where = $"local heap at 0x{address:X} (group '{path}')";
        Visit(where);
        var c = new Cursor(this, address, Read(address, 8 + (2 * lengthSize) + offsetSize, where), where);
        if (!c.Bytes(4, "signature").AsSpan().SequenceEqual("HEAP"u8))
        {
            throw Fail($"{where}: no HEAP signature");
        }

        c.Skip(4, "version and reserved");
        ulong size = c.Length("data segment size");
        c.Length("free list offset");
        ulong data = c.Offset("data segment address");
        if (size > (ulong)length)
        {
            throw Fail($"{where} claims a data segment of {size} bytes; the file has {length}");
        }

        long at = Address(data, where, "data segment address", 1);
        return (at, Extent(at, size, where, "data segment size"));
    }

    /// <summary>A group's B-tree v1 (node type 0): internal nodes lead to nodes one level down, leaves to symbol table nodes.</summary>
    private void GroupBTree(ulong address, (long Data, long Size) heap, string path, int expectedLevel, int depth)
    {
        long at = Address(address, $"group '{path}'", "B-tree address", 1);
        string node = $"group B-tree node at 0x{at:X} ('{path}')";
        var (level, entries) = BTreeNodeHeader(at, 0, node, expectedLevel, depth);
        long start = at + 8 + (2 * offsetSize);
        int entry = lengthSize + offsetSize;
        Extent(start, (ulong)((long)entries * entry) + (ulong)lengthSize, node, $"{entries} entries");
        var c = new Cursor(this, start, Read(start, (entries * entry) + lengthSize, node), node);
        for (int i = 0; i < entries; i++)
        {
            c.Length("key");
            ulong child = c.Offset("child address");
            if (level > 0)
            {
                GroupBTree(child, heap, path, level - 1, depth + 1);
            }
            else
            {
                SymbolTableNode(child, heap, path);
            }
        }
    }

    private void SymbolTableNode(ulong address, (long Data, long Size) heap, string path)
    {
        long at = Address(address, $"group '{path}'", "symbol table node address", 1);
        string where = $"symbol table node at 0x{at:X} ('{path}')";
        Visit(where);
        if (!checkedStructures.Add(at))
        {
            throw Fail($"{where}: reached twice (a cycle)");
        }

        var h = Read(at, 8, where);
        if (!h.AsSpan(0, 4).SequenceEqual("SNOD"u8))
        {
            throw Fail($"{where}: no SNOD signature");
        }

        int count = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(6));
        int entry = (2 * offsetSize) + 24;
        Extent(at + 8, (ulong)((long)count * entry), where, $"{count} symbols");
        var c = new Cursor(this, at + 8, Read(at + 8, count * entry, where), where);
        for (int i = 0; i < count; i++)
        {
            Visit(where);
            ulong nameOffset = c.Offset("link name offset");
            ulong header = c.Offset("object header address");
            c.Skip(24, "cache type and scratch pad");
            string name = HeapName(heap, nameOffset, where);
            pending.Push((Address(header, where, $"object header address of '{name}'", 1), Join(path, name)));
        }
    }

    private string HeapName((long Data, long Size) heap, ulong offset, string where)
    {
        if (offset >= (ulong)heap.Size)
        {
            throw Fail($"{where}: a link name at offset {offset} of a local heap data segment of {heap.Size} bytes");
        }

        // Names are short: read 256 bytes, then more, up to the end of the segment.
        long left = heap.Size - (long)offset;
        for (int n = 256; ; n *= 4)
        {
            int max = (int)Math.Min(left, n);
            var bytes = Read(heap.Data + (long)offset, max, where);
            int end = Array.IndexOf(bytes, (byte)0);
            if (end >= 0)
            {
                return System.Text.Encoding.UTF8.GetString(bytes, 0, end);
            }

            if (max == left || n > 65536)
            {
                throw Fail($"{where}: the link name at heap offset {offset} has no terminating NUL within {max} bytes of the data segment");
            }
        }
    }

    // ---------------------------------------------------------------- global heap

    /// <summary>The size of object <paramref name="index"/> of the global heap collection at <paramref name="collection"/>; the collection is checked whole, as PureHDF decodes it whole.</summary>
    private long GlobalHeapObject(ulong collection, int index, string where)
    {
        long at = Address(collection, where, "global heap collection address", 1);
        if (!globalHeaps.TryGetValue(at, out var objects))
        {
            objects = GlobalHeapCollection(at);
            globalHeaps[at] = objects;
        }

        if (!objects.TryGetValue(index, out var o))
        {
            throw Fail($"{where}: global heap collection at 0x{at:X} has no object {index}");
        }

        return o.Size;
    }

    private Dictionary<int, (long, long)> GlobalHeapCollection(long at)
    {
        string where = $"global heap collection at 0x{at:X}";
        Visit(where);
        var c = new Cursor(this, at, Read(at, 8 + lengthSize, where), where);
        if (!c.Bytes(4, "signature").AsSpan().SequenceEqual("GCOL"u8))
        {
            throw Fail($"{where}: no GCOL signature");
        }

        c.Skip(4, "version and reserved");
        ulong size = c.Length("collection size");
        long end = at + Extent(at, size, where, "collection size");
        long header = 8 + lengthSize;
        var objects = new Dictionary<int, (long, long)>();
        long pos = at + header;
        long remaining = (long)size - header;
        while (remaining > header)
        {
            Visit(where);
            var p = Read(pos, 2, where);
            int index = BinaryPrimitives.ReadUInt16LittleEndian(p);
            if (index == 0)
            {
                break; // free space
            }

            if (end - pos < header)
            {
                throw Fail($"{where}: object {index} at 0x{pos:X} crosses the end of the collection at 0x{end:X}");
            }

            var o = new Cursor(this, pos, Read(pos, (int)header, where), where);
            o.Skip(8, "index, reference count and reserved");
            ulong objectSize = o.Length($"size of object {index}");
            ulong padded = objectSize > (ulong)length ? ulong.MaxValue : (objectSize + 7) / 8 * 8;
            if (padded > (ulong)(end - pos - header))
            {
                throw Fail($"{where}: object {index} at 0x{pos:X} claims {objectSize} bytes; the collection has {end - pos - header} left");
            }

            objects[index] = (pos + header, (long)objectSize);
            long consumed = header + (long)padded;
            pos += consumed;
            remaining -= consumed;
        }

        return objects;
    }

    // ---------------------------------------------------------------- dense storage: fractal heap + B-tree v2

    private sealed class FractalHeap
    {
        public long Address;
        public int IdLength;
        public bool Filtered;
        public bool Checksummed;
        public uint TableWidth;
        public ulong StartingBlockSize;
        public ulong MaxDirectBlockSize;
        public int MaxHeapSize;
        public ulong RootBlock;
        public int RootRows;
        public int OffsetBytes;
        public int LengthBytes;
        public ulong MaxManagedObject;

        /// <summary>Direct blocks by their offset in the heap's address space: (file address, size).</summary>
        public SortedDictionary<ulong, (long Address, ulong Size)> DirectBlocks = [];
    }

    private FractalHeap FractalHeapHeader(long address, string owner)
    {
        if (fractalHeaps.TryGetValue(address, out var known))
        {
            return known;
        }

        string where = $"fractal heap at 0x{address:X} ({owner})";
        Visit(where);
        int size = 4 + 1 + 2 + 2 + 1 + 4 + (12 * lengthSize) + (3 * offsetSize) + 2 + 2 + 2 + 2;
        var c = new Cursor(this, address, Read(address, size, where), where);
        if (!c.Bytes(4, "signature").AsSpan().SequenceEqual("FRHP"u8))
        {
            throw Fail($"{where}: no FRHP signature");
        }

        var h = new FractalHeap { Address = address };
        c.U8("version");
        h.IdLength = c.U16("heap ID length");
        h.Filtered = c.U16("I/O filters' encoded length") != 0;
        int flags = c.U8("flags");
        h.Checksummed = (flags & 2) != 0;
        h.MaxManagedObject = c.U32("maximum size of managed objects");
        c.Length("next huge object ID");
        c.Offset("huge objects B-tree address");
        c.Length("free space in managed blocks");
        c.Offset("free-space manager address");
        c.Skip(8L * lengthSize, "heap statistics");
        h.TableWidth = (uint)c.U16("table width");
        h.StartingBlockSize = c.Length("starting block size");
        h.MaxDirectBlockSize = c.Length("maximum direct block size");
        h.MaxHeapSize = c.U16("maximum heap size");
        c.U16("starting number of rows in root indirect block");
        h.RootBlock = c.Offset("root block address");
        h.RootRows = c.U16("current number of rows in root indirect block");
        if (h.Filtered)
        {
            throw Fail($"{where}: a filtered fractal heap (not read)");
        }

        // PureHDF sizes tables from these: powers of two in a sane range, as libhdf5 requires.
        if (h.TableWidth == 0 || !IsPow2(h.TableWidth) || h.TableWidth > 1024
            || !IsPow2(h.StartingBlockSize) || h.StartingBlockSize > (ulong)length + 4096
            || !IsPow2(h.MaxDirectBlockSize) || h.MaxDirectBlockSize < h.StartingBlockSize || h.MaxDirectBlockSize > (1UL << 32)
            || h.MaxHeapSize is < 8 or > 64
            || h.MaxHeapSize < Log2(h.StartingBlockSize) + Log2(h.TableWidth)
            || h.RootRows > h.MaxHeapSize)
        {
            throw Fail($"{where}: table width {h.TableWidth}, starting block size {h.StartingBlockSize}, maximum direct block size {h.MaxDirectBlockSize}, maximum heap size {h.MaxHeapSize} bits, {h.RootRows} root rows do not describe a heap");
        }

        h.OffsetBytes = (h.MaxHeapSize + 7) / 8;
        h.LengthBytes = MinByteCount64(h.MaxDirectBlockSize - 1);
        fractalHeaps[address] = h;
        if (h.RootBlock != Undefined)
        {
            long root = Address(h.RootBlock, where, "root block address", 1);
            if (h.RootRows == 0)
            {
                DirectBlock(h, root, 0, h.StartingBlockSize, where);
            }
            else
            {
                IndirectBlock(h, root, 0, h.RootRows, where, 0);
            }
        }

        return h;
    }

    private static bool IsPow2(ulong v) => v != 0 && (v & (v - 1)) == 0;

    private static int Log2(ulong v) => 63 - System.Numerics.BitOperations.LeadingZeroCount(v);

    private static int MinByteCount64(ulong v) => Math.Max(1, (Log2(Math.Max(v, 1)) / 8) + 1);

    private void DirectBlock(FractalHeap h, long address, ulong heapOffset, ulong size, string heapWhere)
    {
        string where = $"fractal heap direct block at 0x{address:X} ({heapWhere})";
        Visit(where);
        Extent(address, size, where, "block size");
        var c = new Cursor(this, address, Read(address, 5 + offsetSize + h.OffsetBytes, where), where);
        if (!c.Bytes(4, "signature").AsSpan().SequenceEqual("FHDB"u8))
        {
            throw Fail($"{where}: no FHDB signature");
        }

        c.U8("version");
        c.Offset("heap header address");
        ulong offset = c.Uint(h.OffsetBytes, "block offset");
        if (offset != heapOffset)
        {
            throw Fail($"{where}: block offset {offset}, expected {heapOffset}");
        }

        if (!h.DirectBlocks.TryAdd(heapOffset, (address, size)))
        {
            throw Fail($"{where}: a second block at heap offset {heapOffset}");
        }
    }

    private void IndirectBlock(FractalHeap h, long address, ulong heapOffset, int rows, string heapWhere, int depth)
    {
        string where = $"fractal heap indirect block at 0x{address:X} ({heapWhere})";
        Visit(where);
        if (depth > MaxDepth || !checkedStructures.Add(address))
        {
            throw Fail($"{where}: reached twice or deeper than {MaxDepth} levels (a cycle)");
        }

        long entries = (long)rows * h.TableWidth;
        long size = 5 + offsetSize + h.OffsetBytes + (entries * offsetSize) + 4;
        Extent(address, (ulong)size, where, $"{rows} rows of {h.TableWidth} entries");
        var c = new Cursor(this, address, Read(address, (int)size, where), where);
        if (!c.Bytes(4, "signature").AsSpan().SequenceEqual("FHIB"u8))
        {
            throw Fail($"{where}: no FHIB signature");
        }

        c.U8("version");
        c.Offset("heap header address");
        ulong offset = c.Uint(h.OffsetBytes, "block offset");
        if (offset != heapOffset)
        {
            throw Fail($"{where}: block offset {offset}, expected {heapOffset}");
        }

        int maxDirectRows = Log2(h.MaxDirectBlockSize) - Log2(h.StartingBlockSize) + 2;
        ulong blockOffset = heapOffset;
        for (int row = 0; row < rows; row++)
        {
            ulong blockSize = h.StartingBlockSize << Math.Max(0, row - 1);
            for (int col = 0; col < h.TableWidth; col++)
            {
                ulong child = c.Offset("child block address");
                if (child != Undefined)
                {
                    long at = Address(child, where, "child block address", 1);
                    if (row < maxDirectRows)
                    {
                        DirectBlock(h, at, blockOffset, blockSize, heapWhere);
                    }
                    else
                    {
                        int childRows = Log2(blockSize) - Log2(h.StartingBlockSize * h.TableWidth) + 1;
                        if (childRows >= rows)
                        {
                            throw Fail($"{where}: a child indirect block of {childRows} rows under one of {rows}");
                        }

                        IndirectBlock(h, at, blockOffset, childRows, heapWhere, depth + 1);
                    }
                }

                blockOffset += blockSize;
            }
        }
    }

    /// <summary>The file region of the heap object a heap ID names, or its bytes for a tiny object.</summary>
    private (long Address, byte[] Bytes) HeapObject(FractalHeap h, ReadOnlySpan<byte> id, string where)
    {
        int type = (id[0] >> 4) & 0x03;
        if ((id[0] & 0xC0) != 0)
        {
            throw Fail($"{where}: heap ID version {id[0] >> 6}");
        }

        if (type == 2)
        {
            // tiny: the object is inside the ID (PureHDF reads it from a stream over those bytes)
            int n = (id[0] & 0x0F) + 1;
            if (n > id.Length - 1)
            {
                throw Fail($"{where}: tiny heap object of {n} bytes in a {id.Length}-byte heap ID");
            }

            return (-1, id.Slice(1, n).ToArray());
        }

        if (type != 0)
        {
            throw Fail($"{where}: a huge fractal heap object (not read)");
        }

        if (1 + h.OffsetBytes + h.LengthBytes > id.Length)
        {
            throw Fail($"{where}: a heap ID of {id.Length} bytes cannot hold an offset of {h.OffsetBytes} and a length of {h.LengthBytes} bytes");
        }

        ulong offset = ReadUint(id.Slice(1), h.OffsetBytes);
        ulong size = ReadUint(id.Slice(1 + h.OffsetBytes), h.LengthBytes);
        (long Address, ulong Size) block = default;
        ulong start = 0;
        bool found = false;
        foreach (var (o, b) in h.DirectBlocks)
        {
            if (o > offset)
            {
                break;
            }

            start = o;
            block = b;
            found = true;
        }

        long headerSize = 5 + offsetSize + h.OffsetBytes + (h.Checksummed ? 4 : 0);
        if (!found || offset - start < (ulong)headerSize || offset - start >= block.Size || size > block.Size - (offset - start))
        {
            throw Fail($"{where}: heap object at heap offset {offset} of {size} bytes is not inside a direct block of the heap at 0x{h.Address:X}");
        }

        long at = block.Address + (long)(offset - start);
        return (at, Read(at, (int)size, where));
    }

    /// <summary>Dense links (record type 5) or attributes (type 8): every record's heap object decodes within its bounds.</summary>
    private void DenseStorage(long heapAddress, long indexAddress, int recordType, string path, long owner, bool isLink)
    {
        string what = isLink ? "dense links" : "dense attributes";
        var heap = FractalHeapHeader(heapAddress, $"{what} of '{path}'");
        var info = parsedHeaders[owner];
        string where = $"B-tree v2 at 0x{indexAddress:X} ({what} of '{path}')";
        Visit(where);
        var c = new Cursor(this, indexAddress, Read(indexAddress, 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + offsetSize + 2 + lengthSize, where), where);
        if (!c.Bytes(4, "signature").AsSpan().SequenceEqual("BTHD"u8))
        {
            throw Fail($"{where}: no BTHD signature");
        }

        c.U8("version");
        int type = c.U8("type");
        uint nodeSize = c.U32("node size");
        int recordSize = c.U16("record size");
        int depth = c.U16("depth");
        c.Skip(2, "split and merge percents");
        ulong root = c.Offset("root node address");
        int rootRecords = c.U16("number of records in root node");
        int idLength = isLink ? 7 : 8;
        int expectedRecord = isLink ? 4 + idLength : idLength + 1 + 4 + 4;
        if (type != recordType || recordSize != expectedRecord || nodeSize < 16 || nodeSize > (1u << 20))
        {
            throw Fail($"{where}: type {type}, records of {recordSize} bytes, nodes of {nodeSize} bytes (expected type {recordType} with {expectedRecord}-byte records)");
        }

        if (depth > 1)
        {
            // PureHDF sizes the child-count fields of deeper trees differently from libhdf5: refuse rather than misread.
            throw Fail($"{where}: depth {depth} (B-trees v2 of up to two levels are read)");
        }

        if (root == Undefined)
        {
            return;
        }

        var records = new List<(byte[] Record, string Where)>();
        int maxLeaf = (int)((nodeSize - 10) / (uint)recordSize);
        BTree2Node(Address(root, where, "root node address", 1), rootRecords, depth, nodeSize, recordSize, maxLeaf, $"{what} of '{path}'", records);
        foreach (var (record, recordWhere) in records)
        {
            var id = record.AsSpan(isLink ? 4 : 0, idLength);
            var (at, bytes) = HeapObject(heap, id, recordWhere);
            string objWhere = at < 0 ? $"{recordWhere} (tiny object)" : $"heap object at 0x{at:X} ({what} of '{path}')";
            var o = new Cursor(this, Math.Max(at, 0), bytes, objWhere);
            if (isLink)
            {
                Link(o, info);
            }
            else
            {
                Attribute(o, info);
            }
        }

        foreach (var (name, target) in info.HardLinks)
        {
            pending.Push((target, Join(path, name)));
        }

        info.HardLinks.Clear();
    }

    /// <summary>A B-tree v2 leaf (level 0) or internal node (level 1: records between child pointers of an address and a record count); collects the records.</summary>
    private void BTree2Node(long address, int count, int level, uint nodeSize, int recordSize, int maxLeaf, string owner, List<(byte[], string)> records)
    {
        string kind = level == 0 ? "leaf" : "internal node";
        string where = $"B-tree v2 {kind} at 0x{address:X} ({owner})";
        Visit(where);
        if (!checkedStructures.Add(address))
        {
            throw Fail($"{where}: reached twice (a cycle)");
        }

        int countSize = MinByteCount((uint)Math.Max(maxLeaf, 1));
        int pointerSize = offsetSize + countSize;
        long size = 6 + ((long)count * recordSize) + (level == 0 ? 0 : (count + 1L) * pointerSize);
        if (size + 4 > nodeSize || (level == 0 && count > maxLeaf))
        {
            throw Fail($"{where}: {count} records of {recordSize} bytes do not fit a {nodeSize}-byte node");
        }

        Extent(address, (ulong)size + 4, where, $"{count} records");
        var c = new Cursor(this, address, Read(address, (int)size, where), where);
        if (!c.Bytes(4, "signature").AsSpan().SequenceEqual(level == 0 ? "BTLF"u8 : "BTIN"u8))
        {
            throw Fail($"{where}: no {(level == 0 ? "BTLF" : "BTIN")} signature");
        }

        c.Skip(2, "version and type");
        for (int i = 0; i < count; i++)
        {
            Visit(where);
            records.Add((c.Bytes((uint)recordSize, "record"), $"{where}, record {i}"));
        }

        if (level == 0)
        {
            return;
        }

        for (int i = 0; i <= count; i++)
        {
            ulong child = c.Offset("child node address");
            int childCount = (int)c.Uint(countSize, "number of records in child node");
            BTree2Node(Address(child, where, "child node address", 1), childCount, level - 1, nodeSize, recordSize, maxLeaf, owner, records);
        }
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
