using System.Globalization;
using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// Keras <c>BatchNormalization</c> over the last axis (channels):
/// <code>
/// training:   y = γ ⊙ (x − μ_B)/√(σ²_B + ε) + β,  μ_B, σ²_B over every other axis of the batch
///             moving_mean ← momentum·moving_mean + (1 − momentum)·μ_B   (the same for moving_variance with σ²_B)
/// inference:  y = γ ⊙ (x − moving_mean)/√(moving_variance + ε) + β
/// </code>
/// Weights (Keras names and order): gamma, beta (trainable), moving_mean, moving_variance
/// (non-trainable, saved with the model). With a mask (<c>[batch, steps]</c>) the batch statistics
/// count only unmasked steps, as Keras 3. A layer set <see cref="Layer.Trainable"/> = false
/// always runs in inference mode (Keras's fine-tuning rule).
/// </summary>
public sealed class BatchNormalization : NormalizationLayer
{
    /// <param name="momentum">Weight of the old value in the moving averages (Keras default 0.99), in [0, 1].</param>
    /// <param name="epsilon">Added to the variance (Keras default 1e-3); positive.</param>
    /// <param name="center">Adds the learned offset β.</param>
    /// <param name="scale">Multiplies by the learned gain γ.</param>
    /// <param name="betaInitializer">Keras initializer for β (default "zeros").</param>
    /// <param name="gammaInitializer">Keras initializer for γ (default "ones").</param>
    /// <param name="movingMeanInitializer">Initial moving mean (default "zeros").</param>
    /// <param name="movingVarianceInitializer">Initial moving variance (default "ones").</param>
    /// <param name="betaRegularizer">Penalty on β.</param>
    /// <param name="gammaRegularizer">Penalty on γ.</param>
    /// <param name="betaConstraint">Projection of β after each step.</param>
    /// <param name="gammaConstraint">Projection of γ after each step.</param>
    /// <param name="name">Layer name; null = automatic ("batch_normalization", ...).</param>
    /// <param name="inputShape">Per-sample input shape (batch excluded).</param>
    public BatchNormalization(
        float momentum = 0.99f,
        float epsilon = 1e-3f,
        bool center = true,
        bool scale = true,
        string betaInitializer = "zeros",
        string gammaInitializer = "ones",
        string movingMeanInitializer = "zeros",
        string movingVarianceInitializer = "ones",
        IRegularizer? betaRegularizer = null,
        IRegularizer? gammaRegularizer = null,
        IConstraint? betaConstraint = null,
        IConstraint? gammaConstraint = null,
        string? name = null,
        int[]? inputShape = null)
        : this(momentum, new NormalizationOptions(epsilon, center, scale, new(betaInitializer, betaRegularizer, betaConstraint), new(gammaInitializer, gammaRegularizer, gammaConstraint)), movingMeanInitializer, movingVarianceInitializer, name, inputShape)
    {
    }

    private BatchNormalization(float momentum, NormalizationOptions options, string movingMeanInitializer, string movingVarianceInitializer, string? name, int[]? inputShape)
        : base(name, inputShape)
    {
        if (!(momentum >= 0f && momentum <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(momentum), $"{Describe()}: momentum must be in [0, 1], got {momentum.ToString(CultureInfo.InvariantCulture)}.");
        }

        SetNormalizationOptions(options);
        Momentum = momentum;
        MovingMeanInitializer = LayerChecks.Initializer(movingMeanInitializer, Describe(), nameof(movingMeanInitializer));
        MovingVarianceInitializer = LayerChecks.Initializer(movingVarianceInitializer, Describe(), nameof(movingVarianceInitializer));
    }

    public float Momentum { get; }

    public string MovingMeanInitializer { get; }

    public string MovingVarianceInitializer { get; }

    /// <summary>The moving mean <c>[channels]</c> (non-trainable); null before building.</summary>
    public Parameter? MovingMean { get; private set; }

    /// <summary>The moving (biased) variance <c>[channels]</c> (non-trainable); null before building.</summary>
    public Parameter? MovingVariance { get; private set; }

    public static BatchNormalization FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        var axes = c.GetIntOrList("axis", -1);
        if (axes is not [-1] && !(axes.Length == 1 && b.InputShape is { } s && axes[0] == s.Length))
        {
            throw new ArgumentException($"BatchNormalization '{b.Name}': axis must be -1 (the channels, last), got {c["axis"]?.ToJsonString()}.");
        }

        if (c.GetBool("renorm", false))
        {
            throw new ArgumentException($"BatchNormalization '{b.Name}': renorm is not supported.");
        }

        return new BatchNormalization(
            c["momentum"] is null ? 0.99f : c.GetFloat("momentum"),
            NormalizationOptions.Read(c),
            c.GetStringOrNull("moving_mean_initializer") ?? "zeros",
            c.GetStringOrNull("moving_variance_initializer") ?? "ones",
            b.Name,
            b.InputShape).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["axis"] = -1;
        c["momentum"] = Momentum;
        WriteNormalizationConfig(c);
        c["moving_mean_initializer"] = MovingMeanInitializer;
        c["moving_variance_initializer"] = MovingVarianceInitializer;
        return c;
    }

    protected override void OnBuild(int[] inputShape)
    {
        if (inputShape.Length == 0 || inputShape[^1] <= 0)
        {
            throw ShapeError("[*, ..., channels] with a known channel count", [-1, .. inputShape]);
        }

        int channels = inputShape[^1];
        AddGammaAndBeta([channels]);

        MovingMean = AddWeight("moving_mean", [channels], MovingMeanInitializer, trainable: false);
        MovingVariance = AddWeight("moving_variance", [channels], MovingVarianceInitializer, trainable: false);
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        int channels = MovingMean!.Count;
        if (input.Rank < 2 || input.Dim(-1) != channels)
        {
            throw ShapeError($"[*, ..., {channels}]", input.Shape);
        }

        if (!(training && Trainable))
        {
            return Ops.BatchNormInference(input, MovingMean.Value, MovingVariance!.Value, Gamma?.Value, Beta?.Value, Epsilon);
        }

        if (mask is not null && (input.Rank != 3 || mask.Rank != 2 || mask.Dim(0) != input.Dim(0) || mask.Dim(1) != input.Dim(1)))
        {
            throw ShapeError(input.Rank == 3 ? $"[{input.Dim(0)}, {input.Dim(1)}]" : "none (a mask needs a [batch, steps, channels] input)", mask.Shape, "mask");
        }

        var mean = new float[channels];
        var variance = new float[channels];
        var y = Ops.BatchNormTraining(input, Gamma?.Value, Beta?.Value, Epsilon, mask, mean, variance);
        var mm = MovingMean.Value.Span;
        var mv = MovingVariance!.Value.Span;
        for (int j = 0; j < channels; j++)
        {
            mm[j] = (Momentum * mm[j]) + ((1 - Momentum) * mean[j]);
            mv[j] = (Momentum * mv[j]) + ((1 - Momentum) * variance[j]);
        }

        return y;
    }
}
