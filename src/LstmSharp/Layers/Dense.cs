using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// Densely connected layer: y = activation(x·W + b) on the last axis of an input of any rank
/// ≥ 2, as Keras. Input <c>[batch, ..., in]</c> → output <c>[batch, ..., units]</c>; the leading
/// axes fold into one GEMM. Weights: <c>kernel [in, units]</c>, <c>bias [units]</c>.
/// </summary>
public sealed class Dense : Layer
{
    /// <param name="units">Size of the output's last axis; a positive integer.</param>
    /// <param name="activation">Keras name ("relu", "tanh", "sigmoid", "hard_sigmoid", "softmax", "linear"); null = linear.</param>
    /// <param name="useBias">Adds the bias vector b.</param>
    /// <param name="kernelInitializer">Keras initializer name for W (default "glorot_uniform").</param>
    /// <param name="biasInitializer">Keras initializer name for b (default "zeros").</param>
    /// <param name="kernelRegularizer">Penalty on W added to the loss.</param>
    /// <param name="biasRegularizer">Penalty on b added to the loss.</param>
    /// <param name="activityRegularizer">Penalty on the output, divided by the batch size.</param>
    /// <param name="kernelConstraint">Projection of W after each optimizer step.</param>
    /// <param name="biasConstraint">Projection of b after each optimizer step.</param>
    /// <param name="name">Layer name; null = automatic ("dense", "dense_1", ...).</param>
    /// <param name="inputShape">Per-sample input shape (batch excluded), for the first layer of a model.</param>
    public Dense(
        int units,
        string? activation = null,
        bool useBias = true,
        string kernelInitializer = "glorot_uniform",
        string biasInitializer = "zeros",
        IRegularizer? kernelRegularizer = null,
        IRegularizer? biasRegularizer = null,
        IRegularizer? activityRegularizer = null,
        IConstraint? kernelConstraint = null,
        IConstraint? biasConstraint = null,
        string? name = null,
        int[]? inputShape = null)
        : base(name, inputShape)
    {
        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), $"{Describe()}: units must be a positive integer, got {units}.");
        }

        Units = units;
        Activation = LayerChecks.ActivationName(activation, Describe());
        UseBias = useBias;
        KernelInitializer = LayerChecks.Initializer(kernelInitializer, Describe(), nameof(kernelInitializer));
        BiasInitializer = LayerChecks.Initializer(biasInitializer, Describe(), nameof(biasInitializer));
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
        ActivityRegularizer = activityRegularizer;
        KernelConstraint = kernelConstraint;
        BiasConstraint = biasConstraint;
        SupportsMasking = true;
    }

    public int Units { get; }

    public string Activation { get; }

    public bool UseBias { get; }

    public string KernelInitializer { get; }

    public string BiasInitializer { get; }

    public IRegularizer? KernelRegularizer { get; }

    public IRegularizer? BiasRegularizer { get; }

    public IConstraint? KernelConstraint { get; }

    public IConstraint? BiasConstraint { get; }

    /// <summary>W, <c>[in, units]</c>; null before building.</summary>
    public Parameter? Kernel { get; private set; }

    /// <summary>b, <c>[units]</c>; null before building or without bias.</summary>
    public Parameter? Bias { get; private set; }

    public static Dense FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        return new Dense(
            c.GetInt("units"),
            c.GetStringOrNull("activation"),
            c.GetBool("use_bias", true),
            c.GetStringOrNull("kernel_initializer") ?? "glorot_uniform",
            c.GetStringOrNull("bias_initializer") ?? "zeros",
            c.GetRegularizer("kernel_regularizer"),
            c.GetRegularizer("bias_regularizer"),
            c.GetRegularizer("activity_regularizer"),
            c.GetConstraint("kernel_constraint"),
            c.GetConstraint("bias_constraint"),
            b.Name,
            b.InputShape).WithBase(c);
    }

    public override int[] ComputeOutputShape(int[] inputShape) => [.. inputShape[..^1], Units];

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["units"] = Units;
        c["activation"] = Activation;
        c["use_bias"] = UseBias;
        c["kernel_initializer"] = KernelInitializer;
        c["bias_initializer"] = BiasInitializer;
        c["kernel_regularizer"] = LayerConfig.ObjectToJson(KernelRegularizer);
        c["bias_regularizer"] = LayerConfig.ObjectToJson(BiasRegularizer);
        c["activity_regularizer"] = LayerConfig.ObjectToJson(ActivityRegularizer);
        c["kernel_constraint"] = LayerConfig.ObjectToJson(KernelConstraint);
        c["bias_constraint"] = LayerConfig.ObjectToJson(BiasConstraint);
        return c;
    }

    protected override void OnBuild(int[] inputShape)
    {
        if (inputShape.Length == 0 || inputShape[^1] <= 0)
        {
            throw ShapeError("input with a known last axis [*, ..., features]", [-1, .. inputShape]);
        }

        Kernel = AddWeight("kernel", [inputShape[^1], Units], KernelInitializer, KernelRegularizer, KernelConstraint);
        if (UseBias)
        {
            Bias = AddWeight("bias", [Units], BiasInitializer, BiasRegularizer, BiasConstraint);
        }
    }

    protected override Tensor Call(Tensor input, Tensor? mask, bool training)
    {
        int features = Kernel!.Value.Dim(0);
        if (input.Rank < 2 || input.Dim(-1) != features)
        {
            int rank = Math.Max(2, input.Rank);
            var expected = Enumerable.Repeat(-1, rank).ToArray();
            expected[^1] = features;
            throw ShapeError(Tensor.FormatShape(expected), input.Shape);
        }

        var y = Ops.MatMul(input, Kernel.Value);
        if (Bias is not null)
        {
            y = Ops.Add(y, Bias.Value);
        }

        return Ops.Activation(y, Activation);
    }
}
