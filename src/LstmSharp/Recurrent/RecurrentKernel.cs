namespace LstmSharp.Recurrent;

/// <summary>
/// What every fused sequence kernel has (<see cref="SequenceKernel"/>, the shared driver, and
/// through it every cell's kernel): its name in errors, its sizes, and the argument checks
/// of a forward and a backward for the run, W, U, b, the initial states, the outputs and their
/// gradients. A kernel whose cell has more parameters checks those itself.
/// </summary>
internal abstract class RecurrentKernel
{
    private protected RecurrentKernel(string kind, string name, int inputSize, int units, int outputSize, int gateWidth, bool cellState)
    {
        Name = name;
        OwnerForward = $"{kind} '{name}'";
        OwnerBackward = $"{kind} '{name}' backward";
        InputSize = inputSize;
        Units = units;
        OutputSize = outputSize;
        GateWidth = gateWidth;
        HasCellState = cellState;
    }

    /// <summary>Used in error messages, e.g. the layer's name.</summary>
    public string Name { get; }

    private protected string OwnerForward { get; }

    private protected string OwnerBackward { get; }

    private protected int InputSize { get; }

    private protected int Units { get; }

    /// <summary>H, the size of h (outputs, initial and final h, the recurrent input): units, or P with a projection.</summary>
    private protected int OutputSize { get; }

    /// <summary>Columns of W and U (G·units).</summary>
    private protected int GateWidth { get; }

    /// <summary>Whether the cell carries a second state c of units values (initial c, final c, ∂L/∂c).</summary>
    private protected bool HasCellState { get; }

    /// <summary>The cell's layout: what a cache remembers to refuse a backward with another one.</summary>
    private protected abstract object LayoutKey { get; }

    private protected abstract int BiasLength { get; }

    /// <summary>The forward's checks of the run, the initial states [batch, H] / [batch, units] and the outputs.</summary>
    private protected void CheckRun(string owner, in SequenceRun run, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, in RnnOutputs outputs)
    {
        run.Validate(owner, InputSize, OutputSize);
        int bt = run.Batch, cu = HasCellState ? Units : 0;
        SequenceRun.CheckLength(owner, "initial h", h0.Length, true, bt, OutputSize);
        SequenceRun.CheckLength(owner, "initial c", c0.Length, true, bt, cu);
        outputs.Validate(owner, bt, run.Time, OutputSize, cu);
    }

    /// <summary>W [inputSize, G·units], U [H, G·units] and b of <see cref="BiasLength"/> floats.</summary>
    private protected void CheckKernels<TWeights>(string owner, in TWeights weights)
        where TWeights : IRnnWeights, allows ref struct
    {
        SequenceRun.CheckLength(owner, "kernel", weights.Kernel.Length, false, InputSize, GateWidth);
        SequenceRun.CheckLength(owner, "recurrent_kernel", weights.RecurrentKernel.Length, false, OutputSize, GateWidth);
        SequenceRun.CheckLength(owner, "bias", weights.Bias.Length, false, BiasLength);
    }

    /// <summary>The backward's checks: the output gradients, dW, dU, db, and the optional dx, dh_0, dc_0.</summary>
    private protected void CheckKernelGradients<TGradients>(string owner, in SequenceRun run, in RnnOutputGradients dOut, in TGradients grads)
        where TGradients : IRnnGradients, allows ref struct
    {
        int bt = run.Batch, tt = run.Time, hs = OutputSize, cu = HasCellState ? Units : 0;
        dOut.Validate(owner, bt, tt, hs, cu);
        SequenceRun.CheckLength(owner, "d(kernel)", grads.Kernel.Length, false, InputSize, GateWidth);
        SequenceRun.CheckLength(owner, "d(recurrent_kernel)", grads.RecurrentKernel.Length, false, hs, GateWidth);
        SequenceRun.CheckLength(owner, "d(bias)", grads.Bias.Length, false, BiasLength);
        SequenceRun.CheckLength(owner, "dx", grads.Input.Length, true, bt, tt, InputSize);
        SequenceRun.CheckLength(owner, "d(initial h)", grads.InitialH.Length, true, bt, hs);
        SequenceRun.CheckLength(owner, "d(initial c)", grads.InitialC.Length, true, bt, cu);
    }
}
