using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using static LstmSharp.Tests.Serialization.SafeTensorsTestFiles;

namespace LstmSharp.Tests.Serialization;

public class SafeTensorsTests
{
    [Fact]
    public void RoundTripKeepsEveryTensorAndTheMetadataAndReSavesToIdenticalBytes()
    {
        var (tensors, metadata) = Sample();
        var bytes = SafeTensors.Serialize(tensors, metadata);
        var file = SafeTensors.Parse(bytes, "sample");

        Assert.Equal(tensors.Count, file.Tensors.Count);
        foreach (var t in tensors)
        {
            var r = file.Get(t.Name);
            Assert.Equal(t.DType, r.DType);
            Assert.Equal(t.ShapeArray, r.ShapeArray);
            Assert.True(t.Data.Span.SequenceEqual(r.Data.Span), $"bytes of '{t.Name}' differ");
        }

        Assert.Equal(metadata.OrderBy(kv => kv.Key), file.Metadata.OrderBy(kv => kv.Key));
        Assert.Equal(bytes, SafeTensors.Serialize(file.Tensors, file.Metadata));

        // Insertion order of the input does not matter: the output is a function of the content.
        var reversed = tensors.AsEnumerable().Reverse().ToList();
        var shuffledMeta = metadata.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(bytes, SafeTensors.Serialize(reversed, shuffledMeta));
    }

    [Fact]
    public void TypedReadersReturnTheWrittenValues()
    {
        var file = SafeTensors.Parse(SampleBytes());
        var k = file.GetTensor("lstm/kernel", 2, 3);
        Assert.Equal(new[] { 1f, -2.5f, 3.25f, float.MaxValue, float.Epsilon, -0f }, k.ToArray());
        Assert.True(float.IsNegative(k[1, 2]));
        Assert.Equal("lstm/kernel", k.Name);
        Assert.Equal(0, file.GetTensor("dense/bias").Rank);
        Assert.Equal(7f, file.GetTensor("dense/bias").Span[0]);
        Assert.Equal(new[] { Math.PI, -1e300 }, file.Get("optimizer/adam/step_scale").ToDoubleArray());
        Assert.Equal(new[] { 123456789012345L }, file.Get("optimizer/adam/iterations").ToInt64Array());
        Assert.Equal(new[] { -1, 0, int.MaxValue }, file.Get("vocab/ids").ToInt32Array());
        Assert.Equal(new long[] { -1, 0, int.MaxValue }, file.Get("vocab/ids").ToInt64Array());
        Assert.Equal(new byte[] { 0, 1, 255 }, file.Get("mask").ToByteArray());
        Assert.Equal(new[] { 0, 1, 255 }, file.Get("mask").ToInt32Array());
        Assert.Equal(new[] { 1.5f, -2f }, file.Get("half").ToSingleArray());
        Assert.Equal(new[] { (Half)1.5f, (Half)(-2f) }, file.Get("half").ToHalfArray());
        Assert.Equal(new[] { 1f, -3.5f, 65536f }, file.Get("bf16").ToSingleArray());
        Assert.Equal(new[] { 0, 4 }, file.GetTensor("empty").ShapeArray);
    }

    [Fact]
    public void WrongTypeRequestsAndMissingTensorsAreClearErrors()
    {
        var file = SafeTensors.Parse(SampleBytes(), "sample.safetensors");
        var e1 = Assert.Throws<InvalidOperationException>(() => file.Get("vocab/ids").ToSingleArray());
        Assert.Contains("'vocab/ids'", e1.Message);
        Assert.Contains("I32", e1.Message);
        var e2 = Assert.Throws<ModelFormatException>(() => file.GetTensor("vocab/ids"));
        Assert.Contains("dtype is I32, expected F32", e2.Message);
        var e3 = Assert.Throws<ModelFormatException>(() => file.GetTensor("lstm/kernel", 3, 2));
        Assert.Contains("shape is [2, 3], expected [3, 2]", e3.Message);
        var e4 = Assert.Throws<ModelFormatException>(() => file.Get("gru/kernel"));
        Assert.Equal("gru/kernel", e4.TensorName);
        Assert.Equal("sample.safetensors", e4.FileName);
        Assert.Contains("no such tensor", e4.Message);
    }

    [Fact]
    public void BFloat16RoundsToNearestEvenAndKeepsNaN()
    {
        // 1 + 2^-8 is exactly half-way between two bfloat16 values: ties go to the even mantissa (1.0).
        Assert.Equal(0x3F80, SafeTensor.ToBFloat16Bits(1f + (1f / 256)));
        // 1 + 3·2^-8 lies half-way too; the even neighbour is 1 + 2^-6.
        Assert.Equal(0x3F82, SafeTensor.ToBFloat16Bits(1f + (3f / 256)));
        Assert.Equal(0x3F81, SafeTensor.ToBFloat16Bits(1f + (1f / 256) + (1f / 65536)));
        ushort nan = SafeTensor.ToBFloat16Bits(BitConverter.UInt32BitsToSingle(0x7F800001));
        Assert.True(float.IsNaN(BitConverter.UInt32BitsToSingle((uint)nan << 16)));
        Assert.Equal(0x7F80, SafeTensor.ToBFloat16Bits(float.PositiveInfinity));
    }

