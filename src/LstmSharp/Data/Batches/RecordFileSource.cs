using System.Buffers.Binary;
using LstmSharp.Tensors;

namespace LstmSharp.Data.Batches;

/// <summary>
/// Streams fixed-size float32 records from a file too large for memory: each record is an
/// input of shape <c>inputShape</c> followed by a target of shape <c>targetShape</c>, stored
/// little-endian with nothing between records (what <c>numpy.ndarray.tofile</c> writes for a
/// float32 array of rows). Reads sequentially, one batch at a time: what it holds is one
/// batch's read buffer (<see cref="BufferBytes"/>), whatever the file's size.
/// </summary>
public sealed class RecordFileSource : IBatchSource
{
    private readonly int[] inputShape;
    private readonly int[] targetShape;
    private readonly int inputLength;
    private readonly int targetLength;
    private readonly int batchSize;
    private readonly long recordCount;

    public RecordFileSource(string path, int[] inputShape, int[] targetShape, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(inputShape);
        ArgumentNullException.ThrowIfNull(targetShape);
        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"RecordFileSource: batchSize must be positive, got {batchSize}.");
        }

        if (inputShape.Any(d => d <= 0) || targetShape.Any(d => d <= 0))
        {
            throw new ArgumentException($"RecordFileSource: shapes must have positive dimensions, got input {Tensor.FormatShape(inputShape)} and target {Tensor.FormatShape(targetShape)}.");
        }

        Path = path;
        this.inputShape = (int[])inputShape.Clone();
        this.targetShape = (int[])targetShape.Clone();
        inputLength = checked(inputShape.Aggregate(1, (a, b) => a * b));
        targetLength = checked(targetShape.Aggregate(1, (a, b) => a * b));
        this.batchSize = batchSize;
        long bytes = new FileInfo(path).Length;
        long recordBytes = (long)(inputLength + targetLength) * sizeof(float);
        if (bytes == 0 || bytes % recordBytes != 0)
        {
            throw new InvalidDataException($"{path}: {bytes} bytes is not a positive whole number of records of {recordBytes} bytes (input {Tensor.FormatShape(inputShape)} + target {Tensor.FormatShape(targetShape)} float32).");
        }

        recordCount = bytes / recordBytes;
        checked
        {
            BufferBytes = (int)(batchSize * recordBytes);
        }
    }

    public string Path { get; }

    public long RecordCount => recordCount;

    /// <summary>Bytes of the read buffer: what the source itself holds while streaming.</summary>
    public int BufferBytes { get; }

    public int? BatchCount => (int)((recordCount + batchSize - 1) / batchSize);

    public IEnumerable<Batch> ReadEpoch(int epoch)
    {
        using var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var buffer = new byte[BufferBytes];
        int recordBytes = (inputLength + targetLength) * sizeof(float);
        for (long done = 0; done < recordCount; done += batchSize)
        {
            int count = (int)Math.Min(batchSize, recordCount - done);
            var bytes = buffer.AsSpan(0, count * recordBytes);
            file.ReadExactly(bytes);
            var x = new Tensor([count, .. inputShape]);
            var y = new Tensor([count, .. targetShape]);
            var xs = x.Span;
            var ys = y.Span;
            for (int r = 0; r < count; r++)
            {
                var record = bytes.Slice(r * recordBytes, recordBytes);
                for (int i = 0; i < inputLength; i++)
                {
                    xs[(r * inputLength) + i] = BinaryPrimitives.ReadSingleLittleEndian(record.Slice(i * sizeof(float)));
                }

                for (int i = 0; i < targetLength; i++)
                {
                    ys[(r * targetLength) + i] = BinaryPrimitives.ReadSingleLittleEndian(record.Slice((inputLength + i) * sizeof(float)));
                }
            }

            yield return new Batch(x, y);
        }
    }
}
