using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Models;

/// <summary>Damaged or foreign files are refused by <see cref="Model.Load(string)"/> with a <see cref="ModelFormatException"/> that says what is wrong.</summary>
public sealed class ModelFileTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", Guid.NewGuid().ToString("N"));
    private readonly string good;

    public ModelFileTests()
    {
        Directory.CreateDirectory(dir);
        Layer.ClearSession();
        Layer.SetRandomSeed(1);
        var model = new Sequential([new LSTM(3, inputShape: [4, 2]), new Dense(2, activation: "softmax")]);
        model.Compile(new Adam(0.01), "categorical_crossentropy", ["accuracy"]);
        good = Path.Combine(dir, "good.lstm");
        model.Save(good);
        Assert.NotNull(Model.Load(good));
    }

    public void Dispose() => Directory.Delete(dir, true);

    [Fact]
    public void TruncatedFile()
    {
        var bytes = File.ReadAllBytes(good);
        var e = Refused(bytes[..^12]);
        Assert.Contains("bytes", e.Problem);
        Refused(bytes[..5]);
        Refused(bytes[..(8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes) - 3)]);
    }

    [Fact]
    public void BadHeaderLength()
    {
        var bytes = File.ReadAllBytes(good);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        Assert.Contains("header length", Refused(bytes).Problem);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Assert.Contains("header length", Refused(bytes).Problem);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 0);
        Refused(bytes);
    }

    [Fact]
    public void WrongDTypeOfAWeight()
    {
        var e = Refused(RewriteHeader(h => h["dense/kernel"]!["dtype"] = "I32"));
        Assert.Equal("dense/kernel", e.TensorName);
        Assert.Contains("I32", e.Problem);
        Assert.Contains("F32", e.Problem);
    }

    [Fact]
    public void ShapeMismatchAgainstTheConfig()
    {
        // Same number of bytes, transposed: only the architecture can tell.
        var e = Refused(RewriteHeader(h => h["dense/kernel"]!["shape"] = new JsonArray(2, 3)));
        Assert.Equal("dense/kernel", e.TensorName);
        Assert.Contains("[2, 3]", e.Problem);
        Assert.Contains("[3, 2]", e.Problem);

        // Or the config asks for another size than the file holds (smaller: larger is refused while building).
        var e2 = Refused(RewriteConfig(c => c["config"]!["layers"]![0]!["config"]!["units"] = 2));
        Assert.Equal("lstm/kernel", e2.TensorName);
    }

    [Fact]
    public void AHugeLayerInTheConfigIsRefusedBeforeAllocatingIt()
    {
        // 2·10⁸ units would be a 6 GB kernel; the file holds a few dozen values.
        var e = Refused(RewriteConfig(c => c["config"]!["layers"]![0]!["config"]!["units"] = 200_000_000));
        Assert.Contains("LSTM 'lstm'", e.Problem);
        Assert.Contains("more than the", e.Problem);
    }

    [Fact]
    public void MissingWeight()
    {
        var e = Refused(RewriteHeader(h =>
        {
            var t = h["dense/bias"]!.DeepClone();
            h.Remove("dense/bias");
            h["dense/other"] = t;
        }));
        Assert.Equal("dense/bias", e.TensorName);
        Assert.Contains("missing", e.Problem);
    }

    [Fact]
    public void OffsetsOutOfRange()
    {
        Refused(RewriteHeader(h => h["dense/bias"]!["data_offsets"] = new JsonArray(0, 1_000_000)));
        Refused(RewriteHeader(h => h["dense/bias"]!["data_offsets"] = new JsonArray(-8, 0)));
        Refused(RewriteHeader(h => h["dense/bias"]!["data_offsets"] = new JsonArray(16, 8)));
    }

    [Fact]
    public void RandomBytesAndForeignSafetensorsFiles()
    {
        var rng = new Random(5);
        for (int len = 0; len < 200; len += 37)
        {
            var bytes = new byte[len];
            rng.NextBytes(bytes);
            Refused(bytes);
        }

        string foreign = Path.Combine(dir, "foreign.safetensors");
        SafeTensors.Save(foreign, [SafeTensor.FromSingles("weight", [1f, 2f], [2])]);
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(foreign));
        Assert.Contains("not an LstmSharp model file", e.Problem);

        SafeTensors.Save(foreign, [SafeTensor.FromSingles("weight", [1f, 2f], [2])], new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Contains("'pt'", Assert.Throws<ModelFormatException>(() => Model.Load(foreign)).Problem);
    }

    [Fact]
    public void BrokenArchitectureOrCompileMetadata()
    {
        Refused(RewriteMetadata(m => m["config"] = "{not json"));
        Refused(RewriteMetadata(m => m["config"] = "[1, 2]"));
        Refused(RewriteMetadata(m => m.Remove("config")));
        Refused(RewriteMetadata(m => m["version"] = "99"));
        Assert.Contains("Bogus", Refused(RewriteConfig(c => c["config"]!["layers"]![1]!["class_name"] = "Bogus")).Problem);
        Refused(RewriteConfig(c => c["config"]!["layers"]![0]!["config"]!["units"] = -3));
        Refused(RewriteConfig(c => c["config"]!["layers"]![0]!["config"]!["units"] = "many"));
        Refused(RewriteConfig(c => c["config"]!["layers"] = 7));
        Refused(RewriteConfig(c => c["class_name"] = "Transformer"));
        Refused(RewriteConfig(c => c["config"]!["layers"]![0]!["config"]!["dropout"] = 2.5));
        Refused(RewriteMetadata(m => m["compile"] = "{\"optimizer\": 3}"));
        Refused(RewriteMetadata(m => m["compile"] = "{\"optimizer\": {\"class_name\": \"Nope\"}}"));
    }

    [Fact]
    public void FlippedBytesInTheHeaderNeverEscapeAsAnotherException()
    {
        var original = File.ReadAllBytes(good);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        var rng = new Random(11);
        int loaded = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            var bytes = (byte[])original.Clone();
            int flips = 1 + rng.Next(3);
            for (int f = 0; f < flips; f++)
            {
                int at = rng.Next(headerEnd);
                bytes[at] = (byte)(rng.Next(2) == 0 ? bytes[at] ^ (1 << rng.Next(8)) : "0123456789{}[]\",:-eE. "[rng.Next(22)]);
            }

            string path = Path.Combine(dir, "fuzz.lstm");
            File.WriteAllBytes(path, bytes);
            try
            {
                Model.Load(path);
                loaded++;
            }
            catch (ModelFormatException)
            {
            }
        }

        // Most single-byte changes break something; a few (inside a float or a name's letter case) may still load.
        Assert.True(loaded < 200);
    }

    private ModelFormatException Refused(byte[] bytes)
    {
        string path = Path.Combine(dir, "bad.lstm");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFormatException>(() => Model.Load(path));
        Assert.Contains("bad.lstm", e.Message);
        return e;
    }

    private byte[] RewriteMetadata(Action<JsonObject> change) => RewriteHeader(h => change((JsonObject)h[SafeTensors.MetadataKey]!));

    private byte[] RewriteConfig(Action<JsonObject> change) => RewriteMetadata(m =>
    {
        var config = JsonNode.Parse(m["config"]!.GetValue<string>())!.AsObject();
        change(config);
        m["config"] = config.ToJsonString();
    });

    /// <summary>The good file with its JSON header changed by <paramref name="change"/> (re-padded), data unchanged.</summary>
    private byte[] RewriteHeader(Action<JsonObject> change)
    {
        var bytes = File.ReadAllBytes(good);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, n))!.AsObject();
        change(header);
        var text = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (text.Length + 7) / 8 * 8;
        var result = new byte[8 + padded + (bytes.Length - 8 - n)];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)padded);
        result.AsSpan(8, padded).Fill((byte)' ');
        text.CopyTo(result, 8);
        bytes.AsSpan(8 + n).CopyTo(result.AsSpan(8 + padded));
        return result;
    }
}
