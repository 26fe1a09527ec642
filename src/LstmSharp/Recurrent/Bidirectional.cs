using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Recurrent;

/// <summary>
/// Bidirectional wrapper for a recurrent layer (Keras <c>Bidirectional</c>): one copy reads the
/// sequence forwards, one backwards, and their outputs are merged.
/// </summary>
/// <remarks>
/// <para>The wrapped layer is a template, as in Keras: the forward direction is a new layer
/// rebuilt from its config and named <c>forward_&lt;name&gt;</c>; the backward direction is the
/// same config with <c>go_backwards</c> flipped, named <c>backward_&lt;name&gt;</c> (or the
/// <c>backwardLayer</c> given). Both are sublayers, so their weights are
/// <c>bidirectional/forward_lstm/kernel</c>, ..., <c>bidirectional/backward_lstm/bias</c>.</para>
/// <para>Input <c>[batch, time, features]</c>, optionally followed by initial states: the first
/// half for the forward direction (<c>h, c</c> for an LSTM), the second half for the backward one.
/// A mask goes to both directions. With <c>return_sequences</c> the backward output sequence
/// (in processing order, i.e. last step first) is reversed in time before merging, so step t
/// of the output merges both directions' views of x_t.</para>
/// <para>Merge modes: <c>concat</c> <c>[..., 2·units]</c>, <c>sum</c>, <c>mul</c>, <c>ave</c>
/// <c>[..., units]</c>, or null: both outputs are returned separately. With <c>return_state</c>
/// the outputs are followed by the forward states, then the backward states.</para>
/// </remarks>
public sealed class Bidirectional : Layer
{
    /// <summary>The merge modes Keras accepts (null, "no merge", is accepted too).</summary>
    public static readonly IReadOnlyList<string> MergeModes = ["concat", "sum", "mul", "ave"];

