using System.Runtime.CompilerServices;
using System.Text;

namespace LstmSharp.Tensors;

/// <summary>
/// A dense float32 tensor in row-major (C) order. The elements live in <see cref="Data"/>
/// from <see cref="Offset"/> on, contiguously: a view (reshape, a slice along the first axis)
/// shares the array and never copies.
/// </summary>
/// <remarks>
/// Shapes follow Keras: sequences are <c>[batch, time, features]</c>.
/// A tensor taking part in training carries a gradient buffer (<see cref="Grad"/>) of the same
/// shape, created lazily by the autograd tape.
/// </remarks>
public sealed partial class Tensor
{
    private readonly int[] shape;

    /// <summary>Backing storage, shared between views.</summary>
    public float[] Data { get; }

    /// <summary>Index in <see cref="Data"/> of the first element.</summary>
    public int Offset { get; }

    /// <summary>Number of elements (product of the shape).</summary>
    public int Length { get; }

    /// <summary>Gradient of the loss with respect to this tensor (same shape), or null.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>True when gradients flow into this tensor (parameters and values computed from them).</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>An optional name, used in error messages and by the anomaly check.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// Set by the embedding op on its output: the table and rows this tensor was looked up from,
    /// so a recurrent layer reading it can project the table instead (views never carry it).
    /// </summary>
    internal TableLookup? LookedUpFrom { get; set; }

    public Tensor(params int[] shape)
        : this(new float[CheckedLength(shape)], 0, shape)
    {
    }

    public Tensor(float[] data, params int[] shape)
        : this(CheckData(data, shape), 0, shape)
    {
    }

    private Tensor(float[] data, int offset, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        this.shape = (int[])shape.Clone();
        Length = CheckedLength(shape);
        if (offset < 0 || offset + Length > data.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Tensor: view [{offset}, {offset + Length}) lies outside storage of {data.Length} elements.");
        }

        Data = data;
        Offset = offset;
    }

    /// <summary>The shape; do not modify the returned span.</summary>
    public ReadOnlySpan<int> Shape => shape;

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray => (int[])shape.Clone();

    public int Rank => shape.Length;

    /// <summary>Size of dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Dim(int axis) => shape[axis < 0 ? shape.Length + axis : axis];