    [Fact]
    public void HandBuiltLayoutMatchesTheSpecFieldByField()
    {
        var bytes = SafeTensors.Serialize(
            new[]
            {
                SafeTensor.FromSingles("b", new[] { 1f, 2f }, new[] { 2 }),
                SafeTensor.FromSingles("a", new[] { -1f }, new[] { 1, 1 }),
                SafeTensor.FromDoubles("z", new[] { 0.5 }, new[] { 1 }),
                SafeTensor.FromBytes("u", new byte[] { 9 }, new[] { 1 }),
            },
            new Dictionary<string, string> { ["k2"] = "v", ["k1"] = "w\"x" });

        // Doubles first (largest element), then F32 by name, then U8; metadata first, keys sorted; compact JSON.
        const string json = "{\"__metadata__\":{\"k1\":\"w\\\"x\",\"k2\":\"v\"},"
            + "\"z\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[8,12]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]},"
            + "\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[20,21]}}";
        int n = Encoding.UTF8.GetByteCount(json);
        int padded = (n + 7) / 8 * 8;

        Assert.Equal((ulong)padded, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal(padded, bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24));
        Assert.All(bytes[4..8], b => Assert.Equal(0, b));
        Assert.Equal(json, Encoding.UTF8.GetString(bytes, 8, n));
        Assert.All(bytes[(8 + n)..(8 + padded)], b => Assert.Equal((byte)' ', b));
        Assert.Equal(0, (8 + padded) % 8);

        var data = bytes[(8 + padded)..];
        Assert.Equal(21, data.Length);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0xE0, 0x3F }, data[0..8]); // 0.5 little-endian
        Assert.Equal(new byte[] { 0x00, 0x00, 0x80, 0xBF }, data[8..12]); // -1f little-endian
        Assert.Equal(new byte[] { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40 }, data[12..20]); // 1f, 2f
        Assert.Equal(9, data[20]);
    }

    [Fact]
    public void HandWrittenFileFromTheSpecIsRead()
    {
        // Written by hand from the spec, not by our writer: no metadata, odd key order, whitespace.
        string header = "{ \"w\" : {\"shape\": [2, 1], \"data_offsets\": [4, 12], \"dtype\": \"F32\"},\n"
            + "  \"s\": {\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]} }";
        var data = new byte[] { 0x2A, 0, 0, 0, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0xC0 };
        var file = SafeTensors.Parse(Build(header, data));
        Assert.Empty(file.Metadata);
        Assert.Equal(new[] { "s", "w" }, file.Tensors.Select(t => t.Name));
        Assert.Equal(new[] { 42 }, file.Get("s").ToInt32Array());
        Assert.Equal(new[] { 3f, -4f }, file.GetTensor("w", 2, 1).ToArray());
    }

    [Fact]
    public void AnIndependentReaderFollowingTheSpecLiterallyReadsOurOutput()
    {
        var (tensors, metadata) = Sample();
        var bytes = SafeTensors.Serialize(tensors, metadata);
        var (readMeta, readTensors) = MinimalReader(bytes);

        Assert.Equal(metadata.OrderBy(kv => kv.Key), readMeta.OrderBy(kv => kv.Key));
        Assert.Equal(tensors.Count, readTensors.Count);
        foreach (var t in tensors)
        {
            var (dtype, shape, raw) = readTensors[t.Name];
            Assert.Equal(t.DType.FileName(), dtype);
            Assert.Equal(t.ShapeArray.Select(d => (long)d), shape);
            Assert.Equal(t.Data.ToArray(), raw);
        }

        var kernel = readTensors["lstm/kernel"].Raw;
        for (int i = 0; i < 6; i++)
        {
            int bits = kernel[4 * i] | (kernel[(4 * i) + 1] << 8) | (kernel[(4 * i) + 2] << 16) | (kernel[(4 * i) + 3] << 24);
            Assert.Equal(tensors[0].ToSingleArray()[i], BitConverter.Int32BitsToSingle(bits));
        }
    }

    [Fact]
    public void DTypeSpellingsAreTheFormatsAndParseExactly()
    {
        // The spellings of the safetensors format (huggingface/safetensors, Dtype), in the enum's order.
        string[] format = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "I64", "U64", "F64"];
        var all = Enum.GetValues<SafeTensorDType>();
        Assert.Equal(format, all.Select(d => d.FileName()));
        foreach (var d in all)
        {
            Assert.True(SafeTensorDTypes.TryParse(d.FileName(), out var parsed));
            Assert.Equal(d, parsed);
        }

        foreach (string? bad in new[] { null, "", "f32", "F32 ", "F8_E4M3", "9", "0", "F32,I8" })
        {
            Assert.False(SafeTensorDTypes.TryParse(bad, out var none));
            Assert.Equal(default, none);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => ((SafeTensorDType)13).FileName());
        Assert.Throws<ArgumentOutOfRangeException>(() => ((SafeTensorDType)(-1)).FileName());
    }

    [Fact]
    public void WriteToStreamAndLoadFromStreamAndPath()
    {
        var (tensors, metadata) = Sample();
        var ms = new MemoryStream();
        SafeTensors.Write(ms, tensors, metadata);
        Assert.Equal(SafeTensors.Serialize(tensors, metadata), ms.ToArray());

        ms.Position = 0;
        Assert.Equal(tensors.Count, SafeTensors.Load(ms, "mem").Tensors.Count);

        var nonSeekable = new NonSeekableStream(ms.ToArray());
        Assert.Equal("12", SafeTensors.Load(nonSeekable).Metadata["epoch"]);

        using var dir = new TempFolder();
        string path = Path.Combine(dir.Path, "model.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = Tensor.Full(2f, 3, 2) }, metadata);
        var loaded = SafeTensors.Load(path);
        Assert.Equal(path, loaded.Source);
        Assert.Equal(Enumerable.Repeat(2f, 6), loaded.GetTensor("x", 3, 2).ToArray());
    }

    [Fact]
    public void EmptyFileWithoutTensorsIsValid()
    {
        var bytes = SafeTensors.Serialize(Array.Empty<SafeTensor>());
        Assert.Equal(16, bytes.Length);
        Assert.Equal("{}      ", Encoding.ASCII.GetString(bytes, 8, 8));
        var file = SafeTensors.Parse(bytes);
        Assert.Empty(file.Tensors);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void WriterRejectsBadInputWithClearMessages()
    {
        var a = SafeTensor.FromSingles("a", new[] { 1f }, new[] { 1 });
        var e1 = Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new[] { a, SafeTensor.FromSingles("a", new[] { 2f }, new[] { 1 }) }));
        Assert.Contains("two tensors are named 'a'", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => SafeTensor.FromSingles("w", new[] { 1f, 2f }, new[] { 3 }));
        Assert.Contains("F32 [3] needs 12 bytes, got 8", e2.Message);
        Assert.Throws<ArgumentException>(() => SafeTensor.FromSingles("__metadata__", new[] { 1f }, new[] { 1 }));
        Assert.Throws<ArgumentException>(() => SafeTensor.FromSingles(string.Empty, new[] { 1f }, new[] { 1 }));
        Assert.Throws<ArgumentException>(() => new SafeTensor("n", SafeTensorDType.F32, new[] { -1 }, Array.Empty<byte>()));
        var e3 = Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new[] { a }, new Dictionary<string, string> { ["k"] = null! }));
        Assert.Contains("'k'", e3.Message);
    }

    /// <summary>
    /// A reader written from the format's description alone, sharing nothing with the library:
    /// u64 little-endian N, N bytes of JSON, then the buffer; checks the tiling itself.
    /// </summary>
    private static (Dictionary<string, string> Metadata, Dictionary<string, (string DType, long[] Shape, byte[] Raw)> Tensors) MinimalReader(byte[] file)
    {
        ulong n = 0;
        for (int i = 7; i >= 0; i--)
        {
            n = (n << 8) | file[i];
        }

        Assert.Equal(0, (int)((8 + n) % 8));
        string header = Encoding.UTF8.GetString(file, 8, (int)n);
        var buffer = file[(8 + (int)n)..];
        using var doc = JsonDocument.Parse(header);
        var meta = new Dictionary<string, string>();
        var tensors = new Dictionary<string, (string, long[], byte[])>();
        var spans = new List<(long Begin, long End)>();
        var sizes = new Dictionary<string, int> { ["F64"] = 8, ["I64"] = 8, ["F32"] = 4, ["I32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["U8"] = 1 };
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                foreach (var m in p.Value.EnumerateObject())
                {
                    meta[m.Name] = m.Value.GetString()!;
                }

                continue;
            }

            string dtype = p.Value.GetProperty("dtype").GetString()!;
            long[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            long begin = p.Value.GetProperty("data_offsets")[0].GetInt64();
            long end = p.Value.GetProperty("data_offsets")[1].GetInt64();
            Assert.Equal(shape.Aggregate(1L, (x, y) => x * y) * sizes[dtype], end - begin);
            spans.Add((begin, end));
            tensors[p.Name] = (dtype, shape, buffer[(int)begin..(int)end]);
        }

        long at = 0;
        foreach (var (begin, end) in spans.OrderBy(s => s.Begin).ThenBy(s => s.End))
        {
            Assert.Equal(at, begin);
            at = end;
        }

        Assert.Equal(buffer.Length, at);
        return (meta, tensors);
    }

    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }
    }
}

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lstmsharp-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
