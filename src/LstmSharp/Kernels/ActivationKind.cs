namespace LstmSharp.Kernels;

/// <summary>
/// Elementwise activations that the recurrent cells and Dense accept, by their Keras names.
/// Each has a derivative that can be computed from the activation's output y alone, which is
/// what the backward passes use (they save outputs, not pre-activations).
/// </summary>
public enum ActivationKind
{
    /// <summary>"linear": y = x; dy/dx = 1.</summary>
    Linear,

    /// <summary>"sigmoid": y = 1 / (1 + e^-x); dy/dx = y(1 - y).</summary>
    Sigmoid,

    /// <summary>"hard_sigmoid" (Keras 3): y = clip(x/6 + 1/2, 0, 1); dy/dx = 1/6 inside (0, 1), else 0.</summary>
    HardSigmoid,

    /// <summary>"tanh": dy/dx = 1 - y².</summary>
    Tanh,

    /// <summary>"relu": y = max(x, 0); dy/dx = 1 where y &gt; 0.</summary>
    Relu,

    /// <summary>"elu" (α = 1; ONNX Elu): y = x for x &gt; 0, else e^x − 1; dy/dx = 1 where y &gt; 0, else y + 1.</summary>
    Elu,

    /// <summary>"softsign": y = x / (1 + |x|); dy/dx = (1 − |y|)².</summary>
    Softsign,

    /// <summary>"softplus": y = log(1 + e^x); dy/dx = σ(x) = 1 − e^−y.</summary>
    Softplus,
}

public static class ActivationNames
{
    /// <summary>Parses a Keras activation name ("tanh", "sigmoid", "hard_sigmoid", "relu", "elu", "softsign", "softplus", "linear"; null or "" = linear).</summary>
    public static ActivationKind Parse(string? name, string owner = "activation") => (name ?? string.Empty).ToLowerInvariant() switch
    {
        "" or "linear" or "none" => ActivationKind.Linear,
        "sigmoid" => ActivationKind.Sigmoid,
        "hard_sigmoid" or "hardsigmoid" => ActivationKind.HardSigmoid,
        "tanh" => ActivationKind.Tanh,
        "relu" => ActivationKind.Relu,
        "elu" => ActivationKind.Elu,
        "softsign" => ActivationKind.Softsign,
        "softplus" => ActivationKind.Softplus,
        _ => throw new ArgumentException($"{owner}: unknown activation '{name}'; expected one of linear, sigmoid, hard_sigmoid, tanh, relu, elu, softsign, softplus."),
    };

    public static string ToName(this ActivationKind kind) => kind switch
    {
        ActivationKind.Linear => "linear",
        ActivationKind.Sigmoid => "sigmoid",
        ActivationKind.HardSigmoid => "hard_sigmoid",
        ActivationKind.Tanh => "tanh",
        ActivationKind.Relu => "relu",
        ActivationKind.Elu => "elu",
        ActivationKind.Softsign => "softsign",
        ActivationKind.Softplus => "softplus",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Scalar reference of the activation (double precision), for tests and tails.</summary>
    public static double Apply(this ActivationKind kind, double x) => kind switch
    {
        ActivationKind.Linear => x,
        ActivationKind.Sigmoid => 1.0 / (1.0 + Math.Exp(-x)),
        ActivationKind.HardSigmoid => Math.Clamp((x / 6.0) + 0.5, 0.0, 1.0),
        ActivationKind.Tanh => Math.Tanh(x),
        ActivationKind.Relu => Math.Max(x, 0.0),
        ActivationKind.Elu => x > 0 ? x : ExpM1(x),
        ActivationKind.Softsign => double.IsInfinity(x) ? Math.Sign(x) : x / (1 + Math.Abs(x)),
        ActivationKind.Softplus => Math.Max(x, 0.0) + Log1P(Math.Exp(-Math.Abs(x))),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>dy/dx expressed through the output y (scalar reference).</summary>
    public static double DerivativeFromOutput(this ActivationKind kind, double y) => kind switch
    {
        ActivationKind.Linear => 1.0,
        ActivationKind.Sigmoid => y * (1.0 - y),
        ActivationKind.HardSigmoid => y > 0.0 && y < 1.0 ? 1.0 / 6.0 : 0.0,
        ActivationKind.Tanh => 1.0 - (y * y),
        ActivationKind.Relu => y > 0.0 ? 1.0 : 0.0,
        ActivationKind.Elu => y > 0.0 ? 1.0 : y + 1,
        ActivationKind.Softsign => (1 - Math.Abs(y)) * (1 - Math.Abs(y)),
        ActivationKind.Softplus => -ExpM1(-y),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    // e^x − 1 and log(1 + x) in double without the cancellation near 0 (.NET has neither as a primitive).
    private static double ExpM1(double x) => Math.Abs(x) < 1e-5 ? x * (1 + (x * (0.5 + (x / 6)))) : Math.Exp(x) - 1;

    private static double Log1P(double x) => Math.Abs(x) < 1e-5 ? x * (1 - (x * (0.5 - (x / 3)))) : Math.Log(1 + x);
}
