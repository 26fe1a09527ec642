using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The shared driver (<see cref="SequenceKernel{TWeights, TGradients}"/>) for the one-state cells
/// whose parameters are W, U and b alone (<see cref="GruKernel"/>, <see cref="SimpleRnnKernel"/>),
/// the kernel type <see cref="SingleStateLayer"/> holds.
/// </summary>
internal abstract class SingleStateKernel : SequenceKernel<RnnWeights, RnnGradients>
{
    private protected SingleStateKernel(SingleStateCache scratch, string kind, string name, int inputSize, int units, int gateWidth, ActivationKind activation, ActivationKind recurrentActivation, LaneWidth width)
        : base(scratch, kind, name, inputSize, units, gateWidth, activation, recurrentActivation, width)
    {
    }
}

/// <summary>The BPTT cache of a <see cref="SingleStateKernel"/> (the driver's buffers and the cell's own).</summary>
internal abstract class SingleStateCache : SequenceCache
{
}
