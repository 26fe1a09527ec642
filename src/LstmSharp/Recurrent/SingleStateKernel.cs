using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The shared driver (<see cref="SequenceKernel{TWeights, TGradients}"/>) for the one-state cells
/// whose parameters are W, U and b alone (<see cref="GruKernel"/>, <see cref="SimpleRnnKernel"/>),
/// the kernel type <see cref="SingleStateLayer"/> holds.
/// </summary>
internal abstract class SingleStateKernel : SequenceKernel<RnnWeights, RnnGradients>
{
    private protected SingleStateKernel(SingleStateCache scratch, string kind, string name, RecurrentLayout layout, ActivationKind activation, ActivationKind recurrentActivation, LaneWidth width)
        : base(scratch, kind, name, layout.InputSize, layout.Units, layout.GateWidth, activation, recurrentActivation, width)
    {
    }
}

/// <summary>A <see cref="SingleStateKernel"/> of the cell whose shapes are <typeparamref name="TLayout"/> and whose BPTT cache is <typeparamref name="TCache"/>.</summary>
internal abstract class SingleStateKernel<TLayout, TCache> : SingleStateKernel
    where TLayout : RecurrentLayout
    where TCache : SingleStateCache, new()
{
    private protected SingleStateKernel(TLayout layout, string kind, string name, ActivationKind activation, ActivationKind recurrentActivation, LaneWidth width)
        : base(new TCache(), kind, name, NotNull(layout), activation, recurrentActivation, width)
    {
        Layout = layout;
        BiasX = new float[layout.GateWidth];
    }

    public TLayout Layout { get; }

    internal override SingleStateCache NewCache() => new TCache();

    private protected override object LayoutKey => Layout;

    private protected override int BiasLength => Layout.BiasLength;

    /// <summary>[G·units]: what the step's row pass adds to xd·W per column, filled before each forward.</summary>
    private protected float[] BiasX { get; }

    /// <summary>BiasX = b ([G·units]), or zeros without a bias; a cell whose bias has another shape overrides this.</summary>
    private protected override void PrepareForward(ReadOnlySpan<float> bias, int batch) => Start(BiasX, bias);

    /// <summary>The layout, refused when null (a derived kernel's base call reads its activations from it).</summary>
    private protected static TLayout NotNull(TLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return layout;
    }
}

/// <summary>The BPTT cache of a <see cref="SingleStateKernel"/> (the driver's buffers and the cell's own).</summary>
internal abstract class SingleStateCache : SequenceCache
{
}
