using System.Diagnostics;
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

/// <summary>
/// One test per defect found by the hardening probe (issue 19): each failed before its fix.
/// Hostile input must end in the reader's documented exception type, naming the file, without
/// allocating by an untrusted size.
/// </summary>
[Collection(Tensors.GlobalRngCollection.Name)]
public sealed class DefectRegressionTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "defects-" + Guid.NewGuid().ToString("N"));

    public DefectRegressionTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, true);

    // ---- 1: a null where a functional config expects a node index ----

    [Theory]
    [InlineData("[[null, 0]]")]
    [InlineData("[[0, null]]")]
    [InlineData("[[\"x\", 0]]")]
    [InlineData("[[0.5, 0]]")]
    [InlineData("[[0]]")]
    [InlineData("[null]")]
    [InlineData("[[-1, 0]]")]
    [InlineData("[[1e300, 0]]")]
    public void AFunctionalConfigWithABadTensorReferenceIsAFormatError(string reference)
    {
        byte[] good = SavedFunctional();
        foreach (var change in new Action<JsonObject>[]
        {
            c => c["config"]!["inputs"] = JsonNode.Parse(reference),
            c => c["config"]!["outputs"] = JsonNode.Parse(reference),
            c => c["config"]!["nodes"]![1]!["inputs"] = JsonNode.Parse(reference),
        })
        {
            var e = Assert.Throws<ModelFormatException>(() => Load(HostileInput.RewriteConfig(good, change)));
            Assert.Contains("tensor reference", e.Message);
        }
    }

    [Fact]
    public void AFunctionalConfigWithWrongKindsIsAFormatError()
    {
        byte[] good = SavedFunctional();
        Assert.Throws<ModelFormatException>(() => Load(HostileInput.RewriteConfig(good, c => c["config"]!["nodes"]![1]!["layer"] = 3)));
        Assert.Throws<ModelFormatException>(() => Load(HostileInput.RewriteConfig(good, c => c["config"]!["nodes"]![1]!["inputs"] = "x")));
        Assert.Throws<ModelFormatException>(() => Load(HostileInput.RewriteConfig(good, c => c["config"]!["name"] = new JsonArray())));
        Assert.Throws<ModelFormatException>(() => Load(HostileInput.RewriteHeader(good, h => h[SafeTensors.MetadataKey]!["compile"] = "{\"optimizer\": null}")));
        Assert.Throws<ModelFormatException>(() => Load(HostileInput.RewriteHeader(good, h => h[SafeTensors.MetadataKey]!["compile"] = "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {}}, \"loss\": {\"class_name\": \"MeanSquaredError\", \"config\": {}}, \"metrics\": [null]}")));
    }

    // ---- 2: GRU/SimpleRNN honour the weight budget and checked sizes ----

    [Theory]
    [InlineData("GRU", 1_000_000_000)]
    [InlineData("GRU", int.MaxValue)]
    [InlineData("SimpleRNN", 1_000_000_000)]
    [InlineData("SimpleRNN", int.MaxValue)]
    [InlineData("LSTM", int.MaxValue)]
    public void AHugeRecurrentLayerInAFileIsRefusedBeforeAllocating(string cell, int units)
    {
        Layer.ClearSession();
        Layer rnn = cell switch
        {
            "GRU" => new GRU(3, inputShape: [4, 2]),
            "SimpleRNN" => new SimpleRNN(3, inputShape: [4, 2]),
            _ => new LSTM(3, inputShape: [4, 2]),
        };
        var model = new Sequential([rnn, new Dense(2)]);
        string path = Path.Combine(dir, "small.lstm");
        model.Save(path);
        byte[] hostile = HostileInput.RewriteConfig(File.ReadAllBytes(path), c => c["config"]!["layers"]![0]!["config"]!["units"] = units);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ModelFormatException>(() => Load(hostile));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"{cell} '", e.Message);
        Assert.Contains("more than the", e.Message);
        Assert.True(allocated < 16 << 20, $"refusing the file allocated {allocated} bytes");

        // The CLI prints one line, not an OutOfMemoryException's stack trace.
        string file = Path.Combine(dir, "hostile.lstm");
        File.WriteAllBytes(file, hostile);
        var error = new StringWriter();
        Assert.Equal(1, LstmSharp.Cli.Program.Run(["summary", file], TextWriter.Null, error));
        Assert.Contains("hostile.lstm", error.ToString());
        Assert.DoesNotContain("internal error", error.ToString());
    }

    [Theory]
    [InlineData("GRU")]
    [InlineData("SimpleRNN")]
    [InlineData("LSTM")]
    public void AHugeRecurrentLayerInCodeFailsByNameNotByOutOfMemory(string cell)
    {
        foreach (int units in new[] { int.MaxValue, 1_000_000_000, 50_000 })
        {
            Layer rnn = cell switch
            {
                "GRU" => new GRU(units, name: "big"),
                "SimpleRNN" => new SimpleRNN(units, name: "big"),
                _ => new LSTM(units, name: "big"),
            };
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => rnn.Build([4, 100_000]));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
            Assert.Equal("units", e.ParamName);
            Assert.Contains($"{cell} 'big'", e.Message);
            Assert.Contains($"units={units}", e.Message);
        }
    }

    // ---- 3: no temporary files left by killed saves ----

    [Fact]
    public void ASaveRemovesTheTemporaryFilesOfKilledSavesToTheSamePath()
    {
        Layer.ClearSession();
        var model = new Sequential([new Dense(2, inputShape: [3])]);
        string path = Path.Combine(dir, "m.lstm");
        string prefix = Path.Combine(dir, ".m.lstm.lstmsharp-save-");
        string dead = prefix + "999999999-0123456789abcdef0123456789abcdef.tmp";
        string live = prefix + "1-0123456789abcdef0123456789abcdef.tmp";
        string ours = prefix + Environment.ProcessId + "-0123456789abcdef0123456789abcdef.tmp";
        string other = Path.Combine(dir, ".n.lstm.lstmsharp-save-999999999-0123456789abcdef0123456789abcdef.tmp");
        foreach (string f in new[] { dead, live, ours, other })
        {
            File.WriteAllText(f, "partial");
        }

        model.Save(path);
        Assert.False(File.Exists(dead), "the temp file of a process that no longer runs is removed");
        Assert.True(File.Exists(live), "pid 1 still runs: its temp file may be a save in progress");
        Assert.True(File.Exists(ours), "our own pid may be another thread saving");
        Assert.True(File.Exists(other), "temp files of other paths are not touched");
        Assert.NotNull(Model.Load(path));
    }

    [Fact]
    public void AFailedSaveLeavesNoTemporaryFile()
    {
        string path = Path.Combine(dir, "w.safetensors");
        Assert.Throws<IOException>(() => SafeTensors.Save(path, [SafeTensor.FromSingles("a", [1f, 2f], [2])], null, s => new FailingStream(s)));
        Assert.Empty(Directory.GetFiles(dir));
    }

    // ---- 4 and 8: MNIST .gz files sized by their header, cut trailers ----

    [Fact]
    public void AGzippedLabelFileClaimingTwoBillionLabelsFailsWithoutAllocatingThem()
    {
        string path = Write("labels.gz", HostileInput.Gzip(HostileInput.IdxLabels(int.MaxValue, [1, 2, 3])));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Mnist.ReadLabels(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8 << 20);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("labels.gz", e.Message);
    }

    [Fact]
    public void AFortyByteGzClaimingAMillionImagesFailsWithoutReservingThem()
    {
        byte[] gz = HostileInput.Gzip(HostileInput.IdxImages(1_000_000, new byte[8]));
        Assert.True(gz.Length < 60);
        string path = Write("images.gz", gz);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Mnist.ReadImages(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8 << 20);
        Assert.Contains("truncated", e.Message);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(1)]
    public void AGzWhoseTrailerIsCutIsRefused(int cut)
    {
        var labels = Enumerable.Range(0, 300).Select(i => (byte)(i % 10)).ToArray();
        byte[] gz = HostileInput.Gzip(HostileInput.IdxLabels(labels.Length, labels));
        Assert.Equal(labels.Select(b => (int)b).ToArray(), Mnist.ReadLabels(Write("ok.gz", gz)));
        var e = Assert.Throws<InvalidDataException>(() => Mnist.ReadLabels(Write("cut.gz", gz[..^cut])));
        Assert.Contains("cut.gz", e.Message);

        // A changed CRC in an intact trailer is caught by the decompressor itself.
        var flipped = (byte[])gz.Clone();
        flipped[^8] ^= 1;
        Assert.Throws<InvalidDataException>(() => Mnist.ReadLabels(Write("crc.gz", flipped)));

        var jsonl = HostileInput.Gzip(Encoding.UTF8.GetBytes("{\"label\": 0, \"text\": \"fine\"}\n"));
        Assert.Throws<InvalidDataException>(() => Imdb.ReadJsonLines(Write("cut.jsonl.gz", jsonl[..^cut]), 0, new ImdbCorpusBuilder(), null));
    }

    // ---- 5: IMDB lines that are not clean UTF-8 JSON objects ----

    [Theory]
    [InlineData("{\"label\": 0, \"text\": \"\\ud800\"}")]
    [InlineData("{\"label\": 0, \"text\": \"ok\"} trailing")]
    [InlineData("{\"label\": 0, \"text\": \"ok\"}{}")]
    [InlineData("{\"label\": {\"a\": 1}, \"text\": \"ok\"}")]
    [InlineData("{\"label\": 1, \"text\": [\"ok\"]}")]
    public void AnImdbLineThatIsNotOneCleanObjectNamesFileAndLine(string line)
    {
        string path = Write("train.jsonl", Encoding.UTF8.GetBytes("{\"label\": 1, \"text\": \"good\"}\n" + line + "\n"));
        var e = Assert.Throws<InvalidDataException>(() => Imdb.ReadJsonLines(path, 0, new ImdbCorpusBuilder(), null));
        Assert.Contains("train.jsonl' line 2", e.Message);
    }

    [Fact]
    public void AnImdbLineWithInvalidUtf8NamesFileAndLine()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"label\": 1, \"text\": \"good\"}\n{\"label\": 0, \"text\": \"b#d\"}\n");
        bytes[Array.IndexOf(bytes, (byte)'#')] = 0xFF;
        string path = Write("test.jsonl", bytes);
        var e = Assert.Throws<InvalidDataException>(() => Imdb.ReadJsonLines(path, 1, new ImdbCorpusBuilder(), null));
        Assert.Contains("test.jsonl' line 2", e.Message);
    }

    // ---- 6: .npy headers ----

    [Theory]
    [InlineData("{'descr':")]
    [InlineData("{'descr': '<f4', 'fortran_order':")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,")]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }")]
    [InlineData("{'descr': '<f4', 'fortran_order': 1, 'shape': (2,), }")]
    [InlineData("{'descr': '<f4', 'fortran_order': Falsehood, 'shape': (2,), }")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk")]
    [InlineData("{'descr': '<f4', 'shape': (2,), }")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }")]
    [InlineData("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }")]
    [InlineData("")]
    public void ABrokenNpyHeaderIsInvalidData(string header)
    {
        string path = Write("x.npy", HostileInput.Npy(header, new byte[8]));
        var e = Assert.Throws<InvalidDataException>(() => ArrayFiles.LoadNpy(path));
        Assert.Contains("x.npy", e.Message);
        var error = new StringWriter();
        Assert.Equal(1, LstmSharp.Cli.Program.Run(["predict", SavedModelPath(), "--input", path], TextWriter.Null, error));
        Assert.Contains("x.npy", error.ToString());
        Assert.DoesNotContain("internal error", error.ToString());
    }

    [Fact]
    public void AWellFormedNpyHeaderStillLoads()
    {
        var data = new byte[8];
        BitConverter.GetBytes(1.5f).CopyTo(data, 0);
        BitConverter.GetBytes(-2f).CopyTo(data, 4);
        foreach (string header in new[]
        {
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
            "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(1, 2)}",
            "{'shape': (2L,), 'fortran_order': False, 'descr': '<f4'}",
        })
        {
            Assert.Equal(new[] { 1.5f, -2f }, ArrayFiles.LoadNpy(Write("ok.npy", HostileInput.Npy(header, data))).ToArray());
        }
    }

    // ---- 7: Fit with a batch size near int.MaxValue ----

    [Fact]
    public void FitWithAHugeBatchSizeTrainsOneBatchAndChecksTheTargets()
    {
        Layer.ClearSession();
        Layer.SetRandomSeed(3);
        var model = new Sequential([new LSTM(3, inputShape: [4, 2]), new Dense(2)]);
        model.Compile(new Sgd(0.1), "mse");
        var x = new Tensor(Enumerable.Range(0, 5 * 4 * 2).Select(i => (float)Math.Sin(i)).ToArray(), 5, 4, 2);
        var y = new Tensor(Enumerable.Range(0, 5 * 2).Select(i => (float)Math.Cos(i)).ToArray(), 5, 2);
        var w0 = model.Parameters.Select(p => p.Value.ToArray()).ToArray();
        var history = model.Fit(x, y, batchSize: int.MaxValue, epochs: 1, verbose: 0, shuffle: false);
        Assert.True(history["loss"][0] > 0);
        Assert.Contains(model.Parameters.Select((p, i) => !p.Value.ToArray().SequenceEqual(w0[i])), changed => changed);

        var wrong = new Tensor(5, 7);
        Assert.ThrowsAny<ArgumentException>(() => model.Fit(x, wrong, batchSize: int.MaxValue - 1, epochs: 1, verbose: 0));
    }

    private static byte[] SavedFunctional()
    {
        Layer.ClearSession();
        var input = Input.Create([4, 2]);
        var h = new LSTM(3).Apply(input);
        var output = new Dense(2).Apply(h);
        var model = new Functional(input, output);
        model.Compile(new Sgd(0.1), "mse");
        string path = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", "functional-" + Guid.NewGuid().ToString("N") + ".lstm");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        model.Save(path);
        byte[] result = File.ReadAllBytes(path);
        File.Delete(path);
        return result;
    }

    private string SavedModelPath()
    {
        string path = Path.Combine(dir, "dense.lstm");
        if (!File.Exists(path))
        {
            Layer.ClearSession();
            new Sequential([new Dense(2, inputShape: [2])]).Save(path);
        }

        return path;
    }

    private Model Load(byte[] bytes) => Model.Load(Write("model.lstm", bytes));

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private sealed class FailingStream(Stream inner) : Stream
    {
        private long written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => written;

        public override long Position { get => written; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            written += count;
            if (written > 16)
            {
                throw new IOException("disk full (simulated)");
            }

            inner.Write(buffer, offset, count);
        }
    }
}
