using System.Buffers;
using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using Tensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Training;

/// <summary>Base of the built-in regularizers: a penalty with a Keras config.</summary>
public abstract class Regularizer : IRegularizer
{
    public abstract string ClassName { get; }

    public abstract double Penalty(ReadOnlySpan<float> w);

    public abstract void AddGradient(ReadOnlySpan<float> w, Span<float> grad);

    public abstract JsonObject GetConfig();

    private protected static double CheckFactor(double value, string name, string who)
    {
        if (!(value >= 0) || !double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{who}: {name} must be a finite number >= 0, got {value}.");
        }

        return value;
    }

    private protected static void CheckLengths(ReadOnlySpan<float> w, Span<float> grad, string who)
    {
        if (w.Length != grad.Length)
        {
            throw new ArgumentException($"{who}.AddGradient: grad has {grad.Length} elements, weights have {w.Length}.", nameof(grad));
        }
    }

    /// <summary>Adds <c>l1·sign(w)</c> (0 at w = 0) to <paramref name="grad"/>.</summary>
    private protected static void AddSign(ReadOnlySpan<float> w, Span<float> grad, float l1)
    {
        for (int i = 0; i < w.Length; i++)
        {
            float x = w[i];
            grad[i] += x > 0 ? l1 : x < 0 ? -l1 : 0f;
        }
    }
}

/// <summary>Keras <c>L1</c>: penalty <c>l1 · Σ|w|</c>, gradient <c>l1 · sign(w)</c>.</summary>
public sealed class L1(double l1 = 0.01) : Regularizer
{
    public double Factor { get; } = CheckFactor(l1, nameof(l1), "L1");

    public override string ClassName => "L1";

    public override double Penalty(ReadOnlySpan<float> w) => Factor * TensorPrimitives.SumOfMagnitudes(w);

    public override void AddGradient(ReadOnlySpan<float> w, Span<float> grad)
    {
        CheckLengths(w, grad, ClassName);
        AddSign(w, grad, (float)Factor);
    }

    public override JsonObject GetConfig() => new() { ["class_name"] = ClassName, ["config"] = new JsonObject { ["l1"] = Factor } };
}

/// <summary>Keras <c>L2</c>: penalty <c>l2 · Σw²</c> (no ½), gradient <c>2 · l2 · w</c>.</summary>
public sealed class L2(double l2 = 0.01) : Regularizer
{
    public double Factor { get; } = CheckFactor(l2, nameof(l2), "L2");

    public override string ClassName => "L2";

    public override double Penalty(ReadOnlySpan<float> w) => Factor * TensorPrimitives.SumOfSquares(w);

    public override void AddGradient(ReadOnlySpan<float> w, Span<float> grad)
    {
        CheckLengths(w, grad, ClassName);
        TensorPrimitives.MultiplyAdd(w, (float)(2 * Factor), grad, grad);
    }

    public override JsonObject GetConfig() => new() { ["class_name"] = ClassName, ["config"] = new JsonObject { ["l2"] = Factor } };
}

/// <summary>Keras <c>L1L2</c> (defaults 0, as in Keras): <c>l1 · Σ|w| + l2 · Σw²</c>.</summary>
public sealed class L1L2(double l1 = 0, double l2 = 0) : Regularizer
{
    public double L1 { get; } = CheckFactor(l1, nameof(l1), "L1L2");

    public double L2 { get; } = CheckFactor(l2, nameof(l2), "L1L2");

    public override string ClassName => "L1L2";

    public override double Penalty(ReadOnlySpan<float> w) =>
        (L1 * TensorPrimitives.SumOfMagnitudes(w)) + (L2 * TensorPrimitives.SumOfSquares(w));

    public override void AddGradient(ReadOnlySpan<float> w, Span<float> grad)
    {
        CheckLengths(w, grad, ClassName);
        if (L1 != 0)
        {
            AddSign(w, grad, (float)L1);
        }

        if (L2 != 0)
        {
            TensorPrimitives.MultiplyAdd(w, (float)(2 * L2), grad, grad);
        }
    }

    public override JsonObject GetConfig() => new() { ["class_name"] = ClassName, ["config"] = new JsonObject { ["l1"] = L1, ["l2"] = L2 } };
}

