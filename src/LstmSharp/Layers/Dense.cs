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
public sealed class Dense : KernelBiasLayer
{
    /// <param name="units">Size of the output's last axis; a positive integer.</param>
    /// <param name="activation">Keras name ("relu", "tanh", "sigmoid", "hard_sigmoid", "elu", "softsign", "softplus", "softmax", "linear"); null = linear.</param>
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
        : this(units, new KernelBiasOptions(activation, useBias, new(kernelInitializer, kernelRegularizer, kernelConstraint), new(biasInitializer, biasRegularizer, biasConstraint), activityRegularizer), name, inputShape)
    {
    }

    private Dense(int units, KernelBiasOptions options, string? name, int[]? inputShape)
        : base(name, inputShape)
    {
        Units = LayerChecks.Positive(units, Describe(), nameof(units));
        SetKernelBiasOptions(options);
        SupportsMasking = true;
    }

    public int Units { get; }

    public static Dense FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        return new Dense(c.GetInt("units"), KernelBiasOptions.Read(c), b.Name, b.InputShape).WithBase(c);
    }

    public override int[] ComputeOutputShape(int[] inputShape) => [.. inputShape[..^1], Units];

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["units"] = Units;
        WriteKernelBiasConfig(c);
        return c;
    }

    protected override void OnBuild(int[] inputShape)
    {
        if (inputShape.Length == 0 || inputShape[^1] <= 0)
        {
            throw ShapeError("input with a known last axis [*, ..., features]", [-1, .. inputShape]);
        }

        AddKernelAndBias([inputShape[^1], Units], Units);
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
