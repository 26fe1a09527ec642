namespace LstmSharp.Tensors;

/// <summary>Which fan <see cref="VarianceScalingInitializer"/> divides the scale by.</summary>
public enum FanMode
{
    FanIn,
    FanOut,
    FanAvg,
}

/// <summary>The distribution <see cref="VarianceScalingInitializer"/> draws from.</summary>
public enum VarianceDistribution
{
    /// <summary>Normal truncated at 2 standard deviations, its stddev divided by 0.8796… so the variance stays scale/n.</summary>
    TruncatedNormal,

    UntruncatedNormal,

    /// <summary>U(−l, l) with l = √(3·scale/n).</summary>
    Uniform,
}

/// <summary><c>zeros</c>, <c>ones</c>, <c>constant(value)</c>.</summary>
public sealed class ConstantInitializer : IInitializer
{
    internal ConstantInitializer(string name, float value)
    {
        Name = name;
        Value = value;
    }

    public string Name { get; }

    public float Value { get; }

    public void Initialize(Tensor tensor, Rng rng) => tensor.Fill(Value);

    public InitializerConfig GetConfig() => Name == "constant"
        ? new InitializerConfig(Name, new KeyValuePair<string, string>("value", InitializerConfig.Format(Value)))
        : new InitializerConfig(Name);
}

/// <summary><c>random_uniform(minval=-0.05, maxval=0.05)</c>: U[minval, maxval).</summary>
public sealed class RandomUniformInitializer : IInitializer
{
    internal RandomUniformInitializer(float minval, float maxval)
    {
        if (!(minval < maxval) || !float.IsFinite(minval) || !float.IsFinite(maxval))
        {
            throw new ArgumentOutOfRangeException(nameof(maxval), $"random_uniform: expected finite minval < maxval, got minval={minval}, maxval={maxval}.");
        }

        Minval = minval;
        Maxval = maxval;
    }

    public string Name => "random_uniform";

    public float Minval { get; }

    public float Maxval { get; }

    public void Initialize(Tensor tensor, Rng rng) => rng.FillUniform(tensor.Span, Minval, Maxval);

    public InitializerConfig GetConfig() => new(Name, new("minval", InitializerConfig.Format(Minval)), new("maxval", InitializerConfig.Format(Maxval)));
}

/// <summary>
/// <c>random_normal(mean=0, stddev=0.05)</c>, and <c>truncated_normal(mean=0, stddev=0.05)</c>
/// which redraws values more than two standard deviations from the mean.
/// </summary>
public sealed class RandomNormalInitializer : IInitializer
{
    internal RandomNormalInitializer(float mean, float stddev, bool truncated)
    {
        if (!(stddev >= 0f) || !float.IsFinite(stddev) || !float.IsFinite(mean))
        {
            throw new ArgumentOutOfRangeException(nameof(stddev), $"{(truncated ? "truncated_normal" : "random_normal")}: expected a finite mean and a finite stddev ≥ 0, got mean={mean}, stddev={stddev}.");
        }

        Mean = mean;
        Stddev = stddev;
        Truncated = truncated;
    }

    public string Name => Truncated ? "truncated_normal" : "random_normal";

    public float Mean { get; }

    public float Stddev { get; }

    public bool Truncated { get; }

    public void Initialize(Tensor tensor, Rng rng)
    {
        if (Truncated)
        {
            rng.FillTruncatedNormal(tensor.Span, Mean, Stddev);
        }
        else
        {
            rng.FillNormal(tensor.Span, Mean, Stddev);
        }
    }

    public InitializerConfig GetConfig() => new(Name, new("mean", InitializerConfig.Format(Mean)), new("stddev", InitializerConfig.Format(Stddev)));
}

/// <summary>
/// Keras's <c>VarianceScaling</c>, and the named special cases built on it (glorot, he, lecun).
/// With n = max(1, fan) for the chosen <see cref="FanMode"/> (fan_avg = (fan_in + fan_out)/2):
/// truncated normal with stddev = √(scale/n)/0.87962566103423978, untruncated normal with
/// stddev = √(scale/n), or U(−l, l) with l = √(3·scale/n).
/// </summary>
public sealed class VarianceScalingInitializer : IInitializer
{
    /// <summary>Stddev of a standard normal truncated to [−2, 2]; dividing by it restores the variance the truncation removes.</summary>
    public const double TruncationCorrection = 0.87962566103423978;

