using LstmSharp.Autograd;
using LstmSharp.Recurrent;
using LstmSharp.Tensors;
using LstmSharp.Tests.Recurrent.Reference;

namespace LstmSharp.Tests.Recurrent.Harness;

/// <summary>How a float32 implementation of a cell is run: a training forward, then BPTT.</summary>
internal interface IRecurrentUnderTest
{
    /// <summary>
    /// Runs <paramref name="c"/> with <paramref name="parameters"/> (in the reference's order and
    /// names). <paramref name="gradients"/> come pre-filled and must be accumulated into.
    /// </summary>
    RunResult Run(HarnessCase c, IReadOnlyList<(string Name, float[] Values)> parameters, IReadOnlyList<float[]> gradients);
}

/// <summary>Outputs (sequence in processing order, last output, final states) and the input and initial-state gradients.</summary>
internal sealed record RunResult(float[] Sequence, float[] Last, float[][] Finals, float[] Dx, float[]?[] DInitial);

/// <summary>Which float32 implementation of a registry entry to check.</summary>
public enum Implementation
{
    /// <summary>The fused sequence kernel (LstmKernel, GruKernel, SimpleRnnKernel).</summary>
    Kernel,

    /// <summary><c>RNN(built-in autograd cell)</c>: BPTT through the tape.</summary>
    AutogradCell,
}

/// <summary>The data of one case, in float (what the implementations see); the double twins are the same values.</summary>
internal sealed class HarnessCase
{
    /// <param name="o">The options.</param>
    /// <param name="stateCount">States of the cell.</param>
    /// <param name="hidden">Size of the output and of state 0 (h); the other states have o.Units. 0 = o.Units (no projection).</param>
    public HarnessCase(SeqOptions o, int stateCount, int hidden = 0)
    {
        O = o;
        Hidden = hidden > 0 ? hidden : o.Units;
        var rng = new Random(o.Seed);
        int b = o.Batch, t = o.Time, n = o.Input, h = Hidden;
        X = SeqCase.Uniform(rng, b * t * n, 1f);
        Initial = o.InitialState ? Enumerable.Range(0, stateCount).Select(s => SeqCase.Uniform(rng, b * StateSize(s), 0.8f)).ToArray() : null;
        Mask = o.Mask is null ? null : SeqCase.MakeMask(o.Mask, b, t);
        InDrop = o.InputDropout ? SeqCase.DropMask(rng, b * n, 0.3f) : null;
        RecDrop = o.RecurrentDropout ? SeqCase.DropMask(rng, b * h, 0.3f) : null;
        GSeq = o.SequenceGrad ? SeqCase.Uniform(rng, b * t * h, 1f) : null;
        GLast = o.LastGrad ? SeqCase.Uniform(rng, b * h, 1f) : null;
        GFinals = new float[]?[stateCount];
        for (int s = 0; s < stateCount; s++)
        {
            bool on = s == 0 ? o.FinalGrad : o.SecondFinalGrad ?? o.FinalGrad;
            GFinals[s] = on ? SeqCase.Uniform(rng, b * StateSize(s), 1f) : null;
        }

        ParameterRandom = new Random(rng.Next());
    }

    public SeqOptions O { get; }

    /// <summary>Size of the output, of h and of the recurrent dropout mask (an LSTM's projection size, else the units).</summary>
    public int Hidden { get; }

    /// <summary>Size of state s: h has <see cref="Hidden"/> values, the others (an LSTM's c) the units.</summary>
    public int StateSize(int s) => s == 0 ? Hidden : O.Units;

    public float[] X { get; }

    /// <summary>One [batch, units] array per state, or null (zeros).</summary>
    public float[][]? Initial { get; }

    public float[]? Mask { get; }

    public float[]? InDrop { get; }

    public float[]? RecDrop { get; }

    public float[]? GSeq { get; }

    public float[]? GLast { get; }

    public float[]?[] GFinals { get; }

    /// <summary>Draws the case's parameter values (after the data, from the same seed).</summary>
    public Random ParameterRandom { get; }

    public SequenceRun Run() => new(X, O.Batch, O.Time, O.Input)
    {
        Mask = Mask,
        InputDropoutMask = InDrop,
        RecurrentDropoutMask = RecDrop,
        GoBackwards = O.GoBackwards,
        ZeroOutputForMask = O.ZeroOutputForMask,
    };
}

