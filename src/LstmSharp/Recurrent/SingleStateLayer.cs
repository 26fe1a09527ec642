using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// The layer side of a cell with one state and weights kernel / recurrent_kernel / bias
/// (GRU, SimpleRNN): the subclass only chooses the kernel and the weight shapes.
/// </summary>
public abstract class SingleStateLayer : RecurrentLayer
{
    private SingleStateKernel? kernel;

    private protected SingleStateLayer(RecurrentOptions options)
        : base(options)
    {
    }

    public override int StateCount => 1;

    public Parameter? Kernel { get; private set; }

    public Parameter? RecurrentKernel { get; private set; }

    public Parameter? Bias { get; private set; }

    /// <summary>The kernel and the shapes of W, U and b (null: no bias) for <paramref name="inputSize"/> features.</summary>
    private protected abstract (SingleStateKernel Kernel, int[] KernelShape, int[] RecurrentShape, int[]? BiasShape) CreateKernel(int inputSize);

    private protected sealed override void BuildCell(int inputSize)
    {
        var (k, kernelShape, recurrentShape, biasShape) = CreateKernel(inputSize);
        kernel = k;
        Kernel = AddWeight("kernel", kernelShape, KernelInitializer, KernelRegularizer, KernelConstraint);
        RecurrentKernel = AddWeight("recurrent_kernel", recurrentShape, RecurrentInitializer, RecurrentRegularizer, RecurrentConstraint);
        if (biasShape is not null)
        {
            Bias = AddWeight("bias", biasShape, BiasInitializer, BiasRegularizer, BiasConstraint);
        }
    }

    private protected sealed override object CreateCache() => kernel!.NewCache();

    private protected sealed override Tensor[] WeightTensors() => Bias is null
        ? [Kernel!.Value, RecurrentKernel!.Value]
        : [Kernel!.Value, RecurrentKernel!.Value, Bias.Value];

    private protected sealed override void ForwardKernel(in SequenceRun run, IReadOnlyList<Tensor?> initialStates, Tensor? sequence, Tensor last, IReadOnlyList<Tensor> finalStates, object? cache) =>
        kernel!.Forward(
            run,
            Weights(),
            initialStates[0] is { } h0 ? h0.Span : default,
            new RnnOutputs { Sequence = sequence is null ? default : sequence.Span, Last = last.Span, H = finalStates[0].Span },
            (SingleStateCache?)cache);

    private protected sealed override void BackwardKernel(in SequenceRun run, object cache, Tensor? dSequence, Tensor? dLast, IReadOnlyList<Tensor?> dFinalStates, Tensor? dx, Tensor? dTable, IReadOnlyList<Tensor?> dInitialStates) =>
        kernel!.Backward(
            run,
            Weights(),
            (SingleStateCache)cache,
            new RnnOutputGradients
            {
                Sequence = dSequence is null ? default : dSequence.Span,
                Last = dLast is null ? default : dLast.Span,
                H = dFinalStates[0] is { } dh ? dh.Span : default,
            },
            new RnnGradients
            {
                Kernel = Kernel!.Grad.Span,
                RecurrentKernel = RecurrentKernel!.Grad.Span,
                Bias = Bias is null ? default : Bias.Grad.Span,
                Input = dx is null ? default : dx.Span,
                InitialH = dInitialStates[0] is { } dh0 ? dh0.Span : default,
            });

    private RnnWeights Weights() => new()
    {
        Kernel = Kernel!.Value.Span,
        RecurrentKernel = RecurrentKernel!.Value.Span,
        Bias = Bias is null ? default : Bias.Value.Span,
    };
}
