using System.Text.Json.Nodes;
using LstmSharp.Training;
using LstmSharp.Autograd;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Keras's <c>Normalization</c> layer: per feature (the last axis), y = (x − mean) / √variance,
/// or with <c>invert</c> the way back, y = x·√variance + mean (a forecaster's last layer, so its
/// outputs come out in the data's units). <see cref="Adapt"/> computes the mean and the variance
/// from data (every axis but the last); both are non-trainable weights, saved with the model.
/// A variance below ε² = 1e-14 divides by ε = 1e-7 (Keras's <c>epsilon()</c>) instead of zero.
/// </summary>
public sealed class Normalization : Layer
{
    private const float Epsilon = 1e-7f;
    private readonly float[]? initialMean;
    private readonly float[]? initialVariance;

    /// <param name="mean">Per-feature means (or null, then call <see cref="Adapt"/>).</param>
    /// <param name="variance">Per-feature variances, the same length as <paramref name="mean"/>.</param>
    /// <param name="invert">Undo the normalization instead of applying it.</param>
    /// <param name="name">Layer name; null = automatic.</param>
    /// <param name="inputShape">Per-sample input shape, for the first layer of a model.</param>
    public Normalization(float[]? mean = null, float[]? variance = null, bool invert = false, string? name = null, int[]? inputShape = null)
        : base(name, inputShape, trainable: false)
    {
        if ((mean is null) != (variance is null) || (mean is not null && mean.Length != variance!.Length))
        {
            throw new ArgumentException($"{Describe()}: give both mean and variance of the same length, or neither; got {mean?.Length.ToString() ?? "null"} and {variance?.Length.ToString() ?? "null"}.");
        }

        if (variance is not null && variance.Any(v => !(v >= 0) || float.IsInfinity(v)))
        {
            throw new ArgumentException($"{Describe()}: variances must be finite and >= 0, got [{string.Join(", ", variance)}].");
        }

        initialMean = mean?.ToArray();
        initialVariance = variance?.ToArray();
        Invert = invert;
        SupportsMasking = true;
    }

    public bool Invert { get; }

    /// <summary>Per-feature means; null before building.</summary>
    public Parameter? Mean { get; private set; }

    /// <summary>Per-feature variances; null before building.</summary>
    public Parameter? Variance { get; private set; }

    public static Normalization FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        return new Normalization(invert: c.GetBool("invert", false), name: b.Name, inputShape: b.InputShape).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["axis"] = -1;
        c["invert"] = Invert;
        return c;
    }

    /// <summary>
    /// Sets the mean and variance of every feature (last axis) from <paramref name="data"/>
    /// (any rank ≥ 1; a rank-1 tensor is one feature). Builds the layer if needed. Keras's
    /// <c>adapt</c>: the population variance, accumulated in double precision.
    /// </summary>
    public void Adapt(Tensor data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int features = data.Rank <= 1 ? 1 : data.Dim(-1);
        if (data.Length == 0 || features == 0)
        {
            throw new ArgumentException($"{Describe()}: Adapt needs non-empty data, got shape {Tensor.FormatShape(data.Shape)}.", nameof(data));
        }

        int rows = data.Length / features;
        var sum = new double[features];
        var s = data.Span;
        for (int i = 0; i < s.Length; i++)
        {
            if (!float.IsFinite(s[i]))
            {
                throw new ArgumentException($"{Describe()}: Adapt data holds {s[i]} at row {i / features}, feature {i % features}.", nameof(data));
            }

            sum[i % features] += s[i];
        }

        var mean = sum.Select(v => v / rows).ToArray();
        var sq = new double[features];
        for (int i = 0; i < s.Length; i++)
        {
            double d = s[i] - mean[i % features];
            sq[i % features] += d * d;
        }

        if (!Built)
        {
            Build(data.Rank <= 1 ? [1] : data.ShapeArray[1..]);
        }

        if (Mean!.Count != features)
        {
            throw new ArgumentException($"{Describe()}: built for {Mean.Count} features, Adapt got {features} (shape {Tensor.FormatShape(data.Shape)}).", nameof(data));
        }

        for (int f = 0; f < features; f++)
        {
            Mean.Value.Span[f] = (float)mean[f];
            Variance!.Value.Span[f] = (float)(sq[f] / rows);
        }
    }

    protected override void OnBuild(int[] inputShape)
    {
        if (inputShape.Length == 0 || inputShape[^1] <= 0)
        {
            throw ShapeError("input with a known last axis [*, ..., features]", [-1, .. inputShape]);
        }

        int features = inputShape[^1];
        if (initialMean is not null && initialMean.Length != features)
        {
            throw ShapeError($"[*, ..., {initialMean.Length}] (the length of the given mean)", [-1, .. inputShape]);
        }

        Mean = AddWeight("mean", initialMean is null ? new Tensor(features) : Tensor.From(initialMean), trainable: false);
        Variance = AddWeight("variance", initialVariance is null ? Tensor.Full(1f, features) : Tensor.From(initialVariance), trainable: false);
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        int features = Mean!.Count;
        if (input.Rank < 1 || input.Dim(-1) != features)
        {
            throw ShapeError($"[*, ..., {features}]", input.Shape);
        }

        var std = new Tensor(features);
        for (int f = 0; f < features; f++)
        {
            float sd = MathF.Sqrt(Variance!.Value.Span[f]);
            std.Span[f] = Invert ? Math.Max(sd, Epsilon) : 1f / Math.Max(sd, Epsilon);
        }

        return Invert
            ? Ops.Add(Ops.Mul(input, std), Mean.Value)
            : Ops.Mul(Ops.Subtract(input, Mean.Value), std);
    }
}
