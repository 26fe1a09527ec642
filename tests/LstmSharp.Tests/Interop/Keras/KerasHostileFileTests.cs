using System.IO.Compression;
using System.Text;
using LstmSharp.Interop.Keras;

namespace LstmSharp.Tests.Interop.Keras;

/// <summary>Damaged or unsupported Keras files end in one <see cref="KerasFormatException"/> naming the file and the problem.</summary>
public class KerasHostileFileTests
{
    [Fact]
    public void AnUnsupportedLayerIsNamed()
    {
        string path = Path.Combine(FrameworkFixtures.NewTempFolder("keras-bad"), "conv2d.keras");
        try
        {
            using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
            {
                Write(zip, "config.json", """{"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 5, 3], "name": "in"}}, {"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "conv2d", "filters": 4}}]}}""");
                Write(zip, "model.weights.h5", "not used");
            }

            var ex = Assert.Throws<KerasFormatException>(() => KerasImport.LoadKeras(path));
            FrameworkFixtures.AssertMentions(ex, path);
            FrameworkFixtures.AssertMentions(ex, "layer 'conv2d' is a Conv2D");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public void OtherFilesAreNamedForWhatTheyAre()
    {
        string dir = FrameworkFixtures.NewTempFolder("keras-other");
        try
        {
            string text = Path.Combine(dir, "model.keras");
            File.WriteAllText(text, "hello");
            FrameworkFixtures.AssertMentions(Assert.Throws<KerasFormatException>(() => KerasImport.LoadKeras(text)), "neither a .keras zip nor an HDF5 file");
            string noWeights = Path.Combine(dir, "empty.keras");
            using (var zip = ZipFile.Open(noWeights, ZipArchiveMode.Create))
            {
                Write(zip, "config.json", "{\"class_name\": \"Sequential\", \"config\": {\"layers\": []}}");
            }

            FrameworkFixtures.AssertMentions(Assert.Throws<KerasFormatException>(() => KerasImport.LoadKeras(noWeights)), "no model.weights.h5");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("seq_lstm_gru.keras")]
    [InlineData("legacy_func.h5")]
    [InlineData("seq_lstm_gru_latest.keras")]
    [InlineData("legacy_func_latest.h5")]
    [InlineData("legacy_seq_many.h5")]
    public async Task ThousandsOfTruncatedAndBitFlippedFilesEndOnlyInTheDocumentedException(string name)
    {
        byte[] original = File.ReadAllBytes(FrameworkFixtures.Keras(name));
        var rng = new Random(20261206);
        string dir = FrameworkFixtures.NewTempFolder("keras-fuzz");
        string path = Path.Combine(dir, "mutant" + Path.GetExtension(name));
        int rejected = 0;
        long maxAllocated = 0;
        try
        {
            for (int trial = 0; trial < 1000; trial++)
            {
                byte[] mutant = trial % 3 == 0 ? original[..rng.Next(original.Length)] : Flip(original, rng, 1 + rng.Next(8));
                File.WriteAllBytes(path, mutant);
                // A hang would be a failure too: each file gets 20 s.
                // No allocation sized by a damaged field: each attempt allocates at most AllocationBound bytes.
                var task = Task.Run(() =>
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    try
                    {
                        KerasImport.LoadKeras(path);
                        return (Exception?)null;
                    }
                    catch (Exception e)
                    {
                        return e;
                    }
                    finally
                    {
                        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                        lock (rng)
                        {
                            maxAllocated = Math.Max(maxAllocated, allocated);
                        }
                    }
                });
                var first = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(20)));
                Assert.True(first == task, $"mutant {trial} of {name} did not finish in 20 s");
                if (await task is { } e)
                {
                    Assert.True(e is KerasFormatException, $"mutant {trial} of {name}: {e.GetType().Name}: {e.Message}");
                    Assert.Contains(path, e.Message);
                    rejected++;
                }
            }

            Assert.True(rejected > 200, $"{name}: only {rejected} of 1000 mutants were rejected");
            Assert.True(maxAllocated < AllocationBound, $"{name}: a mutant made the reader allocate {maxAllocated:N0} bytes (bound {AllocationBound:N0}; the file is {original.Length:N0} bytes)");
            Console.WriteLine($"keras fuzz {name}: most allocated by one mutant {maxAllocated:N0} bytes");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>What reading one small fixture (a few KB) may allocate at most, damaged or not.</summary>
    private const long AllocationBound = 64L << 20;

    private static byte[] Flip(byte[] original, Random rng, int flips)
    {
        var copy = (byte[])original.Clone();
        for (int i = 0; i < flips; i++)
        {
            copy[rng.Next(copy.Length)] ^= (byte)(1 << rng.Next(8));
        }

        return copy;
    }

    private static void Write(ZipArchive zip, string name, string text)
    {
        using var s = zip.CreateEntry(name).Open();
        s.Write(Encoding.UTF8.GetBytes(text));
    }
}
