using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The input projection of a recurrent layer whose input is an embedding lookup,
/// x[r] = E[tokens[r]], done through the table instead of the looked-up sequence:
/// <code>
/// forward:  P = E·W + b  [vocab, G·units];   z[r] = P[tokens[r]]
/// backward: S = Σ_r onehot(tokens[r])ᵀ·dz[r]  [vocab, G·units] (dz rows scattered by token)
///           dW += Eᵀ·S,   db += Σ_v S[v],   dE += S·Wᵀ
/// </code>
/// which equals z = x·W + b, dW += xᵀ·dz, db += Σ_r dz[r] and dE += scatter(dz·Wᵀ) up to
/// float rounding, and pays when the vocabulary is no larger than batch·time: the products
/// run over vocab rows instead of batch·time rows, and dx is never formed.
/// </summary>
/// <remarks>
/// Results do not depend on the thread count: the gather copies rows; the scatter gives each
/// thread a range of vocabulary rows, and every row of S sums its dz rows in row order.
/// </remarks>
internal static class TokenProjection
{
    /// <summary>
    /// Whether a recurrent layer should read its input through the table: the vocabulary is at
    /// most the number of rows (batch·time), so the table-sized products cost no more than the
    /// sequence-sized ones they replace.
    /// </summary>
    public static bool Pays(int vocab, int rows) => vocab > 0 && vocab <= rows;

    /// <summary>Checks the tokens and the table of <paramref name="run"/> (the run has tokens).</summary>
    public static void Validate(string owner, in SequenceRun run)
    {
        SequenceRun.CheckLength(owner, "tokens", run.Tokens.Length, false, run.Batch, run.Time);
        if (run.TokenTable.Length == 0 || run.TokenTable.Length % run.InputSize != 0)
        {
            throw new ArgumentException($"{owner}: token table must be [vocab, {run.InputSize}], got {run.TokenTable.Length} floats.");
        }

        if (!run.InputDropoutMask.IsEmpty)
        {
            throw new ArgumentException($"{owner}: an input dropout mask cannot be applied through the token table; pass the looked-up sequence without tokens.");
        }

        int vocab = run.TokenTable.Length / run.InputSize;
        foreach (int token in run.Tokens)
        {
            if ((uint)token >= (uint)vocab)
            {
                throw new ArgumentOutOfRangeException(nameof(run), $"{owner}: token {token} outside the table's {vocab} rows.");
            }
        }
    }

    /// <summary>
    /// z [batch·time, gw] = P[tokens] with P = table·W + b (bias optional); <paramref name="projected"/>
    /// is the scratch that holds P.
    /// </summary>
    public static void Forward(in SequenceRun run, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, int gw, Span<float> z, ref float[] projected) =>
        Forward(run.Tokens, run.TokenTable, run.InputSize, kernel, bias, gw, z, ref projected);

