using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using LstmSharp.Tensors;

namespace LstmSharp.Serialization;

/// <summary>
/// Reads and writes the safetensors format (the one of Hugging Face's <c>safetensors</c>
/// library), which the model file is built on.
/// </summary>
/// <remarks>
/// Layout of a file:
/// <code>
/// [8 bytes]  N, unsigned 64-bit little-endian: length of the header
/// [N bytes]  UTF-8 JSON object, padded with spaces so that 8 + N is a multiple of 8:
///            { "__metadata__": { "key": "value", ... },
///              "name": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ... }
/// [rest]     the data buffer: each tensor's bytes, little-endian, row-major, at
///            [begin, end) relative to the buffer's start; tensors tile the buffer exactly
///            (no gap, no overlap, nothing after the last one).
/// </code>
/// Writing is deterministic: tensors are ordered by element size (largest first), then by
/// name (ordinal), as the Python library does, so every tensor starts at an offset that is
/// a multiple of its element size; metadata keys are sorted (ordinal); the JSON is compact.
/// Reading validates everything the Python library validates and a little more
/// (duplicate names, unknown fields, non-string metadata) and reports every problem as a
/// <see cref="ModelFormatException"/> naming the file, the tensor and the problem.
/// </remarks>
public static class SafeTensors
{
    /// <summary>The header key that holds the string → string metadata map.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Largest header accepted (the Python library's limit too).</summary>
    public const int MaxHeaderBytes = 100_000_000;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Keep non-ASCII and characters like '<' readable in the embedded architecture JSON;
        // quotes, backslashes and control characters are still escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <summary>Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically.</summary>
    /// <remarks>
    /// The bytes go to a temporary file <c>.NAME.lstmsharp-save-PID-GUID.tmp</c> in the same
    /// folder, are flushed to the disk, the temporary file is renamed over <paramref name="path"/>
    /// and the folder is flushed: a crash or an exception during the save leaves any previous
    /// file untouched. The temporary file is removed on exception, and one left by a killed
    /// process is removed by the next save to the same path.
    /// </remarks>
    public static void Save(string path, IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Save(path, tensors, metadata, wrapStream: null);

    /// <summary>Writes float32 tensors (as F32) by name; see <see cref="Save(string, IEnumerable{SafeTensor}, IReadOnlyDictionary{string, string}?)"/>.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Save(path, tensors.Select(kv => SafeTensor.FromTensor(kv.Key, kv.Value)).ToList(), metadata);
    }

    /// <summary>The bytes of a safetensors file holding <paramref name="tensors"/> and <paramref name="metadata"/>.</summary>
    public static byte[] Serialize(IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var plan = Prepare(tensors, metadata);
        long total = 8L + plan.Header.Length + plan.DataLength;
        if (total > Array.MaxLength)
        {
            throw new ArgumentException($"SafeTensors.Serialize: {total} bytes do not fit in one array; use Save or Write to a stream.", nameof(tensors));
        }

        var stream = new MemoryStream((int)total);
        WritePlan(stream, plan);
        return stream.ToArray();
    }

    /// <summary>Writes a safetensors file to <paramref name="stream"/> (not atomic; see <c>Save</c>).</summary>
    public static void Write(Stream stream, IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WritePlan(stream, Prepare(tensors, metadata));
    }

