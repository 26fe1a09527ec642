using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using LstmSharp.Data;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;
using LstmSharp.Serialization;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Tests.Reliability;

/// <summary>Valid inputs the fuzz suite mutates: small model files of every layer family, and data files.</summary>
internal static class FuzzSeeds
{
    private static readonly Lazy<byte[][]> ModelFiles = new(BuildModels);

    /// <summary>Model files: compiled with optimizer state, Sequential and Functional, every recurrent family.</summary>
    public static byte[][] Models => ModelFiles.Value;

    public static byte[] SafeTensorsFile() => SafeTensors.Serialize(
        [
            SafeTensor.FromSingles("a/kernel", [1f, 2f, 3f, 4f, 5f, 6f], [2, 3]),
            SafeTensor.FromSinglesAsBFloat16("b", [0.5f, -1f], [2]),
            SafeTensor.FromSingles("scalar", [7f], []),
        ],
        new Dictionary<string, string> { ["format"] = "pt", ["note"] = "x" });

    public static byte[] IdxImages() => HostileInput.IdxImages(2, Enumerable.Range(0, 2 * 784).Select(i => (byte)(i * 7)).ToArray());

    public static byte[] IdxLabels() => HostileInput.IdxLabels(5, [0, 3, 9, 1, 4]);

    public static byte[] ImdbLines() => Encoding.UTF8.GetBytes(
        "{\"label\": 1, \"text\": \"A fine film, with <br /> tags and \\\"quotes\\\".\"}\n" +
        "{\"text\": \"terrible \\u00e9 acting\", \"label\": 0, \"id\": 7}\n" +
        "\n{\"label\": 0, \"text\": \"\"}\n");