/// <summary>
/// The one harness for the double-precision references and finite differences of every
/// recurrent cell: a registry entry (<see cref="CellRegistry"/>) × an option set
/// (<see cref="Options"/>) × an implementation. The forward is compared with the entry's
/// double oracle, and every gradient (input, each parameter — accumulated onto random values
/// already in the buffers —, each initial state) with central finite differences of that
/// oracle (h = 1e-6, so essentially exact): |actual − expected| ≤ 1e-4 · max(|expected|,
/// 1e-2 · max|expected|), per tensor, naming the worst element.
/// </summary>
internal static class ReferenceHarness
{
    /// <summary>
    /// The option sets, by name: every set the LSTM, GRU and SimpleRNN kernel tests have used,
    /// now applied to every cell. Sizes B3 T4 I3 U4 unless named.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, SeqOptions> Options = new Dictionary<string, SeqOptions>
    {
        // The sets of the former LSTM kernel tests (gradients on h_T and c_T chosen separately).
        ["plain"] = new() { LastGrad = true, Seed = 21 },
        ["initial-state"] = new() { InitialState = true, LastGrad = true, SecondFinalGrad = false, Seed = 22 },
        ["last-only"] = new() { SequenceGrad = false, LastGrad = true, FinalGrad = false, Seed = 3 },
        ["state-only"] = new() { InitialState = true, SequenceGrad = false, Seed = 23 },
        ["mask-post"] = new() { Mask = "right", LastGrad = true, FinalGrad = false, SecondFinalGrad = true, Seed = 24 },
        ["mask-pre-zero"] = new() { Mask = "left", ZeroOutputForMask = true, LastGrad = true, FinalGrad = false, Seed = 25 },
        ["mask-holes"] = new() { Mask = "holes", GoBackwards = true, LastGrad = true, FinalGrad = false, Seed = 26 },
        ["go-backwards"] = new() { GoBackwards = true, LastGrad = true, FinalGrad = false, Seed = 27 },
        ["dropout"] = new() { InputDropout = true, RecurrentDropout = true, LastGrad = true, FinalGrad = false, Seed = 28 },
        ["all"] = new() { Mask = "mixed", GoBackwards = true, InputDropout = true, RecurrentDropout = true, InitialState = true, LastGrad = true, Seed = 29 },

        // The sets of the former GRU/SimpleRNN kernel tests.
        ["seq-final"] = new() { Seed = 1 },
        ["initial-final"] = new() { InitialState = true, Seed = 2 },
        ["mask-right-initial"] = new() { Mask = "right", InitialState = true, LastGrad = true, Seed = 4 },
        ["mask-left-t5"] = new() { Mask = "left", Seed = 5, Time = 5, LastGrad = true },
        ["mask-middle-zero-output"] = new() { Mask = "middle", ZeroOutputForMask = true, LastGrad = true, InitialState = true, Seed = 6 },
        ["all-masked-row"] = new() { Mask = "allmasked-row", InitialState = true, LastGrad = true, Seed = 7 },
        ["backwards-b2t5"] = new() { GoBackwards = true, Seed = 8, Batch = 2, Time = 5 },
        ["backwards-mask-right"] = new() { GoBackwards = true, Mask = "right", InitialState = true, LastGrad = true, Seed = 9 },
        ["backwards-mask-left-zero-output"] = new() { GoBackwards = true, Mask = "left", ZeroOutputForMask = true, Seed = 10 },
        ["dropout-initial"] = new() { InputDropout = true, RecurrentDropout = true, InitialState = true, Seed = 11 },
        ["dropout-mask-middle-backwards"] = new() { InputDropout = true, RecurrentDropout = true, Mask = "middle", GoBackwards = true, InitialState = true, LastGrad = true, Seed = 12 },
        ["activations"] = new() { InitialState = true, Mask = "middle", LastGrad = true, RecurrentDropout = true, Seed = 22 },

        // Units past the vector widths: a Vector512 block (16) or two Vector256 blocks (8) plus a scalar tail.
        ["wide-u19"] = new() { Batch = 2, Time = 3, Input = 2, Units = 19, Mask = "mixed", GoBackwards = true, InputDropout = true, RecurrentDropout = true, InitialState = true, LastGrad = true, Seed = 30 },
        ["tail-u37"] = new() { Units = 37, Input = 5, Batch = 2, Time = 3, InitialState = true, RecurrentDropout = true, Mask = "middle", Seed = 31 },
    };

