using LstmSharp.Kernels;
using LstmSharp.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LstmSharp.Autograd;

public static partial class Ops
{
    /// <summary>
    /// 1-D convolution over the steps of <c>[batch, steps, channels]</c> (Keras
    /// <c>channels_last</c>, cross-correlation as every framework computes it):
    /// <code>y[b, t, f] = bias[f] + Σ_k Σ_c x[b, t·stride + k·dilation − padLeft, c] · kernel[k, c, f]</code>
    /// <paramref name="kernel"/> is Keras's <c>[kernel_size, channels, filters]</c>; the output is
    /// <c>[batch, outSteps, filters]</c> with the steps of <see cref="Conv1DGeometry.For"/>.
    /// With stride 1 each tap is one SGEMM over the sequences laid end to end
    /// (<see cref="Convolution1DTaps"/>); other strides use im2col + one SGEMM
    /// (<see cref="Convolution1D"/>). Backward: dkernel += Σ_k x_kᵀ·dy, dbias += Σ dy, dx += Σ_k dy·kernel_kᵀ at the taps' offsets.
    /// </summary>
    /// <param name="x">Input <c>[batch, steps, channels]</c>.</param>
    /// <param name="kernel">Weights <c>[kernel_size, channels, filters]</c>.</param>
    /// <param name="bias">Bias <c>[filters]</c>, or null.</param>
    /// <param name="strides">Steps between outputs (≥ 1).</param>
    /// <param name="padding">"valid", "same" or "causal".</param>
    /// <param name="dilationRate">Steps between taps (≥ 1).</param>
    public static Tensor Conv1D(Tensor x, Tensor kernel, Tensor? bias = null, int strides = 1, string padding = "valid", int dilationRate = 1)
    {
        const string op = "conv1d";
        NotNull(x, op, nameof(x));
        NotNull(kernel, op, nameof(kernel));
        var (width, channels, filters) = Dims3(op, kernel, "kernel", "[kernel_size, channels, filters]");
        if (x.Rank != 3 || x.Dim(2) != channels)
        {
            throw ShapeError(op, $"x as [batch, steps, {channels}]", x.Shape, "x");
        }

        if (bias is not null && (bias.Rank != 1 || bias.Dim(0) != filters))
        {
            throw ShapeError(op, $"bias as [{filters}]", bias.Shape, "bias");
        }

        var g = Geometry(op, padding, x.Dim(1), width, strides, dilationRate, "kernel_size");
        return g.Stride == 1 ? Conv1DTaps(op, x, kernel, bias, g) : Conv1DIm2Col(op, x, kernel, bias, g);
    }

    /// <summary>Stride 1: one GEMM per tap over the (padded) sequences laid end to end (<see cref="Convolution1DTaps"/>).</summary>
    private static Tensor Conv1DTaps(string op, Tensor x, Tensor kernel, Tensor? bias, Conv1DGeometry g)
    {
        int batch = x.Dim(0), channels = kernel.Dim(1), filters = kernel.Dim(2);
        int tp = Convolution1DTaps.PaddedSteps(g);
        bool noPad = Convolution1DTaps.NoPadding(g);
        float[]? padded = null;
        if (!noPad)
        {
            padded = StepArena.Floats(batch * tp * channels);
            Convolution1DTaps.Pad(x.Span, batch, channels, g, padded);
        }

        // Inside a training step y comes from the step's arena (it dies with the step).
        var y = new Tensor(StepArena.Floats(batch * g.OutSteps * filters), batch, g.OutSteps, filters);
        var yfull = Convolution1DTaps.Scratch(0, batch * tp * filters);
        Convolution1DTaps.Forward(noPad ? x.Span : padded, batch, channels, g, kernel.Span, bias is null ? default : bias.Span, filters, yfull, y.Span);

        Tensor[] inputs = bias is null ? [x, kernel] : [x, kernel, bias];
        Tape.Track(op, [y], inputs, () =>
        {
            var dyfull = Convolution1DTaps.Scratch(0, batch * tp * filters);
            var partials = kernel.RequiresGrad ? Convolution1DTaps.Scratch(1, Convolution1DTaps.PartialsLength(batch, channels, g, filters)) : default;
            bool padGrad = x.RequiresGrad && !noPad;
            var dxp = !x.RequiresGrad ? default : noPad ? x.EnsureGrad().Span : Convolution1DTaps.Scratch(2, batch * tp * channels);
            if (padGrad)
            {
                dxp.Clear();
            }

            Convolution1DTaps.Backward(
                noPad ? x.Span : padded, y.Grad!.Span, batch, channels, g, kernel.Span, filters, dyfull, partials,
                kernel.RequiresGrad ? kernel.EnsureGrad().Span : default,
                bias is not null && bias.RequiresGrad ? bias.EnsureGrad().Span : default,
                dxp);
            if (padGrad)
            {
                // The padded rows' gradients belong to no input.
                var dx = x.EnsureGrad().Span;
                int n = g.Steps * channels;
                for (int b = 0; b < batch; b++)
                {
                    var d = dx.Slice(b * n, n);
                    TensorPrimitives.Add(d, dxp.Slice(((b * tp) + g.PadLeft) * channels, n), d);
                }
            }
        });
        return y;
    }

