using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Recurrent;

/// <summary>
/// Keras's generic <c>RNN(cell)</c> layer: runs any <see cref="RecurrentCell"/> over time, one
/// step per time step, with every step's ops on the tape, so backpropagation through time is
/// the tape's reverse walk. It is how a user writes a new recurrent cell from <c>Ops.*</c>
/// alone, and the slow oracle the fused layers (<see cref="LSTM"/>, <see cref="GRU"/>,
/// <see cref="SimpleRNN"/>) are tested against.
/// </summary>
/// <remarks>
/// <para>Call inputs: <c>x [batch, time, features]</c>, then optionally the initial states
/// (one tensor <c>[batch, StateSizes[i]]</c> per state). A mask <c>[batch, time]</c> (from
/// <c>Embedding(maskZero)</c> or <c>Masking</c>) makes a masked step keep the states and repeat
/// the previous output (zeros before the first valid step), or output zeros with
/// <c>zeroOutputForMask</c> — the fused layers' rules.</para>
/// <para>Outputs: <c>[batch, time, OutputSize]</c> with <c>returnSequences</c> (in processing
/// order when <c>goBackwards</c>), else the last output <c>[batch, OutputSize]</c>; with
/// <c>returnState</c> followed by the final states.</para>
/// <para>Speed: one small product per step and op, no fused kernel; for LSTM, GRU and
/// SimpleRNN the dedicated layers are many times faster and give the same numbers.</para>
/// </remarks>
public sealed class RNN : Layer
{
    private Tensor[]? states;

    /// <param name="cell">The step to run (it becomes this layer's sublayer; one RNN per cell).</param>
    /// <param name="returnSequences">Return the output of every step.</param>
    /// <param name="returnState">Also return the final states.</param>
    /// <param name="goBackwards">Read the sequence from its end; outputs come in processing order.</param>
    /// <param name="stateful">Carry the final states of batch k into batch k+1 (fixed batch size).</param>
    /// <param name="zeroOutputForMask">Masked steps output zeros instead of the previous output.</param>
    /// <param name="name">Layer name; null = automatic (rnn, rnn_1, ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[time, features]</c> (time may be -1).</param>
    public RNN(
        RecurrentCell cell,
        bool returnSequences = false,
        bool returnState = false,
        bool goBackwards = false,
        bool stateful = false,
        bool zeroOutputForMask = false,
        string? name = null,
        int[]? inputShape = null)
        : base(name, inputShape)
    {
        ArgumentNullException.ThrowIfNull(cell);
        if (cell.StateSizes is not { Count: > 0 } sizes || sizes.Any(s => s <= 0) || cell.OutputSize <= 0)
        {
            throw new ArgumentException($"{Describe()}: cell {cell} must have at least one state and positive sizes, got states [{string.Join(", ", cell.StateSizes ?? [])}] and output {cell.OutputSize}.", nameof(cell));
        }

        Cell = TrackLayer(cell);
        ReturnSequences = returnSequences;
        ReturnState = returnState;
        GoBackwards = goBackwards;
        IsStateful = stateful;
        ZeroOutputForMask = zeroOutputForMask;
        SupportsMasking = true;
    }

    public override string ClassName => "RNN";

    public RecurrentCell Cell { get; }

    public bool ReturnSequences { get; }

    public bool ReturnState { get; }

    public bool GoBackwards { get; }

    public bool IsStateful { get; }

    public override bool Stateful => IsStateful;

    /// <summary>At masked steps the output sequence holds zeros instead of the previous output.</summary>
    public bool ZeroOutputForMask { get; }

    /// <summary>The states carried between batches by a stateful layer (null until the first call).</summary>
    public IReadOnlyList<Tensor>? States => states;

