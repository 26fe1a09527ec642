using LstmSharp.Tensors;

namespace LstmSharp.Recurrent;

/// <summary>
/// The per-step internals of an <see cref="LSTM"/> on one sequence: gates i, f, o, the
/// candidate c~, the cell c and the output h, each <c>[time, units]</c> in processing order
/// (reversed time under <c>go_backwards</c>). Gates a variant lacks hold the constant the
/// equations use: 1 for a missing i, f or o, and 1 − i for f under CIFG.
/// </summary>
public sealed record LstmGateRecording(
    Tensor InputGate, Tensor ForgetGate, Tensor OutputGate, Tensor Candidate, Tensor Cell, Tensor Hidden)
{
    public int Time => Hidden.Dim(0);

    public int Units => Hidden.Dim(1);

    /// <summary>The six recordings with their conventional names, for plots and files.</summary>
    public IEnumerable<(string Name, Tensor Values)> Named =>
    [
        ("input gate i", InputGate), ("forget gate f", ForgetGate), ("output gate o", OutputGate),
        ("candidate c~", Candidate), ("cell c", Cell), ("output h", Hidden),
    ];
}

/// <summary>
/// Records what an LSTM layer computes at every step, for inspection and gate heatmaps. It is a
/// separate, slow path — one sequence, one step at a time, matrix products as plain loops with
/// double accumulation — that reads the layer's trained weights and applies the very cell math
/// the fast kernel uses (<see cref="LstmCell.ForwardRowScalar"/>), so the fast path is untouched.
/// </summary>
public static class LstmGateRecorder
{
    /// <summary>
    /// Runs <paramref name="layer"/> (built) on one sequence <paramref name="x"/>,
    /// <c>[time, features]</c> or <c>[1, time, features]</c>, from zero states (or
    /// <paramref name="h0"/>, <paramref name="c0"/>, each <c>[units]</c>), in inference mode
    /// (no dropout, no mask).
    /// </summary>
    public static LstmGateRecording Record(LSTM layer, Tensor x, Tensor? h0 = null, Tensor? c0 = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(x);
        var layout = layer.Layout ?? throw new InvalidOperationException($"LstmGateRecorder: LSTM '{layer.Name}' is not built; call it on data or build the model first.");
        if (layout.HasProjection)
        {
            throw new NotSupportedException($"LstmGateRecorder: LSTM '{layer.Name}' projects h to proj_size={layout.ProjSize}; the recorder follows LSTMs without a projection.");
        }

        int features = layout.InputSize, units = layout.Units, gw = layout.GateWidth;
        bool oneSample = (x.Rank == 2 && x.Dim(1) == features) || (x.Rank == 3 && x.Dim(0) == 1 && x.Dim(2) == features);
        if (!oneSample || x.Dim(-2) == 0)
        {
            throw new ArgumentException($"LstmGateRecorder: LSTM '{layer.Name}' expects one sequence [time, {features}] or [1, time, {features}], got {Tensor.FormatShape(x.Shape)}.", nameof(x));
        }

        CheckState("h0", h0, units, layer.Name);
        CheckState("c0", c0, units, layer.Name);
        int time = x.Dim(-2);
        var xs = x.Span;
        var w = layer.Kernel!.Value.Span;
        var u = layer.RecurrentKernel!.Value.Span;
        ReadOnlySpan<float> bias = layer.Bias is { } b ? b.Value.Span : default;
        ReadOnlySpan<float> peephole = layer.Peephole is { } p ? p.Value.Span : default;
        ReadOnlySpan<float> rec = layer.GateRecurrence is { } r ? r.Value.Span : default;
        int su = layout.WeightedGateCount * units;

        var h = h0 is null ? new float[units] : h0.Span.ToArray();
        var c = c0 is null ? new float[units] : c0.Span.ToArray();
        var gates = layout.HasGateRecurrence ? new float[su] : [];
        var gatesPrev = layout.HasGateRecurrence ? new float[su] : [];
        var z = new float[gw];
        var sum = new double[gw];
        var rec6 = new LstmGateRecording(
            new Tensor(time, units), new Tensor(time, units), new Tensor(time, units),
            new Tensor(time, units), new Tensor(time, units), new Tensor(time, units));
        int oi = layout.BlockOffset(LstmGate.Input), of = layout.BlockOffset(LstmGate.Forget);
        int oc = layout.BlockOffset(LstmGate.Candidate), oo = layout.BlockOffset(LstmGate.Output);
        for (int step = 0; step < time; step++)
        {
            int t = layer.GoBackwards ? time - 1 - step : step;
            var xt = xs.Slice(t * features, features);
            for (int k = 0; k < gw; k++)
            {
                sum[k] = bias.IsEmpty ? 0.0 : bias[k];
            }

            for (int m = 0; m < features; m++)
            {
                double xm = xt[m];
                var row = w.Slice(m * gw, gw);
                for (int k = 0; k < gw; k++)
                {
                    sum[k] += xm * row[k];
                }
            }

            for (int m = 0; m < units; m++)
            {
                double hm = h[m];
                var row = u.Slice(m * gw, gw);
                for (int k = 0; k < gw; k++)
                {
                    sum[k] += hm * row[k];
                }
            }

            if (layout.HasGateRecurrence)
            {
                foreach (var gate in LstmCell.WeightedGates)
                {
                    int s = layout.WeightedGateIndex(gate);
                    if (s < 0)
                    {
                        continue;
                    }

                    int block = layout.BlockOffset(gate);
                    for (int m = 0; m < su; m++)
                    {
                        double a = gatesPrev[m];
                        for (int j = 0; j < units; j++)
                        {
                            sum[block + j] += a * rec[(m * su) + (s * units) + j];
                        }
                    }
                }
            }

            for (int k = 0; k < gw; k++)
            {
                z[k] = (float)sum[k];
            }

            LstmCell.ForwardRowScalar(layout, z, c, h, peephole, gates);
            if (layout.HasGateRecurrence)
            {
                gates.CopyTo(gatesPrev, 0);
            }

            var ri = rec6.InputGate.Span.Slice(step * units, units);
            var rf = rec6.ForgetGate.Span.Slice(step * units, units);
            var ro = rec6.OutputGate.Span.Slice(step * units, units);
            for (int j = 0; j < units; j++)
            {
                float i = oi >= 0 ? z[oi + j] : 1f;
                ri[j] = i;
                rf[j] = of >= 0 ? z[of + j] : layout.Variant.CoupledInputForget ? 1f - i : 1f;
                ro[j] = oo >= 0 ? z[oo + j] : 1f;
            }

            z.AsSpan(oc, units).CopyTo(rec6.Candidate.Span.Slice(step * units, units));
            c.CopyTo(rec6.Cell.Span.Slice(step * units, units));
            h.CopyTo(rec6.Hidden.Span.Slice(step * units, units));
        }

        return rec6;
    }

    private static void CheckState(string name, Tensor? state, int units, string layer)
    {
        if (state is not null && state.Length != units)
        {
            throw new ArgumentException($"LstmGateRecorder: LSTM '{layer}' initial state {name} must hold {units} values, got {Tensor.FormatShape(state.Shape)}.", name);
        }
    }
}
