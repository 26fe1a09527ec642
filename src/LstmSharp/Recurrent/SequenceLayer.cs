using System.Text.Json.Nodes;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Recurrent;

/// <summary>
/// What every layer that runs a recurrence over <c>[batch, time, features]</c> shares as a Keras
/// layer — <see cref="RNN"/> (any cell, on the tape) and the fused <see cref="RecurrentLayer"/>s:
/// the sequence options (return_sequences, return_state, go_backwards, stateful,
/// zero_output_for_mask), the output shapes and masks they give, the checks of the input, the
/// mask and the initial states, and the states a stateful layer carries from batch to batch.
/// </summary>
public abstract class SequenceLayer : Layer
{
    private protected SequenceLayer(string? name, int[]? inputShape)
        : base(name, inputShape)
    {
        SupportsMasking = true;
    }

    /// <summary>Return the output of every step (else only the last).</summary>
    public bool ReturnSequences { get; private protected init; }

    /// <summary>Also return the final states after the output.</summary>
    public bool ReturnState { get; private protected init; }

    /// <summary>Read the sequence from its end; outputs come in processing order.</summary>
    public bool GoBackwards { get; private protected init; }

    public bool IsStateful { get; private protected init; }

    public override bool Stateful => IsStateful;

    /// <summary>At masked steps the output sequence holds zeros instead of the previous output.</summary>
    public bool ZeroOutputForMask { get; private protected init; }

    /// <summary>Number of state tensors (e.g. 1, h, for SimpleRNN and GRU; 2, h and c, for LSTM).</summary>
    public abstract int StateCount { get; }

    /// <summary>The states carried between batches by a stateful layer (null until the first call).</summary>
    public IReadOnlyList<Tensor>? States => CarriedStates;

    /// <summary>Size of one step's output.</summary>
    private protected abstract int OutputUnits { get; }

    /// <summary>The states carried by a stateful layer, each <c>[batch, StateUnits(s)]</c>; null until the first call.</summary>
    private protected Tensor[]? CarriedStates { get; private set; }

    /// <summary>How the initial states are named in an error (e.g. " (h, c)"); empty when they have no names.</summary>
    private protected virtual string StateNames => string.Empty;

    public override int[] ComputeOutputShape(int[] inputShape) => ComputeOutputShapes([inputShape])[0];

    public override IReadOnlyList<int[]> ComputeOutputShapes(IReadOnlyList<int[]> inputShapes)
    {
        var x = inputShapes[0];
        if (x.Length != 2)
        {
            throw ShapeError("input [batch, time, features]", [-1, .. x]);
        }

        var list = new List<int[]> { ReturnSequences ? [x[0], OutputUnits] : [OutputUnits] };
        if (ReturnState)
        {
            for (int s = 0; s < StateCount; s++)
            {
                list.Add([StateUnits(s)]);
            }
        }

        return list;
    }

    public override IReadOnlyList<Tensor?> ComputeMasks(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks)
    {
        var result = new Tensor?[ReturnState ? 1 + StateCount : 1];
        result[0] = ReturnSequences ? masks[0] : null;
        return result;
    }

    /// <summary>Zeroes the carried states of a stateful layer (Keras <c>reset_states()</c>).</summary>
    public override void ResetStates()
    {
        foreach (var s in CarriedStates ?? [])
        {
            s.Clear();
        }
    }

    /// <summary>Zeroes the carried states of the given samples only (rows of the batch).</summary>
    public void ResetStates(IReadOnlyList<int> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (CarriedStates is not { } states)
        {
            return;
        }

        int batch = states[0].Dim(0);
        foreach (int b in samples)
        {
            if ((uint)b >= (uint)batch)
            {
                throw new ArgumentOutOfRangeException(nameof(samples), $"{Describe()}: sample {b} outside the stateful batch of {batch}.");
            }

            for (int s = 0; s < states.Length; s++)
            {
                states[s].Span.Slice(b * StateUnits(s), StateUnits(s)).Clear();
            }
        }
    }

    /// <summary>Sets the carried states of a stateful layer (Keras <c>reset_states(states)</c>), each <c>[batch, size of state s]</c>.</summary>
    public void SetStates(IReadOnlyList<Tensor> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != StateCount)
        {
            throw new ArgumentException($"{Describe()}: expected {StateCount} state tensors, got {values.Count}.");
        }

