using System.Buffers.Binary;
using System.Text;

namespace LstmSharp.Data;

/// <summary>
/// The token cache: a compact binary copy of an <see cref="ImdbCorpus"/>, keyed by the source
/// files (names, sizes, modification times) and the tokenizer version.
/// </summary>
/// <remarks>
/// Layout (little-endian; "varint" = 7-bit groups, low first, as <see cref="BinaryWriter.Write7BitEncodedInt(int)"/>):
/// magic <c>LSIMDB</c>, format version (int32), key (32 bytes, SHA-256), vocabulary size V (int32),
/// V × (word: varint UTF-8 length + bytes, training count: varint64), then for train and test:
/// review count n (int32), n label bytes, n varint lengths, the varint ranks of all reviews;
/// finally the marker <c>END.</c>. Ranks are small, so most take one or two bytes.
/// </remarks>
internal static class ImdbCache
{
    public const int FormatVersion = 1;
    private static readonly byte[] Magic = "LSIMDB"u8.ToArray();
    private static readonly byte[] EndMarker = "END."u8.ToArray();

    public static void Write(string path, byte[] key, ImdbCorpus corpus)
    {
        string? folder = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        string temp = path + $".{Guid.NewGuid():N}.part";
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var w = new BinaryWriter(file, Encoding.UTF8))
            {
                w.Write(Magic);
                w.Write(FormatVersion);
                w.Write(key);
                w.Write(corpus.Vocabulary.Length);
                for (int r = 0; r < corpus.Vocabulary.Length; r++)
                {
                    w.Write(corpus.Vocabulary[r]);
                    w.Write7BitEncodedInt64(corpus.Counts[r]);
                }

                WriteSplit(w, corpus.Train);
                WriteSplit(w, corpus.Test);
                w.Write(EndMarker);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>The corpus in <paramref name="path"/>, or null when it is absent, stale (another key) or damaged.</summary>
    public static ImdbCorpus? TryRead(string path, byte[] key)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var bytes = File.ReadAllBytes(path);
            var r = new Reader(bytes);
            if (!r.Bytes(Magic.Length).SequenceEqual(Magic) || r.Int32() != FormatVersion || !r.Bytes(key.Length).SequenceEqual(key))
            {
                return null;
            }

            int v = r.Int32();
            if (v < 0 || v > bytes.Length)
            {
                return null;
            }

            var vocabulary = new string[v];
            var counts = new long[v];
            for (int i = 0; i < v; i++)
            {
                int length = (int)r.VarInt();
                vocabulary[i] = Encoding.UTF8.GetString(r.Bytes(length));
                counts[i] = r.VarInt();
            }

            var train = ReadSplit(ref r, v);
            var test = ReadSplit(ref r, v);
            if (train is null || test is null || !r.Bytes(EndMarker.Length).SequenceEqual(EndMarker) || !r.AtEnd)
            {
                return null;
            }

            return new ImdbCorpus(vocabulary, counts, train, test);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException or OverflowException or DecoderFallbackException)
        {
            return null;
        }
    }

    private static void WriteSplit(BinaryWriter w, ImdbSplit split)
    {
        w.Write(split.Count);
        w.Write(split.Labels);
        for (int i = 0; i < split.Count; i++)
        {
            w.Write7BitEncodedInt(split.Offsets[i + 1] - split.Offsets[i]);
        }

        foreach (int t in split.Tokens)
        {
            w.Write7BitEncodedInt(t);
        }
    }

    private static ImdbSplit? ReadSplit(ref Reader r, int vocabularySize)
    {
        int n = r.Int32();
        if (n < 0)
        {
            return null;
        }

        var labels = r.Bytes(n).ToArray();
        var offsets = new int[n + 1];
        for (int i = 0; i < n; i++)
        {
            offsets[i + 1] = checked(offsets[i] + (int)r.VarInt());
        }

        var tokens = new int[offsets[n]];
        for (int i = 0; i < tokens.Length; i++)
        {
            long t = r.VarInt();
            if ((ulong)t > (ulong)vocabularySize)
            {
                return null;
            }

            tokens[i] = (int)t;
        }

        return new ImdbSplit(tokens, offsets, labels);
    }

    /// <summary>Reads the file from memory; running past the end throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> data = data;
        private int pos;

        public readonly bool AtEnd => pos == data.Length;

        public ReadOnlySpan<byte> Bytes(int count)
        {
            var s = data.Slice(pos, count);
            pos += count;
            return s;
        }

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4));

        public long VarInt()
        {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (pos >= data.Length)
                {
                    throw new ArgumentOutOfRangeException(nameof(data), "ImdbCache: file ends inside a number.");
                }

                byte b = data[pos++];
                value |= (long)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new OverflowException("ImdbCache: number longer than 64 bits.");
        }
    }
}