    /// <param name="layer">The recurrent layer to wrap (a template: its config is used, not its weights).</param>
    /// <param name="mergeMode">"concat" (default), "sum", "mul", "ave", or null to return both outputs.</param>
    /// <param name="backwardLayer">An explicit backward layer; it must read in the opposite direction and agree on return_sequences, return_state and stateful.</param>
    /// <param name="name">Layer name; null = automatic (bidirectional, bidirectional_1, ...).</param>
    /// <param name="inputShape">Per-sample input shape <c>[time, features]</c>; defaults to the wrapped layer's.</param>
    public Bidirectional(Layer layer, string? mergeMode = "concat", Layer? backwardLayer = null, string? name = null, int[]? inputShape = null)
        : base(name, inputShape ?? layer?.InputShape)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer is not RecurrentLayer template)
        {
            throw new ArgumentException($"{Describe()}: layer must be a recurrent layer (LSTM, GRU, SimpleRNN), got {layer}.", nameof(layer));
        }

        if (mergeMode is not null && !MergeModes.Contains(mergeMode))
        {
            throw new ArgumentException($"{Describe()}: mergeMode must be one of {string.Join(", ", MergeModes)} or null, got '{mergeMode}'.", nameof(mergeMode));
        }

        MergeMode = mergeMode;
        Forward = TrackLayer(CloneAs(template, "forward_" + RemovePrefix(template.Name, "forward_"), template.GoBackwards));
        if (backwardLayer is null)
        {
            Backward = TrackLayer(CloneAs(template, "backward_" + RemovePrefix(template.Name, "backward_"), !template.GoBackwards));
        }
        else
        {
            if (backwardLayer is not RecurrentLayer b)
            {
                throw new ArgumentException($"{Describe()}: backwardLayer must be a recurrent layer, got {backwardLayer}.", nameof(backwardLayer));
            }

            CheckSame(b.GoBackwards != template.GoBackwards, "go_backwards (must be the opposite of the forward layer's)", template.GoBackwards, b.GoBackwards);
            CheckSame(b.ReturnSequences == template.ReturnSequences, "return_sequences", template.ReturnSequences, b.ReturnSequences);
            CheckSame(b.ReturnState == template.ReturnState, "return_state", template.ReturnState, b.ReturnState);
            CheckSame(b.IsStateful == template.IsStateful, "stateful", template.IsStateful, b.IsStateful);
            if (b.StateCount != template.StateCount)
            {
                throw new ArgumentException($"{Describe()}: backwardLayer carries {b.StateCount} states, the forward layer {template.StateCount}.", nameof(backwardLayer));
            }

            Backward = TrackLayer(b);
        }

        SupportsMasking = true;
    }

    /// <summary>The direction that reads the sequence as the wrapped layer does.</summary>
    public RecurrentLayer Forward { get; }

    /// <summary>The direction that reads the sequence the other way.</summary>
    public RecurrentLayer Backward { get; }

    public string? MergeMode { get; }

    public bool ReturnSequences => Forward.ReturnSequences;

    public bool ReturnState => Forward.ReturnState;

    public override bool Stateful => Forward.Stateful;

    private int StateCount => Forward.StateCount;

    public static Bidirectional FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        var layer = LayerRegistry.FromEntry(c["layer"] ?? throw new ArgumentException("Bidirectional: config lacks 'layer'."));
        var backward = c["backward_layer"] is { } entry ? LayerRegistry.FromEntry(entry) : null;
        string? mergeMode = c.ContainsKey("merge_mode") ? c.GetStringOrNull("merge_mode") : "concat";
        return new Bidirectional(layer, mergeMode, backward, b.Name, b.InputShape).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["layer"] = LayerRegistry.ToEntry(Forward);
        c["backward_layer"] = LayerRegistry.ToEntry(Backward);
        c["merge_mode"] = MergeMode;
        return c;
    }

    public override int[] ComputeOutputShape(int[] inputShape) => ComputeOutputShapes([inputShape])[0];

    public override IReadOnlyList<int[]> ComputeOutputShapes(IReadOnlyList<int[]> inputShapes)
    {
        var (fIn, bIn) = SplitShapes(inputShapes);
        var f = Forward.ComputeOutputShapes(fIn);
        var b = Backward.ComputeOutputShapes(bIn);
        var list = new List<int[]>();
        if (MergeMode is null)
        {
            list.Add(f[0]);
            list.Add(b[0]);
        }
        else
        {
            var merged = (int[])f[0].Clone();
            if (MergeMode == "concat")
            {
                merged[^1] = f[0][^1] + b[0][^1];
            }

            list.Add(merged);
        }

        list.AddRange(f.Skip(1));
        list.AddRange(b.Skip(1));
        return list;
    }

    public override IReadOnlyList<Tensor?> ComputeMasks(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks)
    {
        int outputs = (MergeMode is null ? 2 : 1) + (ReturnState ? 2 * StateCount : 0);
        var result = new Tensor?[outputs];
        if (ReturnSequences)
        {
            result[0] = masks[0];
            if (MergeMode is null)
            {
                result[1] = masks[0];
            }
        }

        return result;
    }

    public override void ResetStates()
    {
        Forward.ResetStates();
        Backward.ResetStates();
    }

    protected override void OnBuild(IReadOnlyList<int[]> inputShapes)
    {
        var (fIn, bIn) = SplitShapes(inputShapes);
        Forward.Build(fIn);
        Backward.Build(bIn);
    }

    protected override IReadOnlyList<Tensor> Call(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?> masks, bool training)
    {
        var x = inputs[0];
        var mask = masks[0];
        Tensor[] fIn = [x], bIn = [x];
        if (inputs.Count > 1)
        {
            CheckStateCount(inputs.Count - 1);
            fIn = [x, .. inputs.Skip(1).Take(StateCount)];
            bIn = [x, .. inputs.Skip(1 + StateCount)];
        }

        var f = Forward.Apply(fIn, [mask, .. new Tensor?[fIn.Length - 1]], training, out _);
        var b = Backward.Apply(bIn, [mask, .. new Tensor?[bIn.Length - 1]], training, out _);
        var yf = f[0];
        var yb = ReturnSequences ? ReverseTime(b[0]) : b[0];
        var outputs = new List<Tensor>();
        switch (MergeMode)
        {
            case null:
                outputs.Add(yf);
                outputs.Add(yb);
                break;
            case "concat":
                outputs.Add(Ops.Concatenate([yf, yb], -1));
                break;
            case "sum":
                outputs.Add(Ops.Add(yf, yb));
                break;
            case "mul":
                outputs.Add(Ops.Mul(yf, yb));
                break;
            default:
                outputs.Add(Ops.Scale(Ops.Add(yf, yb), 0.5f));
                break;
        }

        outputs.AddRange(f.Skip(1));
        outputs.AddRange(b.Skip(1));
        return outputs;
    }

    /// <summary>y[:, t] = x[:, T−1−t] for <c>[batch, time, features]</c>; the gradient is reversed the same way.</summary>
    internal static Tensor ReverseTime(Tensor x)
    {
        int batch = x.Dim(0), time = x.Dim(1), features = x.Length / Math.Max(1, batch * time);
        var y = new Tensor(x.ShapeArray);
        Reverse(x.Span, y.Span, batch, time, features, accumulate: false);
        Tape.Track("reverse_time", y, x, () =>
        {
            if (x.RequiresGrad)
            {
                Reverse(y.Grad!.Span, x.EnsureGrad().Span, batch, time, features, accumulate: true);
            }
        });
        return y;
    }

    private static void Reverse(ReadOnlySpan<float> src, Span<float> dst, int batch, int time, int features, bool accumulate)
    {
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < time; t++)
            {
                var from = src.Slice(((b * time) + t) * features, features);
                var to = dst.Slice(((b * time) + (time - 1 - t)) * features, features);
                if (accumulate)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(to, from, to);
                }
                else
                {
                    from.CopyTo(to);
                }
            }
        }
    }

    /// <summary>The wrapped layer's config with a new name and direction, rebuilt through the registry.</summary>
    private RecurrentLayer CloneAs(RecurrentLayer template, string name, bool goBackwards)
    {
        var config = template.GetConfig();
        config["name"] = name;
        config["go_backwards"] = goBackwards;
        Layer clone;
        try
        {
            clone = LayerRegistry.FromConfig(template.ClassName, config);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{Describe()}: cannot copy {template} from its config: {e.Message}", nameof(template), e);
        }

        return clone as RecurrentLayer ?? throw new ArgumentException($"{Describe()}: the registry rebuilt {template} as {clone}, not a recurrent layer.");
    }

    private (int[][] Forward, int[][] Backward) SplitShapes(IReadOnlyList<int[]> inputShapes)
    {
        var x = inputShapes[0];
        if (inputShapes.Count == 1)
        {
            return ([x], [x]);
        }

        CheckStateCount(inputShapes.Count - 1);
        return ([x, .. inputShapes.Skip(1).Take(StateCount)], [x, .. inputShapes.Skip(1 + StateCount)]);
    }

    private void CheckStateCount(int given)
    {
        if (given != 2 * StateCount)
        {
            throw new ArgumentException($"{Describe()}: initial_state must hold {2 * StateCount} tensors ({StateCount} for the forward direction, then {StateCount} for the backward one), got {given}.");
        }
    }

    private void CheckSame(bool ok, string what, bool forward, bool backward)
    {
        if (!ok)
        {
            throw new ArgumentException($"{Describe()}: backwardLayer {what}: forward layer has {forward}, backward layer has {backward}.", "backwardLayer");
        }
    }

    private static string RemovePrefix(string name, string prefix) => name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;
}
