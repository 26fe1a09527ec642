using System.Buffers.Binary;
using System.Globalization;

namespace LstmSharp.Interop.Keras;

/// <summary>Dense links and attributes: fractal heaps and B-tree v2 indexes.</summary>
internal sealed partial class Hdf5Preflight
{
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

    /// <summary>Checks the header a direct (FHDB) and an indirect (FHIB) block share: signature, version, heap address, and the block's offset in the heap.</summary>
    private void BlockHeader(Cursor c, string signature, FractalHeap h, ulong heapOffset, string where)
    {
        if (!c.Bytes(4, "signature").AsSpan().SequenceEqual(System.Text.Encoding.ASCII.GetBytes(signature)))
        {
            throw Fail($"{where}: no {signature} signature");
        }

        c.U8("version");
        c.Offset("heap header address");
        ulong offset = c.Uint(h.OffsetBytes, "block offset");
        if (offset != heapOffset)
        {
            throw Fail($"{where}: block offset {offset}, expected {heapOffset}");
        }
    }

    private void DirectBlock(FractalHeap h, long address, ulong heapOffset, ulong size, string heapWhere)
    {
        string where = $"fractal heap direct block at 0x{address:X} ({heapWhere})";
        Visit(where);
        Extent(address, size, where, "block size");
        var c = new Cursor(this, address, Read(address, 5 + offsetSize + h.OffsetBytes, where), where);
        BlockHeader(c, "FHDB", h, heapOffset, where);

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
        BlockHeader(c, "FHIB", h, heapOffset, where);

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
}
