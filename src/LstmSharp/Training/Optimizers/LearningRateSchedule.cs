using System.Numerics;
using System.Text.Json.Nodes;

namespace LstmSharp.Training;

/// <summary>
/// A learning rate as a function of the optimizer's step count (Keras
/// <c>LearningRateSchedule</c>); evaluated with the number of steps already taken, so the first
/// step uses <c>Get(0)</c>.
/// </summary>
public abstract class LearningRateSchedule
{
    public abstract double Get(long step);

    public abstract JsonObject GetConfig();

    /// <summary>Rebuilds a schedule from <see cref="GetConfig"/>'s output.</summary>
    public static LearningRateSchedule FromConfig(JsonObject config)
    {
        var (className, c) = Config.Envelope(config, "LearningRateSchedule.FromConfig");
        return className switch
        {
            "ExponentialDecay" => new ExponentialDecay(Config.Number(c, "initial_learning_rate", double.NaN), (long)Config.Number(c, "decay_steps", double.NaN), Config.Number(c, "decay_rate", double.NaN), Config.Bool(c, "staircase", false)),
            "PiecewiseConstantDecay" => new PiecewiseConstantDecay(
                c["boundaries"]!.AsArray().Select(n => (long)Config.ToDouble(n!, "boundaries")).ToArray(),
                c["values"]!.AsArray().Select(n => Config.ToDouble(n!, "values")).ToArray()),
            "CosineDecay" => new CosineDecay(Config.Number(c, "initial_learning_rate", double.NaN), (long)Config.Number(c, "decay_steps", double.NaN), Config.Number(c, "alpha", 0), Config.NullableNumber(c, "warmup_target"), (long)Config.Number(c, "warmup_steps", 0)),
            _ => throw new ArgumentException($"LearningRateSchedule.FromConfig: unknown schedule '{className}'; valid: ExponentialDecay, PiecewiseConstantDecay, CosineDecay."),
        };
    }

    /// <summary>Returns <paramref name="value"/>, or throws naming <paramref name="who"/> and <paramref name="name"/> unless it is positive and finite.</summary>
    private protected static T CheckPositive<T>(T value, string name, string who)
        where T : INumber<T>
    {
        if (!(value > T.Zero) || !T.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{who}: {name} must be a positive finite number, got {value}.");
        }

        return value;
    }
}

/// <summary>
/// Keras <c>ExponentialDecay</c>: <c>lr(step) = initial · rate^{step / decaySteps}</c>, the
/// exponent floored when <c>staircase</c> is true.
/// </summary>
public sealed class ExponentialDecay(double initialLearningRate, long decaySteps, double decayRate, bool staircase = false) : LearningRateSchedule
{
    public double InitialLearningRate { get; } = CheckPositive(initialLearningRate, nameof(initialLearningRate), nameof(ExponentialDecay));

    public long DecaySteps { get; } = CheckPositive(decaySteps, nameof(decaySteps), nameof(ExponentialDecay));

    public double DecayRate { get; } = CheckPositive(decayRate, nameof(decayRate), nameof(ExponentialDecay));

    public bool Staircase { get; } = staircase;

    public override double Get(long step)
    {
        double p = (double)step / DecaySteps;
        if (Staircase)
        {
            p = Math.Floor(p);
        }

        return InitialLearningRate * Math.Pow(DecayRate, p);
    }

    public override JsonObject GetConfig() => new()
    {
        ["class_name"] = "ExponentialDecay",
        ["config"] = new JsonObject { ["initial_learning_rate"] = InitialLearningRate, ["decay_steps"] = DecaySteps, ["decay_rate"] = DecayRate, ["staircase"] = Staircase },
    };
}

/// <summary>
/// Keras <c>PiecewiseConstantDecay</c> (step decay): <c>values[0]</c> while
/// <c>step ≤ boundaries[0]</c>, <c>values[i]</c> while <c>boundaries[i−1] &lt; step ≤ boundaries[i]</c>,
/// and <c>values[^1]</c> after the last boundary.
/// </summary>
public sealed class PiecewiseConstantDecay : LearningRateSchedule
{
    private readonly long[] boundaries;
    private readonly double[] values;