    /// <summary>
    /// Whether an option set runs for an entry: all do, except that the 37-unit set is left to
    /// the one-state cells (an LSTM's gate_recurrence at 37 units has 12,321 weights, each a
    /// pair of reference runs; the 19-unit set covers the LSTM's vector tails).
    /// </summary>
    public static bool Applies(CellEntry e, string option) => option != "tail-u37" || e.StateCount == 1;

    /// <summary>(entry, option, implementation) for every entry whose name starts with <paramref name="family"/>.</summary>
    public static TheoryData<string, string, Implementation> Cases(string family)
    {
        var data = new TheoryData<string, string, Implementation>();
        foreach (var e in CellRegistry.All.Where(e => e.Name.StartsWith(family, StringComparison.Ordinal)))
        {
            foreach (var option in Options.Keys.Where(o => Applies(e, o)))
            {
                data.Add(e.Name, option, Implementation.Kernel);
                if (e.AutogradCell is not null)
                {
                    data.Add(e.Name, option, Implementation.AutogradCell);
                }
            }
        }

        return data;
    }

    public static void Check(string entryName, string option, Implementation implementation) =>
        Check(CellRegistry.Get(entryName), option, Options[option], implementation);

    public static void Check(CellEntry e, string label, SeqOptions o, Implementation implementation)
    {
        var under = implementation == Implementation.Kernel
            ? e.Kernel(o.Input, o.Units)
            : new AutogradCellUnderTest(e.AutogradCell?.Invoke(o.Units) ?? throw new ArgumentException($"{e} has no autograd cell"));
        Check($"{e} [{label}] {implementation}", e.Reference(o.Input, o.Units), under, o, e.StateCount, implementation == Implementation.AutogradCell ? e.AutogradTolerance : 1e-4, e.OutputSize?.Invoke(o.Units) ?? 0);
    }

    /// <summary>The check itself, for any oracle and implementation of a cell with <paramref name="stateCount"/> states.</summary>
    public static void Check(string label, IReferenceCell reference, IRecurrentUnderTest under, SeqOptions o, int stateCount, double rel = 1e-4, int hidden = 0)
    {
        var c = new HarnessCase(o, stateCount, hidden);
        var parameters = new List<(string Name, float[] Values)>();
        foreach (var (name, values) in reference.Parameters)
        {
            var f = SeqCase.Uniform(c.ParameterRandom, values.Length, name == "bias" ? 0.4f : 0.6f);
            for (int i = 0; i < f.Length; i++)
            {
                values[i] = f[i];
            }

            parameters.Add((name, f));
        }

        // Non-zero gradients already in the buffers: an implementation that overwrites instead of
        // accumulating is off by them. Small (±1e-3), so the float sum keeps the added part's bits.
        var gradRng = new Random(99);
        var before = parameters.Select(p => SeqCase.Uniform(gradRng, p.Values.Length, 1e-3f)).ToArray();
        var gradients = before.Select(g => (float[])g.Clone()).ToArray();
        var actual = under.Run(c, parameters, gradients);

        var x = SeqCase.D(c.X);
        var initial = Enumerable.Range(0, stateCount).Select(s => c.Initial is null ? null : SeqCase.D(c.Initial[s])).ToArray();
        var s = new RefSequence
        {
            Batch = o.Batch,
            Time = o.Time,
            Input = o.Input,
            Units = o.Units,
            X = x,
            Mask = SeqCase.D(c.Mask),
            InputDropMask = SeqCase.D(c.InDrop),
            RecurrentDropMask = SeqCase.D(c.RecDrop),
            GoBackwards = o.GoBackwards,
            ZeroOutputForMask = o.ZeroOutputForMask,
        };
        var expected = reference.Forward(s, initial);
        SeqCheck.Close($"{label} sequence", actual.Sequence, expected.Sequence, rel);
        SeqCheck.Close($"{label} last output", actual.Last, expected.Last, rel);
        for (int k = 0; k < stateCount; k++)
        {
            SeqCheck.Close($"{label} final state {k}", actual.Finals[k], expected.Finals[k], rel);
        }

        var gSeq = SeqCase.D(c.GSeq);
        var gLast = SeqCase.D(c.GLast);
        var gFinals = c.GFinals.Select(SeqCase.D).ToArray();
        double Loss()
        {
            var r = reference.Forward(s, initial);
            double l = Dot(r.Sequence, gSeq) + Dot(r.Last, gLast);
            for (int k = 0; k < stateCount; k++)
            {
                l += Dot(r.Finals[k], gFinals[k]);
            }

            return l;
        }

        SeqCheck.Close($"{label} dx", actual.Dx, Numeric(x, Loss), rel);
        for (int p = 0; p < parameters.Count; p++)
        {
            var added = new float[gradients[p].Length];
            for (int i = 0; i < added.Length; i++)
            {
                // What the implementation added, in double so the check sees its float result, not a second rounding.
                added[i] = (float)((double)gradients[p][i] - before[p][i]);
            }

            SeqCheck.Close($"{label} d {parameters[p].Name}", added, Numeric(reference.Parameters[p].Values, Loss), rel);
        }

        for (int k = 0; k < stateCount; k++)
        {
            if (initial[k] is { } h0)
            {
                SeqCheck.Close($"{label} d initial state {k}", actual.DInitial[k] ?? [], Numeric(h0, Loss), rel);
            }
        }
    }

