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
}

public static class ActivationNames
{
    /// <summary>Parses a Keras activation name ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear"; null or "" = linear).</summary>
    public static ActivationKind Parse(string? name, string owner = "activation") => (name ?? string.Empty).ToLowerInvariant() switch
    {
        "" or "linear" or "none" => ActivationKind.Linear,
        "sigmoid" => ActivationKind.Sigmoid,
        "hard_sigmoid" or "hardsigmoid" => ActivationKind.HardSigmoid,
        "tanh" => ActivationKind.Tanh,
        "relu" => ActivationKind.Relu,
        _ => throw new ArgumentException($"{owner}: unknown activation '{name}'; expected one of linear, sigmoid, hard_sigmoid, tanh, relu."),
    };

    public static string ToName(this ActivationKind kind) => kind switch
    {
        ActivationKind.Linear => "linear",
        ActivationKind.Sigmoid => "sigmoid",
        ActivationKind.HardSigmoid => "hard_sigmoid",
        ActivationKind.Tanh => "tanh",
        ActivationKind.Relu => "relu",
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
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
