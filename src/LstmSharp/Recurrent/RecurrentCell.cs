using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Recurrent;

/// <summary>
/// One time step of a recurrent network, written with autograd ops (Keras's cell API): the
/// generic <see cref="RNN"/> layer runs a cell over time, and backpropagation through time is
/// whatever the tape recorded at each step. A cell is a layer of its own: it creates its
/// weights in <see cref="Layer.OnBuild(int[])"/> (with <c>AddWeight</c>, so initializers,
/// regularizers, constraints, saving and optimizers work as for any layer), and the RNN that
/// holds it owns it as a sublayer (weight paths <c>rnn/cell_name/kernel</c>).
/// </summary>
/// <remarks>
/// <para>A cell states its sizes (<see cref="StateSizes"/>, <see cref="OutputSize"/>) and its
/// step, <see cref="Call(Tensor, IReadOnlyList{Tensor}, bool)"/>: input <c>[batch, features]</c>
/// and states (each <c>[batch, StateSizes[i]]</c>) → output <c>[batch, OutputSize]</c> and the
/// new states. Only <c>Ops.*</c> may touch tensors that need gradients.</para>
/// <para>A minimal gated cell, h_t = z ⊙ h_{t−1} + (1 − z) ⊙ tanh(x W + h U), z = σ(x V):</para>
/// <code>
/// public sealed class MinimalGatedCell(int units, string? name = null) : RecurrentCell(name)
/// {
///     public override IReadOnlyList&lt;int&gt; StateSizes => [units];
///     public override int OutputSize => units;
///     public Parameter? W, U, V;
///     protected override void OnBuild(int[] inputShape)            // [features]
///     {
///         W = AddWeight("kernel", [inputShape[0], units], "glorot_uniform");
///         U = AddWeight("recurrent_kernel", [units, units], "orthogonal");
///         V = AddWeight("gate_kernel", [inputShape[0], units], "glorot_uniform");
///     }
///     public override CellOutput Call(Tensor x, IReadOnlyList&lt;Tensor&gt; states, bool training)
///     {
///         var h = states[0];
///         var z = Ops.Sigmoid(Ops.MatMul(x, V!.Value));
///         var cand = Ops.Tanh(Ops.Add(Ops.MatMul(x, W!.Value), Ops.MatMul(h, U!.Value)));
///         var hNew = Ops.Add(cand, Ops.Mul(z, Ops.Subtract(h, cand)));
///         return new CellOutput(hNew, [hNew]);
///     }
/// }
/// </code>
/// <para>To save and load a model holding a custom cell, give the cell a
/// <c>GetConfig()</c> with its constructor options and register a factory once:
/// <c>LayerRegistry.Register("MinimalGatedCell", c => new MinimalGatedCell(c.GetInt("units"), c.GetBase().Name))</c>.
/// The built-in cells (<see cref="LstmAutogradCell"/>, <see cref="GruAutogradCell"/>,
/// <see cref="SimpleRnnAutogradCell"/>) are registered already.</para>
/// </remarks>
public abstract class RecurrentCell : Layer
{
    protected RecurrentCell(string? name = null)
        : base(name)
    {
    }

    /// <summary>The size of each state tensor (each is <c>[batch, size]</c>): <c>[units]</c> for h alone, <c>[units, units]</c> for LSTM's h and c.</summary>
    public abstract IReadOnlyList<int> StateSizes { get; }

    /// <summary>The size of one step's output.</summary>
    public abstract int OutputSize { get; }

    /// <summary>
    /// One time step: <paramref name="input"/> <c>[batch, features]</c> and the
    /// <paramref name="states"/> before the step → the step's output and the states after it.
    /// </summary>
    public abstract CellOutput Call(Tensor input, IReadOnlyList<Tensor> states, bool training);

    /// <summary>
    /// Called by <see cref="RNN"/> once per sequence, before the first step: the place to draw
    /// per-sequence randomness such as dropout masks (one mask per sequence, as Keras does).
    /// </summary>
    public virtual void BeginSequence(int batchSize, bool training)
    {
    }

    /// <summary>The states a sequence starts from when none are given: zeros.</summary>
    public virtual IReadOnlyList<Tensor> GetInitialStates(int batchSize) =>
        StateSizes.Select(size => new Tensor(batchSize, size)).ToArray();

    /// <summary>Called on its own, a cell takes <c>[x, state_1, ...]</c> and returns <c>[output, new_state_1, ...]</c>.</summary>
    public override IReadOnlyList<int[]> ComputeOutputShapes(IReadOnlyList<int[]> inputShapes) =>
        [[OutputSize], .. StateSizes.Select(s => new[] { s })];

    public override int[] ComputeOutputShape(int[] inputShape) => [OutputSize];

    /// <summary>A cell is built from the input's shape <c>[features]</c>; state inputs do not change its weights.</summary>
    protected sealed override void OnBuild(IReadOnlyList<int[]> inputShapes) => OnBuild(inputShapes[0]);

    protected sealed override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        ExpectInputCount(inputs.Count, 1 + StateSizes.Count);
        var step = Call(inputs[0], inputs.Skip(1).ToArray(), training);
        return [step.Output, .. step.States];
    }
}

/// <summary>What one step of a <see cref="RecurrentCell"/> returns: its output and the new states.</summary>
/// <param name="Output">The step's output <c>[batch, OutputSize]</c>.</param>
/// <param name="States">The states after the step, one per <see cref="RecurrentCell.StateSizes"/> entry.</param>
public readonly record struct CellOutput(Tensor Output, IReadOnlyList<Tensor> States);