    /// <summary>Central finite differences (h = 1e-6) of <paramref name="loss"/> with respect to each element of <paramref name="values"/>, perturbed in place and restored.</summary>
    private static double[] Numeric(double[] values, Func<double> loss, double eps = 1e-6)
    {
        var g = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double keep = values[i];
            values[i] = keep + eps;
            double up = loss();
            values[i] = keep - eps;
            double down = loss();
            values[i] = keep;
            g[i] = (up - down) / (2 * eps);
        }

        return g;
    }

    private static double Dot(double[] a, double[]? w)
    {
        if (w is null)
        {
            return 0;
        }

        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * w[i];
        }

        return s;
    }
}

/// <summary>The fused LSTM kernel under the harness.</summary>
internal sealed class LstmKernelUnderTest(LstmLayout layout) : IRecurrentUnderTest
{
    public RunResult Run(HarnessCase c, IReadOnlyList<(string Name, float[] Values)> parameters, IReadOnlyList<float[]> gradients)
    {
        float[] P(string name) => parameters.FirstOrDefault(p => p.Name == name).Values ?? [];
        float[] G(string name)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                if (parameters[i].Name == name)
                {
                    return gradients[i];
                }
            }

            return [];
        }

        var o = c.O;
        int n = layout.Units, nh = layout.OutputSize;
        var kernel = new LstmKernel(layout, "lstm_test");
        var cache = new LstmCache();
        var weights = new LstmWeights { Kernel = P("kernel"), RecurrentKernel = P("recurrent_kernel"), Bias = P("bias"), Peephole = P("peephole"), GateRecurrence = P("gate_recurrence"), Projection = P("projection_kernel") };
        var seq = new float[o.Batch * o.Time * nh];
        var last = new float[o.Batch * nh];
        var h = new float[o.Batch * nh];
        var cT = new float[o.Batch * n];
        kernel.Forward(c.Run(), weights, c.Initial?[0] ?? [], c.Initial?[1] ?? [], new RnnOutputs { Sequence = seq, Last = last, H = h, C = cT }, cache);
        var dx = new float[c.X.Length];
        var dh0 = new float[o.Batch * nh];
        var dc0 = new float[o.Batch * n];
        kernel.Backward(
            c.Run(),
            weights,
            cache,
            new RnnOutputGradients { Sequence = c.GSeq ?? [], Last = c.GLast ?? [], H = c.GFinals[0] ?? [], C = c.GFinals[1] ?? [] },
            new LstmGradients
            {
                Kernel = G("kernel"),
                RecurrentKernel = G("recurrent_kernel"),
                Bias = G("bias"),
                Peephole = G("peephole"),
                GateRecurrence = G("gate_recurrence"),
                Projection = G("projection_kernel"),
                Input = dx,
                InitialH = dh0,
                InitialC = dc0,
            });
        return new RunResult(seq, last, [h, cT], dx, [dh0, dc0]);
    }
}

/// <summary>A GRU or SimpleRNN kernel (<see cref="ISeqKernelUnderTest"/>) under the harness.</summary>
internal sealed class SingleStateKernelUnderTest(ISeqKernelUnderTest k) : IRecurrentUnderTest
{
    public RunResult Run(HarnessCase c, IReadOnlyList<(string Name, float[] Values)> parameters, IReadOnlyList<float[]> gradients)
    {
        var o = c.O;
        var b = parameters.Count > 2 ? parameters[2].Values : [];
        var seq = new float[o.Batch * o.Time * o.Units];
        var last = new float[o.Batch * o.Units];
        var final = new float[o.Batch * o.Units];
        var h0 = c.Initial?[0];
        k.Forward(c.Run(), parameters[0].Values, parameters[1].Values, b, h0, training: true, seq, last, final);
        var dx = new float[c.X.Length];
        var dh0 = h0 is null ? null : new float[o.Batch * o.Units];
        k.Backward(c.Run(), parameters[0].Values, parameters[1].Values, b, c.GSeq, c.GLast, c.GFinals[0], dx, gradients[0], gradients[1], gradients.Count > 2 ? gradients[2] : [], dh0);
        return new RunResult(seq, last, [final], dx, [dh0]);
    }
}