    internal VarianceScalingInitializer(string name, double scale, FanMode mode, VarianceDistribution distribution)
    {
        if (!(scale > 0) || !double.IsFinite(scale))
        {
            throw new ArgumentOutOfRangeException(nameof(scale), $"{name}: scale must be a positive number, got {scale}.");
        }

        Name = name;
        Scale = scale;
        Mode = mode;
        Distribution = distribution;
    }

    public string Name { get; }

    public double Scale { get; }

    public FanMode Mode { get; }

    public VarianceDistribution Distribution { get; }

    public void Initialize(Tensor tensor, Rng rng)
    {
        var (fanIn, fanOut) = Initializers.ComputeFans(tensor.Shape);
        double n = Mode switch
        {
            FanMode.FanIn => fanIn,
            FanMode.FanOut => fanOut,
            _ => (fanIn + (double)fanOut) / 2,
        };
        double variance = Scale / Math.Max(1.0, n);
        switch (Distribution)
        {
            case VarianceDistribution.TruncatedNormal:
                rng.FillTruncatedNormal(tensor.Span, 0f, (float)(Math.Sqrt(variance) / TruncationCorrection));
                break;
            case VarianceDistribution.UntruncatedNormal:
                rng.FillNormal(tensor.Span, 0f, (float)Math.Sqrt(variance));
                break;
            default:
                float limit = (float)Math.Sqrt(3 * variance);
                rng.FillUniform(tensor.Span, -limit, limit);
                break;
        }
    }

    public InitializerConfig GetConfig() => Name == "variance_scaling"
        ? new InitializerConfig(
            Name,
            new("scale", InitializerConfig.Format(Scale)),
            new("mode", Initializers.ModeName(Mode)),
            new("distribution", Initializers.DistributionName(Distribution)))
        : new InitializerConfig(Name);
}

/// <summary>
/// <c>orthogonal(gain=1)</c> (Saxe et al., 2014), as Keras does it: for a tensor viewed as a
/// [rows, cols] matrix (rows = product of all but the last dimension), draw a standard normal
/// matrix A of shape [max(rows, cols), min(rows, cols)] (row-major draw order), factor A = QR
/// by Householder reflections in double precision, multiply each column of Q by the sign of
/// R's diagonal entry (which makes the factorisation unique, so Q is Haar-distributed), transpose
/// when rows &lt; cols, and scale by <see cref="Gain"/>. Tall and square results have orthonormal
/// columns (QᵀQ = I), wide ones orthonormal rows (QQᵀ = I).
/// </summary>
/// <remarks>Cost: O(max·min²) double operations, e.g. about 1e9 for an LSTM recurrent kernel [512, 2048].</remarks>
public sealed class OrthogonalInitializer : IInitializer
{
    internal OrthogonalInitializer(float gain)
    {
        if (!float.IsFinite(gain))
        {
            throw new ArgumentOutOfRangeException(nameof(gain), $"orthogonal: gain must be finite, got {gain}.");
        }

        Gain = gain;
    }

    public string Name => "orthogonal";

    public float Gain { get; }

    public void Initialize(Tensor tensor, Rng rng)
    {
        if (tensor.Rank < 2)
        {
            throw new ArgumentException($"orthogonal: needs a tensor of rank ≥ 2, got shape {Tensor.FormatShape(tensor.Shape)}.", nameof(tensor));
        }

        int cols = tensor.Dim(-1);
        int rows = cols == 0 ? 0 : tensor.Length / cols;
        if (tensor.Length == 0)
        {
            return;
        }

        int m = Math.Max(rows, cols), n = Math.Min(rows, cols);

        // Column-major copy (column j is at qt[j*m ..]) so that every reflection works on contiguous memory.
        var a = new double[n * m];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                a[(j * m) + i] = rng.NextStandardNormal();
            }
        }

        var q = Householder.ThinQ(a, m, n);
        var dst = tensor.Span;
        if (rows >= cols)
        {
            // dst[i, j] = Q[i, j].
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    dst[(i * n) + j] = (float)(Gain * q[(j * m) + i]);
                }
            }
        }
        else
        {
            // dst = Qᵀ: row i of dst is column i of Q, already contiguous.
            for (int k = 0; k < n * m; k++)
            {
                dst[k] = (float)(Gain * q[k]);
            }
        }
    }

    public InitializerConfig GetConfig() => new(Name, new KeyValuePair<string, string>("gain", InitializerConfig.Format(Gain)));
}

