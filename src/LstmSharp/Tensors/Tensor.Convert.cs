using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LstmSharp.Tensors;

/// <summary>Conversions between tensors and .NET arrays (each copies: the tensor never aliases the caller's array).</summary>
public sealed partial class Tensor
{
    /// <summary>A copy of <paramref name="values"/> with the given shape (product of the shape = length).</summary>
    public static Tensor From(ReadOnlySpan<float> values, params int[] shape)
    {
        var t = new Tensor(shape);
        if (values.Length != t.Length)
        {
            throw new ArgumentException($"Tensor.From: {values.Length} values do not fill shape {FormatShape(shape)} ({t.Length} elements).", nameof(values));
        }

        values.CopyTo(t.Span);
        return t;
    }

    /// <summary>A vector <c>[n]</c>.</summary>
    public static Tensor From(float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return From(values, values.Length);
    }

    /// <summary>A matrix <c>[rows, columns]</c>, e.g. a series <c>[time, features]</c>.</summary>
    public static Tensor From(float[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return From(Flat(values), values.GetLength(0), values.GetLength(1));
    }

    /// <summary>A rank-3 tensor, e.g. sequences <c>[batch, time, features]</c>.</summary>
    public static Tensor From(float[,,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return From(Flat(values), values.GetLength(0), values.GetLength(1), values.GetLength(2));
    }

    /// <summary>Rows of equal length as <c>[rows, length]</c>; a ragged row is an error naming it.</summary>
    public static Tensor From(float[][] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return From((IEnumerable<float[]>)rows);
    }

    /// <summary>Rows of equal length as <c>[rows, length]</c>, read once (a stream of rows is fine).</summary>
    public static Tensor From(IEnumerable<float[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var data = new List<float>();
        int width = -1, count = 0;
        foreach (var row in rows)
        {
            if (row is null)
            {
                throw new ArgumentException($"Tensor.From: row {count} is null.", nameof(rows));
            }

            if (width >= 0 && row.Length != width)
            {
                throw new ArgumentException($"Tensor.From: row {count} has {row.Length} values; expected {width} like row 0 (rows must not be ragged).", nameof(rows));
            }

            width = row.Length;
            data.AddRange(row);
            count++;
        }

        return From(CollectionsMarshal.AsSpan(data), count, Math.Max(width, 0));
    }

    /// <summary>Sequences of equal shape <c>[time][features]</c> as <c>[batch, time, features]</c>.</summary>
    public static Tensor From(float[][][] sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        int time = sequences.Length == 0 ? 0 : sequences[0].Length;
        int features = time == 0 ? 0 : sequences[0][0].Length;
        var t = new Tensor(sequences.Length, time, features);
        for (int b = 0; b < sequences.Length; b++)
        {
            if (sequences[b].Length != time)
            {
                throw new ArgumentException($"Tensor.From: sequence {b} has {sequences[b].Length} steps; expected {time} like sequence 0.", nameof(sequences));
            }

            for (int s = 0; s < time; s++)
            {
                if (sequences[b][s].Length != features)
                {
                    throw new ArgumentException($"Tensor.From: sequence {b} step {s} has {sequences[b][s].Length} features; expected {features}.", nameof(sequences));
                }

                sequences[b][s].CopyTo(t.Span.Slice(((b * time) + s) * features, features));
            }
        }

        return t;
    }

    /// <summary>A copy as <c>float[rows, columns]</c>; the tensor must have rank 2.</summary>
    public float[,] ToArray2D()
    {
        RequireRank(2, nameof(ToArray2D));
        var a = new float[shape[0], shape[1]];
        Span.CopyTo(Flat(a));
        return a;
    }

    /// <summary>A copy as <c>float[d0, d1, d2]</c>; the tensor must have rank 3.</summary>
    public float[,,] ToArray3D()
    {
        RequireRank(3, nameof(ToArray3D));
        var a = new float[shape[0], shape[1], shape[2]];
        Span.CopyTo(Flat(a));
        return a;
    }

    /// <summary>A copy as jagged rows (rank 2: <c>[rows][columns]</c>).</summary>
    public float[][] ToJagged()
    {
        RequireRank(2, nameof(ToJagged));
        var rows = new float[shape[0]][];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = Span.Slice(i * shape[1], shape[1]).ToArray();
        }

        return rows;
    }

    /// <summary>Index of the largest value along the last axis for every row (ties: the first), e.g. class ids from probabilities.</summary>
    public int[] ArgMax()
    {
        if (Rank == 0 || shape[^1] == 0)
        {
            throw new InvalidOperationException($"Tensor.ArgMax: needs a non-empty last axis, got shape {FormatShape(shape)}.");
        }

        int width = shape[^1];
        var result = new int[Length / width];
        var s = Span;
        for (int r = 0; r < result.Length; r++)
        {
            var row = s.Slice(r * width, width);
            int best = 0;
            for (int i = 1; i < width; i++)
            {
                if (row[i] > row[best])
                {
                    best = i;
                }
            }

            result[r] = best;
        }

        return result;
    }

    private void RequireRank(int rank, string method)
    {
        if (Rank != rank)
        {
            throw new InvalidOperationException($"Tensor.{method}: needs a rank-{rank} tensor, got shape {FormatShape(shape)}.");
        }
    }

    private static Span<float> Flat(Array a) =>
        MemoryMarshal.CreateSpan(ref Unsafe.As<byte, float>(ref MemoryMarshal.GetArrayDataReference(a)), a.Length);
}