        int batch = values[0].Dim(0);
        var states = new Tensor[StateCount];
        for (int s = 0; s < StateCount; s++)
        {
            if (values[s].Rank != 2 || values[s].Dim(0) != batch || values[s].Dim(1) != StateUnits(s))
            {
                throw ShapeError($"state [{batch}, {StateUnits(s)}]", values[s].Shape, $"state {s}");
            }

            states[s] = values[s].Clone();
        }

        CarriedStates = states;
    }

    /// <summary>Size of state <paramref name="state"/> (each is <c>[batch, size]</c>).</summary>
    private protected abstract int StateUnits(int state);

    /// <summary>Writes the sequence options by their Keras names.</summary>
    private protected void WriteSequenceConfig(JsonObject c)
    {
        c["return_sequences"] = ReturnSequences;
        c["return_state"] = ReturnState;
        c["go_backwards"] = GoBackwards;
        c["stateful"] = IsStateful;
        c["zero_output_for_mask"] = ZeroOutputForMask;
    }

    /// <summary>The features of the input shape being built (<c>[time, features]</c>, features known), or a layer-named error.</summary>
    private protected int CheckBuildInput(IReadOnlyList<int[]> inputShapes)
    {
        var x = inputShapes[0];
        if (x.Length != 2 || x[1] <= 0)
        {
            throw ShapeError("input [batch, time, features] with known features", [-1, .. x]);
        }

        return x[1];
    }

    /// <summary>Checks a call's input against the built features and returns its batch and steps (at least one of each).</summary>
    private protected (int Batch, int Time) CheckInput(Tensor x)
    {
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

        return (batch, time);
    }

    /// <summary>The call's mask (<c>[batch, time]</c> or none), checked.</summary>
    private protected Tensor? CheckMask(IReadOnlyList<Tensor?> masks, int batch, int time)
    {
        var mask = masks.Count > 0 ? masks[0] : null;
        if (mask is not null && (mask.Rank != 2 || mask.Dim(0) != batch || mask.Dim(1) != time))
        {
            throw ShapeError($"mask [{batch}, {time}]", mask.Shape, "mask");
        }

        return mask;
    }

    /// <summary>
    /// The states a call starts from: the given ones (Keras <c>initial_state</c>, inputs 1..),
    /// checked; else, when stateful, copies of the carried ones (zeros at first; constants to
    /// this batch's graph, as in Keras); else null entries (the caller's zeros).
    /// </summary>
    private protected Tensor?[] InitialStates(IReadOnlyList<Tensor> inputs, int batch)
    {
        var initial = new Tensor?[StateCount];
        if (inputs.Count > 1)
        {
            if (inputs.Count != 1 + StateCount)
            {
                throw new ArgumentException($"{Describe()}: initial_state must hold {StateCount} tensor{(StateCount == 1 ? string.Empty : "s")}{StateNames}, got {inputs.Count - 1}.");
            }

            for (int s = 0; s < StateCount; s++)
            {
                var t = inputs[1 + s];
                if (t.Rank != 2 || t.Dim(0) != batch || t.Dim(1) != StateUnits(s))
                {
                    throw ShapeError($"initial state [{batch}, {StateUnits(s)}]", t.Shape, $"initial state {s}");
                }

                initial[s] = t;
            }

            return initial;
        }

        if (!IsStateful)
        {
            return initial;
        }

        if (CarriedStates is null)
        {
            CarriedStates = new Tensor[StateCount];
            for (int s = 0; s < StateCount; s++)
            {
                CarriedStates[s] = new Tensor(batch, StateUnits(s));
            }
        }
        else if (CarriedStates[0].Dim(0) != batch)
        {
            throw new ArgumentException($"{Describe()}: stateful layer was used with batch size {CarriedStates[0].Dim(0)}, got a batch of {batch}; stateful layers need a fixed batch size (call ResetStates after changing it is not enough: rebuild the layer or use batches of {CarriedStates[0].Dim(0)}).");
        }

        for (int s = 0; s < StateCount; s++)
        {
            initial[s] = CarriedStates[s].Clone();
        }

        return initial;
    }
}