    /// <summary>Any stride: im2col + one GEMM (<see cref="Convolution1D"/>); the columns are kept for the kernel's gradient.</summary>
    private static Tensor Conv1DIm2Col(string op, Tensor x, Tensor kernel, Tensor? bias, Conv1DGeometry g)
    {
        int batch = x.Dim(0), width = kernel.Dim(0), channels = kernel.Dim(1), filters = kernel.Dim(2);
        int rows = batch * g.OutSteps;
        int depth = width * channels;
        var cols = StepArena.Floats(rows * depth);
        Convolution1D.Im2Col(x.Span, batch, channels, g, cols);
        var y = new Tensor(batch, g.OutSteps, filters);
        Convolution1D.Forward(cols, rows, depth, kernel.Span, bias is null ? default : bias.Span, filters, y.Span);

        Tensor[] inputs = bias is null ? [x, kernel] : [x, kernel, bias];
        Tape.Track(op, [y], inputs, () =>
        {
            var dy = y.Grad!.Span;
            if (kernel.RequiresGrad)
            {
                Gemm.Sgemm(true, false, depth, filters, rows, 1f, cols, depth, dy, filters, 1f, kernel.EnsureGrad().Span, filters);
            }

            if (bias is not null && bias.RequiresGrad)
            {
                var db = bias.EnsureGrad().Span;
                for (int r = 0; r < rows; r++)
                {
                    TensorPrimitives.Add(db, dy.Slice(r * filters, filters), db);
                }
            }

            if (x.RequiresGrad)
            {
                var dcols = StepArena.Floats(rows * depth);
                Gemm.Sgemm(false, true, rows, depth, filters, 1f, dy, filters, kernel.Span, filters, 0f, dcols, depth);
                Convolution1D.Col2Im(dcols, batch, channels, g, x.EnsureGrad().Span);
            }
        });
        return y;
    }

    /// <summary>
    /// Max pooling over steps: y[b, t, c] = max over the window of x[b, t·stride + k − padLeft, c]
    /// (padding "valid" or "same"; padded positions never win). Backward: each dy goes to the
    /// first position of its window that holds the maximum.
    /// </summary>
    public static Tensor MaxPool1D(Tensor x, int poolSize, int strides, string padding = "valid") => Pool1D("max_pool1d", x, poolSize, strides, padding, max: true);

    /// <summary>
    /// Average pooling over steps: y[b, t, c] = mean of x over the window's positions inside the
    /// sequence (with "same", padded positions are not counted, as TensorFlow and ONNX's
    /// <c>count_include_pad = 0</c>). Backward: dx += dy / count at each position of the window.
    /// </summary>
    public static Tensor AveragePool1D(Tensor x, int poolSize, int strides, string padding = "valid") => Pool1D("average_pool1d", x, poolSize, strides, padding, max: false);

