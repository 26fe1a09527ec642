using System.Globalization;
using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// Keras <c>LayerNormalization</c> (Ba, Kiros, Hinton 2016): each sample is normalised over the
/// axes in <see cref="Axis"/> (by default the last, the features of each time step):
/// <code>y = γ ⊙ (x − μ)/√(σ² + ε) + β     μ, σ² = mean and (biased) variance over the axes</code>
/// The axes must be the trailing ones (e.g. <c>-1</c>, or <c>[1, 2]</c> of <c>[batch, steps, features]</c>);
/// γ ("gamma", with <see cref="NormalizationLayer.Scale"/>) and β ("beta", with <see cref="NormalizationLayer.Center"/>) have their shape.
/// Masks pass through (each position is normalised on its own).
/// </summary>
public sealed class LayerNormalization : NormalizationLayer
{
    private readonly int[] axis;

    /// <param name="axis">Axes to normalise over (with the batch axis 0; negative counts from the end); null = [-1].</param>
    /// <param name="epsilon">Added to the variance (Keras default 1e-3); positive.</param>
    /// <param name="center">Adds the learned offset β.</param>
    /// <param name="scale">Multiplies by the learned gain γ.</param>
    /// <param name="betaInitializer">Keras initializer for β (default "zeros").</param>
    /// <param name="gammaInitializer">Keras initializer for γ (default "ones").</param>
    /// <param name="betaRegularizer">Penalty on β.</param>
    /// <param name="gammaRegularizer">Penalty on γ.</param>
    /// <param name="betaConstraint">Projection of β after each step.</param>
    /// <param name="gammaConstraint">Projection of γ after each step.</param>
    /// <param name="name">Layer name; null = automatic ("layer_normalization", ...).</param>
    /// <param name="inputShape">Per-sample input shape (batch excluded).</param>
    public LayerNormalization(
        int[]? axis = null,
        float epsilon = 1e-3f,
        bool center = true,
        bool scale = true,
        string betaInitializer = "zeros",
        string gammaInitializer = "ones",
        IRegularizer? betaRegularizer = null,
        IRegularizer? gammaRegularizer = null,
        IConstraint? betaConstraint = null,
        IConstraint? gammaConstraint = null,
        string? name = null,
        int[]? inputShape = null)
        : this(axis, new NormalizationOptions(epsilon, center, scale, new(betaInitializer, betaRegularizer, betaConstraint), new(gammaInitializer, gammaRegularizer, gammaConstraint)), name, inputShape)
    {
    }

    private LayerNormalization(int[]? axis, NormalizationOptions options, string? name, int[]? inputShape)
        : base(name, inputShape)
    {
        this.axis = axis is null ? [-1] : (int[])axis.Clone();
        if (this.axis.Length == 0 || this.axis.Contains(0))
        {
            throw new ArgumentException($"{Describe()}: axis must name one or more non-batch axes, got [{string.Join(", ", this.axis)}].", nameof(axis));
        }

        SetNormalizationOptions(options);
    }

    /// <summary>The axes normalised over, as given (batch axis 0).</summary>
    public IReadOnlyList<int> Axis => axis;

    /// <summary>Values per normalised group (the product of the axes' sizes); 0 before building.</summary>
    public int NormalizedSize { get; private set; }

    public static LayerNormalization FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        if (c.GetBool("rms_scaling", false))
        {
            throw new ArgumentException($"LayerNormalization '{b.Name}': rms_scaling is not supported.");
        }

        return new LayerNormalization(
            c.GetIntOrList("axis", -1),
            NormalizationOptions.Read(c),
            b.Name,
            b.InputShape).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["axis"] = axis.Length == 1 ? axis[0] : new JsonArray(axis.Select(a => (JsonNode)a).ToArray());
        WriteNormalizationConfig(c);
        c["rms_scaling"] = false;
        return c;
    }

    protected override void OnBuild(int[] inputShape)
    {
        int first = FirstAxis(inputShape.Length + 1);
        var shape = inputShape[(first - 1)..];
        if (shape.Any(d => d <= 0))
        {
            throw ShapeError($"whose normalised axes [{string.Join(", ", axis)}] have known sizes", [-1, .. inputShape]);
        }

        NormalizedSize = shape.Aggregate(1, (p, d) => p * d);
        AddGammaAndBeta(shape);
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        var built = BuiltInputShapes![0];
        if (input.Rank != built.Length + 1 || !input.Shape[(FirstAxis(input.Rank))..].SequenceEqual(built.AsSpan((FirstAxis(input.Rank) - 1)..)))
        {
            throw ShapeError(WithBatch(built), input.Shape);
        }

        return Ops.LayerNorm(input, Gamma?.Value, Beta?.Value, Epsilon, NormalizedSize);
    }

    /// <summary>The first normalised axis of a rank-<paramref name="rank"/> input; the axes must be it and all after it.</summary>
    private int FirstAxis(int rank)
    {
        var resolved = axis.Select(a => a < 0 ? a + rank : a).Distinct().Order().ToArray();
        if (resolved[0] < 1 || resolved[^1] != rank - 1 || resolved.Length != rank - resolved[0])
        {
            throw new ArgumentException($"{Describe()}: axis [{string.Join(", ", axis)}] must be the trailing axes of the rank-{rank} input (batch axis 0), e.g. -1 or [{string.Join(", ", Enumerable.Range(1, rank - 1))}].");
        }

        return resolved[0];
    }
}
