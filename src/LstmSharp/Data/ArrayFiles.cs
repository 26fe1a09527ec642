using System.Buffers.Binary;
using System.Globalization;
using System.Text;
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

        string header = Encoding.UTF8.GetString(bytes, start, headerLength);
        string descr = HeaderValue(path, header, "descr").Trim('\'', '"');
        string fortran = HeaderValue(path, header, "fortran_order");
        string shapeText = HeaderValue(path, header, "shape");
        if (fortran.StartsWith("True", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"npy '{path}': Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray.");
        }

        int[] shape = ParseShape(path, shapeText);
        if (shape.Length == 0)
        {
            shape = [1];
        }

        int count = Tensor.CheckedLength(shape);
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
        var rows = new List<float[]>();
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            string[] fields = line.Split(',');
            var values = new float[fields.Length];
            bool numeric = true;
            for (int i = 0; i < fields.Length && numeric; i++)
            {
                numeric = float.TryParse(fields[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]);
            }

            if (!numeric)
            {
                if (rows.Count == 0 && lineNumber == 1)
                {
                    continue; // header
                }

                throw new InvalidDataException($"csv '{path}' line {lineNumber}: not a list of numbers: '{Shorten(line)}'.");
            }

            if (rows.Count > 0 && values.Length != rows[0].Length)
            {
                throw new InvalidDataException($"csv '{path}' line {lineNumber}: {values.Length} columns, expected {rows[0].Length} as in the first row.");
            }

            rows.Add(values);
        }

        if (rows.Count == 0)
        {
            throw new InvalidDataException($"csv '{path}': no rows of numbers.");
        }

        var t = new Tensor(rows.Count, rows[0].Length);
        for (int r = 0; r < rows.Count; r++)
        {
            rows[r].CopyTo(t.Span.Slice(r * rows[0].Length, rows[0].Length));
        }

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
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                fs.Write(bytes);
                fs.Flush(true);
            }

            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
            {
                File.Delete(tmp);
            }
        }
    }

    private static string HeaderValue(string path, string header, string key)
    {
        int k = header.IndexOf($"'{key}'", StringComparison.Ordinal);
        if (k < 0)
        {
            throw new InvalidDataException($"npy '{path}': header lacks '{key}': {Shorten(header)}");
        }

        int colon = header.IndexOf(':', k);
        int i = colon + 1;
        while (i < header.Length && header[i] == ' ')
        {
            i++;
        }

        int end = header[i] == '(' ? header.IndexOf(')', i) + 1 : header.IndexOfAny([',', '}'], i);
        if (colon < 0 || end <= i)
        {
            throw new InvalidDataException($"npy '{path}': cannot read '{key}' in header {Shorten(header)}");
        }

        return header[i..end].Trim();
    }

    private static int[] ParseShape(string path, string text)
    {
        string inner = text.Trim().TrimStart('(').TrimEnd(')');
        var dims = new List<int>();
        foreach (string part in inner.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out int d))
            {
                throw new InvalidDataException($"npy '{path}': shape '{text}' is not a tuple of non-negative integers.");
            }

            dims.Add(d);
        }

        return dims.ToArray();
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