    public static byte[][] Npy()
    {
        var f4 = new byte[24];
        for (int i = 0; i < 6; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(f4.AsSpan(i * 4), i - 2.5f);
        }

        var f8 = new byte[16];
        BinaryPrimitives.WriteDoubleBigEndian(f8, 1.25);
        BinaryPrimitives.WriteDoubleBigEndian(f8.AsSpan(8), -3);
        return
        [
            HostileInput.Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4),
            HostileInput.Npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", f8),
            HostileInput.Npy("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 1), }", [1, 2, 255]),
            HostileInput.Npy("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", BitConverter.GetBytes(-5L)),
        ];
    }

    public static byte[] Csv() => Encoding.UTF8.GetBytes("a,b,c\n1,2,3\n-4.5,5e3,6\n\n7,8,NaN\n");

    private static byte[][] BuildModels()
    {
        var result = new List<byte[]>();
        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-fuzz-seeds", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            byte[] Saved(Model m)
            {
                string path = Path.Combine(dir, $"m{result.Count}.lstm");
                m.Save(path, epoch: 3);
                return File.ReadAllBytes(path);
            }

            Layer.ClearSession();
            Layer.SetRandomSeed(11);
            var lstm = new Sequential([new LSTM(3, returnSequences: true, inputShape: [4, 2]), new GRU(2), new Dense(2, activation: "softmax")]);
            lstm.Compile(new Adam(0.01) { ClipNorm = 1 }, "categorical_crossentropy", ["accuracy"]);
            var x = new Tensor(Enumerable.Range(0, 4 * 4 * 2).Select(i => (float)Math.Sin(i)).ToArray(), 4, 4, 2);
            var y = new Tensor([1f, 0f, 0f, 1f, 1f, 0f, 0f, 1f], 4, 2);
            lstm.Fit(x, y, batchSize: 2, epochs: 1, verbose: 0);
            result.Add(Saved(lstm));

            Layer.ClearSession();
            var input = Input.Create([-1, 3]);
            var outputs = new LSTM(4, returnState: true, variant: LstmVariant.FromName("FGR")).ApplyAll(input);
            var decoded = new SimpleRNN(4, returnSequences: true).ApplyAll(input)[0];
            var merged = new Dense(2).Apply(new Concatenate().Apply(outputs[0], outputs[1]));
            result.Add(Saved(new Functional([input], [merged, decoded])));

            Layer.ClearSession();
            var text = new Sequential(
            [
                new Embedding(20, 4, maskZero: true, inputShape: [5]),
                new Bidirectional(new GRU(3, resetAfter: false, returnSequences: true)),
                new TimeDistributed(new Dense(2)),
                new Flatten(),
                new Dense(1, activation: "sigmoid"),
            ]);
            text.Compile(new RmsProp(0.01), "binary_crossentropy");
            result.Add(Saved(text));
            return result.ToArray();
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

/// <summary>
/// Byte-level mutations as plain data (kind, position, value), so CsCheck can shrink a failing
/// input to the fewest, smallest changes; and structure-aware mutations of a model file's
/// JSON (architecture and compile settings).
/// </summary>
internal static class Mutations
{
    private static readonly int[] InterestingInts = [0, -1, 1, 2, 255, 256, 65535, 65536, int.MaxValue, int.MinValue, 0x40000000, 1_000_000, 784, 28, -28];

    private static readonly byte[] StructureBytes = "{}[]\",:-0123456789eE.nNtfl \n'()TF"u8.ToArray();

    /// <summary>Values a config may hold where another was expected.</summary>
    public static readonly string[] InterestingJson =
    [
        "null", "0", "-1", "1", "2", "1000000000", "2147483647", "-2147483648", "4294967296", "1e300", "-0.5", "0.5", "3.7",
        "\"\"", "\"x\"", "\"NaN\"", "\"relu\"", "\"LSTM\"", "true", "false", "[]", "{}", "[null, 0]", "[[0, 0]]", "[0]", "[-1, 0]",
        "{\"class_name\": \"LSTM\", \"config\": {}}", "{\"class_name\": \"Nope\", \"config\": {\"units\": 3}}", "[2147483647, 2147483647]",
        "\"" + new string('a', 300) + "\"", "99999999999999999999",
    ];

    public readonly record struct Op(int Kind, int Position, int Value)
    {
        public override string ToString() => $"({Kind},{Position},{Value})";
    }

    /// <summary>Applies <paramref name="ops"/>; positions below <paramref name="hot"/> (a header) are chosen for odd values.</summary>
    public static byte[] Apply(byte[] seed, Op[] ops, int hot = 0)
    {
        var b = new List<byte>(seed);
        foreach (var op in ops)
        {
            int len = b.Count;
            int region = hot > 0 && (op.Value & 1) == 1 ? Math.Min(hot, len) : len;
            int at = region == 0 ? 0 : (int)((uint)op.Position % (uint)region);
            switch ((uint)op.Kind % 8)
            {
                case 0 when len > 0: b[at] ^= (byte)(1 << (op.Value & 7)); break;
                case 1 when len > 0: b[at] = (byte)(op.Value >> 1); break;
                case 2 when len >= 4:
                    {
                        int v = InterestingInts[(uint)(op.Value >> 1) % (uint)InterestingInts.Length];
                        int p = Math.Min(at, len - 4);
                        var four = new byte[4];
                        if ((op.Value & 2) == 0)
                        {
                            BinaryPrimitives.WriteInt32LittleEndian(four, v);
                        }
                        else
                        {
                            BinaryPrimitives.WriteInt32BigEndian(four, v);
                        }

                        for (int i = 0; i < 4; i++)
                        {
                            b[p + i] = four[i];
                        }

                        break;
                    }

                case 3: b.RemoveRange(at, len - at); break;
                case 4 when len > 0: b.RemoveRange(at, Math.Min(1 + ((op.Value >> 1) & 15), len - at)); break;
                case 5: b.Insert(at, (byte)(op.Value >> 1)); break;
                case 6 when len > 0:
                    {
                        int n = Math.Min(1 + ((op.Value >> 1) & 31), len - at);
                        var chunk = b.GetRange(at, n);
                        b.InsertRange((int)((uint)(op.Value >> 6) % (uint)(len + 1)), chunk);
                        break;
                    }

                case 7 when len > 0: b[at] = StructureBytes[(uint)(op.Value >> 1) % (uint)StructureBytes.Length]; break;
            }
        }

        return b.ToArray();
    }

    /// <summary>Where a safetensors file's JSON header ends (its hot region).</summary>
    public static int HeaderEnd(byte[] file) => file.Length >= 8 ? (int)Math.Min(8 + BinaryPrimitives.ReadUInt64LittleEndian(file), (ulong)file.Length) : 0;

    /// <summary>Replaces JSON values of the model's architecture (even node) or compile settings (odd) by <see cref="InterestingJson"/> ones.</summary>
    public static byte[] MutateConfig(byte[] model, (int Node, int Value)[] ops) => HostileInput.RewriteHeader(model, header =>
    {
        var meta = (JsonObject)header[SafeTensors.MetadataKey]!;
        foreach (var (node, value) in ops)
        {
            string key = (node & 1) == 0 || meta["compile"] is null ? "config" : "compile";
            var root = JsonNode.Parse(meta[key]!.GetValue<string>())!;
            var all = new List<(JsonNode Parent, string? Key, int Index)>();
            Collect(root, all);
            if (all.Count > 0)
            {
                var (parent, k, i) = all[(int)((uint)(node >> 1) % (uint)all.Count)];
                var replacement = JsonNode.Parse(InterestingJson[(uint)value % (uint)InterestingJson.Length]);
                if (k is not null)
                {
                    parent.AsObject()[k] = replacement;
                }
                else
                {
                    parent.AsArray()[i] = replacement;
                }
            }

            meta[key] = root.ToJsonString();
        }
    });

    private static void Collect(JsonNode node, List<(JsonNode Parent, string? Key, int Index)> all)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o.ToList())
                {
                    all.Add((o, k, -1));
                    if (v is not null)
                    {
                        Collect(v, all);
                    }
                }

                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                {
                    all.Add((a, null, i));
                    if (a[i] is { } v)
                    {
                        Collect(v, all);
                    }
                }

                break;
        }
    }
}
