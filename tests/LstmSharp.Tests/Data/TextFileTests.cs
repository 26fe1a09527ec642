using System.Text;
using LstmSharp.Data;

namespace LstmSharp.Tests.Data;

public class TextFileTests
{
    private static string Write(byte[] bytes)
    {
        string path = Path.Combine(TestData.NewTempFolder("text"), "t.txt");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void ReadsUtf8AcrossChunkBoundariesAndSkipsTheBom()
    {
        string text = "héllo wörld\n€ and 😀 — " + new string('x', 37) + "日本語\n";
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Equal(text, TextFile.ReadAllText(Write([0xEF, 0xBB, 0xBF, .. bytes])));
        string path = Write(bytes);
        for (int buffer = 4; buffer <= 9; buffer++)
        {
            using var reader = new StrictUtf8Reader(path, buffer);
            var sb = new StringBuilder();
            var chunk = new char[3];
            int n;
            while ((n = reader.Read(chunk)) > 0)
            {
                sb.Append(chunk, 0, n);
            }

            Assert.Equal(text, sb.ToString());
            Assert.Equal(bytes.Length, reader.BytesConsumed);
        }
    }

    [Fact]
    public void InvalidUtf8NamesFileOffsetAndLine()
    {
        // Line 2 starts at byte 4; the stray 0xFF is its 3rd byte, byte offset 6.
        string path = Write([(byte)'a', (byte)'b', (byte)'c', (byte)'\n', (byte)'d', (byte)'e', 0xFF, (byte)'f']);
        var e = Assert.Throws<InvalidDataException>(() => TextFile.ReadAllText(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("byte offset 6", e.Message);
        Assert.Contains("line 2, byte 3", e.Message);
        Assert.Contains("0xFF", e.Message);

        var truncated = Write([(byte)'a', 0xE2, 0x82]);
        var t = Assert.Throws<InvalidDataException>(() => TextFile.ReadAllText(truncated));
        Assert.Contains("byte offset 1", t.Message);
        Assert.Contains("ends inside a multi-byte character", t.Message);

        var overlong = Write([(byte)'x', 0xC0, 0xAF]);
        Assert.Contains("byte offset 1", Assert.Throws<InvalidDataException>(() => TextFile.ReadAllText(overlong)).Message);

        var empty = Write([]);
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => TextFile.ReadAllText(empty)).Message);
    }

    [Fact]
    public void MutatedBytesEitherDecodeAsTheStrictDecoderOrThrowTheDocumentedException()
    {
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var original = Encoding.UTF8.GetBytes("Ünïcödé text — 😀 € ascii\nline two ✓");
        var rng = new LstmSharp.Tensors.Rng(11);
        string folder = TestData.NewTempFolder("text-fuzz");
        for (int round = 0; round < 200; round++)
        {
            var bytes = original[..(1 + rng.NextInt(original.Length))];
            for (int k = rng.NextInt(3); k >= 0; k--)
            {
                bytes[rng.NextInt(bytes.Length)] = (byte)rng.NextInt(256);
            }

            string path = Path.Combine(folder, $"{round}.txt");
            File.WriteAllBytes(path, bytes);
            string? expected;
            try
            {
                expected = strict.GetString(bytes.AsSpan().StartsWith<byte>([0xEF, 0xBB, 0xBF]) ? bytes[3..] : bytes);
            }
            catch (DecoderFallbackException)
            {
                expected = null;
            }

            if (expected is null or "")
            {
                Assert.Throws<InvalidDataException>(() => TextFile.ReadAllText(path));
            }
            else
            {
                Assert.Equal(expected, TextFile.ReadAllText(path));
            }
        }
    }
}
