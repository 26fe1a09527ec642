using System.Globalization;
using System.Text.Json.Nodes;
using LstmSharp.Autograd;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Recurrent;

/// <summary>
/// One step of ONNX's <c>LSTM</c>, <c>GRU</c> or <c>RNN</c> operator (one direction) with every
/// attribute the operator has, written with autograd ops for <see cref="RNN"/>: any of ONNX's
/// activations with their alpha and beta (<see cref="ActivationFunction"/>), the cell
/// <c>clip</c>, <c>input_forget</c>, <c>linear_before_reset</c> and peepholes. The ONNX importer
/// uses it where the fused layers cannot express a node (a clip, or an activation that does not
/// fold into an <see cref="ActivationKind"/>); the exporter writes it back as the same node.
/// </summary>
/// <remarks>
/// <para>Weights keep ONNX's layout for one direction: <c>kernel</c> = W <c>[G·units, features]</c>,
/// <c>recurrent_kernel</c> = R <c>[G·units, units]</c>, <c>bias</c> = B <c>[2·G·units]</c> (Wb then
/// Rb), <c>peephole</c> = P <c>[3·units]</c> (LSTM only, with <c>peepholes</c>); gate blocks LSTM
/// i, o, f, c; GRU z, r, h; RNN one. clip(v) = min(max(v, −clip), clip), applied to every gate
/// pre-activation before its activation (as ONNX Runtime does; not to C_t before h).</para>
/// <code>
/// LSTM (f, g, h = activations):
///   i = f(clip(x Wiᵀ + h Riᵀ + Wbi + Rbi + Pi ⊙ C_{t−1}))
///   f_t = input_forget ? 1 − i : f(clip(x Wfᵀ + h Rfᵀ + Wbf + Rbf + Pf ⊙ C_{t−1}))
///   c = g(clip(x Wcᵀ + h Rcᵀ + Wbc + Rbc)),   C_t = f_t ⊙ C_{t−1} + i ⊙ c
///   o = f(clip(x Woᵀ + h Roᵀ + Wbo + Rbo + Po ⊙ C_t)),   h_t = o ⊙ h(C_t);   states [h_t, C_t]
/// GRU (f, g):
///   z = f(clip(x Wzᵀ + h Rzᵀ + Wbz + Rbz)),   r = f(clip(x Wrᵀ + h Rrᵀ + Wbr + Rbr))
///   ĥ = g(clip(x Whᵀ + (r ⊙ h) Rhᵀ + Rbh + Wbh))          linear_before_reset = 0
///   ĥ = g(clip(x Whᵀ + r ⊙ (h Rhᵀ + Rbh) + Wbh))          linear_before_reset = 1
///   h_t = (1 − z) ⊙ ĥ + z ⊙ h;   state [h_t]
/// RNN (f):  h_t = f(clip(x Wᵀ + h Rᵀ + Wb + Rb));   state [h_t]
/// </code>
/// </remarks>
public sealed class OnnxRecurrentCell : RecurrentCell
{
    /// <param name="op">"LSTM", "GRU" or "RNN".</param>
    /// <param name="units">hidden_size; a positive integer.</param>
    /// <param name="activations">The operator's activations for one direction (LSTM f, g, h; GRU f, g; RNN f); null = ONNX's defaults (Sigmoid, Tanh, Tanh / Sigmoid, Tanh / Tanh).</param>
    /// <param name="clip">Cell clip: a positive number, or null for none.</param>
    /// <param name="inputForget">LSTM: couple the forget gate to the input gate (f = 1 − i).</param>
    /// <param name="linearBeforeReset">GRU: apply R_h (and Rb_h) before multiplying by r.</param>
    /// <param name="peepholes">LSTM: add the peephole weight P.</param>
    /// <param name="name">Cell name; null = automatic.</param>
    public OnnxRecurrentCell(
        string op,
        int units,
        IReadOnlyList<ActivationFunction>? activations = null,
        float? clip = null,
        bool inputForget = false,
        bool linearBeforeReset = false,
        bool peepholes = false,
        string? name = null)
        : base(name)
    {
        Op = op switch
        {
            "LSTM" or "GRU" or "RNN" => op,
            _ => throw new ArgumentException($"{Describe()}: op must be LSTM, GRU or RNN, got '{op}'.", nameof(op)),
        };
        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), $"{Describe()}: units must be a positive integer, got {units}.");
        }

        if (clip is { } c && !(c > 0f && float.IsFinite(c)))
        {
            throw new ArgumentOutOfRangeException(nameof(clip), $"{Describe()}: clip must be a positive finite number or null, got {c.ToString("R", CultureInfo.InvariantCulture)}.");
        }

        var acts = activations ?? DefaultActivations(op);
        if (acts.Count != ActivationCount(op))
        {
            throw new ArgumentException($"{Describe()}: {op} takes {ActivationCount(op)} activations, got {acts.Count}.", nameof(activations));
        }

        if (acts.Any(a => a.Name is null))
        {
            throw new ArgumentException($"{Describe()}: activation {acts.ToList().FindIndex(a => a.Name is null)} is default(ActivationFunction); use ActivationFunction.Create.", nameof(activations));
        }

        if (op != "LSTM" && (inputForget || peepholes))
        {
            throw new ArgumentException($"{Describe()}: inputForget and peepholes exist only for LSTM, got op {op}.", nameof(op));
        }

        if (op != "GRU" && linearBeforeReset)
        {
            throw new ArgumentException($"{Describe()}: linearBeforeReset exists only for GRU, got op {op}.", nameof(linearBeforeReset));
        }

        Units = units;
        Activations = acts.ToArray();
        Clip = clip;
        InputForget = inputForget;
        LinearBeforeReset = linearBeforeReset;
        Peepholes = peepholes;
    }

    public override string ClassName => "OnnxRecurrentCell";

    /// <summary>"LSTM", "GRU" or "RNN".</summary>
    public string Op { get; }

    public int Units { get; }

    /// <summary>The activations of one direction, in ONNX's order (LSTM f, g, h; GRU f, g; RNN f).</summary>
    public IReadOnlyList<ActivationFunction> Activations { get; }

    /// <summary>The cell clip (null = none).</summary>
    public float? Clip { get; }

    public bool InputForget { get; }

    public bool LinearBeforeReset { get; }

    public bool Peepholes { get; }

    /// <summary>Gate blocks: LSTM 4, GRU 3, RNN 1.</summary>
    public int Gates => Op == "LSTM" ? 4 : Op == "GRU" ? 3 : 1;

    public override int OutputSize => Units;

    public override IReadOnlyList<int> StateSizes => Op == "LSTM" ? [Units, Units] : [Units];

    /// <summary>W <c>[G·units, features]</c>.</summary>
    public Parameter? Kernel { get; private set; }

    /// <summary>R <c>[G·units, units]</c>.</summary>
    public Parameter? RecurrentKernel { get; private set; }

    /// <summary>B <c>[2·G·units]</c>: Wb then Rb.</summary>
    public Parameter? Bias { get; private set; }

    /// <summary>P <c>[3·units]</c> (i, o, f), with <see cref="Peepholes"/>.</summary>
    public Parameter? Peephole { get; private set; }

    /// <summary>How many activations <paramref name="op"/> takes per direction.</summary>
    public static int ActivationCount(string op) => op == "LSTM" ? 3 : op == "GRU" ? 2 : 1;

    /// <summary>ONNX's default activations of <paramref name="op"/> for one direction.</summary>
    public static IReadOnlyList<ActivationFunction> DefaultActivations(string op) => op switch
    {
        "LSTM" => [ActivationFunction.Create("Sigmoid"), ActivationFunction.Create("Tanh"), ActivationFunction.Create("Tanh")],
        "GRU" => [ActivationFunction.Create("Sigmoid"), ActivationFunction.Create("Tanh")],
        _ => [ActivationFunction.Create("Tanh")],
    };

    public static OnnxRecurrentCell FromConfig(JsonObject c)
    {
        var b = c.GetBase();
        string where = $"OnnxRecurrentCell '{b.Name}'";
        var acts = (c["activations"] as JsonArray ?? throw new ArgumentException($"{where}: config lacks 'activations'."))
            .Select(n => n is JsonObject a
                ? ActivationFunction.Create(a.GetStringOrNull("name") ?? throw new ArgumentException($"{where}: an activation lacks 'name'."), a.GetFloat("alpha"), a.GetFloat("beta"))
                : throw new ArgumentException($"{where}: 'activations' must hold objects {{name, alpha, beta}}."))
            .ToArray();
        return new OnnxRecurrentCell(
            c.GetStringOrNull("op") ?? throw new ArgumentException($"{where}: config lacks 'op'."),
            c.GetInt("units"),
            acts,
            c["clip"] is null ? null : c.GetFloat("clip"),
            c.GetBool("input_forget", false),
            c.GetBool("linear_before_reset", false),
            c.GetBool("peepholes", false),
            b.Name).WithBase(c);
    }

    public override JsonObject GetConfig()
    {
        var c = base.GetConfig();
        c["op"] = Op;
        c["units"] = Units;
        c["activations"] = new JsonArray(Activations.Select(a => (JsonNode)new JsonObject { ["name"] = a.Name, ["alpha"] = (double)a.Alpha, ["beta"] = (double)a.Beta }).ToArray());
        c["clip"] = Clip is { } clip ? (double)clip : null;
        c["input_forget"] = InputForget;
        c["linear_before_reset"] = LinearBeforeReset;
        c["peepholes"] = Peepholes;
        return c;
    }

    public override CellOutput Call(Tensor input, IReadOnlyList<Tensor> states, bool training)
    {
        var h = states[0];
        var b = Ops.Split(Bias!.Value, [Gates * Units, Gates * Units]);
        var xw = Ops.Add(Ops.MatMul(input, Kernel!.Value, transposeB: true), b[0]);
        int[] blocks = Enumerable.Repeat(Units, Gates).ToArray();
        switch (Op)
        {
            case "LSTM":
            {
                var c = states[1];
                var z = Ops.Split(Ops.Add(Ops.Add(xw, Ops.MatMul(h, RecurrentKernel!.Value, transposeB: true)), b[1]), blocks);
                Tensor[]? p = Peephole is null ? null : Ops.Split(Peephole.Value, [Units, Units, Units]);
                var (fAct, gAct, hAct) = (Activations[0], Activations[1], Activations[2]);
                var i = Gate(p is null ? z[0] : Ops.Add(z[0], Ops.Mul(c, p[0])), fAct);
                var f = InputForget ? OneMinus(i) : Gate(p is null ? z[2] : Ops.Add(z[2], Ops.Mul(c, p[2])), fAct);
                var candidate = Gate(z[3], gAct);
                var cNew = Ops.Add(Ops.Mul(f, c), Ops.Mul(i, candidate));
                var o = Gate(p is null ? z[1] : Ops.Add(z[1], Ops.Mul(cNew, p[1])), fAct);
                var hNew = Ops.Mul(o, Ops.Activation(cNew, hAct));
                return new CellOutput(hNew, [hNew, cNew]);
            }

            case "GRU":
            {
                var x3 = Ops.Split(xw, blocks);
                var rb = Ops.Split(b[1], blocks);
                var r3 = Ops.Split(RecurrentKernel!.Value, blocks, axis: 0);
                var zr = Ops.Split(Ops.MatMul(h, Ops.Concatenate([r3[0], r3[1]], axis: 0), transposeB: true), [Units, Units]);
                var z = Gate(Ops.Add(Ops.Add(x3[0], zr[0]), rb[0]), Activations[0]);
                var r = Gate(Ops.Add(Ops.Add(x3[1], zr[1]), rb[1]), Activations[0]);
                var recurrent = LinearBeforeReset
                    ? Ops.Mul(r, Ops.Add(Ops.MatMul(h, r3[2], transposeB: true), rb[2]))
                    : Ops.Add(Ops.MatMul(Ops.Mul(r, h), r3[2], transposeB: true), rb[2]);
                var candidate = Gate(Ops.Add(x3[2], recurrent), Activations[1]);
                var hNew = Ops.Add(candidate, Ops.Mul(z, Ops.Subtract(h, candidate)));
                return new CellOutput(hNew, [hNew]);
            }

            default:
            {
                var hNew = Gate(Ops.Add(Ops.Add(xw, Ops.MatMul(h, RecurrentKernel!.Value, transposeB: true)), b[1]), Activations[0]);
                return new CellOutput(hNew, [hNew]);
            }
        }
    }

    protected override void OnBuild(int[] inputShape)
    {
        int features = inputShape[0];
        LayoutLimits.GateWidth(Describe(), Gates, Units, features);
        Kernel = AddWeight("kernel", [Gates * Units, features], "glorot_uniform");
        RecurrentKernel = AddWeight("recurrent_kernel", [Gates * Units, Units], "glorot_uniform");
        Bias = AddWeight("bias", [2 * Gates * Units], "zeros");
        if (Peepholes)
        {
            Peephole = AddWeight("peephole", [3 * Units], "zeros");
        }
    }

    /// <summary>act(clip(v)), the clip only when the node has one.</summary>
    private Tensor Gate(Tensor v, ActivationFunction act) =>
        Ops.Activation(Clip is { } c ? Ops.Clip(v, -c, c) : v, act);

    private static Tensor OneMinus(Tensor v)
    {
        var one = new Tensor(v.ShapeArray);
        one.Span.Fill(1f);
        return Ops.Subtract(one, v);
    }
}
