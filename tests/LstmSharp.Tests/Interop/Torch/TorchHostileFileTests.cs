using System.IO.Compression;
using System.Text;
using LstmSharp.Interop.Torch;

namespace LstmSharp.Tests.Interop.Torch;

/// <summary>Damaged and hostile .pt files end in one <see cref="TorchFormatException"/> naming the file and the problem.</summary>
public class TorchHostileFileTests
{
    [Fact]
    public void AGlobalOutsideTheAllowListIsRejectedBeforeAnythingRuns()
    {
        // cos\nsystem\n (X'ls',) R . — what a malicious pickle looks like.
        var pickle = new List<byte> { 0x80, 2 };
        pickle.AddRange(Encoding.ASCII.GetBytes("cos\nsystem\n"));
        pickle.Add((byte)'X');
        pickle.AddRange(BitConverter.GetBytes(2));
        pickle.AddRange("ls"u8.ToArray());
        pickle.AddRange(new byte[] { 0x85, (byte)'R', (byte)'.' });
        var ex = Load(Zip(("m/data.pkl", pickle.ToArray())));
        FrameworkFixtures.AssertMentions(ex, "pickle global 'os.system' is not allowed");

        // Objects built by NEWOBJ are refused too.
        ex = Load(Zip(("m/data.pkl", [0x80, 2, (byte)'c', .. "collections\nOrderedDict\n"u8, (byte)')', 0x81, (byte)'.'])));
        FrameworkFixtures.AssertMentions(ex, "opcode 0x81");
    }

    [Fact]
    public void StorageSizesStridesAndOffsetsAreCheckedAgainstTheStorage()
    {
        // A valid file's pickle with the numbers changed: storage of 20 floats for a [5, 4] tensor.
        FrameworkFixtures.AssertMentions(Load(Zip(("m/data.pkl", TensorPickle(numel: 20, offset: 1, size: [5, 4], stride: [4, 1])), ("m/data/0", new byte[80]))), "reach past its storage");
        FrameworkFixtures.AssertMentions(Load(Zip(("m/data.pkl", TensorPickle(numel: 20, offset: 0, size: [5, 4], stride: [5, 1])), ("m/data/0", new byte[80]))), "reach past its storage");
        FrameworkFixtures.AssertMentions(Load(Zip(("m/data.pkl", TensorPickle(numel: 20, offset: 0, size: [5, 4], stride: [4, 1])), ("m/data/0", new byte[40]))), "holds");
        FrameworkFixtures.AssertMentions(Load(Zip(("m/data.pkl", TensorPickle(numel: int.MaxValue, offset: 0, size: [5, 4], stride: [4, 1])), ("m/data/0", new byte[80]))), "claims");
        FrameworkFixtures.AssertMentions(Load(Zip(("m/data.pkl", TensorPickle(numel: 20, offset: 0, size: [5, -4], stride: [4, 1])), ("m/data/0", new byte[80]))), "out of range");
        FrameworkFixtures.AssertMentions(Load(Zip(("m/data.pkl", TensorPickle(numel: 20, offset: 0, size: [5, 4], stride: [4, 1])))), "'m/data/0' is missing");

        // And the untouched pickle reads: the test would pass for the wrong reason otherwise.
        string ok = Write(Zip(("m/data.pkl", TensorPickle(numel: 20, offset: 0, size: [5, 4], stride: [4, 1])), ("m/data/0", new byte[80])));
        try
        {
            Assert.Equal([5, 4], TorchStateDict.Load(ok).Tensors[0].Shape);
        }
        finally
        {
            File.Delete(ok);
        }
    }

