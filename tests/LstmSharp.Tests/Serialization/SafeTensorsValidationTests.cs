using System.Buffers.Binary;
using System.Text;
using LstmSharp.Serialization;
using static LstmSharp.Tests.Serialization.SafeTensorsTestFiles;

namespace LstmSharp.Tests.Serialization;

/// <summary>Every malformation the reader must reject, each with its own message.</summary>
public class SafeTensorsValidationTests
{
    private static readonly byte[] EightBytes = new byte[8];

    public static TheoryData<string, byte[], string?, string> Malformed()
    {
        var d = new TheoryData<string, byte[], string?, string>
        {
            { "shorter than 8 bytes", new byte[5], null, "shorter than the 8-byte header length prefix" },
            { "empty file", Array.Empty<byte>(), null, "the file is 0 bytes" },
            { "header length 0", new byte[8], null, "header length is 0" },
            { "header length above limit", Build("{}", declaredLength: 100_000_001), null, "exceeds the limit of 100000000 bytes" },
            { "header length near u64 max", Build("{}", declaredLength: ulong.MaxValue), null, "exceeds the limit" },
            { "header longer than file", Build("{}", declaredLength: 64), null, "header length 64 exceeds the 8 bytes that follow" },
            { "invalid UTF-8", Build(new byte[] { (byte)'{', 0xC3, 0x28, (byte)'}' }), null, "not valid UTF-8" },
            { "not starting with brace", Build("  {}"), null, "starts with byte 0x20" },
            { "array header", Build("[1,2]"), null, "starts with byte 0x5B" },
            { "truncated JSON", Build("{\"a\":{"), null, "not valid JSON" },
            { "trailing comma", Build("{\"a\":1,}"), null, "not valid JSON" },
            { "trailing garbage", Build("{} x"), null, "not valid JSON" },
            { "lone surrogate", Build("{\"\\uD800\":1}"), null, "not valid Unicode" },
            { "entry not an object", Build("{\"w\":[1]}"), "w", "the entry is a JSON array" },
            { "missing dtype", Build("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", EightBytes[..4]), "w", "'dtype' is missing" },
            { "missing shape", Build("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", EightBytes[..4]), "w", "'shape' is missing" },
            { "missing offsets", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", EightBytes[..4]), "w", "'data_offsets' is missing" },
            { "unknown field", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", EightBytes[..4]), "w", "unknown field 'x'" },
            { "field twice", Build("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", EightBytes[..4]), "w", "field 'dtype' appears twice" },
            { "unknown dtype", Build("{\"w\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", EightBytes[..4]), "w", "unknown or unsupported dtype 'F31'" },
            { "lower-case dtype", Build("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", EightBytes[..4]), "w", "dtype 'f32'" },
            { "dtype not a string", Build("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", EightBytes[..4]), "w", "dtype is a JSON number" },
            { "shape not an array", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", EightBytes[..4]), "w", "shape is a JSON number" },
            { "negative dimension", Build("{" + F32("w", "[-1]", 0, 4) + "}", EightBytes[..4]), "w", "shape[0] is -1, expected a non-negative integer" },
            { "fractional dimension", Build("{" + F32("w", "[1.5]", 0, 4) + "}", EightBytes[..4]), "w", "shape[0] is 1.5" },
            { "string dimension", Build("{" + F32("w", "[\"1\"]", 0, 4) + "}", EightBytes[..4]), "w", "shape[0] is \"1\"" },
            { "huge dimension", Build("{" + F32("w", "[0,99999999999999999999]", 0, 0) + "}"), "w", "shape[1] is 99999999999999999999" },
            { "dimension above int", Build("{" + F32("w", "[0,4294967296]", 0, 0) + "}"), "w", "above the largest supported dimension" },
            { "overflowing shape", Build("{" + F32("w", "[2147483647,2147483647,2147483647]", 0, 4) + "}", EightBytes[..4]), "w", "overflows a 64-bit byte count" },
            { "offsets not an array", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":4}}", EightBytes[..4]), "w", "data_offsets is 4, expected [begin, end]" },
            { "three offsets", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", EightBytes[..4]), "w", "expected [begin, end]" },
            { "negative offset", Build("{" + F32("w", "[1]", -4, 0) + "}", EightBytes[..4]), "w", "data_offsets[0] is -4" },
            { "fractional offset", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", EightBytes[..4]), "w", "data_offsets[1] is 4.0" },
            { "end before begin", Build("{" + F32("w", "[0]", 4, 0) + "}", EightBytes[..4]), "w", "end before they begin" },
            { "end beyond buffer", Build("{" + F32("w", "[2]", 0, 8) + "}", EightBytes[..4]), "w", "reach beyond the data buffer of 4 bytes" },
            { "size mismatch", Build("{" + F32("w", "[2,3]", 0, 8) + "}", EightBytes), "w", "hold 8 bytes, F32 [2, 3] needs 24" },
            { "gap at start", Build("{" + F32("w", "[1]", 4, 8) + "}", EightBytes), "w", "bytes [0, 4) of the data buffer unused" },
            { "gap between", Build("{" + F32("a", "[1]", 0, 4) + "," + F32("b", "[1]", 8, 12) + "}", new byte[12]), "b", "bytes [4, 8) of the data buffer unused" },
            { "overlap", Build("{" + F32("a", "[2]", 0, 8) + "," + F32("b", "[1]", 4, 8) + "}", EightBytes), "b", "overlap tensor 'a' at [0, 8]" },
            { "same bytes twice", Build("{" + F32("a", "[1]", 0, 4) + "," + F32("b", "[1]", 0, 4) + "}", EightBytes[..4]), "b", "overlap tensor 'a'" },
            { "unused tail", Build("{" + F32("a", "[1]", 0, 4) + "}", EightBytes), null, "4 unused bytes after the last tensor" },
            { "bytes without tensors", Build("{}", EightBytes[..3]), null, "3 unused bytes" },
            { "duplicate name", Build("{" + F32("a", "[1]", 0, 4) + "," + F32("a", "[1]", 4, 8) + "}", EightBytes), "a", "the name appears twice" },
            { "empty name", Build("{" + F32(string.Empty, "[1]", 0, 4) + "}", EightBytes[..4]), string.Empty, "name must not be empty" },
            { "metadata twice", Build("{\"__metadata__\":{},\"__metadata__\":{}}"), null, "'__metadata__' appears twice" },
            { "metadata not an object", Build("{\"__metadata__\":\"x\"}"), null, "'__metadata__' is a JSON string" },
            { "metadata number value", Build("{\"__metadata__\":{\"epoch\":3}}"), null, "value of key 'epoch' is a JSON number, expected a string" },
            { "metadata nested value", Build("{\"__metadata__\":{\"config\":{\"a\":\"b\"}}}"), null, "value of key 'config' is a JSON object" },
            { "metadata null value", Build("{\"__metadata__\":{\"k\":null}}"), null, "value of key 'k' is a JSON null" },
            { "metadata key twice", Build("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"), null, "key 'k' appears twice" },
        };
        return d;
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedFilesAreRejectedWithTheirOwnMessage(string caseName, byte[] file, string? tensor, string expected)
    {
        var e = Assert.Throws<ModelFormatException>(() => SafeTensors.Parse(file, "bad.safetensors"));
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{caseName}: expected message containing \"{expected}\", got \"{e.Message}\"");
        Assert.StartsWith("safetensors 'bad.safetensors'", e.Message, StringComparison.Ordinal);
        Assert.Equal("bad.safetensors", e.FileName);
        Assert.Equal(tensor, e.TensorName);
        if (tensor is not null)
        {
            Assert.Contains($"tensor '{tensor}'", e.Message);
        }
    }

    [Fact]
    public void ValidEdgeCasesAreAccepted()
    {
        // Zero-size tensors may share an offset; metadata may be null; trailing padding may be any JSON whitespace.
        var f = SafeTensors.Parse(Build("{" + F32("a", "[0]", 0, 0) + "," + F32("b", "[0,3]", 0, 0) + "," + F32("c", "[1]", 0, 4) + ",\"__metadata__\":null}\n\t", EightBytes[..4]));
        Assert.Equal(3, f.Tensors.Count);
        Assert.Empty(f.Metadata);

        // An unpadded header is tolerated on read (the Python library does too).
        var g = SafeTensors.Parse(Build("{" + F32("a", "[1]", 0, 4) + "}", EightBytes[..4], pad: false));
        Assert.Single(g.Tensors);
    }

    [Fact]
    public void LoadFromPathNamesTheFileAndRejectsTruncatedFiles()
    {
        using var dir = new TempFolder();
        string path = Path.Combine(dir.Path, "cut.safetensors");
        var bytes = SampleBytes();
        File.WriteAllBytes(path, bytes[..^3]);
        var e = Assert.Throws<ModelFormatException>(() => SafeTensors.Load(path));
        Assert.Equal(path, e.FileName);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void FuzzedFilesOnlyEverThrowTheFormatException()
    {
        var valid = SampleBytes();
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        var rng = new SplitMix(20240611);
        int rejected = 0, accepted = 0;
        for (int iter = 0; iter < 4000; iter++)
        {
            var bytes = (byte[])valid.Clone();
            int kind = (int)(rng.Next() % 5);
            switch (kind)
            {
                case 0: // flip bits, mostly in the prefix and header where the structure lives
                    for (int k = 1 + (int)(rng.Next() % 3); k > 0; k--)
                    {
                        int at = (int)(rng.Next() % (ulong)(rng.Next() % 4 == 0 ? bytes.Length : headerEnd));
                        bytes[at] ^= (byte)(1 << (int)(rng.Next() % 8));
                    }

                    break;
                case 1: // replace a byte by a JSON-significant character
                {
                    const string chars = "{}[],:\"0123456789-. \\e";
                    int at = 8 + (int)(rng.Next() % (ulong)(headerEnd - 8));
                    bytes[at] = (byte)chars[(int)(rng.Next() % (ulong)chars.Length)];
                    break;
                }

                case 2: // truncate
                    bytes = bytes[..(int)(rng.Next() % (ulong)bytes.Length)];
                    break;
                case 3: // random header length
                    BinaryPrimitives.WriteUInt64LittleEndian(bytes, rng.Next() % 4 == 0 ? rng.Next() : rng.Next() % (ulong)(bytes.Length + 16));
                    break;
                default: // append or delete bytes inside the file
                {
                    int at = (int)(rng.Next() % (ulong)bytes.Length);
                    int count = 1 + (int)(rng.Next() % 16);
                    bytes = rng.Next() % 2 == 0
                        ? [.. bytes[..at], .. new byte[count], .. bytes[at..]]
                        : [.. bytes[..at], .. bytes[Math.Min(bytes.Length, at + count)..]];
                    break;
                }
            }

            try
            {
                var file = SafeTensors.Parse(bytes, "fuzz");
                foreach (var t in file.Tensors)
                {
                    Assert.Equal(t.ElementCount * t.DType.SizeOf(), t.Data.Length);
                }

                accepted++;
            }
            catch (ModelFormatException)
            {
                rejected++;
            }
        }

        // Both outcomes must occur, or the mutations are not exercising the parser.
        Assert.True(rejected > 1000, $"only {rejected} rejected");
        Assert.True(accepted > 50, $"only {accepted} accepted");
    }

    /// <summary>A tiny fixed generator so the fuzz cases are the same on every machine.</summary>
    private sealed class SplitMix(ulong seed)
    {
        private ulong state = seed;

        public ulong Next()
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