    /// <summary>
    /// Mean over the steps of <c>[batch, steps, channels]</c> → <c>[batch, channels]</c>. With a
    /// <paramref name="mask"/> <c>[batch, steps]</c> (0/1) only steps with mask 1 count; a
    /// sequence masked entirely gives zeros (not 0/0).
    /// </summary>
    public static Tensor GlobalAveragePool1D(Tensor x, Tensor? mask = null)
    {
        const string op = "global_average_pool1d";
        NotNull(x, op, nameof(x));
        var (batch, steps, channels) = Dims3(op, x, "x", "[batch, steps, channels]");
        if (mask is not null && (mask.Rank != 2 || mask.Dim(0) != batch || mask.Dim(1) != steps))
        {
            throw ShapeError(op, $"mask as [{batch}, {steps}]", mask.Shape, "mask");
        }

        // weight[b, t] = mask / Σ_t mask (or 1/steps): y = Σ_t weight·x, dx = weight·dy.
        var weight = new float[batch * steps];
        for (int b = 0; b < batch; b++)
        {
            float count = steps;
            if (mask is not null)
            {
                count = 0;
                for (int t = 0; t < steps; t++)
                {
                    count += mask[b, t] != 0 ? 1 : 0;
                }
            }

            for (int t = 0; t < steps; t++)
            {
                bool on = mask is null || mask[b, t] != 0;
                weight[(b * steps) + t] = on && count > 0 ? 1f / count : 0f;
            }
        }

        var y = new Tensor(batch, channels);
        var xs = x.Span;
        var ys = y.Span;
        for (int b = 0; b < batch; b++)
        {
            var yb = ys.Slice(b * channels, channels);
            for (int t = 0; t < steps; t++)
            {
                float w = weight[(b * steps) + t];
                if (w != 0)
                {
                    TensorPrimitives.MultiplyAdd(xs.Slice(((b * steps) + t) * channels, channels), w, yb, yb);
                }
            }
        }

        TrackUnary(op, y, x, (dx, dy) =>
        {
            for (int b = 0; b < batch; b++)
            {
                for (int t = 0; t < steps; t++)
                {
                    float w = weight[(b * steps) + t];
                    if (w != 0)
                    {
                        var d = dx.Slice(((b * steps) + t) * channels, channels);
                        TensorPrimitives.MultiplyAdd(dy.Slice(b * channels, channels), w, d, d);
                    }
                }
            }
        });
        return y;
    }

    /// <summary>
    /// Maximum over the steps of <c>[batch, steps, channels]</c> → <c>[batch, channels]</c>
    /// (Keras ignores masks here, and so does this op). Backward: dy goes to the first step
    /// holding the maximum.
    /// </summary>
    public static Tensor GlobalMaxPool1D(Tensor x)
    {
        const string op = "global_max_pool1d";
        NotNull(x, op, nameof(x));
        if (x.Rank != 3 || x.Dim(1) == 0)
        {
            throw ShapeError(op, "x as [batch, steps > 0, channels]", x.Shape, "x");
        }

        return Reshape(Pool1D(op, x, x.Dim(1), 1, "valid", max: true), x.Dim(0), x.Dim(2));
    }

    /// <summary>
    /// Spatial (channel) dropout for <c>[batch, steps, channels]</c>: in training each channel of
    /// each sequence is zeroed at every step with probability <paramref name="rate"/>, the kept
    /// ones scaled by 1/(1 − rate) (Keras <c>SpatialDropout1D</c>, noise shape <c>[batch, 1, channels]</c>).
    /// At inference, or with rate 0, returns <paramref name="x"/> itself.
    /// </summary>
    public static Tensor SpatialDropout1D(Tensor x, float rate, Rng rng, bool training)
    {
        const string op = "spatial_dropout1d";
        CheckDropoutArguments(op, x, rate, rng);
        var (batch, steps, channels) = Dims3(op, x, "x", "[batch, steps, channels]");
        if (!training || rate == 0f)
        {
            return x;
        }

        var mask = new float[batch * channels];
        rng.DropoutMask(mask, rate);
        var y = new Tensor(x.ShapeArray);
        for (int b = 0; b < batch; b++)
        {
            var m = mask.AsSpan(b * channels, channels);
            for (int t = 0; t < steps; t++)
            {
                int o = ((b * steps) + t) * channels;
                TensorPrimitives.Multiply(x.Span.Slice(o, channels), m, y.Span.Slice(o, channels));
            }
        }

        TrackUnary(op, y, x, (dx, dy) =>
        {
            for (int b = 0; b < batch; b++)
            {
                var m = mask.AsSpan(b * channels, channels);
                for (int t = 0; t < steps; t++)
                {
                    int o = ((b * steps) + t) * channels;
                    TensorPrimitives.MultiplyAdd(dy.Slice(o, channels), m, dx.Slice(o, channels), dx.Slice(o, channels));
                }
            }
        });
        return y;
    }

