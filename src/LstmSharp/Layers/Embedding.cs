using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// Turns integer indices into dense vectors: <c>[batch, ...] → [batch, ..., output_dim]</c> by
/// looking up rows of <c>embeddings [input_dim, output_dim]</c>. Indices are float tensors of
/// integer values (as Keras accepts); an index outside [0, input_dim) throws naming it.
/// With <see cref="MaskZero"/>, index 0 is padding: the output mask is <c>input ≠ 0</c>, which
/// recurrent layers downstream use to skip padded steps (so the vocabulary needs input_dim =
/// words + 1). The gradient is sparse: only looked-up rows of the table receive one.
/// </summary>
public sealed class Embedding : Layer
{
    private readonly WeightOptions embeddings;

    public Embedding(
        int inputDim,
        int outputDim,
        string embeddingsInitializer = "uniform",
        IRegularizer? embeddingsRegularizer = null,
        IRegularizer? activityRegularizer = null,
        IConstraint? embeddingsConstraint = null,
        bool maskZero = false,
        int? inputLength = null,
        string? name = null,
        int[]? inputShape = null)
        : base(name, inputShape ?? (inputLength is { } len && len > 0 ? [len] : null))
    {
        InputDim = LayerChecks.Positive(inputDim, Describe(), nameof(inputDim));
        OutputDim = LayerChecks.Positive(outputDim, Describe(), nameof(outputDim));
        if (inputLength is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inputLength), $"{Describe()}: inputLength must be a positive integer or null, got {inputLength}.");
        }

        embeddings = new WeightOptions(embeddingsInitializer, embeddingsRegularizer, embeddingsConstraint).Checked(Describe(), nameof(embeddingsInitializer));
        ActivityRegularizer = activityRegularizer;
        MaskZero = maskZero;
        InputLength = inputLength;

        // The table does not depend on the input's shape, so it exists from the start (Keras builds it eagerly too).
        Build(inputShape ?? (inputLength is { } l ? [l] : [-1]));
    }

    public int InputDim { get; }

    public int OutputDim { get; }

    public string EmbeddingsInitializer => embeddings.Initializer;

    public IRegularizer? EmbeddingsRegularizer => embeddings.Regularizer;

    public IConstraint? EmbeddingsConstraint => embeddings.Constraint;

    public bool MaskZero { get; internal set; }

    public int? InputLength { get; }

    /// <summary>The table, <c>[input_dim, output_dim]</c>.</summary>
    public Parameter Embeddings { get; private set; } = null!;

    public static Embedding FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        var e = WeightOptions.Read(c, "embeddings", "uniform");
        return new Embedding(
            c.GetInt("input_dim"),
            c.GetInt("output_dim"),
            e.Initializer,
            e.Regularizer,
            c.GetRegularizer("activity_regularizer"),
            e.Constraint,
            c.GetBool("mask_zero", false),
            c.GetIntOrNull("input_length"),
            b.Name,
            b.InputShape).WithBase(c);
    }

    public override int[] ComputeOutputShape(int[] inputShape) => [.. inputShape, OutputDim];

    /// <summary>With <see cref="MaskZero"/>: 1 where the index is not 0, else 0 (same shape as the input); otherwise none.</summary>
    public override Tensor? ComputeMask(Tensor input, Tensor? mask)
    {
        if (!MaskZero)
        {
            return null;
        }

        var m = new Tensor(input.ShapeArray);
        var iv = input.Span;
        var mv = m.Span;
        for (int i = 0; i < mv.Length; i++)
        {
            mv[i] = iv[i] != 0f ? 1f : 0f;
        }

        return m;
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["input_dim"] = InputDim;
        c["output_dim"] = OutputDim;
        WeightOptions.WriteConfig(c, ActivityRegularizer, ("embeddings", embeddings));
        c["mask_zero"] = MaskZero;
        c["input_length"] = InputLength;
        return c;
    }

    protected override void OnBuild(int[] inputShape) =>
        Embeddings = AddWeight("embeddings", [InputDim, OutputDim], embeddings);

    protected override Tensor Call(Tensor input, Tensor? mask, bool training) => Ops.Embedding(input, Embeddings.Value);
}