/// <summary>Regularizers by Keras name and from configs.</summary>
public static class Regularizers
{
    /// <summary><c>l1</c>, <c>l2</c> or <c>l1_l2</c> (also the class names) with Keras defaults.</summary>
    public static Regularizer Get(string name) => name?.ToLowerInvariant() switch
    {
        "l1" => new L1(),
        "l2" => new L2(),
        "l1_l2" or "l1l2" => new L1L2(),
        _ => throw new ArgumentException($"Regularizers.Get: unknown regularizer '{name}'; valid names: l1, l2, l1_l2.", nameof(name)),
    };

    public static Regularizer FromConfig(JsonObject config)
    {
        const string who = "Regularizers.FromConfig";
        var (className, c) = Config.Envelope(config, who);
        return className.ToLowerInvariant() switch
        {
            "l1" => new L1(Config.Number(c, "l1", 0.01)),
            "l2" => new L2(Config.Number(c, "l2", 0.01)),
            "l1l2" or "l1_l2" => new L1L2(Config.Number(c, "l1", 0), Config.Number(c, "l2", 0)),
            _ => throw new ArgumentException($"{who}: unknown regularizer '{className}'; valid: L1, L2, L1L2."),
        };
    }

    /// <summary>The config of a built-in regularizer; other implementations cannot be saved.</summary>
    public static JsonObject ToConfig(IRegularizer regularizer) => regularizer is Regularizer r
        ? r.GetConfig()
        : throw new NotSupportedException($"Regularizers.ToConfig: {regularizer?.GetType().Name ?? "null"} is not a built-in regularizer (L1, L2, L1L2) and has no config.");
}

/// <summary>Where regularization meets the loss.</summary>
public static class Regularization
{
    /// <summary>
    /// A weight or activity penalty as a differentiable scalar: y = scale · R(x), with
    /// dx += dy · scale · ∇R(x). Keras divides activity penalties by the batch size through
    /// <paramref name="scale"/>.
    /// </summary>
    public static Tensor Penalty(Tensor x, IRegularizer regularizer, float scale = 1f)
    {
        const string op = "penalty";
        Ops.NotNull(x, op, nameof(x));
        ArgumentNullException.ThrowIfNull(regularizer);
        var y = Tensor.Scalar((float)(scale * regularizer.Penalty(x.Span)));
        Tape.Track(op, y, x, () =>
        {
            if (x.RequiresGrad)
            {
                var g = new float[x.Length];
                regularizer.AddGradient(x.Span, g);
                var dx = x.EnsureGrad().Span;
                TensorPrimitives.MultiplyAdd(g, y.Grad!.Span[0] * scale, dx, dx);
            }
        });
        return y;
    }

    /// <summary>
    /// Keras adds each weight's regularization penalty to the training loss. The model calls
    /// this after the backward pass and before <see cref="Optimizer.Step"/>: it returns
    /// <c>Σ penalty(w)</c> over parameters with a regularizer (to add to the reported loss)
    /// and adds <c>∂penalty/∂w</c> into the <see cref="Parameter.Grad"/> of the trainable ones.
    /// </summary>
    public static double AddPenaltiesAndGradients(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double total = 0;
        foreach (var p in parameters)
        {
            if (p.Regularizer is not { } r)
            {
                continue;
            }

            var w = p.Value.Span;
            total += r.Penalty(w);
            if (p.Trainable)
            {
                r.AddGradient(w, p.Grad.Span);
            }
        }

        return total;
    }
}

/// <summary>
/// Base of the norm constraints. For a weight of shape <c>[d0, d1, ...]</c>, norms are taken over
/// <see cref="Axes"/> (Keras <c>axis</c>, default 0): for a 2-D kernel <c>[in, out]</c>, axis 0
/// gives one norm per column, i.e. per output unit's incoming weights. The axes must be
/// contiguous (<c>0</c>, <c>[0, 1]</c>, <c>-1</c>, ...).
/// <code>w ← w · desired(‖w‖) / (ε + ‖w‖),  ε = 1e-7</code>
/// </summary>
public abstract class NormConstraint : IConstraint
{
    private protected NormConstraint(int[] axes)
    {
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Length == 0)
        {
            throw new ArgumentException($"{GetType().Name}: axis must name at least one axis.", "axis");
        }

