using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using LstmSharp.Serialization;
using LstmSharp.Tensors;

namespace LstmSharp.Data;

/// <summary>
/// Reads and writes plain array files for the CLI and users' own data: NumPy's <c>.npy</c>
/// (format 1.0–3.0, C order, float32/float64/int8–int64/uint8–uint64/bool, little- or big-endian)
/// and CSV (one sample per row, comma-separated numbers, an optional header row).
/// Everything comes back as a float32 <see cref="Tensor"/>.
/// </summary>
public static class ArrayFiles
{
    private static readonly byte[] NpyMagic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Loads <c>.npy</c> or <c>.csv</c> by extension; <paramref name="sampleShape"/> reshapes each CSV row (null keeps it flat).</summary>
    public static Tensor Load(string path, int[]? sampleShape = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string ext = Path.GetExtension(path).ToLowerInvariant();
        var t = ext switch
        {
            ".npy" => LoadNpy(path),
            ".csv" or ".txt" => LoadCsv(path),
            _ => throw new ArgumentException($"ArrayFiles: '{path}' has extension '{ext}'; expected .npy or .csv."),
        };
        if (sampleShape is null)
        {
            return t;
        }

        long per = 1;
        foreach (int d in sampleShape)
        {
            per *= d;
        }

        int n = t.Dim(0);
        if (per <= 0 || t.Length != n * per)
        {
            throw new ArgumentException($"ArrayFiles: '{path}' holds {t.Length} values in {n} samples ({(n == 0 ? 0 : t.Length / n)} per sample); the model expects samples of shape {Tensor.FormatShape(sampleShape)} ({per} values).");
        }

        return t.Reshape([n, .. sampleShape]);
    }

    /// <summary>Reads a NumPy <c>.npy</c> file.</summary>
    public static Tensor LoadNpy(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(NpyMagic))
        {
            throw new InvalidDataException($"npy '{path}': not a .npy file (missing the \\x93NUMPY magic).");
        }