    [Fact]
    public void AZipBombIsRefusedWithoutInflatingIt()
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var s = zip.CreateEntry("m/data.pkl", CompressionLevel.SmallestSize).Open();
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++)
            {
                s.Write(zeros);
            }
        }

        var ex = Load(ms.ToArray());
        FrameworkFixtures.AssertMentions(ex, "zip bomb");
    }

    [Fact]
    public void OtherFilesAreNamedForWhatTheyAre()
    {
        FrameworkFixtures.AssertMentions(Load([0x80, 2, (byte)'}', (byte)'.']), "without the zip container");
        FrameworkFixtures.AssertMentions(Load("hello, world"u8.ToArray()), "neither a torch.save zip nor a valid safetensors");
        FrameworkFixtures.AssertMentions(Load(Zip(("other.txt", [1, 2, 3]))), "no '<name>/data.pkl'");
        FrameworkFixtures.AssertMentions(Load(Zip(("m/data.pkl", [0x80, 2, (byte)'N', (byte)'.']))), "not hold a dict");
        FrameworkFixtures.AssertMentions(Load(Zip(("m/data.pkl", [0x80, 2, (byte)'X', 200, 0, 0, 0, (byte)'a']))), "truncated");
    }

    [Fact]
    public void ThousandsOfTruncatedAndBitFlippedFilesEndOnlyInTheDocumentedException()
    {
        foreach (string name in new[] { "embed_bilstm_linear.pt", "gru2_linear.safetensors" })
        {
            byte[] original = File.ReadAllBytes(FrameworkFixtures.Torch(name));
            var rng = new Random(20261206);
            string path = Path.Combine(FrameworkFixtures.NewTempFolder("torch-fuzz"), "mutant.pt");
            int loaded = 0, rejected = 0;
            for (int trial = 0; trial < 1500; trial++)
            {
                byte[] mutant = trial % 3 == 0
                    ? original[..rng.Next(original.Length)]
                    : Flip(original, rng, 1 + rng.Next(8));
                File.WriteAllBytes(path, mutant);
                try
                {
                    TorchStateDict.Load(path);
                    loaded++;
                }
                catch (TorchFormatException e)
                {
                    Assert.Contains(path, e.Message);
                    rejected++;
                }
            }

            Assert.True(rejected > 300, $"{name}: only {rejected} of 1500 mutants were rejected");
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    private static byte[] Flip(byte[] original, Random rng, int flips)
    {
        var copy = (byte[])original.Clone();
        for (int i = 0; i < flips; i++)
        {
            copy[rng.Next(copy.Length)] ^= (byte)(1 << rng.Next(8));
        }

        return copy;
    }

    /// <summary>OrderedDict with one tensor 'w' as torch.save writes it, numbers chosen by the test.</summary>
    private static byte[] TensorPickle(long numel, long offset, int[] size, int[] stride)
    {
        var p = new List<byte> { 0x80, 2 };
        void Str(string s)
        {
            p.Add((byte)'X');
            p.AddRange(BitConverter.GetBytes(Encoding.UTF8.GetByteCount(s)));
            p.AddRange(Encoding.UTF8.GetBytes(s));
        }

        void Int(long v)
        {
            p.Add((byte)'J');
            p.AddRange(BitConverter.GetBytes(checked((int)v)));
        }

        void Ascii(string s) => p.AddRange(Encoding.ASCII.GetBytes(s));
        Ascii("ccollections\nOrderedDict\n)R(");
        Str("w");
        Ascii("ctorch._utils\n_rebuild_tensor_v2\n((");
        Str("storage");
        Ascii("ctorch\nFloatStorage\n");
        Str("0");
        Str("cpu");
        Int(numel);
        Ascii("tQ");
        Int(offset);
        p.Add((byte)'(');
        foreach (int s in size)
        {
            Int(s);
        }

        Ascii("t(");
        foreach (int s in stride)
        {
            Int(s);
        }

        Ascii("t");
        p.Add(0x89);
        Ascii("ccollections\nOrderedDict\n)RtRu.");
        return p.ToArray();
    }

    private static byte[] Zip(params (string Name, byte[] Data)[] entries)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data) in entries)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
        }

        return ms.ToArray();
    }

    private static string Write(byte[] bytes)
    {
        string path = Path.Combine(FrameworkFixtures.NewTempFolder("torch-hostile"), "file.pt");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static TorchFormatException Load(byte[] bytes)
    {
        string path = Write(bytes);
        try
        {
            var ex = Assert.Throws<TorchFormatException>(() => TorchStateDict.Load(path));
            Assert.Contains(path, ex.Message);
            return ex;
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
