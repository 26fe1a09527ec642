using System.Buffers.Binary;
using System.Globalization;

namespace LstmSharp.Interop.Keras;

/// <summary>Data layouts and chunk indexes: contiguous, compact, chunked (B-tree v1, single, implicit, fixed array), bounded inflate.</summary>
internal sealed partial class Hdf5Preflight
{
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
}
