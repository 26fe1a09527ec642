using System.Globalization;

namespace LstmSharp.Kernels;

/// <summary>
/// One of the activations ONNX's LSTM, GRU and RNN operators name in their <c>activations</c>
/// attribute, with its <c>activation_alpha</c> / <c>activation_beta</c>. Scalar and unfused: the
/// fused recurrent kernels take an <see cref="ActivationKind"/>; this is what
/// <c>Ops.Activation(x, ActivationFunction)</c> and <c>OnnxRecurrentCell</c> run.
/// </summary>
/// <remarks>
/// <code>
/// Relu            max(0, x)                        Tanh          tanh(x)
/// Sigmoid         1 / (1 + e^−x)                   Affine        αx + β            (α = 1, β = 0)
/// LeakyRelu       x if x ≥ 0 else αx   (α = 0.01)  ThresholdedRelu  x if x &gt; α else 0   (α = 1)
/// ScaledTanh      α·tanh(βx)       (α = 1, β = 1)  HardSigmoid   min(max(αx + β, 0), 1)   (α = 0.2, β = 0.5)
/// Elu             x if x ≥ 0 else α(e^x − 1) (α = 1)  Softsign   x / (1 + |x|)
/// Softplus        log(1 + e^x)
/// </code>
/// <para>The defaults in brackets are those of the ONNX operators of the same name, as the
/// recurrent operators' specification asks. ONNX Runtime instead uses 0 for a missing alpha or
/// beta of Affine, ThresholdedRelu and ScaledTanh; LstmSharp's exporter therefore always writes
/// every alpha and beta explicitly.</para>
/// <para>Derivatives (for the backward pass, from x): Relu 1[x &gt; 0]; Affine α; LeakyRelu 1 or α;
/// ThresholdedRelu 1[x &gt; α]; ScaledTanh αβ(1 − tanh²(βx)); HardSigmoid α inside (0, 1), else 0;
/// Elu 1 or αe^x; Softsign 1/(1 + |x|)²; Softplus σ(x).</para>
/// </remarks>
public readonly record struct ActivationFunction
{
    private static readonly string[] KnownNames = ["Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu", "Softsign", "Softplus"];

    private ActivationFunction(string name, float alpha, float beta)
    {
        Name = name;
        Alpha = alpha;
        Beta = beta;
    }

    /// <summary>Every name ONNX's recurrent operators define, in ONNX's spelling.</summary>
    public static IReadOnlyList<string> Names => KnownNames;

    /// <summary>The ONNX name ("LeakyRelu", ...).</summary>
    public string Name { get; }

    /// <summary>α (0 for activations without one).</summary>
    public float Alpha { get; }

    /// <summary>β (0 for activations without one).</summary>
    public float Beta { get; }

    /// <summary>Whether this activation consumes an entry of <c>activation_alpha</c>.</summary>
    public bool TakesAlpha => TakesAlphaByName(Name);

    /// <summary>Whether this activation consumes an entry of <c>activation_beta</c>.</summary>
    public bool TakesBeta => TakesBetaByName(Name);

    /// <summary>
    /// The activation <paramref name="name"/> (ONNX spelling, any case), with <paramref name="alpha"/>
    /// and <paramref name="beta"/> where it takes them (null = the ONNX operator's default).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown name, or an alpha/beta that is not a finite number.</exception>
    public static ActivationFunction Create(string name, float? alpha = null, float? beta = null)
    {
        string canonical = Canonical(name) ?? throw new ArgumentException(
            $"activation '{name}' is not one of {string.Join(", ", KnownNames)}.", nameof(name));
        float a = TakesAlphaByName(canonical) ? alpha ?? DefaultAlpha(canonical) : 0f;
        float b = TakesBetaByName(canonical) ? beta ?? DefaultBeta(canonical) : 0f;
        if (!float.IsFinite(a) || !float.IsFinite(b))
        {
            throw new ArgumentException($"activation {canonical}: alpha and beta must be finite numbers, got alpha={Format(a)}, beta={Format(b)}.", nameof(alpha));
        }

        return new ActivationFunction(canonical, a, b);
    }

    /// <summary>The ONNX spelling of <paramref name="name"/> (case-insensitive), or null when it is not an ONNX recurrent activation.</summary>
    public static string? Canonical(string? name) =>
        KnownNames.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether <paramref name="name"/> (ONNX spelling) consumes an entry of <c>activation_alpha</c>.</summary>
    public static bool TakesAlphaByName(string name) => name is "Affine" or "LeakyRelu" or "ThresholdedRelu" or "ScaledTanh" or "HardSigmoid" or "Elu";

    /// <summary>Whether <paramref name="name"/> (ONNX spelling) consumes an entry of <c>activation_beta</c>.</summary>
    public static bool TakesBetaByName(string name) => name is "Affine" or "ScaledTanh" or "HardSigmoid";

    /// <summary>f(x), in double precision.</summary>
    public double Apply(double x) => Name switch
    {
        "Relu" => x > 0 ? x : 0,
        "Tanh" => Math.Tanh(x),
        "Sigmoid" => Sigmoid(x),
        "Affine" => (Alpha * x) + Beta,
        "LeakyRelu" => x >= 0 ? x : Alpha * x,
        "ThresholdedRelu" => x > Alpha ? x : 0,
        "ScaledTanh" => Alpha * Math.Tanh(Beta * x),
        "HardSigmoid" => Math.Min(1.0, Math.Max(0.0, (Alpha * x) + Beta)),
        "Elu" => x >= 0 ? x : Alpha * (Math.Exp(x) - 1),
        "Softsign" => x / (1 + Math.Abs(x)),
        "Softplus" => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x))),
        _ => throw new InvalidOperationException($"activation '{Name}' is not initialised; use ActivationFunction.Create."),
    };

    /// <summary>df/dx at <paramref name="x"/> (0 at the kinks of Relu, ThresholdedRelu and HardSigmoid, as for clip).</summary>
    public double Derivative(double x)
    {
        switch (Name)
        {
            case "Relu":
                return x > 0 ? 1 : 0;
            case "Tanh":
            {
                double t = Math.Tanh(x);
                return 1 - (t * t);
            }

            case "Sigmoid":
            {
                double s = Sigmoid(x);
                return s * (1 - s);
            }

            case "Affine":
                return Alpha;
            case "LeakyRelu":
                return x >= 0 ? 1 : Alpha;
            case "ThresholdedRelu":
                return x > Alpha ? 1 : 0;
            case "ScaledTanh":
            {
                double t = Math.Tanh(Beta * x);
                return Alpha * Beta * (1 - (t * t));
            }

            case "HardSigmoid":
            {
                double v = (Alpha * x) + Beta;
                return v > 0 && v < 1 ? Alpha : 0;
            }

            case "Elu":
                return x >= 0 ? 1 : Alpha * Math.Exp(x);
            case "Softsign":
            {
                double d = 1 + Math.Abs(x);
                return 1 / (d * d);
            }

            case "Softplus":
                return Sigmoid(x);
            default:
                throw new InvalidOperationException($"activation '{Name}' is not initialised; use ActivationFunction.Create.");
        }
    }

    /// <summary>"LeakyRelu(alpha=0.1)", "HardSigmoid(alpha=0.2, beta=0.5)", "Tanh".</summary>
    public override string ToString() =>
        TakesBeta ? $"{Name}(alpha={Format(Alpha)}, beta={Format(Beta)})"
        : TakesAlpha ? $"{Name}(alpha={Format(Alpha)})"
        : Name ?? "(none)";

    private static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    private static float DefaultAlpha(string name) => name switch
    {
        "LeakyRelu" => 0.01f,
        "HardSigmoid" => 0.2f,
        _ => 1f,
    };

    private static float DefaultBeta(string name) => name switch
    {
        "HardSigmoid" => 0.5f,
        "ScaledTanh" => 1f,
        _ => 0f,
    };

    private static string Format(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}