    /// <summary>The geometry of a window, or an error naming the op, the argument and both sizes.</summary>
    internal static Conv1DGeometry Geometry(string op, string padding, int steps, int width, int strides, int dilation, string widthName)
    {
        if (width < 1 || strides < 1 || dilation < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"{Where(op)}: {widthName}, strides and dilation_rate must be positive integers, got {width}, {strides}, {dilation}.");
        }

        if (padding is not ("valid" or "same" or "causal"))
        {
            throw new ArgumentException($"{Where(op)}: padding must be 'valid', 'same' or 'causal', got '{padding}'.", nameof(padding));
        }

        return Conv1DGeometry.For(padding, steps, width, strides, dilation)
            ?? throw new ArgumentException($"{Where(op)}: with padding 'valid' the window ({widthName} {width}{(dilation > 1 ? $", dilation_rate {dilation}: span {(dilation * (width - 1)) + 1}" : string.Empty)}) is longer than the sequence; expected at least {(dilation * (width - 1)) + 1} steps, got {steps}.");
    }

    private static Tensor Pool1D(string op, Tensor x, int poolSize, int strides, string padding, bool max)
    {
        NotNull(x, op, nameof(x));
        var (batch, steps, channels) = Dims3(op, x, "x", "[batch, steps, channels]");
        if (padding == "causal")
        {
            throw new ArgumentException($"{Where(op)}: padding must be 'valid' or 'same', got 'causal'.", nameof(padding));
        }

        var g = Geometry(op, padding, steps, poolSize, strides, 1, "pool_size");
        var y = new Tensor(batch, g.OutSteps, channels);
        var xs = x.Span;
        var ys = y.Span;
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < g.OutSteps; t++)
            {
                var (lo, hi) = Window(t);
                var yt = ys.Slice(((b * g.OutSteps) + t) * channels, channels);
                xs.Slice(((b * steps) + lo) * channels, channels).CopyTo(yt);
                for (int s = lo + 1; s < hi; s++)
                {
                    var xr = xs.Slice(((b * steps) + s) * channels, channels);
                    if (max)
                    {
                        TensorPrimitives.Max(yt, xr, yt);
                    }
                    else
                    {
                        TensorPrimitives.Add(yt, xr, yt);
                    }
                }

                if (!max)
                {
                    TensorPrimitives.Multiply(yt, 1f / (hi - lo), yt);
                }
            }
        }

        TrackUnary(op, y, x, (dx, dy) =>
        {
            var xv = x.Span;
            var yv = y.Span;
            for (int b = 0; b < batch; b++)
            {
                for (int t = 0; t < g.OutSteps; t++)
                {
                    var (lo, hi) = Window(t);
                    int o = ((b * g.OutSteps) + t) * channels;
                    var dyt = dy.Slice(o, channels);
                    if (!max)
                    {
                        float w = 1f / (hi - lo);
                        for (int s = lo; s < hi; s++)
                        {
                            var d = dx.Slice(((b * steps) + s) * channels, channels);
                            TensorPrimitives.MultiplyAdd(dyt, w, d, d);
                        }

                        continue;
                    }

                    for (int c = 0; c < channels; c++)
                    {
                        float m = yv[o + c];
                        for (int s = lo; s < hi; s++)
                        {
                            int i = (((b * steps) + s) * channels) + c;
                            if (xv[i] == m || (float.IsNaN(m) && float.IsNaN(xv[i])))
                            {
                                dx[i] += dyt[c];
                                break;
                            }
                        }
                    }
                }
            }
        });
        return y;

        // Window t covers input steps [lo, hi): the part of [t·stride − padLeft, + poolSize) inside the sequence.
        (int Lo, int Hi) Window(int t) => (Math.Max(0, g.Source(t, 0)), Math.Min(steps, g.Source(t, 0) + poolSize));
    }
}
