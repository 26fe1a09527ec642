using System.Buffers.Binary;
using System.Globalization;

namespace LstmSharp.Interop.Keras;

/// <summary>The object walk: object headers, their continuation chunks and messages, shared messages.</summary>
internal sealed partial class Hdf5Preflight
{
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
                // Link Info: an 8-byte maximum creation index.
                info.LinkHeap = DenseStorage(c, maxCreationIndexBytes: 8) ?? info.LinkHeap;
                break;

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
                // Attribute Info: a 2-byte maximum creation index.
                info.AttributeHeap = DenseStorage(c, maxCreationIndexBytes: 2) ?? info.AttributeHeap;
                break;

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

    /// <summary>
    /// The body of a Link Info or Attribute Info message: the fractal heap and name index of the
    /// dense storage, or null when the heap address is undefined (compact storage).
    /// </summary>
    private (long Heap, long NameIndex)? DenseStorage(Cursor c, int maxCreationIndexBytes)
    {
        c.U8("version");
        int f = c.U8("flags");
        if ((f & 1) != 0)
        {
            c.Skip(maxCreationIndexBytes, "maximum creation index");
        }

        ulong heap = c.Offset("fractal heap address");
        ulong names = c.Offset("name index address");
        if ((f & 2) != 0)
        {
            c.Offset("creation order index address");
        }

        return heap == Undefined ? null : (Address(heap, c.Where, "fractal heap address", 1), Address(names, c.Where, "name index address", 1));
    }
}