    /// <summary>Reads and validates the safetensors file at <paramref name="path"/>.</summary>
    public static SafeTensorsFile Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return Load(stream, path);
    }

    /// <summary>Reads and validates a safetensors file from the current position of <paramref name="stream"/> to its end.</summary>
    public static SafeTensorsFile Load(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] bytes;
        if (stream.CanSeek)
        {
            long remaining = stream.Length - stream.Position;
            if (remaining > Array.MaxLength)
            {
                throw new ModelFormatException(sourceName, null, $"the file is {remaining} bytes; files above {Array.MaxLength} bytes are not supported.");
            }

            bytes = new byte[remaining];
            int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            if (read != bytes.Length)
            {
                throw new ModelFormatException(sourceName, null, $"the file ended after {read} of {bytes.Length} bytes while reading.");
            }
        }
        else
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            bytes = copy.ToArray();
        }

        return Parse(bytes, sourceName);
    }

    /// <summary>
    /// Validates and decodes the bytes of a whole safetensors file. The returned tensors share
    /// <paramref name="file"/>'s memory.
    /// </summary>
    /// <param name="file">The file's bytes.</param>
    /// <param name="sourceName">Named in error messages (a path, or a description of the source).</param>
    /// <exception cref="ModelFormatException">The bytes do not follow the format.</exception>
    public static SafeTensorsFile Parse(ReadOnlyMemory<byte> file, string? sourceName = null)
    {
        var span = file.Span;
        int headerLength = CheckHeaderLength(span, span.Length, sourceName);
        var header = file.Slice(8, headerLength);
        var data = file[(8 + headerLength)..];
        var (entries, metadata) = DecodeHeader(header, data.Length, sourceName);
        var tensors = new SafeTensor[entries.Count];
        for (int i = 0; i < tensors.Length; i++)
        {
            var e = entries[i];
            tensors[i] = new SafeTensor(e.Name, e.DType, e.Shape, data[(int)e.Begin..(int)e.End]);
        }

        return new SafeTensorsFile(sourceName, tensors, metadata);
    }

    /// <summary>
    /// Reads and validates only the header of the safetensors file in <paramref name="stream"/>
    /// (seekable, positioned at the file's start): the tensors' places, checked against the
    /// stream's length, and the metadata. The caller reads each tensor's bytes where it needs them
    /// (<see cref="FileLayout.DataStart"/> + <see cref="FileEntry.Begin"/>), so loading a model
    /// never holds the whole file in memory.
    /// </summary>
    internal static FileLayout ReadLayout(Stream stream, string? sourceName)
    {
        long length = stream.Length;
        Span<byte> prefix = stackalloc byte[8];
        int got = stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
        int headerLength = CheckHeaderLength(prefix[..got], length, sourceName);
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + headerLength;
        var (entries, metadata) = DecodeHeader(header, length - dataStart, sourceName);
        return new FileLayout(entries, metadata, dataStart);
    }

    /// <summary>The header length from the 8-byte prefix, checked against the limit and the file's <paramref name="fileLength"/>.</summary>
    private static int CheckHeaderLength(ReadOnlySpan<byte> prefix, long fileLength, string? sourceName)
    {
        if (prefix.Length < 8 || fileLength < 8)
        {
            throw Fail(sourceName, null, $"the file is {Math.Min(prefix.Length, fileLength)} bytes, shorter than the 8-byte header length prefix.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength == 0)
        {
            throw Fail(sourceName, null, "the header length is 0; an empty header is at least '{}'.");
        }

        if (headerLength > MaxHeaderBytes)
        {
            throw Fail(sourceName, null, $"the header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes.");
        }

        if (headerLength > (ulong)(fileLength - 8))
        {
            throw Fail(sourceName, null, $"the header length {headerLength} exceeds the {fileLength - 8} bytes that follow the length prefix.");
        }

        return (int)headerLength;
    }

    private static (List<FileEntry> Entries, Dictionary<string, string> Metadata) DecodeHeader(ReadOnlyMemory<byte> header, long dataLength, string? sourceName)
    {
        if (!Utf8.IsValid(header.Span))
        {
            throw Fail(sourceName, null, "the header is not valid UTF-8.");
        }

        if (header.Span[0] != (byte)'{')
        {
            throw Fail(sourceName, null, $"the header must be a JSON object starting with '{{', it starts with byte 0x{header.Span[0]:X2}.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(sourceName, null, $"the header is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            try
            {
                return Decode(document.RootElement, dataLength, sourceName);
            }
            catch (InvalidOperationException e)
            {
                // System.Text.Json accepts escapes like "\uD800" while parsing but refuses to turn a
                // lone surrogate into a .NET string.
                throw new ModelFormatException(sourceName, null, $"the header holds a string that is not valid Unicode: {e.Message}", e);
            }
        }
    }

    /// <summary>Parses a safetensors file held in an array.</summary>
    public static SafeTensorsFile Parse(byte[] file, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        return Parse(file.AsMemory(), sourceName);
    }

    internal static void Save(string path, IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata, Func<Stream, Stream>? wrapStream)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);

        // Validate and lay out before touching the disk: bad input never creates a file.
        var plan = Prepare(tensors, metadata);
        AtomicFile.Write(path, file =>
        {
            var target = wrapStream is null ? file : wrapStream(file);
            WritePlan(target, plan);
            target.Flush();
        });
    }

    private static (List<FileEntry> Entries, Dictionary<string, string> Metadata) Decode(JsonElement root, long dataLength, string? source)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var entries = new List<FileEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            string name = property.Name;
            if (!seen.Add(name))
            {
                throw Fail(source, name == MetadataKey ? null : name, name == MetadataKey ? $"'{MetadataKey}' appears twice in the header." : "the name appears twice in the header.");
            }

            if (name == MetadataKey)
            {
                ReadMetadata(property.Value, metadata, source);
            }
            else
            {
                entries.Add(ReadEntry(name, property.Value, dataLength, source));
            }
        }

        // The entries must tile the data buffer exactly, like the Python library demands.
        entries.Sort(static (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        FileEntry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin > expected)
            {
                throw Fail(source, e.Name, $"data_offsets [{e.Begin}, {e.End}] leave bytes [{expected}, {e.Begin}) of the data buffer unused (a gap before this tensor).");
            }

            if (e.Begin < expected)
            {
                throw Fail(source, e.Name, $"data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Value.Name}' at [{previous.Value.Begin}, {previous.Value.End}].");
            }

            expected = e.End;
            previous = e;
        }

        if (expected != dataLength)
        {
            throw Fail(source, null, $"the data buffer has {dataLength - expected} unused bytes after the last tensor (tensors end at {expected}, the buffer holds {dataLength}).");
        }

        return (entries, metadata);
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string? source)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(source, null, $"'{MetadataKey}' is a JSON {Kind(value)}, expected an object of strings.");
        }

        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw Fail(source, null, $"'{MetadataKey}' value of key '{item.Name}' is a JSON {Kind(item.Value)}, expected a string.");
            }

            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
            {
                throw Fail(source, null, $"'{MetadataKey}' key '{item.Name}' appears twice.");
            }
        }
    }

    private static FileEntry ReadEntry(string name, JsonElement value, long dataLength, string? source)
    {
        if (name.Length == 0)
        {
            throw Fail(source, name, "a tensor name must not be empty.");
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(source, name, $"the entry is a JSON {Kind(value)}, expected an object with dtype, shape and data_offsets.");
        }

        JsonElement? dtypeValue = null, shapeValue = null, offsetsValue = null;
        foreach (var field in value.EnumerateObject())
        {
            ref JsonElement? slot = ref dtypeValue;
            switch (field.Name)
            {
                case "dtype": slot = ref dtypeValue; break;
                case "shape": slot = ref shapeValue; break;
                case "data_offsets": slot = ref offsetsValue; break;
                default: throw Fail(source, name, $"unknown field '{field.Name}' (expected dtype, shape and data_offsets).");
            }

            if (slot is not null)
            {
                throw Fail(source, name, $"field '{field.Name}' appears twice.");
            }

            slot = field.Value;
        }

        if (dtypeValue is not { } dt || shapeValue is not { } sh || offsetsValue is not { } off)
        {
            string missing = dtypeValue is null ? "dtype" : shapeValue is null ? "shape" : "data_offsets";
            throw Fail(source, name, $"the field '{missing}' is missing.");
        }

        if (dt.ValueKind != JsonValueKind.String)
        {
            throw Fail(source, name, $"dtype is a JSON {Kind(dt)}, expected a string such as \"F32\".");
        }

        string dtypeText = dt.GetString()!;
        if (!SafeTensorDTypes.TryParse(dtypeText, out var dtype))
        {
            throw Fail(source, name, $"unknown or unsupported dtype '{dtypeText}' (supported: {string.Join(", ", Enum.GetValues<SafeTensorDType>().Select(d => d.FileName()))}).");
        }

        if (sh.ValueKind != JsonValueKind.Array)
        {
            throw Fail(source, name, $"shape is a JSON {Kind(sh)}, expected an array of non-negative integers.");
        }

        var shape = new int[sh.GetArrayLength()];
        int axis = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long size) || size < 0)
            {
                throw Fail(source, name, $"shape[{axis}] is {Truncate(d.GetRawText())}, expected a non-negative integer.");
            }

            if (size > int.MaxValue)
            {
                throw Fail(source, name, $"shape[{axis}] is {size}, above the largest supported dimension {int.MaxValue}.");
            }

            shape[axis++] = (int)size;
        }

        if (off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
        {
            throw Fail(source, name, $"data_offsets is {Truncate(off.GetRawText())}, expected [begin, end].");
        }

        var bounds = new long[2];
        for (int i = 0; i < 2; i++)
        {
            var b = off[i];
            if (b.ValueKind != JsonValueKind.Number || !b.TryGetInt64(out bounds[i]) || bounds[i] < 0)
            {
                throw Fail(source, name, $"data_offsets[{i}] is {Truncate(b.GetRawText())}, expected a non-negative integer.");
            }
        }

        long begin = bounds[0], end = bounds[1];
        if (end < begin)
        {
            throw Fail(source, name, $"data_offsets [{begin}, {end}] end before they begin.");
        }

        if (end > dataLength)
        {
            throw Fail(source, name, $"data_offsets [{begin}, {end}] reach beyond the data buffer of {dataLength} bytes.");
        }

        long bytes;
        try
        {
            long count = 1;
            foreach (int d in shape)
            {
                count = checked(count * d);
            }

            bytes = checked(count * dtype.SizeOf());
        }
        catch (OverflowException)
        {
            throw Fail(source, name, $"shape {Tensor.FormatShape(shape)} of {dtype.FileName()} overflows a 64-bit byte count.");
        }

        if (end - begin != bytes)
        {
            throw Fail(source, name, $"data_offsets [{begin}, {end}] hold {end - begin} bytes, {dtype.FileName()} {Tensor.FormatShape(shape)} needs {bytes}.");
        }

        return new FileEntry(name, dtype, shape, begin, end);
    }

    private static Plan Prepare(IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = new List<SafeTensor>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (t is null)
            {
                throw new ArgumentException("SafeTensors: the tensor list contains null.", nameof(tensors));
            }

            if (!names.Add(t.Name))
            {
                throw new ArgumentException($"SafeTensors: two tensors are named '{t.Name}'.", nameof(tensors));
            }

            list.Add(t);
        }

        list.Sort(static (a, b) =>
        {
            int bySize = b.DType.SizeOf().CompareTo(a.DType.SizeOf());
            return bySize != 0 ? bySize : string.CompareOrdinal(a.Name, b.Name);
        });

        var buffer = new ArrayBufferWriter<byte>();
        long offset = 0;
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var key in metadata.Keys.OrderBy(k => k, StringComparer.Ordinal))
                {
                    string value = metadata[key] ?? throw new ArgumentException($"SafeTensors: metadata value of key '{key}' is null.", nameof(metadata));
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            foreach (var t in list)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.FileName());
                json.WriteStartArray("shape");
                foreach (int d in t.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += t.Data.Length;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        int padding = (8 - (buffer.WrittenCount % 8)) % 8;
        long headerLength = (long)buffer.WrittenCount + padding;
        if (headerLength > MaxHeaderBytes)
        {
            throw new ArgumentException($"SafeTensors: the header would be {headerLength} bytes, above the format's limit of {MaxHeaderBytes}.", nameof(tensors));
        }

        var header = new byte[headerLength];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return new Plan(header, list, offset);
    }

    private static void WritePlan(Stream stream, Plan plan)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)plan.Header.Length);
        stream.Write(prefix);
        stream.Write(plan.Header);
        foreach (var t in plan.Tensors)
        {
            stream.Write(t.Data.Span);
        }
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "value",
    };

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..60] + "...";

    private static ModelFormatException Fail(string? source, string? tensor, string problem) => new(source, tensor, problem);

    /// <summary>One tensor of a file: its bytes are [<see cref="Begin"/>, <see cref="End"/>) of the data buffer.</summary>
    internal readonly record struct FileEntry(string Name, SafeTensorDType DType, int[] Shape, long Begin, long End)
    {
        public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
    }

    /// <summary>A validated header: the entries in data order, the metadata, and where the data buffer starts in the file.</summary>
    internal sealed record FileLayout(IReadOnlyList<FileEntry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart);

    private sealed record Plan(byte[] Header, List<SafeTensor> Tensors, long DataLength);
}
