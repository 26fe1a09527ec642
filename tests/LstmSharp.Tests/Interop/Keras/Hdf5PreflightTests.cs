using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using LstmSharp.Interop.Keras;

namespace LstmSharp.Tests.Interop.Keras;

/// <summary>
/// The HDF5 pre-check that runs before PureHDF: every valid file h5py writes passes it; a damaged
/// size or offset in each structure it checks is refused naming the structure and the field, and
/// no damaged file makes the reader allocate from a size field.
/// </summary>
public class Hdf5PreflightTests
{
    [Theory]
    [InlineData("legacy_seq.h5")]
    [InlineData("legacy_func.h5")]
    [InlineData("legacy_func_latest.h5")]
    [InlineData("legacy_seq_compact.h5")]
    [InlineData("legacy_seq_gzip.h5")]
    [InlineData("legacy_seq_many.h5")]
    [InlineData("seq_lstm_gru.keras")]
    [InlineData("func_embed_bidi.keras")]
    [InlineData("seq_lstm_gru_latest.keras")]
    public void EveryFileH5pyWritesPasses(string file) => Check(Hdf5Bytes(file));

    [Theory]
    [InlineData("legacy_func_latest.h5", "legacy_func", "Functional")]
    [InlineData("legacy_seq_compact.h5", "legacy_seq", "Sequential")]
    [InlineData("legacy_seq_gzip.h5", "legacy_seq", "Sequential")]
    [InlineData("legacy_seq_many.h5", "legacy_seq", "Sequential")]
    [InlineData("seq_lstm_gru_latest.keras", "seq_lstm_gru", "Sequential")]
    public void OtherStorageLayoutsImportWithTheOriginalsOutputs(string file, string original, string modelClass)
    {
        var model = KerasImport.LoadKeras(FrameworkFixtures.Keras(file));
        Assert.Equal(modelClass, model.GetType().Name);
        var y = model.Predict(FrameworkFixtures.Npy(FrameworkFixtures.Keras(original + "_x.npy")));
        FrameworkFixtures.AssertClose(file, FrameworkFixtures.Npy(FrameworkFixtures.Keras(original + "_y.npy")), y);
    }