    public PiecewiseConstantDecay(long[] boundaries, double[] values)
    {
        ArgumentNullException.ThrowIfNull(boundaries);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != boundaries.Length + 1)
        {
            throw new ArgumentException($"PiecewiseConstantDecay: values must have one more element than boundaries ({boundaries.Length + 1}), got {values.Length}.", nameof(values));
        }

        for (int i = 1; i < boundaries.Length; i++)
        {
            if (boundaries[i] <= boundaries[i - 1])
            {
                throw new ArgumentException($"PiecewiseConstantDecay: boundaries must increase strictly, got {boundaries[i - 1]} then {boundaries[i]}.", nameof(boundaries));
            }
        }

        foreach (double v in values)
        {
            CheckPositive(v, nameof(values), nameof(PiecewiseConstantDecay));
        }

        this.boundaries = (long[])boundaries.Clone();
        this.values = (double[])values.Clone();
    }

    public IReadOnlyList<long> Boundaries => boundaries;

    public IReadOnlyList<double> Values => values;

    public override double Get(long step)
    {
        int i = 0;
        while (i < boundaries.Length && step > boundaries[i])
        {
            i++;
        }

        return values[i];
    }

    public override JsonObject GetConfig() => new()
    {
        ["class_name"] = "PiecewiseConstantDecay",
        ["config"] = new JsonObject
        {
            ["boundaries"] = new JsonArray(boundaries.Select(b => (JsonNode?)JsonValue.Create(b)).ToArray()),
            ["values"] = new JsonArray(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
        },
    };
}

/// <summary>
/// Keras <c>CosineDecay</c>: with <c>s = min(step, decaySteps)</c>,
/// <c>lr = initial · ((1 − α) · ½(1 + cos(π s / decaySteps)) + α)</c>. With a warmup target, the
/// rate first rises linearly from <c>initial</c> to <c>warmupTarget</c> over
/// <c>warmupSteps</c>, then decays from <c>warmupTarget</c> as above.
/// </summary>
public sealed class CosineDecay(double initialLearningRate, long decaySteps, double alpha = 0, double? warmupTarget = null, long warmupSteps = 0) : LearningRateSchedule
{
    public double InitialLearningRate { get; } = initialLearningRate >= 0 && double.IsFinite(initialLearningRate)
        ? initialLearningRate
        : throw new ArgumentOutOfRangeException(nameof(initialLearningRate), initialLearningRate, $"CosineDecay: initialLearningRate must be a finite number >= 0, got {initialLearningRate}.");

    public long DecaySteps { get; } = CheckPositive(decaySteps, nameof(decaySteps), nameof(CosineDecay));

    public double Alpha { get; } = alpha >= 0 && alpha <= 1
        ? alpha
        : throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"CosineDecay: alpha must lie in [0, 1], got {alpha}.");

    public double? WarmupTarget { get; } = warmupTarget;

    public long WarmupSteps { get; } = warmupSteps >= 0 && (warmupTarget is not null || warmupSteps == 0)
        ? warmupSteps
        : throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"CosineDecay: warmupSteps must be >= 0 and needs a warmupTarget, got {warmupSteps} (warmupTarget {warmupTarget?.ToString() ?? "null"}).");

    public override double Get(long step)
    {
        if (WarmupTarget is not double target)
        {
            return Decay(step, InitialLearningRate);
        }

        step = Math.Min(step, DecaySteps + WarmupSteps);
        if (step < WarmupSteps)
        {
            return ((target - InitialLearningRate) * step / WarmupSteps) + InitialLearningRate;
        }

        return Decay(step - WarmupSteps, target);
    }

    private double Decay(long step, double start)
    {
        double s = Math.Min(step, DecaySteps);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * s / DecaySteps));
        return start * (((1 - Alpha) * cosine) + Alpha);
    }

    public override JsonObject GetConfig() => new()
    {
        ["class_name"] = "CosineDecay",
        ["config"] = new JsonObject
        {
            ["initial_learning_rate"] = InitialLearningRate,
            ["decay_steps"] = DecaySteps,
            ["alpha"] = Alpha,
            ["warmup_target"] = WarmupTarget,
            ["warmup_steps"] = WarmupSteps,
        },
    };
}