/// <summary><c>identity(gain=1)</c>: gain on the main diagonal of a 2-D tensor (rectangular allowed), 0 elsewhere.</summary>
public sealed class IdentityInitializer : IInitializer
{
    internal IdentityInitializer(float gain) => Gain = gain;

    public string Name => "identity";

    public float Gain { get; }

    public void Initialize(Tensor tensor, Rng rng)
    {
        if (tensor.Rank != 2)
        {
            throw new ArgumentException($"identity: needs a 2-D tensor, got shape {Tensor.FormatShape(tensor.Shape)}.", nameof(tensor));
        }

        tensor.Clear();
        int rows = tensor.Dim(0), cols = tensor.Dim(1);
        for (int i = 0; i < Math.Min(rows, cols); i++)
        {
            tensor.Span[(i * cols) + i] = Gain;
        }
    }

    public InitializerConfig GetConfig() => new(Name, new KeyValuePair<string, string>("gain", InitializerConfig.Format(Gain)));
}

/// <summary>Householder QR in double precision, for the orthogonal initializer.</summary>
internal static class Householder
{
    /// <summary>
    /// For A of shape [m, n], m ≥ n, stored column-major in <paramref name="a"/> (overwritten), returns
    /// the thin Q [m, n] (column-major) of A = QR with R's diagonal made positive.
    /// </summary>
    public static double[] ThinQ(double[] a, int m, int n)
    {
        var v = new double[n * m]; // reflector k lives in v[k*m + k ..], unit length
        var rDiag = new double[n];
        for (int k = 0; k < n; k++)
        {
            var x = a.AsSpan((k * m) + k, m - k);
            double norm = Math.Sqrt(Dot(x, x));

            // Reflect x onto -sign(x0)·‖x‖·e1: adding, not subtracting, avoids cancellation.
            double alpha = x[0] >= 0 ? -norm : norm;
            rDiag[k] = alpha;
            var vk = v.AsSpan((k * m) + k, m - k);
            x.CopyTo(vk);
            vk[0] -= alpha;
            double vnorm = Math.Sqrt(Dot(vk, vk));
            if (vnorm == 0)
            {
                // x is already zero: no reflection (H = I).
                vk.Clear();
                continue;
            }

            for (int i = 0; i < vk.Length; i++)
            {
                vk[i] /= vnorm;
            }

            for (int j = k + 1; j < n; j++)
            {
                Reflect(vk, a.AsSpan((j * m) + k, m - k));
            }
        }

        // Q = H0·H1·…·H(n-1) applied to the first n columns of the identity.
        var q = new double[n * m];
        for (int j = 0; j < n; j++)
        {
            q[(j * m) + j] = 1;
        }

        for (int k = n - 1; k >= 0; k--)
        {
            var vk = v.AsSpan((k * m) + k, m - k);
            for (int j = 0; j < n; j++)
            {
                Reflect(vk, q.AsSpan((j * m) + k, m - k));
            }
        }

        // Q·diag(sign(r)) with R's diagonal r: the unique factor with a positive diagonal in R.
        for (int j = 0; j < n; j++)
        {
            if (rDiag[j] < 0)
            {
                foreach (ref double e in q.AsSpan(j * m, m))
                {
                    e = -e;
                }
            }
        }

        return q;
    }

    /// <summary>y ← (I − 2vvᵀ)y.</summary>
    private static void Reflect(ReadOnlySpan<double> v, Span<double> y)
    {
        double d = 2 * Dot(v, y);
        if (d != 0)
        {
            for (int i = 0; i < y.Length; i++)
            {
                y[i] -= d * v[i];
            }
        }
    }

    /// <summary>
    /// A dot product in a fixed order (four interleaved partial sums), deliberately not SIMD-width
    /// dependent, so that the same seed gives the same orthogonal weights on every machine.
    /// </summary>
    private static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 4 <= x.Length; i += 4)
        {
            s0 += x[i] * y[i];
            s1 += x[i + 1] * y[i + 1];
            s2 += x[i + 2] * y[i + 2];
            s3 += x[i + 3] * y[i + 3];
        }

        for (; i < x.Length; i++)
        {
            s0 += x[i] * y[i];
        }

        return (s0 + s1) + (s2 + s3);
    }
}