        Axes = (int[])axes.Clone();
    }

    public IReadOnlyList<int> Axes { get; }

    public abstract string ClassName { get; }

    /// <summary>The norm the weights are scaled to, given their current norm.</summary>
    protected abstract double Desired(double norm);

    public void Apply(Span<float> w, ReadOnlySpan<int> shape)
    {
        var (outer, reduce, inner) = Split(shape, w.Length);
        int groups = outer * inner;
        float[] factor = ArrayPool<float>.Shared.Rent(groups);
        try
        {
            var f = factor.AsSpan(0, groups);
            f.Clear();
            for (int o = 0; o < outer; o++)
            {
                var acc = f.Slice(o * inner, inner);
                for (int r = 0; r < reduce; r++)
                {
                    var row = w.Slice(((o * reduce) + r) * inner, inner);
                    TensorPrimitives.MultiplyAdd(row, row, acc, acc);
                }
            }

            for (int i = 0; i < groups; i++)
            {
                double norm = Math.Sqrt(f[i]);
                f[i] = (float)(Desired(norm) / (Loss.Epsilon + norm));
            }

            for (int o = 0; o < outer; o++)
            {
                var scale = f.Slice(o * inner, inner);
                for (int r = 0; r < reduce; r++)
                {
                    var row = w.Slice(((o * reduce) + r) * inner, inner);
                    TensorPrimitives.Multiply(row, scale, row);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(factor);
        }
    }

    public abstract JsonObject GetConfig();

    private protected JsonNode AxisConfig() => Axes.Count == 1 ? JsonValue.Create(Axes[0]) : new JsonArray(Axes.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());

    /// <summary>The shape as <c>[outer, reduced, inner]</c> around the (contiguous) reduced axes.</summary>
    private (int Outer, int Reduce, int Inner) Split(ReadOnlySpan<int> shape, int length)
    {
        if (Tensor.CheckedLength(shape) != length)
        {
            throw new ArgumentException($"{ClassName}: weights have {length} elements, shape {Tensor.FormatShape(shape)} needs {Tensor.CheckedLength(shape)}.");
        }

        var axes = new int[Axes.Count];
        for (int i = 0; i < axes.Length; i++)
        {
            int a = Axes[i] < 0 ? Axes[i] + shape.Length : Axes[i];
            if (a < 0 || a >= shape.Length)
            {
                throw new ArgumentException($"{ClassName}: axis {Axes[i]} is out of range for a weight of shape {Tensor.FormatShape(shape)}.", "axis");
            }

            axes[i] = a;
        }

        Array.Sort(axes);
        for (int i = 1; i < axes.Length; i++)
        {
            if (axes[i] != axes[i - 1] + 1)
            {
                throw new ArgumentException($"{ClassName}: axes [{string.Join(", ", Axes)}] must be contiguous for shape {Tensor.FormatShape(shape)}.", "axis");
            }
        }

        int outer = 1, reduce = 1, inner = 1;
        for (int d = 0; d < shape.Length; d++)
        {
            if (d < axes[0])
            {
                outer *= shape[d];
            }
            else if (d <= axes[^1])
            {
                reduce *= shape[d];
            }
            else
            {
                inner *= shape[d];
            }
        }

        return (outer, reduce, inner);
    }
}

/// <summary>Keras <c>MaxNorm</c>: norms above <c>maxValue</c> are scaled down to it (<c>desired = min(‖w‖, max)</c>).</summary>
public sealed class MaxNorm(double maxValue = 2, params int[] axis) : NormConstraint(axis.Length == 0 ? [0] : axis)
{
    public double MaxValue { get; } = maxValue >= 0 ? maxValue : throw new ArgumentOutOfRangeException(nameof(maxValue), maxValue, $"MaxNorm: maxValue must be >= 0, got {maxValue}.");

    public override string ClassName => "MaxNorm";

    protected override double Desired(double norm) => Math.Clamp(norm, 0, MaxValue);

    public override JsonObject GetConfig() => new() { ["class_name"] = ClassName, ["config"] = new JsonObject { ["max_value"] = MaxValue, ["axis"] = AxisConfig() } };
}

/// <summary>Keras <c>UnitNorm</c>: <c>w / (ε + ‖w‖)</c>.</summary>
public sealed class UnitNorm(params int[] axis) : NormConstraint(axis.Length == 0 ? [0] : axis)
{
    public override string ClassName => "UnitNorm";

    protected override double Desired(double norm) => 1;

    public override JsonObject GetConfig() => new() { ["class_name"] = ClassName, ["config"] = new JsonObject { ["axis"] = AxisConfig() } };
}

/// <summary>
/// Keras <c>MinMaxNorm</c>: <c>desired = rate · clip(‖w‖, min, max) + (1 − rate) · ‖w‖</c>;
/// <c>rate = 1</c> enforces the bounds strictly, smaller rates move the norm part of the way.
/// </summary>
public sealed class MinMaxNorm(double minValue = 0, double maxValue = 1, double rate = 1, params int[] axis) : NormConstraint(axis.Length == 0 ? [0] : axis)
{
    public double MinValue { get; } = minValue >= 0 && minValue <= maxValue
        ? minValue
        : throw new ArgumentOutOfRangeException(nameof(minValue), minValue, $"MinMaxNorm: need 0 <= minValue <= maxValue, got minValue {minValue}, maxValue {maxValue}.");

    public double MaxValue { get; } = maxValue;

    public double Rate { get; } = rate >= 0 && rate <= 1
        ? rate
        : throw new ArgumentOutOfRangeException(nameof(rate), rate, $"MinMaxNorm: rate must lie in [0, 1], got {rate}.");

    public override string ClassName => "MinMaxNorm";

    protected override double Desired(double norm) => (Rate * Math.Clamp(norm, MinValue, MaxValue)) + ((1 - Rate) * norm);

    public override JsonObject GetConfig() => new()
    {
        ["class_name"] = ClassName,
        ["config"] = new JsonObject { ["min_value"] = MinValue, ["max_value"] = MaxValue, ["rate"] = Rate, ["axis"] = AxisConfig() },
    };
}

/// <summary>Keras <c>NonNeg</c>: negative weights become 0.</summary>
public sealed class NonNeg : IConstraint
{
    public static string ClassName => "NonNeg";

    public void Apply(Span<float> w, ReadOnlySpan<int> shape) => TensorPrimitives.Max(w, 0f, w);

    public static JsonObject GetConfig() => new() { ["class_name"] = ClassName, ["config"] = new JsonObject() };
}

/// <summary>Constraints by Keras name and from configs.</summary>
public static class Constraints
{
    /// <summary><c>max_norm</c>, <c>non_neg</c>, <c>unit_norm</c>, <c>min_max_norm</c> (also the class names) with Keras defaults.</summary>
    public static IConstraint Get(string name) => name?.ToLowerInvariant() switch
    {
        "max_norm" or "maxnorm" => new MaxNorm(),
        "non_neg" or "nonneg" => new NonNeg(),
        "unit_norm" or "unitnorm" => new UnitNorm(),
        "min_max_norm" or "minmaxnorm" => new MinMaxNorm(),
        _ => throw new ArgumentException($"Constraints.Get: unknown constraint '{name}'; valid names: max_norm, non_neg, unit_norm, min_max_norm.", nameof(name)),
    };

    public static IConstraint FromConfig(JsonObject config)
    {
        const string who = "Constraints.FromConfig";
        var (className, c) = Config.Envelope(config, who);
        int[] axis = c["axis"] switch
        {
            null => [0],
            JsonArray a => a.Select(n => n!.GetValue<int>()).ToArray(),
            JsonNode n => [n.GetValue<int>()],
        };
        return className.ToLowerInvariant() switch
        {
            "maxnorm" or "max_norm" => new MaxNorm(Config.Number(c, "max_value", 2), axis),
            "unitnorm" or "unit_norm" => new UnitNorm(axis),
            "minmaxnorm" or "min_max_norm" => new MinMaxNorm(Config.Number(c, "min_value", 0), Config.Number(c, "max_value", 1), Config.Number(c, "rate", 1), axis),
            "nonneg" or "non_neg" => new NonNeg(),
            _ => throw new ArgumentException($"{who}: unknown constraint '{className}'; valid: MaxNorm, NonNeg, UnitNorm, MinMaxNorm."),
        };
    }

    /// <summary>The config of a built-in constraint; other implementations cannot be saved.</summary>
    public static JsonObject ToConfig(IConstraint constraint) => constraint switch
    {
        NormConstraint n => n.GetConfig(),
        NonNeg => NonNeg.GetConfig(),
        _ => throw new NotSupportedException($"Constraints.ToConfig: {constraint?.GetType().Name ?? "null"} is not a built-in constraint (MaxNorm, NonNeg, UnitNorm, MinMaxNorm) and has no config."),
    };
}
