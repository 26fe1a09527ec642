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
public sealed class RNN : SequenceLayer
{
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
    }

    public override string ClassName => "RNN";

    public RecurrentCell Cell { get; }

    public override int StateCount => Cell.StateSizes.Count;

    private protected override int OutputUnits => Cell.OutputSize;

    private protected override int StateUnits(int state) => Cell.StateSizes[state];

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
        WriteSequenceConfig(c);
        return c;
    }

    protected override void OnBuild(IReadOnlyList<int[]> inputShapes)
    {
        Cell.Build([CheckBuildInput(inputShapes)]);
    }

    protected override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        var x = inputs[0];
        var (batch, time) = CheckInput(x);
        var mask = CheckMask(masks, batch, time);
        var given = InitialStates(inputs, batch);
        IReadOnlyList<Tensor> current = given[0] is null ? Cell.GetInitialStates(batch) : Array.ConvertAll(given, s => s!);
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
                current[s].Span.CopyTo(CarriedStates![s].Span);
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
}