    /// <summary>
    /// As <see cref="Forward(in SequenceRun, ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{float}, ref float[])"/>
    /// with the rows of z in the order of <paramref name="tokens"/> (e.g. the driver's time-major order).
    /// </summary>
    public static void Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> table, int inputSize, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, int gw, Span<float> z, ref float[] projected)
    {
        int vocab = table.Length / inputSize;
        LstmCache.Grow(ref projected, vocab * gw);
        var p = projected.AsSpan(0, vocab * gw);
        if (!bias.IsEmpty)
        {
            for (int v = 0; v < vocab; v++)
            {
                bias.CopyTo(p.Slice(v * gw, gw));
            }
        }

        Gemm.Sgemm(false, false, vocab, gw, inputSize, 1f, table, inputSize, kernel, gw, bias.IsEmpty ? 0f : 1f, p, gw);
        Rows.Gather(tokens, p, gw, z);
    }

    /// <summary>
    /// Accumulates dW, db (optional) and d(table) (optional) from dz [batch·time, gw], masked rows
    /// zero; <paramref name="scattered"/> is the scratch that holds S.
    /// </summary>
    public static void Backward(in SequenceRun run, ReadOnlySpan<float> dz, ReadOnlySpan<float> kernel, int gw, Span<float> dKernel, Span<float> dBias, Span<float> dTable, ref float[] scattered) =>
        Backward(run.Tokens, run.TokenTable, run.InputSize, dz, kernel, gw, dKernel, dBias, dTable, ref scattered);

    /// <summary>
    /// As <see cref="Backward(in SequenceRun, ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{float}, Span{float}, Span{float}, ref float[])"/>
    /// with the rows of dz in the order of <paramref name="tokens"/>.
    /// </summary>
    public static void Backward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> table, int inputSize, ReadOnlySpan<float> dz, ReadOnlySpan<float> kernel, int gw, Span<float> dKernel, Span<float> dBias, Span<float> dTable, ref float[] scattered)
    {
        int vocab = table.Length / inputSize;
        LstmCache.Grow(ref scattered, vocab * gw);
        var s = scattered.AsSpan(0, vocab * gw);
        int pieces = Math.Min(ScatterPieces, vocab);
        WorkerPool.Shared.For(pieces, new ScatterJob(tokens, dz, s, gw, vocab, pieces));

        Gemm.Sgemm(true, false, inputSize, gw, vocab, 1f, table, inputSize, s, gw, 1f, dKernel, gw);
        if (!dBias.IsEmpty)
        {
            for (int v = 0; v < vocab; v++)
            {
                AddRow(ref MemoryMarshal.GetReference(dBias), ref MemoryMarshal.GetReference(s.Slice(v * gw, gw)), gw);
            }
        }

        if (!dTable.IsEmpty)
        {
            Gemm.Sgemm(false, true, vocab, inputSize, gw, 1f, s, gw, kernel, gw, 1f, dTable, inputSize);
        }
    }

    /// <summary>Vocabulary ranges of the scatter (each scans all tokens, adds only its own rows).</summary>
    private const int ScatterPieces = 2;

    /// <summary>dst[0..n) += src[0..n): each element one addition, so every width gives the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(ref float dst, ref float src, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j <= n - 16; j += 16)
            {
                (Vector512.LoadUnsafe(ref dst, (nuint)j) + Vector512.LoadUnsafe(ref src, (nuint)j)).StoreUnsafe(ref dst, (nuint)j);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; j <= n - 8; j += 8)
            {
                (Vector256.LoadUnsafe(ref dst, (nuint)j) + Vector256.LoadUnsafe(ref src, (nuint)j)).StoreUnsafe(ref dst, (nuint)j);
            }
        }

        for (; j < n; j++)
        {
            Unsafe.Add(ref dst, j) += Unsafe.Add(ref src, j);
        }
    }

    /// <summary>Index i zeroes S rows of its vocabulary range, then adds every dz row whose token falls in it, in row order.</summary>
    private readonly ref struct ScatterJob(ReadOnlySpan<int> tokens, ReadOnlySpan<float> dz, Span<float> s, int gw, int vocab, int pieces) : IParallelJob
    {
        private readonly ReadOnlySpan<int> tokens = tokens;
        private readonly ReadOnlySpan<float> dz = dz;
        private readonly Span<float> s = s;

        public void Execute(int index)
        {
            int v0 = (int)((long)vocab * index / pieces), v1 = (int)((long)vocab * (index + 1) / pieces);
            s[(v0 * gw)..(v1 * gw)].Clear();
            ref float sr = ref MemoryMarshal.GetReference(s);
            ref float dzr = ref MemoryMarshal.GetReference(dz);
            for (int r = 0; r < tokens.Length; r++)
            {
                int v = tokens[r];
                if (v >= v0 && v < v1)
                {
                    AddRow(ref Unsafe.Add(ref sr, v * gw), ref Unsafe.Add(ref dzr, r * gw), gw);
                }
            }
        }
    }
}