        int major = bytes[6];
        int headerLength;
        int start;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
            start = 10;
        }
        else if (major is 2 or 3)
        {
            if (bytes.Length < 12)
            {
                throw new InvalidDataException($"npy '{path}': truncated header.");
            }

            uint len = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
            if (len > int.MaxValue)
            {
                throw new InvalidDataException($"npy '{path}': header length {len} is not plausible.");
            }

            headerLength = (int)len;
            start = 12;
        }
        else
        {
            throw new InvalidDataException($"npy '{path}': unsupported format version {major}.{bytes[7]}.");
        }

        if (start + (long)headerLength > bytes.Length)
        {
            throw new InvalidDataException($"npy '{path}': header of {headerLength} bytes runs past the end of the {bytes.Length}-byte file.");
        }

        string header = Encoding.Latin1.GetString(bytes, start, headerLength);
        var (descr, fortran, shape) = new NpyHeader(path, header).Parse();
        if (fortran)
        {
            throw new InvalidDataException($"npy '{path}': Fortran-ordered arrays ('fortran_order': True) are not supported; save with numpy.ascontiguousarray.");
        }

        if (shape.Length == 0)
        {
            shape = [1];
        }

        long elements = 1;
        foreach (int d in shape)
        {
            elements *= d;
            if (elements > Array.MaxLength)
            {
                throw new InvalidDataException($"npy '{path}': shape {Tensor.FormatShape(shape)} holds more values than one tensor can ({Array.MaxLength}).");
            }
        }

        int count = (int)elements;
        char order = descr.Length > 0 ? descr[0] : '?';
        string kind = descr.Length > 1 ? descr[1..] : string.Empty;
        bool bigEndian = order == '>';
        int size = kind switch
        {
            "f4" or "i4" or "u4" => 4,
            "f8" or "i8" or "u8" => 8,
            "i2" or "u2" => 2,
            "i1" or "u1" or "b1" => 1,
            _ => throw new InvalidDataException($"npy '{path}': dtype '{descr}' is not supported; expected float32/64, (u)int8–64 or bool."),
        };
        int data = start + headerLength;
        if ((long)count * size != bytes.Length - data)
        {
            throw new InvalidDataException($"npy '{path}': shape {Tensor.FormatShape(shape)} of '{descr}' needs {(long)count * size} data bytes, the file has {bytes.Length - data}.");
        }

        var t = new Tensor(shape);
        var dst = t.Span;
        var src = bytes.AsSpan(data);
        for (int i = 0; i < count; i++)
        {
            var b = src.Slice(i * size, size);
            dst[i] = kind switch
            {
                "f4" => bigEndian ? BinaryPrimitives.ReadSingleBigEndian(b) : BinaryPrimitives.ReadSingleLittleEndian(b),
                "f8" => (float)(bigEndian ? BinaryPrimitives.ReadDoubleBigEndian(b) : BinaryPrimitives.ReadDoubleLittleEndian(b)),
                "i4" => bigEndian ? BinaryPrimitives.ReadInt32BigEndian(b) : BinaryPrimitives.ReadInt32LittleEndian(b),
                "u4" => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b),
                "i8" => bigEndian ? BinaryPrimitives.ReadInt64BigEndian(b) : BinaryPrimitives.ReadInt64LittleEndian(b),
                "u8" => bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b),
                "i2" => bigEndian ? BinaryPrimitives.ReadInt16BigEndian(b) : BinaryPrimitives.ReadInt16LittleEndian(b),
                "u2" => bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b),
                "i1" => (sbyte)b[0],
                _ => b[0],
            };
        }

        return t;
    }

    /// <summary>Writes a float32 little-endian C-order <c>.npy</c> (format 1.0).</summary>
    public static void SaveNpy(string path, Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        string shape = t.Rank == 1 ? $"({t.Dim(0)},)" : "(" + string.Join(", ", t.ShapeArray) + ")";
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - (total % 64)) % 64) + "\n";
        using var ms = new MemoryStream();
        ms.Write(NpyMagic);
        ms.WriteByte(1);
        ms.WriteByte(0);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        ms.Write(len);
        ms.Write(Encoding.ASCII.GetBytes(header));
        Span<byte> f = stackalloc byte[4];
        foreach (float v in t.Span)
        {
            BinaryPrimitives.WriteSingleLittleEndian(f, v);
            ms.Write(f);
        }

        WriteAtomically(path, ms.ToArray());
    }

    /// <summary>Reads a CSV of numbers: one sample per row, the same number of columns in every row; a first row that is not numeric is a header.</summary>
    public static Tensor LoadCsv(string path)
    {
        // One flat list, not an array per row: memory stays a small multiple of the file's size.
        var values = new List<float>();
        int columns = -1, rows = 0, lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            var line = raw.AsSpan().Trim();
            if (line.IsEmpty)
            {
                continue;
            }

            int before = values.Count;
            bool numeric = true;
            foreach (var range in line.Split(','))
            {
                if (!float.TryParse(line[range].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out float v))
                {
                    numeric = false;
                    break;
                }

                values.Add(v);
            }

            if (!numeric)
            {
                values.RemoveRange(before, values.Count - before);
                if (rows == 0 && lineNumber == 1)
                {
                    continue; // header
                }

                throw new InvalidDataException($"csv '{path}' line {lineNumber}: not a list of numbers: '{Shorten(line.ToString())}'.");
            }

            int count = values.Count - before;
            if (columns >= 0 && count != columns)
            {
                throw new InvalidDataException($"csv '{path}' line {lineNumber}: {count} columns, expected {columns} as in the first row.");
            }

            columns = count;
            rows++;
        }

        if (rows == 0)
        {
            throw new InvalidDataException($"csv '{path}': no rows of numbers.");
        }

        var t = new Tensor(rows, columns);
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values).CopyTo(t.Span);
        return t;
    }

    /// <summary>Writes one sample per row (each sample flattened), atomically.</summary>
    public static void SaveCsv(string path, Tensor t, string? header = null)
    {
        ArgumentNullException.ThrowIfNull(t);
        var sb = new StringBuilder();
        if (header is not null)
        {
            sb.AppendLine(header);
        }

        int n = t.Rank == 0 ? 1 : t.Dim(0);
        int per = n == 0 ? 0 : t.Length / n;
        var s = t.Span;
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < per; c++)
            {
                if (c > 0)
                {
                    sb.Append(',');
                }

                sb.Append(s[(r * per) + c].ToString("R", CultureInfo.InvariantCulture));
            }

            sb.Append('\n');
        }

        WriteAtomically(path, Encoding.UTF8.GetBytes(sb.ToString()));
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.Write(path, file => file.Write(bytes));
    }

    /// <summary>
    /// The header of a .npy file: a Python dict literal with exactly the keys 'descr' (a string),
    /// 'fortran_order' (True or False) and 'shape' (a tuple of non-negative integers), then only
    /// spaces and a newline. Anything else is refused with the position of the problem.
    /// </summary>
    private struct NpyHeader(string path, string text)
    {
        private int at;

        public (string Descr, bool Fortran, int[] Shape) Parse()
        {
            string? descr = null;
            bool? fortran = null;
            int[]? shape = null;
            Skip();
            Expect('{');
            while (true)
            {
                Skip();
                if (Peek() == '}')
                {
                    at++;
                    break;
                }

                string key = ReadString();
                Skip();
                Expect(':');
                Skip();
                switch (key)
                {
                    case "descr" when descr is null: descr = ReadString(); break;
                    case "fortran_order" when fortran is null: fortran = ReadBool(); break;
                    case "shape" when shape is null: shape = ReadShape(); break;
                    case "descr" or "fortran_order" or "shape": throw Fail($"key '{key}' appears twice");
                    default: throw Fail($"unexpected key '{Shorten(key)}' (expected 'descr', 'fortran_order' and 'shape')");
                }

                Skip();
                char c = Peek();
                at++;
                if (c == '}')
                {
                    break;
                }

                if (c != ',')
                {
                    throw Fail($"expected ',' or '}}' after the value of '{key}', found '{c}'", at - 1);
                }
            }

            Skip();
            if (at != text.Length)
            {
                throw Fail("unexpected characters after the dict");
            }

            if (descr is null || fortran is null || shape is null)
            {
                string missing = descr is null ? "descr" : fortran is null ? "fortran_order" : "shape";
                throw Fail($"key '{missing}' is missing");
            }

            return (descr, fortran.Value, shape);
        }

        private readonly char Peek() => at < text.Length ? text[at] : throw Fail("the header ends too early");

        private void Skip()
        {
            while (at < text.Length && text[at] is ' ' or '\t' or '\n' or '\r')
            {
                at++;
            }
        }

        private void Expect(char c)
        {
            if (Peek() != c)
            {
                throw Fail($"expected '{c}', found '{text[at]}'");
            }

            at++;
        }

        private string ReadString()
        {
            char quote = Peek();
            if (quote is not ('\'' or '"'))
            {
                throw Fail($"expected a quoted string, found '{quote}'");
            }

            int end = text.IndexOf(quote, at + 1);
            if (end < 0)
            {
                throw Fail("a string is not closed");
            }

            string value = text[(at + 1)..end];
            at = end + 1;
            return value;
        }

        private bool ReadBool()
        {
            foreach (var (word, value) in new[] { ("True", true), ("False", false) })
            {
                if (string.CompareOrdinal(text, at, word, 0, word.Length) == 0)
                {
                    at += word.Length;
                    return value;
                }
            }

            throw Fail("'fortran_order' must be True or False");
        }

        private int[] ReadShape()
        {
            Expect('(');
            var dims = new List<int>();
            while (true)
            {
                Skip();
                if (Peek() == ')')
                {
                    at++;
                    return dims.ToArray();
                }

                int begin = at;
                while (at < text.Length && char.IsAsciiDigit(text[at]))
                {
                    at++;
                }

                if (at == begin || !int.TryParse(text.AsSpan(begin, at - begin), NumberStyles.None, CultureInfo.InvariantCulture, out int d))
                {
                    throw Fail("'shape' must be a tuple of non-negative integers below 2^31", begin);
                }

                if (at < text.Length && text[at] == 'L')
                {
                    at++; // Python 2's long suffix
                }

                dims.Add(d);
                Skip();
                if (Peek() == ',')
                {
                    at++;
                }
                else if (Peek() != ')')
                {
                    throw Fail($"expected ',' or ')' in 'shape', found '{text[at]}'");
                }
            }
        }

        private readonly InvalidDataException Fail(string problem, int? position = null) =>
            new($"npy '{path}': header {problem} at character {position ?? at}: {Shorten(text)}");
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
