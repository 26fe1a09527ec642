using System.Numerics.Tensors;

namespace LstmSharp.Kernels;

/// <summary>
/// 1-D convolution with stride 1 (any dilation, any padding) as one GEMM per tap, with no
/// im2col: the sequences, zero-padded to <c>Tp = outSteps + span − 1</c> steps each, are laid
/// end to end as rows <c>xp [batch·Tp, channels]</c>, and
/// <code>
/// forward:   yfull[r, :] = Σ_k xp[r + k·dilation, :] · W_k         y[b, t] = yfull[b·Tp + t] (+ bias), t &lt; outSteps
/// backward:  dW_k += xp[r + k·dilation]ᵀ · dyfull[r]      dxp[r + k·dilation] += dyfull[r] · W_kᵀ
/// </code>
/// where W_k = kernel[k] is <c>[channels, filters]</c> and dyfull holds dy at the rows of real
/// outputs and zeros at the <c>span − 1</c> rows that would straddle two sequences, so those
/// rows add nothing. Each product reads xp with row stride <c>channels</c> from an offset, so
/// a tap costs one SGEMM and no copy; the im2col buffer (<c>width</c> times the input) and its
/// scatter back are gone.
/// </summary>
/// <remarks>
/// The batch is cut into chunks of whole sequences from its shape alone, each chunk running
/// its taps' products on one thread (the products run inline inside the pool's job), so the
/// bits do not depend on the thread count. The kernel gradient is summed per chunk and the
/// partial sums added in chunk order for the same reason.
/// </remarks>
internal static class Convolution1DTaps
{
    /// <summary>Fewest rows a chunk aims at (measured on the CNN-LSTM shapes: 200 to 750 rows ran alike; fewer rows balance two threads better).</summary>
    private const int ChunkRows = 192;

    [ThreadStatic]
    private static float[]? t_scratchA;

    [ThreadStatic]
    private static float[]? t_scratchB;

    [ThreadStatic]
    private static float[]? t_scratchC;

    /// <summary>Steps of one padded sequence.</summary>
    public static int PaddedSteps(in Conv1DGeometry g) => g.OutSteps + g.Span - 1;

    /// <summary>True when <paramref name="g"/> pads nothing: x itself is xp.</summary>
    public static bool NoPadding(in Conv1DGeometry g) => g.PadLeft == 0 && PaddedSteps(g) == g.Steps;

    /// <summary>Chunks of whole sequences: a power of two (even shares for 2, 4, … threads), from the shape only.</summary>
    public static int Chunks(int batch, int paddedSteps)
    {
        int chunks = 1;
        while (2 * chunks <= Math.Min(batch, 64) && (long)batch * paddedSteps / (2 * chunks) >= ChunkRows)
        {
            chunks *= 2;
        }

        return chunks;
    }

    /// <summary>
    /// Scratch that lives within one call only (yfull in the forward; dyfull, the kernel's
    /// partial sums and the padded dx in the backward): grow-only per thread, so a step
    /// allocates none of it.
    /// </summary>
    public static Span<float> Scratch(int slot, int length)
    {
        ref float[]? buffer = ref slot == 0 ? ref t_scratchA : ref slot == 1 ? ref t_scratchB : ref t_scratchC;
        if (buffer is null || buffer.Length < length)
        {
            buffer = GC.AllocateUninitializedArray<float>(length);
        }

        return buffer.AsSpan(0, length);
    }

    /// <summary>xp[b, padLeft + s] = x[b, s], zeros elsewhere.</summary>
    public static void Pad(ReadOnlySpan<float> x, int batch, int channels, in Conv1DGeometry g, Span<float> xp)
    {
        int tp = PaddedSteps(g);
        xp.Clear();
        for (int b = 0; b < batch; b++)
        {
            x.Slice(b * g.Steps * channels, g.Steps * channels).CopyTo(xp.Slice(((b * tp) + g.PadLeft) * channels));
        }
    }

    /// <summary>y [batch, outSteps, filters] from xp [batch·Tp, channels]; yfull is scratch of batch·Tp·filters.</summary>
    public static void Forward(ReadOnlySpan<float> xp, int batch, int channels, in Conv1DGeometry g, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, int filters, Span<float> yfull, Span<float> y)
    {
        int tp = PaddedSteps(g);
        var job = new ForwardJob(xp, kernel, bias, yfull, y, batch, channels, filters, g, Chunks(batch, tp));
        WorkerPool.Shared.For(job.ChunkCount, job);
    }

