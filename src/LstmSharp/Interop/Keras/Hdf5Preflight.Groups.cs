using System.Buffers.Binary;
using System.Globalization;

namespace LstmSharp.Interop.Keras;

/// <summary>Old-style groups (local heaps, B-tree v1, symbol-table nodes) and the global heap behind variable-length data.</summary>
internal sealed partial class Hdf5Preflight
{
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
}
