using System.Globalization;
using System.Text;

namespace LstmSharp.Tensors;

/// <summary>Fills a weight tensor with its initial values (Keras's initializers).</summary>
public interface IInitializer
{
    /// <summary>The Keras name, e.g. <c>glorot_uniform</c>.</summary>
    string Name { get; }

    /// <summary>Overwrites every element of <paramref name="tensor"/>; random initializers draw from <paramref name="rng"/>.</summary>
    void Initialize(Tensor tensor, Rng rng);

    /// <summary>Name and arguments, enough for <see cref="Initializers.FromConfig"/> to rebuild an equal initializer.</summary>
    InitializerConfig GetConfig();
}

/// <summary>
/// Which initializer a layer used: its Keras name and its arguments (numbers written with the
/// invariant culture, round-trip exact). The text form is <c>name</c> or
/// <c>name(arg=value, ...)</c>, e.g. <c>random_normal(mean=0, stddev=0.05)</c>; it is what model
/// files store and what <see cref="Initializers.Get"/> accepts.
/// </summary>
public sealed class InitializerConfig : IEquatable<InitializerConfig>
{
    private readonly KeyValuePair<string, string>[] arguments;

    public InitializerConfig(string name, params KeyValuePair<string, string>[] arguments)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        this.arguments = arguments.ToArray();
    }

    public string Name { get; }

    /// <summary>Arguments in their Keras order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Arguments => arguments;

    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The shortest text that parses back to the same float (0.1f is "0.1", not its double expansion).</summary>
    public static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Parses <c>name</c> or <c>name(arg=value, ...)</c>.</summary>
    public static InitializerConfig Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string s = text.Trim();
        int open = s.IndexOf('(', StringComparison.Ordinal);
        if (open < 0)
        {
            return new InitializerConfig(s);
        }

        if (!s.EndsWith(')'))
        {
            throw new FormatException($"Initializer '{text}': expected 'name(arg=value, ...)' with a closing parenthesis.");
        }

        string name = s[..open].Trim();
        string inner = s[(open + 1)..^1];
        var args = new List<KeyValuePair<string, string>>();
        foreach (string part in inner.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"Initializer '{text}': argument '{part}' is not of the form name=value.");
            }

            args.Add(new(part[..eq].Trim(), part[(eq + 1)..].Trim().Trim('\'', '"')));
        }

        return new InitializerConfig(name, args.ToArray());
    }

    public override string ToString()
    {
        if (arguments.Length == 0)
        {
            return Name;
        }

        var sb = new StringBuilder(Name).Append('(');
        for (int i = 0; i < arguments.Length; i++)
        {
            sb.Append(i == 0 ? string.Empty : ", ").Append(arguments[i].Key).Append('=').Append(arguments[i].Value);
        }

        return sb.Append(')').ToString();
    }

    public bool Equals(InitializerConfig? other) => other is not null && ToString() == other.ToString();

    public override bool Equals(object? obj) => Equals(obj as InitializerConfig);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());
}

/// <summary>
/// Keras's initializers by name, and the fan computation they share.
/// </summary>
/// <remarks>
/// Names (Keras 3, with their defaults): <c>zeros</c>, <c>ones</c>, <c>constant(value=0)</c>,
/// <c>random_uniform(minval=-0.05, maxval=0.05)</c>, <c>random_normal(mean=0, stddev=0.05)</c>,
/// <c>truncated_normal(mean=0, stddev=0.05)</c>,
/// <c>variance_scaling(scale=1, mode=fan_in, distribution=truncated_normal)</c>,
/// <c>glorot_uniform</c>, <c>glorot_normal</c>, <c>he_normal</c>, <c>he_uniform</c>,
/// <c>lecun_normal</c>, <c>lecun_uniform</c>, <c>orthogonal(gain=1)</c>, <c>identity(gain=1)</c>.
/// Keras's class names (<c>GlorotUniform</c>) and its aliases (<c>zero</c>, <c>one</c>,
/// <c>uniform</c>, <c>normal</c>) are accepted too.
/// </remarks>
public static class Initializers
{
    private static readonly string[] CanonicalNames =
    {
        "zeros", "ones", "constant", "random_uniform", "random_normal", "truncated_normal", "variance_scaling",
        "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "orthogonal", "identity",
    };

    /// <summary>The canonical Keras names.</summary>
    public static IReadOnlyList<string> Names => CanonicalNames;

