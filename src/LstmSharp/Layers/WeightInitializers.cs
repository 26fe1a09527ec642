using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Keras initializers by name, for <see cref="Layer"/>'s AddWeight. Fans follow Keras: for a
/// 2-D kernel <c>[fan_in, fan_out]</c>; for 1-D both are the length.
/// </summary>
internal static class WeightInitializers
{
    public static readonly IReadOnlyList<string> Names =
        ["zeros", "ones", "uniform", "random_uniform", "normal", "random_normal", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "orthogonal"];

    public static void Fill(string name, Tensor t, Rng rng, string owner)
    {
        var s = t.Span;
        (double fanIn, double fanOut) = Fans(t.Shape);
        switch ((name ?? string.Empty).ToLowerInvariant())
        {
            case "zeros":
                s.Clear();
                break;
            case "ones":
                s.Fill(1f);
                break;
            case "uniform":
            case "random_uniform":
                // Keras RandomUniform defaults: [-0.05, 0.05].
                Uniform(s, rng, 0.05);
                break;
            case "normal":
            case "random_normal":
                Normal(s, rng, 0.05);
                break;
            case "glorot_uniform":
                Uniform(s, rng, Math.Sqrt(6.0 / (fanIn + fanOut)));
                break;
            case "glorot_normal":
                TruncatedNormal(s, rng, Math.Sqrt(2.0 / (fanIn + fanOut)));
                break;
            case "he_uniform":
                Uniform(s, rng, Math.Sqrt(6.0 / fanIn));
                break;
            case "he_normal":
                TruncatedNormal(s, rng, Math.Sqrt(2.0 / fanIn));
                break;
            case "lecun_uniform":
                Uniform(s, rng, Math.Sqrt(3.0 / fanIn));
                break;
            case "orthogonal":
                Orthogonal(t, rng);
                break;
            default:
                throw new ArgumentException($"{owner}: unknown initializer '{name}'; expected one of {string.Join(", ", Names)}.");
        }
    }

    private static (double FanIn, double FanOut) Fans(ReadOnlySpan<int> shape) => shape.Length switch
    {
        0 => (1, 1),
        1 => (shape[0], shape[0]),
        _ => (shape[^2] * Receptive(shape), shape[^1] * Receptive(shape)),
    };

    private static double Receptive(ReadOnlySpan<int> shape)
    {
        double r = 1;
        for (int i = 0; i < shape.Length - 2; i++)
        {
            r *= shape[i];
        }

        return r;
    }

    private static void Uniform(Span<float> s, Rng rng, double limit) => rng.FillUniform(s, (float)-limit, (float)limit);

    private static double Gaussian(Rng rng) => rng.NextStandardNormal();

    private static void Normal(Span<float> s, Rng rng, double std) => rng.FillNormal(s, 0f, (float)std);

    // Keras's variance-scaling normal: truncated at 2σ, σ corrected by 0.8796 so the variance is std².
    private static void TruncatedNormal(Span<float> s, Rng rng, double std) => rng.FillTruncatedNormal(s, 0f, (float)(std / 0.87962566103423978));

    private static void Orthogonal(Tensor t, Rng rng)
    {
        // Gram–Schmidt on the rows (or columns) of a Gaussian matrix [rows, cols], in double.
        int cols = t.Rank == 0 ? 1 : t.Dim(-1);
        int rows = cols == 0 ? 0 : t.Length / cols;
        bool transpose = rows < cols;
        int n = transpose ? cols : rows;
        int m = transpose ? rows : cols;
        var q = new double[n, m];
        for (int j = 0; j < m; j++)
        {
            for (int i = 0; i < n; i++)
            {
                q[i, j] = Gaussian(rng);
            }

            for (int p = 0; p < j; p++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++)
                {
                    dot += q[i, p] * q[i, j];
                }

                for (int i = 0; i < n; i++)
                {
                    q[i, j] -= dot * q[i, p];
                }
            }

            double norm = 0;
            for (int i = 0; i < n; i++)
            {
                norm += q[i, j] * q[i, j];
            }

            norm = Math.Sqrt(norm);
            for (int i = 0; i < n; i++)
            {
                q[i, j] /= norm;
            }
        }

        var s = t.Span;
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                s[(r * cols) + c] = (float)(transpose ? q[c, r] : q[r, c]);
            }
        }
    }
}