    [Fact]
    public void FilesSaveKerasWritesPass()
    {
        string dir = FrameworkFixtures.NewTempFolder("preflight-save");
        try
        {
            foreach (string file in new[] { "seq_lstm_gru.keras", "func_embed_bidi.keras", "legacy_func.h5" })
            {
                string path = Path.Combine(dir, Path.GetFileNameWithoutExtension(file) + ".keras");
                KerasImport.LoadKeras(FrameworkFixtures.Keras(file)).SaveKeras(path);
                using var zip = ZipFile.OpenRead(path);
                using var s = zip.GetEntry("model.weights.h5")!.Open();
                var bytes = new MemoryStream();
                s.CopyTo(bytes);
                Check(bytes.ToArray());
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The mutants the allocation probe found (a 22 KB .keras made PureHDF allocate 537 MB; a 24 KB .h5 33 MB) are refused by the check, naming the field.</summary>
    [Theory]
    [InlineData("hostile_seq_lstm_gru_85.keras")]
    [InlineData("hostile_seq_lstm_gru_128.keras")]
    [InlineData("hostile_legacy_func_535.h5")]
    public void TheMutantsThatAllocatedHundredsOfMegabytesAreRefusedCheaply(string file)
    {
        string path = FrameworkFixtures.Keras(file);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<KerasFormatException>(() => KerasImport.LoadKeras(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        FrameworkFixtures.AssertMentions(e, path);
        FrameworkFixtures.AssertMentions(e, "HDF5 check");
        Assert.True(allocated < 4L << 20, $"{file}: {allocated:N0} bytes allocated before the refusal ({e.Message})");
    }

    // ---------------------------------------------------------------- one damaged field each (superblock v0, object header v1, symbol-table groups)

    [Fact]
    public void SuperblockSizeOfOffsets()
    {
        var b = Legacy();
        b[13] = 3;
        Refused(b, "size of offsets 3");
    }

    [Fact]
    public void SuperblockRootAddress()
    {
        var b = Legacy();
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(64), 0x7FFF_FFFF);
        Refused(b, "root group object header address 0x7FFFFFFF is outside the file");
    }

    [Fact]
    public void ObjectHeaderSize()
    {
        var b = Legacy();
        long root = RootV0(b);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)root + 8), 0x4000_0000);
        Refused(b, $"object header at 0x{root:X} ('/') claims header size of 1073741824 bytes");
    }

    [Fact]
    public void MessageSize()
    {
        var b = Legacy();
        long root = RootV0(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan((int)root + 16 + 2), 0xFFFF);
        Refused(b, "claims 65535 bytes; its chunk has");
    }

    [Fact]
    public void ContinuationLength()
    {
        var b = Legacy();
        long root = RootV0(b);
        Assert.Equal(16, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)root + 16))); // the root's first message is its continuation
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan((int)root + 16 + 8 + 8), 1UL << 40);
        Refused(b, "claims continuation length of 1099511627776 bytes");
    }

    [Fact]
    public void ContinuationCycle()
    {
        var b = Legacy();
        long root = RootV0(b);
        // the root's only message is its continuation: make it continue into the root's own chunk
        Assert.Equal(16, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)root + 16)));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan((int)root + 16 + 8), (ulong)root + 16);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan((int)root + 16 + 16), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)root + 8)));
        Refused(b, "is visited twice (a cycle)");
    }

    /// <summary>Two datasets whose datatype messages are shared from each other: PureHDF would construct one header inside the other without end (a stack overflow ends the process).</summary>
    [Fact]
    public void SharedMessageCycle()
    {
        var b = Legacy();
        var found = new List<(int Header, int Message)>();
        for (int node = IndexOf(b, "SNOD"u8.ToArray(), 0); node >= 0 && found.Count < 2; node = IndexOf(b, "SNOD"u8.ToArray(), node + 1))
        {
            int count = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(node + 6));
            for (int i = 0; i < count && found.Count < 2; i++)
            {
                int header = (int)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(node + 8 + (i * 40) + 8));
                if (V1Message(b, header, 3) is { } message && b[message + 8] == 0x11)
                {
                    found.Add((header, message)); // a dataset: its version 1 floating-point datatype message
                }
            }
        }

        Assert.Equal(2, found.Count);
        for (int k = 0; k < 2; k++)
        {
            int message = found[k].Message;
            b[message + 4] |= 0x02; // shared
            b[message + 8] = 2; // shared message version 2, then type 0 and the other header's address
            b[message + 9] = 0;
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(message + 10), (ulong)found[1 - k].Header);
        }

        Refused(b, "refer back to itself (a cycle)");
    }

    [Fact]
    public void LocalHeapDataSegmentSize()
    {
        var b = Legacy();
        int heap = Find(b, "HEAP");
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(heap + 8), 536870912);
        Refused(b, $"local heap at 0x{heap:X} (group '/') claims a data segment of 536870912 bytes; the file has {b.Length}");
    }

    [Fact]
    public void LocalHeapDataSegmentAddress()
    {
        var b = Legacy();
        int heap = Find(b, "HEAP");
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(heap + 24), 1UL << 33);
        Refused(b, "data segment address 0x200000000 is outside the file");
    }

    [Fact]
    public void GroupBTreeEntries()
    {
        var b = Legacy();
        int tree = Find(b, "TREE");
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(tree + 6), 0xFFFF);
        Refused(b, $"group B-tree node at 0x{tree:X} ('/') claims 65535 entries");
    }

    [Fact]
    public void GroupBTreeCycle()
    {
        var b = Legacy();
        int tree = Find(b, "TREE");
        b[tree + 5] = 1; // level 1: its child is read as a node one level down ...
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(tree + 24 + 8), (ulong)tree); // ... and that child is itself
        Refused(b, "(a cycle)");
    }

    [Fact]
    public void SymbolTableNodeCount()
    {
        var b = Legacy();
        int node = Find(b, "SNOD");
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(node + 6), 0xFFFF);
        Refused(b, $"symbol table node at 0x{node:X} ('/') claims 65535 symbols");
    }

    [Fact]
    public void SymbolTableLinkNameOffset()
    {
        var b = Legacy();
        int node = Find(b, "SNOD");
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(node + 8), 1 << 20);
        Refused(b, "a link name at offset 1048576 of a local heap data segment of");
    }

    [Fact]
    public void GlobalHeapCollectionSize()
    {
        var b = Legacy();
        int gcol = Find(b, "GCOL");
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(gcol + 8), 1UL << 31);
        Refused(b, $"global heap collection at 0x{gcol:X} claims collection size of 2147483648 bytes");
    }

    [Fact]
    public void GlobalHeapObjectSize()
    {
        var b = Legacy();
        int gcol = Find(b, "GCOL");
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(gcol + 16)));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(gcol + 24), 0x7FFF_FFFF);
        Refused(b, "object 1 at 0x");
        Refused(b, "claims 2147483647 bytes; the collection has");
    }

    [Fact]
    public void VariableLengthStringLength()
    {
        var b = Legacy();
        int gcol = Find(b, "GCOL");
        // model_config is a variable-length string: [length][collection address][object index] in the attribute's data
        int model = Find(b, "model_config\0");
        int element = IndexOf(b, BitConverter.GetBytes((ulong)gcol), model) - 4;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(element), 0x7FFF_FFFF);
        Refused(b, "attribute 'model_config', element 0: claims 2147483647 items; its global heap object holds");
    }

    [Fact]
    public void AttributeDatatypeSize()
    {
        var b = Legacy();
        // layer_names: a version 1 attribute; its name "layer_names\0" is padded to 16 bytes, the datatype follows
        int name = Find(b, "layer_names\0");
        Assert.Equal(3, b[name + 16] & 0x0F); // a fixed-length string
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(name + 16 + 4), 0x1000_0000);
        Refused(b, "attribute 'layer_names' claims 4 elements of 268435456 bytes; its message has");
    }

    [Fact]
    public void AttributeDataspace()
    {
        var b = Legacy();
        int name = Find(b, "layer_names\0");
        int space = name + 16 + 8; // after the 8-byte string datatype
        Assert.Equal(1, b[space + 1]); // rank 1
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(space + 8), 1UL << 40);
        Refused(b, "attribute 'layer_names' claims 1099511627776 elements");
    }

    [Fact]
    public void ContiguousDataSize()
    {
        var b = Legacy();
        int layout = FindLayout(b) + 8; // data of the first contiguous layout message (version 3, class 1)
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(layout + 2 + 8), 1UL << 40);
        Refused(b, "claims data size of 1099511627776 bytes");
    }

    [Fact]
    public void ContiguousDataAddress()
    {
        var b = Legacy();
        int layout = FindLayout(b) + 8;
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(layout + 2), (ulong)b.Length - 4);
        Refused(b, "claims data size of");
    }

    [Fact]
    public void ATruncatedFileIsRefusedAtTheFirstStructureBeyondItsEnd()
    {
        var b = Legacy()[..4000];
        Refused(b, "the file has 4000");
    }

    // ---------------------------------------------------------------- new-style structures (libver="latest": superblock v3, OHDR, fractal heap, B-tree v2, fixed array)

    [Fact]
    public void ObjectHeaderV2ChunkSize()
    {
        var b = Latest();
        int ohdr = Find(b, "OHDR");
        int flags = b[ohdr + 5];
        int at = ohdr + 6 + ((flags & 0x20) != 0 ? 16 : 0) + ((flags & 0x10) != 0 ? 4 : 0);
        Assert.Equal(0, flags & 0x03); // one byte for the size of chunk #0
        b[at] = 0xFF;
        Refused(b, $"object header at 0x{ohdr:X}");
    }

    [Fact]
    public void FractalHeapTable()
    {
        var b = Latest();
        int heap = Find(b, "FRHP");
        // table width: after signature, version, ID length, filter length, flags, max object size, 12 lengths and 3 offsets' worth of fields
        int width = heap + 4 + 1 + 2 + 2 + 1 + 4 + 8 + 8 + 8 + 8 + (8 * 8);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(width), 3);
        Refused(b, $"fractal heap at 0x{heap:X}");
        Refused(b, "table width 3");
    }

    [Fact]
    public void FractalHeapDirectBlockOffset()
    {
        var b = Latest();
        int block = Find(b, "FHDB");
        b[block + 5 + 8] ^= 0x40; // the block offset
        Refused(b, $"fractal heap direct block at 0x{block:X}");
    }

    [Fact]
    public void BTreeV2RecordCount()
    {
        var b = Latest();
        int header = Find(b, "BTHD");
        int records = header + 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + 8;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(records), 0xFFFF);
        Refused(b, "65535 records");
    }

    [Fact]
    public void HeapObjectOutsideItsBlock()
    {
        foreach (int type in new[] { 5, 8 })
        {
            var b = Latest();
            int header = Find(b, "BTHD");
            if (b[header + 5] != type)
            {
                header = IndexOf(b, "BTHD"u8.ToArray(), header + 1);
            }

            Assert.Equal(type, b[header + 5]);
            long leaf = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(header + 16));
            Assert.Equal("BTLF", Encoding.ASCII.GetString(b, (int)leaf, 4));
            // the first record's heap ID (type byte, offset, length): link records start with a 4-byte hash, attribute records with the ID
            int id = (int)leaf + 6 + (type == 5 ? 4 : 0);
            Assert.Equal(0, b[id] & 0x30); // a managed object
            b[id + 2] ^= 0x7F;
            Refused(b, "is not inside a direct block of the heap");
        }
    }

    [Fact]
    public void FixedArrayEntries()
    {
        var b = Latest();
        int header = Find(b, "FAHD");
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(header + 8), 1UL << 40);
        Refused(b, $"fixed array header at 0x{header:X}");
    }

    [Fact]
    public void ChunkDimensions()
    {
        var b = Latest();
        // a version 4 chunked layout message: version 4, class 2, flags, rank, dimension width, dimensions...
        int at = IndexOf(b, [4, 2, 0], 0);
        while (at >= 0 && !(b[at + 3] is >= 2 and <= 4 && b[at + 4] is >= 1 and <= 8))
        {
            at = IndexOf(b, [4, 2, 0], at + 1);
        }

        Assert.True(at >= 0);
        int width = b[at + 4];
        for (int i = 0; i < width; i++)
        {
            b[at + 5 + i] = 0xFF; // the first chunk dimension
        }

        Refused(b, "chunk dimension 0 of 255 exceeds the dataset's maximum dimension");
    }

    [Fact]
    public void CompactDataSize()
    {
        var b = File.ReadAllBytes(FrameworkFixtures.Keras("legacy_seq_compact.h5"));
        // a version 1 header message of type 8 holding a version 3 compact layout: version 3, class 0, 2-byte size, data
        int at = -1;
        for (int i = 0; i < b.Length - 12 && at < 0; i++)
        {
            if (b[i] == 8 && b[i + 1] == 0 && b[i + 5] == 0 && b[i + 6] == 0 && b[i + 7] == 0 && b[i + 8] == 3 && b[i + 9] == 0
                && BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(i + 10)) + 4 <= BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(i + 2)))
            {
                at = i + 8;
            }
        }

        Assert.True(at >= 0);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 2), 0xFFF0);
        Refused(b, "claims compact data of 65520 bytes");
    }

    [Fact]
    public void BTreeV2InternalNodeChildCount()
    {
        var b = File.ReadAllBytes(FrameworkFixtures.Keras("legacy_seq_many.h5"));
        int node = Find(b, "BTIN");
        int header = Find(b, "BTHD");
        if (b[header + 5] != b[node + 5])
        {
            header = IndexOf(b, "BTHD"u8.ToArray(), header + 1);
        }

        int recordSize = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(header + 10));
        int records = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(header + 16 + 8));
        // the first child pointer follows the records: an 8-byte address, then the child's record count
        int pointer = node + 6 + (records * recordSize);
        Assert.Equal("BTLF", Encoding.ASCII.GetString(b, (int)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(pointer)), 4));
        b[pointer + 8] = 0xFF;
        Refused(b, "255 records of");
    }

    [Fact]
    public void ADeflatedChunkThatInflatesBeyondItsChunkIsRefused()
    {
        string path = FrameworkFixtures.Keras("hostile_gzip_bomb.h5");
        var e = Assert.Throws<KerasFormatException>(() => KerasImport.LoadKeras(path));
        FrameworkFixtures.AssertMentions(e, path);
        FrameworkFixtures.AssertMentions(e, "inflates to more than a chunk's 96 bytes");
    }

    // ---------------------------------------------------------------- helpers

    private static byte[] Legacy() => File.ReadAllBytes(FrameworkFixtures.Keras("legacy_func.h5"));

    private static byte[] Latest() => File.ReadAllBytes(FrameworkFixtures.Keras("legacy_func_latest.h5"));

    private static byte[] Hdf5Bytes(string file)
    {
        string path = FrameworkFixtures.Keras(file);
        if (!file.EndsWith(".keras", StringComparison.Ordinal))
        {
            return File.ReadAllBytes(path);
        }

        using var zip = ZipFile.OpenRead(path);
        using var s = zip.GetEntry("model.weights.h5")!.Open();
        var bytes = new MemoryStream();
        s.CopyTo(bytes);
        return bytes.ToArray();
    }

    private static void Check(byte[] bytes) => Hdf5Preflight.Check(new MemoryStream(bytes), problem => new KerasFormatException("test.h5", problem));

    private static void Refused(byte[] bytes, string expected)
    {
        var e = Assert.Throws<KerasFormatException>(() => Check(bytes));
        FrameworkFixtures.AssertMentions(e, "test.h5");
        FrameworkFixtures.AssertMentions(e, expected);
    }

    private static long RootV0(byte[] b)
    {
        Assert.Equal(0, b[8]); // superblock version 0, offsets of 8 bytes
        Assert.Equal(8, b[13]);
        return (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(64));
    }

    private static int Find(byte[] b, string ascii)
    {
        int at = IndexOf(b, Encoding.ASCII.GetBytes(ascii), 0);
        Assert.True(at >= 0, $"'{ascii}' is not in the fixture");
        return at;
    }

    private static int IndexOf(byte[] b, byte[] pattern, int from) => b.AsSpan(from).IndexOf(pattern) is var i and >= 0 ? from + i : -1;

    /// <summary>The prefix of the first message of <paramref name="type"/> in the first chunk of the version 1 object header at <paramref name="header"/>, if any.</summary>
    private static int? V1Message(byte[] b, int header, int type)
    {
        if (b[header] != 1)
        {
            return null;
        }

        int p = header + 16;
        int end = p + (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(header + 8));
        while (p + 8 <= end)
        {
            if (BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(p)) == type)
            {
                return p;
            }

            p += 8 + BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(p + 2));
        }

        return null;
    }

    /// <summary>The prefix of the first version 1 layout message (type 8) holding a version 3 contiguous layout.</summary>
    private static int FindLayout(byte[] b)
    {
        for (int i = 0; i < b.Length - 12; i++)
        {
            if (b[i] == 8 && b[i + 1] == 0 && b[i + 5] == 0 && b[i + 6] == 0 && b[i + 7] == 0 && b[i + 8] == 3 && b[i + 9] == 1)
            {
                return i;
            }
        }

        throw new InvalidOperationException("no contiguous layout message");
    }
}