    public static IInitializer Zeros() => new ConstantInitializer("zeros", 0f);

    public static IInitializer Ones() => new ConstantInitializer("ones", 1f);

    public static IInitializer Constant(float value) => new ConstantInitializer("constant", value);

    public static IInitializer RandomUniform(float minval = -0.05f, float maxval = 0.05f) => new RandomUniformInitializer(minval, maxval);

    public static IInitializer RandomNormal(float mean = 0f, float stddev = 0.05f) => new RandomNormalInitializer(mean, stddev, truncated: false);

    public static IInitializer TruncatedNormal(float mean = 0f, float stddev = 0.05f) => new RandomNormalInitializer(mean, stddev, truncated: true);

    public static IInitializer VarianceScaling(double scale = 1.0, FanMode mode = FanMode.FanIn, VarianceDistribution distribution = VarianceDistribution.TruncatedNormal) =>
        new VarianceScalingInitializer("variance_scaling", scale, mode, distribution);

    /// <summary>U(−l, l), l = √(6 / (fan_in + fan_out)).</summary>
    public static IInitializer GlorotUniform() => new VarianceScalingInitializer("glorot_uniform", 1.0, FanMode.FanAvg, VarianceDistribution.Uniform);

    /// <summary>Truncated normal, stddev = √(2 / (fan_in + fan_out)) / 0.8796…</summary>
    public static IInitializer GlorotNormal() => new VarianceScalingInitializer("glorot_normal", 1.0, FanMode.FanAvg, VarianceDistribution.TruncatedNormal);

    /// <summary>Truncated normal, stddev = √(2 / fan_in) / 0.8796…</summary>
    public static IInitializer HeNormal() => new VarianceScalingInitializer("he_normal", 2.0, FanMode.FanIn, VarianceDistribution.TruncatedNormal);

    /// <summary>U(−l, l), l = √(6 / fan_in).</summary>
    public static IInitializer HeUniform() => new VarianceScalingInitializer("he_uniform", 2.0, FanMode.FanIn, VarianceDistribution.Uniform);

    /// <summary>Truncated normal, stddev = √(1 / fan_in) / 0.8796…</summary>
    public static IInitializer LecunNormal() => new VarianceScalingInitializer("lecun_normal", 1.0, FanMode.FanIn, VarianceDistribution.TruncatedNormal);

    /// <summary>U(−l, l), l = √(3 / fan_in).</summary>
    public static IInitializer LecunUniform() => new VarianceScalingInitializer("lecun_uniform", 1.0, FanMode.FanIn, VarianceDistribution.Uniform);

    public static IInitializer Orthogonal(float gain = 1f) => new OrthogonalInitializer(gain);

    public static IInitializer Identity(float gain = 1f) => new IdentityInitializer(gain);

    /// <summary>
    /// The initializer for a Keras name, a Keras class name, or a text config such as
    /// <c>random_normal(stddev=0.1)</c>; throws naming the valid names otherwise.
    /// </summary>
    public static IInitializer Get(string nameOrConfig)
    {
        ArgumentNullException.ThrowIfNull(nameOrConfig);
        return FromConfig(InitializerConfig.Parse(nameOrConfig));
    }

    /// <summary>Rebuilds an initializer from its config.</summary>
    public static IInitializer FromConfig(InitializerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var args = new Arguments(config);
        IInitializer result = Canonical(config.Name) switch
        {
            "zeros" => Zeros(),
            "ones" => Ones(),
            "constant" => Constant(args.Float("value", 0f)),
            "random_uniform" => RandomUniform(args.Float("minval", -0.05f), args.Float("maxval", 0.05f)),
            "random_normal" => RandomNormal(args.Float("mean", 0f), args.Float("stddev", 0.05f)),
            "truncated_normal" => TruncatedNormal(args.Float("mean", 0f), args.Float("stddev", 0.05f)),
            "variance_scaling" => VarianceScaling(
                args.Double("scale", 1.0),
                ParseMode(args.String("mode", "fan_in")),
                ParseDistribution(args.String("distribution", "truncated_normal"))),
            "glorot_uniform" => GlorotUniform(),
            "glorot_normal" => GlorotNormal(),
            "he_normal" => HeNormal(),
            "he_uniform" => HeUniform(),
            "lecun_normal" => LecunNormal(),
            "lecun_uniform" => LecunUniform(),
            "orthogonal" => Orthogonal(args.Float("gain", 1f)),
            "identity" => Identity(args.Float("gain", 1f)),
            _ => throw new ArgumentException($"Unknown initializer '{config.Name}'; expected one of {string.Join(", ", CanonicalNames)}."),
        };
        args.ThrowOnUnused(result.Name);
        return result;
    }