    /// <summary>
    /// dkernel += Σ_k xp_kᵀ·dyfull, dbias += Σ dy, and (when dxp is not empty) dxp += Σ_k dyfull·W_kᵀ
    /// (beta = 1: dxp may be x's own gradient when nothing is padded). dyfull and partials are scratch
    /// of batch·Tp·filters and chunks·width·channels·filters values.
    /// </summary>
    public static void Backward(
        ReadOnlySpan<float> xp, ReadOnlySpan<float> dy, int batch, int channels, in Conv1DGeometry g, ReadOnlySpan<float> kernel, int filters,
        Span<float> dyfull, Span<float> partials, Span<float> dkernel, Span<float> dbias, Span<float> dxp)
    {
        int tp = PaddedSteps(g);
        int chunks = Chunks(batch, tp);
        var job = new BackwardJob(xp, dy, kernel, dyfull, partials, dxp, batch, channels, filters, g, chunks, !dkernel.IsEmpty);
        WorkerPool.Shared.For(chunks, job);
        int size = g.Width * channels * filters;
        if (!dkernel.IsEmpty)
        {
            for (int c = 0; c < chunks; c++)
            {
                TensorPrimitives.Add(dkernel, partials.Slice(c * size, size), dkernel);
            }
        }

        if (!dbias.IsEmpty)
        {
            int rows = batch * g.OutSteps;
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.Add(dbias, dy.Slice(r * filters, filters), dbias);
            }
        }
    }

    /// <summary>Scratch values <see cref="Backward"/> needs for the kernel's partial sums.</summary>
    public static int PartialsLength(int batch, int channels, in Conv1DGeometry g, int filters) => Chunks(batch, PaddedSteps(g)) * g.Width * channels * filters;

    /// <summary>Sequences [first, last) of chunk <paramref name="index"/>.</summary>
    private static (int First, int Last) Range(int batch, int chunks, int index) =>
        ((int)((long)batch * index / chunks), (int)((long)batch * (index + 1) / chunks));

    private readonly ref struct ForwardJob(
        ReadOnlySpan<float> xp, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, Span<float> yfull, Span<float> y,
        int batch, int channels, int filters, Conv1DGeometry g, int chunks) : IParallelJob
    {
        private readonly ReadOnlySpan<float> xp = xp;
        private readonly ReadOnlySpan<float> kernel = kernel;
        private readonly ReadOnlySpan<float> bias = bias;
        private readonly Span<float> yfull = yfull;
        private readonly Span<float> y = y;

        public int ChunkCount => chunks;

        public void Execute(int index)
        {
            var (first, last) = Range(batch, chunks, index);
            int tp = PaddedSteps(g);
            int row0 = first * tp;
            int rows = ((last - first) * tp) - g.Span + 1;
            var yc = yfull.Slice(row0 * filters);
            for (int k = 0; k < g.Width; k++)
            {
                // yfull[r] (+)= xp[r + k·d] · W_k over the chunk's rows.
                Gemm.Sgemm(
                    false, false, rows, filters, channels, 1f,
                    xp.Slice((row0 + (k * g.Dilation)) * channels), channels,
                    kernel.Slice(k * channels * filters, channels * filters), filters,
                    k == 0 ? 0f : 1f, yc, filters);
            }

            for (int b = first; b < last; b++)
            {
                var src = yfull.Slice(b * tp * filters, g.OutSteps * filters);
                var dst = y.Slice(b * g.OutSteps * filters, g.OutSteps * filters);
                if (bias.IsEmpty)
                {
                    src.CopyTo(dst);
                    continue;
                }

                for (int t = 0; t < g.OutSteps; t++)
                {
                    TensorPrimitives.Add(src.Slice(t * filters, filters), bias, dst.Slice(t * filters, filters));
                }
            }
        }
    }

    private readonly ref struct BackwardJob(
        ReadOnlySpan<float> xp, ReadOnlySpan<float> dy, ReadOnlySpan<float> kernel, Span<float> dyfull, Span<float> partials, Span<float> dxp,
        int batch, int channels, int filters, Conv1DGeometry g, int chunks, bool kernelGrad) : IParallelJob
    {
        private readonly ReadOnlySpan<float> xp = xp;
        private readonly ReadOnlySpan<float> dy = dy;
        private readonly ReadOnlySpan<float> kernel = kernel;
        private readonly Span<float> dyfull = dyfull;
        private readonly Span<float> partials = partials;
        private readonly Span<float> dxp = dxp;

        public void Execute(int index)
        {
            var (first, last) = Range(batch, chunks, index);
            int tp = PaddedSteps(g);
            int row0 = first * tp;
            int rows = ((last - first) * tp) - g.Span + 1;

            // dyfull: dy at the rows of real outputs, zeros at the rows between sequences.
            for (int b = first; b < last; b++)
            {
                var dst = dyfull.Slice(b * tp * filters, tp * filters);
                dy.Slice(b * g.OutSteps * filters, g.OutSteps * filters).CopyTo(dst);
                dst[(g.OutSteps * filters)..].Clear();
            }

            var dyc = dyfull.Slice(row0 * filters);
            int size = channels * filters;
            for (int k = 0; k < g.Width; k++)
            {
                var xk = xp.Slice((row0 + (k * g.Dilation)) * channels);
                var wk = kernel.Slice(k * size, size);
                if (kernelGrad)
                {
                    // partial dW_k = xp_kᵀ · dyfull over the chunk's rows.
                    Gemm.Sgemm(true, false, channels, filters, rows, 1f, xk, channels, dyc, filters, 0f, partials.Slice(((index * g.Width) + k) * size, size), filters);
                }

                if (!dxp.IsEmpty)
                {
                    // dxp[r + k·d] += dyfull[r] · W_kᵀ
                    Gemm.Sgemm(false, true, rows, channels, filters, 1f, dyc, filters, wk, filters, 1f, dxp.Slice((row0 + (k * g.Dilation)) * channels), channels);
                }
            }
        }
    }
}
