using LstmSharp.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LstmSharp.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Layer normalization (Ba, Kiros, Hinton 2016) over the last <paramref name="normalizedSize"/>
    /// values of every row (a row = one position of the leading axes):
    /// <code>
    /// μ = mean(x_row)   σ² = mean((x_row − μ)²)   x̂ = (x − μ) / √(σ² + ε)   y = γ ⊙ x̂ + β
    /// </code>
    /// γ and β (either may be null: Keras <c>scale</c>/<c>center</c> off) hold
    /// <paramref name="normalizedSize"/> values. μ and 1/√(σ²+ε) are kept per row for the backward:
    /// <code>
    /// dx̂ = dy ⊙ γ   dx = (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)) / √(σ² + ε)   dγ += Σ_rows dy ⊙ x̂   dβ += Σ_rows dy
    /// </code>
    /// </summary>
    public static Tensor LayerNorm(Tensor x, Tensor? gamma, Tensor? beta, float epsilon, int normalizedSize)
    {
        const string op = "layer_norm";
        NotNull(x, op, nameof(x));
        int n = normalizedSize;
        if (n <= 0 || x.Length % n != 0 || x.Rank < 1)
        {
            throw ShapeError(op, $"x whose trailing axes hold {n} values", x.Shape, "x");
        }

        CheckAffine(op, gamma, beta, epsilon, n, $"of {n} values");

        int rows = x.Length / n;
        var y = new Tensor(x.ShapeArray);
        var xhat = new float[x.Length];
        var rstd = new float[rows];
        var xs = x.Span;
        for (int r = 0; r < rows; r++)
        {
            var xr = xs.Slice(r * n, n);
            var hr = xhat.AsSpan(r * n, n);
            float mean = TensorPrimitives.Sum(xr) / n;
            TensorPrimitives.Subtract(xr, mean, hr);
            float variance = TensorPrimitives.SumOfSquares(hr) / n;
            float s = 1f / MathF.Sqrt(variance + epsilon);
            rstd[r] = s;
            TensorPrimitives.Multiply(hr, s, hr);
            Affine(hr, gamma, beta, y.Span.Slice(r * n, n));
        }

        Tape.Track(op, [y], AffineInputs(x, gamma, beta), () =>
        {
            var dy = y.Grad!.Span;
            AffineGrads(dy, xhat, rows, n, gamma, beta);
            if (x.RequiresGrad)
            {
                var dx = x.EnsureGrad().Span;
                var dh = new float[n];
                for (int r = 0; r < rows; r++)
                {
                    var dyr = dy.Slice(r * n, n);
                    var hr = xhat.AsSpan(r * n, n);
                    GammaTimes(dyr, gamma, dh);
                    float meanDh = TensorPrimitives.Sum(dh) / n;
                    float meanDhH = TensorPrimitives.Dot(dh, hr) / n;
                    var dxr = dx.Slice(r * n, n);
                    float s = rstd[r];
                    for (int i = 0; i < n; i++)
                    {
                        dxr[i] += (dh[i] - meanDh - (hr[i] * meanDhH)) * s;
                    }
                }
            }
        });
        return y;
    }

    /// <summary>
    /// Batch normalization in training mode over the last axis (channels): the statistics of
    /// each channel come from every row of the batch (all leading axes; with a
    /// <paramref name="mask"/> <c>[batch, steps]</c> on <c>[batch, steps, channels]</c>, only rows
    /// with mask 1, as Keras 3 weights its moments):
    /// <code>
    /// μ = Σ w x / Σ w   σ² = Σ w (x − μ)² / Σ w   x̂ = (x − μ)/√(σ² + ε)   y = γ ⊙ x̂ + β   (every row)
    /// dx̂ = dy ⊙ γ   dx_r = (dx̂_r − w_r/Σw · (Σ_s dx̂_s + x̂_r Σ_s dx̂_s x̂_s)) / √(σ² + ε)
    /// </code>
    /// <paramref name="mean"/> and <paramref name="variance"/> (biased, as Keras's moving
    /// statistics use) receive the batch statistics for the caller's moving averages.
    /// </summary>
    public static Tensor BatchNormTraining(Tensor x, Tensor? gamma, Tensor? beta, float epsilon, Tensor? mask, Span<float> mean, Span<float> variance)
    {
        const string op = "batch_norm";
        NotNull(x, op, nameof(x));
        int c = x.Rank == 0 ? 0 : x.Dim(-1);
        CheckBatchNorm(op, x, gamma, beta, epsilon, c);
        if (mean.Length != c || variance.Length != c)
        {
            throw new ArgumentException($"{Where(op)}: mean and variance must hold {c} values, got {mean.Length} and {variance.Length}.");
        }

        int rows = c == 0 ? 0 : x.Length / c;
        var w = new float[rows];
        if (mask is null)
        {
            w.AsSpan().Fill(1f);
        }
        else
        {
            if (mask.Length != rows || x.Rank != 3 || mask.Rank != 2)
            {
                throw ShapeError(op, $"mask as [{(x.Rank > 0 ? x.Dim(0) : 0)}, {(x.Rank > 1 ? x.Dim(1) : 0)}] on x [batch, steps, channels]", mask.Shape, "mask");
            }

            for (int r = 0; r < rows; r++)
            {
                w[r] = mask.Span[r] != 0 ? 1f : 0f;
            }
        }

        double count = 0;
        foreach (float v in w)
        {
            count += v;
        }

        if (count == 0)
        {
            throw new ArgumentException($"{Where(op)}: the mask leaves no position to compute batch statistics from (x {Shape(x.Shape)}).", nameof(mask));
        }

        // Moments in double: a batch of thousands of rows should not lose digits.
        var sum = new double[c];
        var xs = x.Span;
        for (int r = 0; r < rows; r++)
        {
            if (w[r] != 0)
            {
                for (int j = 0; j < c; j++)
                {
                    sum[j] += xs[(r * c) + j];
                }
            }
        }

        var sq = new double[c];
        for (int j = 0; j < c; j++)
        {
            sum[j] /= count;
        }

        for (int r = 0; r < rows; r++)
        {
            if (w[r] != 0)
            {
                for (int j = 0; j < c; j++)
                {
                    double d = xs[(r * c) + j] - sum[j];
                    sq[j] += d * d;
                }
            }
        }

        var rstd = new float[c];
        var shift = new float[c];
        for (int j = 0; j < c; j++)
        {
            mean[j] = (float)sum[j];
            variance[j] = (float)(sq[j] / count);
            rstd[j] = (float)(1.0 / Math.Sqrt((sq[j] / count) + epsilon));
            shift[j] = -mean[j] * rstd[j];
        }

        var (y, xhat) = NormalizeChannels(x, rstd, shift, gamma, beta);

        Tape.Track(op, [y], AffineInputs(x, gamma, beta), () =>
        {
            var dy = y.Grad!.Span;
            AffineGrads(dy, xhat, rows, c, gamma, beta);
            if (!x.RequiresGrad)
            {
                return;
            }

            // Σ_s dx̂_s and Σ_s dx̂_s x̂_s over every row: all outputs depend on the statistics.
            var dh = new float[x.Length];
            var sumDh = new double[c];
            var sumDhH = new double[c];
            for (int r = 0; r < rows; r++)
            {
                var dhr = dh.AsSpan(r * c, c);
                GammaTimes(dy.Slice(r * c, c), gamma, dhr);
                for (int j = 0; j < c; j++)
                {
                    sumDh[j] += dhr[j];
                    sumDhH[j] += dhr[j] * xhat[(r * c) + j];
                }
            }

            var dx = x.EnsureGrad().Span;
            for (int r = 0; r < rows; r++)
            {
                double wr = w[r] / count;
                for (int j = 0; j < c; j++)
                {
                    int i = (r * c) + j;
                    dx[i] += (float)((dh[i] - (wr * (sumDh[j] + (xhat[i] * sumDhH[j])))) * rstd[j]);
                }
            }
        });
        return y;
    }

    /// <summary>
    /// Batch normalization at inference: y = γ ⊙ (x − moving_mean)/√(moving_variance + ε) + β
    /// over the last axis; the moving statistics are constants (no gradient), x, γ and β get theirs.
    /// </summary>
    public static Tensor BatchNormInference(Tensor x, Tensor movingMean, Tensor movingVariance, Tensor? gamma, Tensor? beta, float epsilon)
    {
        const string op = "batch_norm";
        NotNull(x, op, nameof(x));
        NotNull(movingMean, op, nameof(movingMean));
        NotNull(movingVariance, op, nameof(movingVariance));
        int c = x.Rank == 0 ? 0 : x.Dim(-1);
        CheckBatchNorm(op, x, gamma, beta, epsilon, c);
        if (movingMean.Length != c || movingVariance.Length != c)
        {
            throw ShapeError(op, $"moving statistics of {c} values", movingMean.Length != c ? movingMean.Shape : movingVariance.Shape, "moving_mean/moving_variance");
        }

        int rows = c == 0 ? 0 : x.Length / c;
        var rstd = new float[c];
        var shift = new float[c];
        for (int j = 0; j < c; j++)
        {
            rstd[j] = 1f / MathF.Sqrt(movingVariance.Span[j] + epsilon);
            shift[j] = -movingMean.Span[j] * rstd[j];
        }

        var (y, xhat) = NormalizeChannels(x, rstd, shift, gamma, beta);

        Tape.Track(op, [y], AffineInputs(x, gamma, beta), () =>
        {
            var dy = y.Grad!.Span;
            AffineGrads(dy, xhat, rows, c, gamma, beta);
            if (x.RequiresGrad)
            {
                // dx = dy ⊙ γ / √(var + ε)
                var scale = new float[c];
                for (int j = 0; j < c; j++)
                {
                    scale[j] = rstd[j] * (gamma is null ? 1f : gamma.Span[j]);
                }

                var dx = x.EnsureGrad().Span;
                for (int r = 0; r < rows; r++)
                {
                    TensorPrimitives.MultiplyAdd(dy.Slice(r * c, c), scale, dx.Slice(r * c, c), dx.Slice(r * c, c));
                }
            }
        });
        return y;
    }

    private static void CheckBatchNorm(string op, Tensor x, Tensor? gamma, Tensor? beta, float epsilon, int c)
    {
        if (x.Rank < 2 || c == 0)
        {
            throw ShapeError(op, "x as [batch, ..., channels]", x.Shape, "x");
        }

        CheckAffine(op, gamma, beta, epsilon, c, $"as [{c}]");
    }

    /// <summary>Throws unless γ and β (when given) hold <paramref name="n"/> values each and ε is positive and finite; <paramref name="size"/> is how errors state the expected size.</summary>
    private static void CheckAffine(string op, Tensor? gamma, Tensor? beta, float epsilon, int n, string size)
    {
        if (gamma is not null && gamma.Length != n)
        {
            throw ShapeError(op, $"gamma {size}", gamma.Shape, "gamma");
        }

        if (beta is not null && beta.Length != n)
        {
            throw ShapeError(op, $"beta {size}", beta.Shape, "beta");
        }

        if (!(epsilon > 0) || float.IsInfinity(epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), $"{Where(op)}: epsilon must be a positive finite number, got {epsilon}.");
        }
    }

    /// <summary>The op's inputs for the tape: x, then γ and β where given.</summary>
    private static Tensor[] AffineInputs(Tensor x, Tensor? gamma, Tensor? beta) =>
        [x, .. gamma is null ? Array.Empty<Tensor>() : [gamma], .. beta is null ? Array.Empty<Tensor>() : [beta]];

    /// <summary>
    /// Batch normalization's x̂ = x ⊙ rstd + shift per channel (shift = −μ·rstd) for every row of
    /// the last axis, and y = γ ⊙ x̂ + β; x̂ is kept for the backward.
    /// </summary>
    private static (Tensor Y, float[] Xhat) NormalizeChannels(Tensor x, float[] rstd, float[] shift, Tensor? gamma, Tensor? beta)
    {
        int c = rstd.Length;
        int rows = c == 0 ? 0 : x.Length / c;
        var xs = x.Span;
        var xhat = new float[x.Length];
        var y = new Tensor(x.ShapeArray);
        for (int r = 0; r < rows; r++)
        {
            var hr = xhat.AsSpan(r * c, c);
            TensorPrimitives.MultiplyAdd(xs.Slice(r * c, c), rstd, shift, hr);
            Affine(hr, gamma, beta, y.Span.Slice(r * c, c));
        }

        return (y, xhat);
    }

    /// <summary>y = γ ⊙ v for one row (a copy when γ is absent): the affine's scale, and dx̂ = γ ⊙ dy in the backward.</summary>
    private static void GammaTimes(ReadOnlySpan<float> v, Tensor? gamma, Span<float> y)
    {
        if (gamma is not null)
        {
            TensorPrimitives.Multiply(v, gamma.Span, y);
        }
        else
        {
            v.CopyTo(y);
        }
    }

    /// <summary>y = γ ⊙ x̂ + β for one row (either may be absent).</summary>
    private static void Affine(ReadOnlySpan<float> xhat, Tensor? gamma, Tensor? beta, Span<float> y)
    {
        GammaTimes(xhat, gamma, y);
        if (beta is not null)
        {
            TensorPrimitives.Add(y, beta.Span, y);
        }
    }

    /// <summary>dγ += Σ_rows dy ⊙ x̂, dβ += Σ_rows dy.</summary>
    private static void AffineGrads(ReadOnlySpan<float> dy, float[] xhat, int rows, int c, Tensor? gamma, Tensor? beta)
    {
        if (gamma is not null && gamma.RequiresGrad)
        {
            var dg = gamma.EnsureGrad().Span;
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.MultiplyAdd(dy.Slice(r * c, c), xhat.AsSpan(r * c, c), dg, dg);
            }
        }

        if (beta is not null && beta.RequiresGrad)
        {
            var db = beta.EnsureGrad().Span;
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.Add(db, dy.Slice(r * c, c), db);
            }
        }
    }
}