    /// <summary>The elements as a span.</summary>
    public Span<float> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Data.AsSpan(Offset, Length);
    }

    public ref float this[int i0]
    {
        get
        {
            CheckRank(1);
            return ref Data[Offset + CheckIndex(i0, 0)];
        }
    }

    public ref float this[int i0, int i1]
    {
        get
        {
            CheckRank(2);
            return ref Data[Offset + (CheckIndex(i0, 0) * shape[1]) + CheckIndex(i1, 1)];
        }
    }

    public ref float this[int i0, int i1, int i2]
    {
        get
        {
            CheckRank(3);
            return ref Data[Offset + (((CheckIndex(i0, 0) * shape[1]) + CheckIndex(i1, 1)) * shape[2]) + CheckIndex(i2, 2)];
        }
    }

    /// <summary>Element at a full index of any rank.</summary>
    public ref float At(params int[] index)
    {
        CheckRank(index.Length);
        int flat = 0;
        for (int d = 0; d < index.Length; d++)
        {
            flat = (flat * shape[d]) + CheckIndex(index[d], d);
        }

        return ref Data[Offset + flat];
    }

    /// <summary>A view with another shape and the same elements. One dimension may be -1 (inferred).</summary>
    public Tensor Reshape(params int[] newShape)
    {
        var resolved = ResolveShape(newShape, Length);
        return new Tensor(Data, Offset, resolved);
    }

    /// <summary>A view of rows <c>[start, start + count)</c> along the first axis.</summary>
    public Tensor Slice(int start, int count)
    {
        if (Rank == 0)
        {
            throw new InvalidOperationException("Tensor.Slice: a scalar has no first axis.");
        }

        if (start < 0 || count < 0 || start + count > shape[0])
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Tensor.Slice: rows [{start}, {start + count}) outside first axis of size {shape[0]} (shape {FormatShape(shape)}).");
        }

        int rowSize = shape[0] == 0 ? 0 : Length / shape[0];
        var s = (int[])shape.Clone();
        s[0] = count;
        return new Tensor(Data, Offset + (start * rowSize), s);
    }

    /// <summary>A new tensor (own storage) of the rows <paramref name="rows"/> of the first axis, in that order: a shuffled batch.</summary>
    internal Tensor GatherRows(ReadOnlySpan<int> rows)
    {
        var s = ShapeArray;
        int row = s[0] == 0 ? 0 : Length / s[0];
        s[0] = rows.Length;
        var batch = new Tensor(s);
        var src = Span;
        var dst = batch.Span;
        for (int i = 0; i < rows.Length; i++)
        {
            src.Slice(rows[i] * row, row).CopyTo(dst.Slice(i * row, row));
        }

        return batch;
    }

    /// <summary>A view of row <paramref name="index"/> of the first axis, with that axis removed.</summary>
    public Tensor Row(int index)
    {
        var slice = Slice(index, 1);
        return new Tensor(Data, slice.Offset, shape[1..]);
    }

    /// <summary>A deep copy with its own storage (no gradient).</summary>
    public Tensor Clone()
    {
        var t = new Tensor(shape);
        Span.CopyTo(t.Span);
        t.Name = Name;
        return t;
    }

    public void Fill(float value) => Span.Fill(value);

    public void Clear() => Span.Clear();

    public float[] ToArray() => Span.ToArray();

    /// <summary>The gradient buffer, created (zeroed) on first use.</summary>
    public Tensor EnsureGrad() => Grad ??= new Tensor(shape);

    public bool SameShape(Tensor other) => Shape.SequenceEqual(other.Shape);

    public bool SameShape(ReadOnlySpan<int> other) => Shape.SequenceEqual(other);

    public static Tensor Zeros(params int[] shape) => new(shape);

    public static Tensor Full(float value, params int[] shape)
    {
        var t = new Tensor(shape);
        t.Fill(value);
        return t;
    }

    public static Tensor Scalar(float value) => new(new[] { value }, Array.Empty<int>());

    public static Tensor FromArray(float[] data, params int[] shape) => new(data, shape);

    /// <summary>Shape in Keras's style, e.g. <c>[32, 28, 128]</c>.</summary>
    public static string FormatShape(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(shape[i] < 0 ? "*" : shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return sb.Append(']').ToString();
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("Tensor").Append(FormatShape(shape));
        if (Name is not null)
        {
            sb.Append(" '").Append(Name).Append('\'');
        }

        sb.Append(" {");
        int n = Math.Min(Length, 8);
        for (int i = 0; i < n; i++)
        {
            sb.Append(i == 0 ? " " : ", ").Append(Data[Offset + i].ToString("G6", System.Globalization.CultureInfo.InvariantCulture));
        }

        if (Length > n)
        {
            sb.Append(", ...");
        }

        return sb.Append(" }").ToString();
    }

    private static float[] CheckData(float[] data, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        int n = CheckedLength(shape);
        if (data.Length != n)
        {
            throw new ArgumentException($"Tensor: data has {data.Length} elements, shape {FormatShape(shape)} needs {n}.", nameof(data));
        }

        return data;
    }

    internal static int CheckedLength(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Tensor: negative dimension in shape {FormatShape(shape)}.");
            }

            n *= d;
            if (n > Array.MaxLength)
            {
                throw new ArgumentException($"Tensor: shape {FormatShape(shape)} has more elements than an array can hold.");
            }
        }

        return (int)n;
    }

    private static int[] ResolveShape(int[] newShape, int length)
    {
        var s = (int[])newShape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1)
            {
                if (infer >= 0)
                {
                    throw new ArgumentException($"Tensor.Reshape: more than one -1 in {FormatShape(newShape)}.");
                }

                infer = i;
            }
            else if (s[i] < 0)
            {
                throw new ArgumentException($"Tensor.Reshape: invalid dimension {s[i]} in {FormatShape(newShape)}.");
            }
            else
            {
                known *= s[i];
            }
        }

        if (infer >= 0)
        {
            if (known == 0 || length % known != 0)
            {
                throw new ArgumentException($"Tensor.Reshape: cannot infer -1 in {FormatShape(newShape)} for {length} elements.");
            }

            s[infer] = (int)(length / known);
            known *= s[infer];
        }

        if (known != length)
        {
            throw new ArgumentException($"Tensor.Reshape: shape {FormatShape(newShape)} has {known} elements, tensor has {length}.");
        }

        return s;
    }

    private void CheckRank(int rank)
    {
        if (shape.Length != rank)
        {
            throw new ArgumentException($"Tensor: indexed with {rank} indices, tensor has rank {shape.Length} (shape {FormatShape(shape)}).");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int CheckIndex(int i, int axis)
    {
        if ((uint)i >= (uint)shape[axis])
        {
            throw new IndexOutOfRangeException($"Tensor: index {i} out of range for axis {axis} of size {shape[axis]} (shape {FormatShape(shape)}).");
        }

        return i;
    }
}

/// <summary>Where an embedding output came from: row i of the output is <c>Table[Rows[i]]</c>.</summary>
internal sealed record TableLookup(Tensor Table, int[] Rows);
