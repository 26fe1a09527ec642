namespace LstmSharp.Kernels;

/// <summary>
/// Where the taps of a 1-D convolution (or pooling window) land on the input, Keras's
/// <c>channels_last</c> layout: input <c>[batch, steps, channels]</c>, output
/// <c>[batch, outSteps, filters]</c>. Output step t, tap k reads input step
/// <c>t·stride + k·dilation − padLeft</c>; taps outside [0, steps) read zero.
/// </summary>
/// <param name="Steps">Input steps.</param>
/// <param name="Width">Taps of the kernel (or the pool size).</param>
/// <param name="Stride">Steps between consecutive outputs.</param>
/// <param name="Dilation">Steps between consecutive taps.</param>
/// <param name="PadLeft">Zero steps added before the sequence.</param>
/// <param name="OutSteps">Output steps.</param>
internal readonly record struct Conv1DGeometry(int Steps, int Width, int Stride, int Dilation, int PadLeft, int OutSteps)
{
    /// <summary>Steps one window spans: dilation·(width − 1) + 1.</summary>
    public int Span => (Dilation * (Width - 1)) + 1;

    /// <summary>
    /// The geometry Keras computes for <paramref name="padding"/>: "valid" (no padding; the
    /// output has ⌊(steps − span)/stride⌋ + 1 steps), "same" (⌈steps/stride⌉ output steps, the
    /// padding split with the smaller half first, as TensorFlow does) or "causal" (span − 1
    /// zero steps before the sequence, so output t sees inputs up to t·stride only).
    /// Returns null when "valid" leaves no output step (the window is longer than the sequence).
    /// </summary>
    public static Conv1DGeometry? For(string padding, int steps, int width, int stride, int dilation)
    {
        int span = (dilation * (width - 1)) + 1;
        switch (padding)
        {
            case "valid":
                return steps < span ? null : new Conv1DGeometry(steps, width, stride, dilation, 0, ((steps - span) / stride) + 1);
            case "same":
            {
                int outSteps = (steps + stride - 1) / stride;
                int total = Math.Max(0, ((outSteps - 1) * stride) + span - steps);
                return new Conv1DGeometry(steps, width, stride, dilation, total / 2, outSteps);
            }

            case "causal":
                return new Conv1DGeometry(steps, width, stride, dilation, span - 1, ((steps - 1) / stride) + 1);
            default:
                throw new ArgumentException($"padding must be 'valid', 'same' or 'causal', got '{padding}'.", nameof(padding));
        }
    }

    /// <summary>The input step read by output step <paramref name="t"/>, tap <paramref name="k"/> (may be outside [0, steps)).</summary>
    public int Source(int t, int k) => (t * Stride) + (k * Dilation) - PadLeft;
}

/// <summary>
/// 1-D convolution as im2col + SGEMM. The kernel is Keras's <c>[width, channels, filters]</c>,
/// which read row-major is already the <c>[width·channels, filters]</c> matrix the product
/// needs; the columns matrix holds, for every output step of every sequence, the
/// <c>width·channels</c> input values under the window (zeros where it hangs over the padding).
/// <code>
/// forward:   cols = im2col(x)                y[b·To + t, :] = cols[b·To + t, :] · W (+ bias)
/// backward:  dW += colsᵀ · dy                 dx += col2im(dy · Wᵀ)        dbias += Σ_rows dy
/// </code>
/// </summary>
internal static class Convolution1D
{
    /// <summary>cols[(b·To + t)·W·C + k·C + c] = x[b, t·stride + k·dilation − padLeft, c], or 0 outside the sequence.</summary>
    public static void Im2Col(ReadOnlySpan<float> x, int batch, int channels, in Conv1DGeometry g, Span<float> cols)
    {
        int row = g.Width * channels;
        for (int b = 0; b < batch; b++)
        {
            var xb = x.Slice(b * g.Steps * channels, g.Steps * channels);
            for (int t = 0; t < g.OutSteps; t++)
            {
                var dst = cols.Slice(((b * g.OutSteps) + t) * row, row);
                if (g.Dilation == 1)
                {
                    // Contiguous window: one copy of the part inside the sequence, zeros around it.
                    int first = g.Source(t, 0);
                    int lo = Math.Max(0, -first);
                    int hi = Math.Min(g.Width, g.Steps - first);
                    if (hi <= lo)
                    {
                        dst.Clear();
                        continue;
                    }

                    dst[..(lo * channels)].Clear();
                    xb.Slice((first + lo) * channels, (hi - lo) * channels).CopyTo(dst.Slice(lo * channels));
                    dst[(hi * channels)..].Clear();
                    continue;
                }

                for (int k = 0; k < g.Width; k++)
                {
                    int src = g.Source(t, k);
                    var tap = dst.Slice(k * channels, channels);
                    if ((uint)src < (uint)g.Steps)
                    {
                        xb.Slice(src * channels, channels).CopyTo(tap);
                    }
                    else
                    {
                        tap.Clear();
                    }
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: dx[b, src, c] += dcols[...] for every tap that read x[b, src, c].</summary>
    public static void Col2Im(ReadOnlySpan<float> dcols, int batch, int channels, in Conv1DGeometry g, Span<float> dx)
    {
        int row = g.Width * channels;
        for (int b = 0; b < batch; b++)
        {
            var dxb = dx.Slice(b * g.Steps * channels, g.Steps * channels);
            for (int t = 0; t < g.OutSteps; t++)
            {
                var src = dcols.Slice(((b * g.OutSteps) + t) * row, row);
                for (int k = 0; k < g.Width; k++)
                {
                    int s = g.Source(t, k);
                    if ((uint)s < (uint)g.Steps)
                    {
                        var d = dxb.Slice(s * channels, channels);
                        System.Numerics.Tensors.TensorPrimitives.Add(d, src.Slice(k * channels, channels), d);
                    }
                }
            }
        }
    }

    /// <summary>y[rows, filters] = cols[rows, width·channels] · kernel[width·channels, filters] (+ bias on every row).</summary>
    public static void Forward(ReadOnlySpan<float> cols, int rows, int depth, ReadOnlySpan<float> kernel, ReadOnlySpan<float> bias, int filters, Span<float> y)
    {
        Gemm.Sgemm(false, false, rows, filters, depth, 1f, cols, depth, kernel, filters, 0f, y, filters);
        if (!bias.IsEmpty)
        {
            for (int r = 0; r < rows; r++)
            {
                var yr = y.Slice(r * filters, filters);
                System.Numerics.Tensors.TensorPrimitives.Add(yr, bias, yr);
            }
        }
    }
}