    /// <summary>
    /// Keras's fans: [] → (1, 1); [n] → (n, n); [in, out] → (in, out); for rank ≥ 3 (convolution
    /// kernels) the product of the leading dimensions, the receptive field, multiplies both:
    /// (shape[-2]·rf, shape[-1]·rf).
    /// </summary>
    public static (int FanIn, int FanOut) ComputeFans(ReadOnlySpan<int> shape)
    {
        switch (shape.Length)
        {
            case 0:
                return (1, 1);
            case 1:
                return (shape[0], shape[0]);
            case 2:
                return (shape[0], shape[1]);
            default:
                long receptive = 1;
                for (int d = 0; d < shape.Length - 2; d++)
                {
                    receptive *= shape[d];
                }

                return ((int)(shape[^2] * receptive), (int)(shape[^1] * receptive));
        }
    }

    internal static string ModeName(FanMode mode) => mode switch
    {
        FanMode.FanIn => "fan_in",
        FanMode.FanOut => "fan_out",
        _ => "fan_avg",
    };

    internal static string DistributionName(VarianceDistribution d) => d switch
    {
        VarianceDistribution.TruncatedNormal => "truncated_normal",
        VarianceDistribution.UntruncatedNormal => "untruncated_normal",
        _ => "uniform",
    };

    private static FanMode ParseMode(string s) => s switch
    {
        "fan_in" => FanMode.FanIn,
        "fan_out" => FanMode.FanOut,
        "fan_avg" => FanMode.FanAvg,
        _ => throw new ArgumentException($"variance_scaling: mode must be one of fan_in, fan_out, fan_avg, got '{s}'."),
    };

    private static VarianceDistribution ParseDistribution(string s) => s switch
    {
        "truncated_normal" => VarianceDistribution.TruncatedNormal,
        "untruncated_normal" => VarianceDistribution.UntruncatedNormal,
        "uniform" => VarianceDistribution.Uniform,
        _ => throw new ArgumentException($"variance_scaling: distribution must be one of truncated_normal, untruncated_normal, uniform, got '{s}'."),
    };

    /// <summary>Accepts snake_case names, Keras class names (GlorotUniform) and Keras's short aliases.</summary>
    private static string Canonical(string name)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0 && name[i - 1] != '_')
            {
                sb.Append('_');
            }

            sb.Append(char.ToLowerInvariant(c));
        }

        return sb.ToString() switch
        {
            "zero" => "zeros",
            "one" => "ones",
            "uniform" => "random_uniform",
            "normal" => "random_normal",
            var s => s,
        };
    }

    /// <summary>Reads arguments by name and reports the ones nobody asked for.</summary>
    private sealed class Arguments
    {
        private readonly InitializerConfig config;
        private readonly HashSet<string> used = new(StringComparer.Ordinal);

        public Arguments(InitializerConfig config) => this.config = config;

        public string String(string key, string fallback)
        {
            used.Add(key);
            foreach (var kv in config.Arguments)
            {
                if (kv.Key == key)
                {
                    return kv.Value;
                }
            }

            return fallback;
        }

        public double Double(string key, double fallback)
        {
            string s = String(key, string.Empty);
            if (s.Length == 0)
            {
                return fallback;
            }

            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            {
                throw new ArgumentException($"Initializer '{config}': argument {key} must be a number, got '{s}'.");
            }

            return v;
        }

        public float Float(string key, float fallback) => (float)Double(key, fallback);

        public void ThrowOnUnused(string name)
        {
            // Keras configs carry seed=None; a real seed is refused because ours draw from the Rng handed to Initialize.
            var unknown = config.Arguments
                .Where(kv => !used.Contains(kv.Key) && !(kv.Key == "seed" && kv.Value is "None" or "null" or ""))
                .Select(kv => kv.Key == "seed" ? "seed (seed the Rng passed to Initialize instead)" : kv.Key)
                .ToArray();
            if (unknown.Length > 0)
            {
                throw new ArgumentException($"Initializer '{config}': {name} takes no argument {string.Join(", ", unknown)}.");
            }
        }
    }
}