/// <summary>
/// <c>RNN(cell)</c> under the harness: every output (return_sequences and return_state; the
/// last output is the sequence's last step), the case's dropout masks fixed on the cell, the
/// loss formed with ops and differentiated by the tape.
/// </summary>
internal sealed class AutogradCellUnderTest(DenseRecurrentCell cell) : IRecurrentUnderTest
{
    public RunResult Run(HarnessCase c, IReadOnlyList<(string Name, float[] Values)> parameters, IReadOnlyList<float[]> gradients)
    {
        var o = c.O;
        var rnn = new RNN(cell, returnSequences: true, returnState: true, goBackwards: o.GoBackwards, zeroOutputForMask: o.ZeroOutputForMask);
        rnn.Build([o.Time, o.Input]);
        var cellParameters = cell.Parameters;
        Assert.Equal(parameters.Select(p => p.Name), cellParameters.Select(p => p.Name));
        for (int i = 0; i < parameters.Count; i++)
        {
            parameters[i].Values.CopyTo(cellParameters[i].Value.Span);
            cellParameters[i].Value.Grad = Tensor.FromArray((float[])gradients[i].Clone(), cellParameters[i].Value.ShapeArray);
        }

        cell.FixedDropoutMasks = (
            c.InDrop is null ? null : Tensor.FromArray(c.InDrop, o.Batch, o.Input),
            c.RecDrop is null ? null : Tensor.FromArray(c.RecDrop, o.Batch, c.Hidden));
        var x = Tensor.FromArray((float[])c.X.Clone(), o.Batch, o.Time, o.Input);
        x.RequiresGrad = true;
        var initial = c.Initial?.Select((h, s) => Tensor.FromArray((float[])h.Clone(), o.Batch, c.StateSize(s))).ToArray() ?? [];
        foreach (var h in initial)
        {
            h.RequiresGrad = true;
        }

        var mask = c.Mask is null ? null : Tensor.FromArray(c.Mask, o.Batch, o.Time);
        var masks = new Tensor?[1 + initial.Length];
        masks[0] = mask;
        IReadOnlyList<Tensor> outputs;
        using (var tape = Tape.Record())
        {
            outputs = rnn.Apply([x, .. initial], masks, training: true, out _);
            var lastStep = Ops.TimeStep(outputs[0], o.Time - 1);
            var terms = new List<Tensor>();
            if (c.GSeq is not null)
            {
                terms.Add(Ops.Sum(Ops.Mul(outputs[0], Tensor.FromArray(c.GSeq, o.Batch, o.Time, c.Hidden))));
            }

            if (c.GLast is not null)
            {
                terms.Add(Ops.Sum(Ops.Mul(lastStep, Tensor.FromArray(c.GLast, o.Batch, c.Hidden))));
            }

            for (int s = 0; s < c.GFinals.Length; s++)
            {
                if (c.GFinals[s] is { } g)
                {
                    terms.Add(Ops.Sum(Ops.Mul(outputs[1 + s], Tensor.FromArray(g, o.Batch, c.StateSize(s)))));
                }
            }

            var loss = terms.Aggregate(Ops.Add);
            tape.Backward(loss);
        }

        for (int i = 0; i < parameters.Count; i++)
        {
            cellParameters[i].Value.Grad!.Span.CopyTo(gradients[i]);
        }

        var sequence = outputs[0].ToArray();
        int nh = c.Hidden;
        var last = new float[o.Batch * nh];
        for (int b = 0; b < o.Batch; b++)
        {
            sequence.AsSpan(((b * o.Time) + o.Time - 1) * nh, nh).CopyTo(last.AsSpan(b * nh));
        }

        return new RunResult(
            sequence,
            last,
            outputs.Skip(1).Select(t => t.ToArray()).ToArray(),
            x.Grad?.ToArray() ?? new float[x.Length],
            c.Initial is null ? new float[]?[c.GFinals.Length] : initial.Select(h => h.Grad?.ToArray() ?? new float[h.Length]).ToArray());
    }
}
