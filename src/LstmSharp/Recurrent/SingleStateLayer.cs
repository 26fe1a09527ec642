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
        (Kernel, RecurrentKernel, Bias) = AddCellWeights(kernelShape, recurrentShape, biasShape);
    }

    private protected sealed override object CreateCache() => kernel!.NewCache();

    private protected sealed override void ForwardKernel(in SequenceRun run, IReadOnlyList<Tensor?> initialStates, in RnnOutputs outputs, object? cache) =>
        kernel!.Forward(run, Weights(), SpanOf(initialStates[0]), outputs, (SingleStateCache?)cache);

    private protected sealed override void BackwardKernel(in SequenceRun run, object cache, in RnnOutputGradients dOutputs, Tensor? dx, Tensor? dTable, IReadOnlyList<Tensor?> dInitialStates) =>
        kernel!.Backward(
            run,
            Weights(),
            (SingleStateCache)cache,
            dOutputs,
            new RnnGradients
            {
                Kernel = Kernel!.Grad.Span,
                RecurrentKernel = RecurrentKernel!.Grad.Span,
                Bias = SpanOf(Bias?.Grad),
                Input = SpanOf(dx),
                InitialH = SpanOf(dInitialStates[0]),
            });

    private RnnWeights Weights() => new()
    {
        Kernel = Kernel!.Value.Span,
        RecurrentKernel = RecurrentKernel!.Value.Span,
        Bias = SpanOf(Bias?.Value),
    };
}