    /// <summary>
    /// Rebuilds an RNN from its config; the cell comes from <see cref="LayerRegistry"/> by its
    /// class name (built-in cells are registered; a custom cell needs <see cref="LayerRegistry.Register"/>).
    /// </summary>
    public static RNN FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        var cellLayer = LayerRegistry.FromEntry(c["cell"] ?? throw new ArgumentException($"RNN '{b.Name}': config lacks 'cell'."));
        if (cellLayer is not RecurrentCell cell)
        {
            throw new ArgumentException($"RNN '{b.Name}': 'cell' must be a recurrent cell, got {cellLayer}.");
        }

        return new RNN(
            cell,
            returnSequences: c.GetBool("return_sequences", false),
            returnState: c.GetBool("return_state", false),
            goBackwards: c.GetBool("go_backwards", false),
            stateful: c.GetBool("stateful", false),
            zeroOutputForMask: c.GetBool("zero_output_for_mask", false),
            name: b.Name,
            inputShape: b.InputShape).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["cell"] = LayerRegistry.ToEntry(Cell);
        c["return_sequences"] = ReturnSequences;
        c["return_state"] = ReturnState;
        c["go_backwards"] = GoBackwards;
        c["stateful"] = IsStateful;
        c["zero_output_for_mask"] = ZeroOutputForMask;
        return c;
    }

    public override int[] ComputeOutputShape(int[] inputShape) => ComputeOutputShapes([inputShape])[0];

    public override IReadOnlyList<int[]> ComputeOutputShapes(IReadOnlyList<int[]> inputShapes)
    {
        var x = inputShapes[0];
        if (x.Length != 2)
        {
            throw ShapeError("input [batch, time, features]", [-1, .. x]);
        }

        var list = new List<int[]> { ReturnSequences ? [x[0], Cell.OutputSize] : [Cell.OutputSize] };
        if (ReturnState)
        {
            list.AddRange(Cell.StateSizes.Select(s => new[] { s }));
        }

        return list;
    }

    public override IReadOnlyList<Tensor?> ComputeMasks(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks)
    {
        var result = new Tensor?[ReturnState ? 1 + Cell.StateSizes.Count : 1];
        result[0] = ReturnSequences ? masks[0] : null;
        return result;
    }

    /// <summary>Zeroes the carried states of a stateful layer (Keras <c>reset_states()</c>).</summary>
    public override void ResetStates()
    {
        foreach (var s in states ?? [])
        {
            s.Clear();
        }
    }

    protected override void OnBuild(IReadOnlyList<int[]> inputShapes)
    {
        var x = inputShapes[0];
        if (x.Length != 2 || x[1] <= 0)
        {
            throw ShapeError("input [batch, time, features] with known features", [-1, .. x]);
        }

        Cell.Build([x[1]]);
    }

    protected override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        var x = inputs[0];
        int features = BuiltInputShapes![0][1];
        if (x.Rank != 3 || x.Dim(2) != features)
        {
            throw ShapeError($"input [batch, time, {features}]", x.Shape);
        }

        int batch = x.Dim(0), time = x.Dim(1);
        if (batch == 0 || time == 0)
        {
            throw ShapeError($"input with at least one sample and one step [batch, time, {features}]", x.Shape);
        }

        var mask = masks.Count > 0 ? masks[0] : null;
        if (mask is not null && (mask.Rank != 2 || mask.Dim(0) != batch || mask.Dim(1) != time))
        {
            throw ShapeError($"mask [{batch}, {time}]", mask.Shape, "mask");
        }

        IReadOnlyList<Tensor> current = InitialStates(inputs, batch);
        var outputSize = Cell.OutputSize;
        var previous = new Tensor(batch, outputSize);
        var zeros = ZeroOutputForMask ? new Tensor(batch, outputSize) : null;
        var sequence = ReturnSequences ? new List<Tensor>(time) : null;
        var rowMask = new float[batch];
        Cell.BeginSequence(batch, training);
        using (Tape.InLayer(Cell.Name))
        {
            for (int p = 0; p < time; p++)
            {
                int t = GoBackwards ? time - 1 - p : p;
                var step = Cell.Call(Ops.TimeStep(x, t), current, training);
                CheckStep(step, batch);
                Tensor output;
                if (mask is null || AllValid(mask, t, rowMask))
                {
                    output = step.Output;
                    current = step.States;
                }
                else
                {
                    output = Ops.SelectRows(rowMask, step.Output, zeros ?? previous);
                    var kept = new Tensor[current.Count];
                    for (int s = 0; s < kept.Length; s++)
                    {
                        kept[s] = Ops.SelectRows(rowMask, step.States[s], current[s]);
                    }

                    current = kept;
                }

                sequence?.Add(output);
                previous = output;
            }
        }

        if (IsStateful)
        {
            for (int s = 0; s < current.Count; s++)
            {
                current[s].Span.CopyTo(states![s].Span);
            }
        }

        var outputs = new List<Tensor> { sequence is null ? previous : Ops.Stack(sequence, axis: 1) };
        if (ReturnState)
        {
            outputs.AddRange(current);
        }

        return outputs;
    }

    /// <summary>Copies column t of the mask into <paramref name="rowMask"/>; true when every row is valid.</summary>
    private static bool AllValid(Tensor mask, int t, float[] rowMask)
    {
        int time = mask.Dim(1);
        bool all = true;
        var m = mask.Span;
        for (int b = 0; b < rowMask.Length; b++)
        {
            rowMask[b] = m[(b * time) + t];
            all &= rowMask[b] != 0;
        }

        return all;
    }

    private void CheckStep(CellOutput step, int batch)
    {
        if (step.Output is not { Rank: 2 } o || o.Dim(0) != batch || o.Dim(1) != Cell.OutputSize)
        {
            throw new InvalidOperationException($"{Describe()}: cell {Cell} returned an output {(step.Output is null ? "null" : Tensor.FormatShape(step.Output.Shape))}, expected [{batch}, {Cell.OutputSize}] (its OutputSize).");
        }

        var sizes = Cell.StateSizes;
        if (step.States is null || step.States.Count != sizes.Count)
        {
            throw new InvalidOperationException($"{Describe()}: cell {Cell} returned {step.States?.Count ?? 0} states, expected {sizes.Count} (its StateSizes).");
        }

        for (int s = 0; s < sizes.Count; s++)
        {
            if (step.States[s] is not { Rank: 2 } st || st.Dim(0) != batch || st.Dim(1) != sizes[s])
            {
                throw new InvalidOperationException($"{Describe()}: cell {Cell} returned state {s} as {(step.States[s] is null ? "null" : Tensor.FormatShape(step.States[s].Shape))}, expected [{batch}, {sizes[s]}].");
            }
        }
    }

    private IReadOnlyList<Tensor> InitialStates(IReadOnlyList<Tensor> inputs, int batch)
    {
        var sizes = Cell.StateSizes;
        if (inputs.Count > 1)
        {
            if (inputs.Count != 1 + sizes.Count)
            {
                throw new ArgumentException($"{Describe()}: initial_state must hold {sizes.Count} tensor{(sizes.Count == 1 ? string.Empty : "s")}, got {inputs.Count - 1}.");
            }

            for (int s = 0; s < sizes.Count; s++)
            {
                var t = inputs[1 + s];
                if (t.Rank != 2 || t.Dim(0) != batch || t.Dim(1) != sizes[s])
                {
                    throw ShapeError($"initial state [{batch}, {sizes[s]}]", t.Shape, $"initial state {s}");
                }
            }

            return inputs.Skip(1).ToArray();
        }

        if (!IsStateful)
        {
            return Cell.GetInitialStates(batch);
        }

        if (states is null)
        {
            states = sizes.Select(size => new Tensor(batch, size)).ToArray();
        }
        else if (states[0].Dim(0) != batch)
        {
            throw new ArgumentException($"{Describe()}: stateful layer was used with batch size {states[0].Dim(0)}, got a batch of {batch}; stateful layers need a fixed batch size.");
        }

        // The carried states are constants to this batch's graph (Keras: no gradient across batches).
        return states.Select(s => s.Clone()).ToArray();
    }
}
