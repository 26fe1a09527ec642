using LstmSharp.Tensors;

namespace LstmSharp.Recurrent;

/// <summary>The four blocks of an LSTM's weight columns, in Keras order.</summary>
public enum LstmGate
{
    /// <summary>Input gate i.</summary>
    Input = 0,

    /// <summary>Forget gate f.</summary>
    Forget = 1,

    /// <summary>Cell candidate c~ (also written g); always present.</summary>
    Candidate = 2,

    /// <summary>Output gate o.</summary>
    Output = 3,
}

/// <summary>
/// Where each gate's weights live for a given <see cref="LstmVariant"/>, input size and units,
/// and the shapes of the parameters.
/// </summary>
/// <remarks>
/// <para>Kernel W [inputSize, G·units], recurrent kernel U [units, G·units] and bias b [G·units]
/// hold one block of <c>units</c> columns per gate that has weights, in the order i, f, c, o
/// with absent gates left out (Keras layout when all four exist). G = <see cref="RecurrentLayout.GateCount"/>.
/// A gate that does not exist (NIG, NFG, NOG) or has no weights of its own (f under CIFG) has
/// no block, so the parameter count drops as in Greff et al.</para>
/// <para>Peephole P [S, units] and gate recurrence R [S·units, S·units] use the S gates with
/// weights among i, f, o, in that order (<see cref="WeightedGateIndex"/>): P row s is gate s's
/// diagonal peephole; R maps the previous step's activations [a_s]_{t-1} (rows, concatenated
/// in that order) to the pre-activations of gate s (column block s).</para>
/// <para>With a projection (<see cref="ProjSize"/> P &gt; 0; Sak et al. 2014, PyTorch's
/// <c>proj_size</c>) the output and recurrent state h has P values, the cell c keeps
/// <c>units</c>: U is [P, G·units] and the projection W_p (<c>projection_kernel</c>) is
/// [units, P], h_t = (o_t ⊙ φ(c_t))·W_p (equations in <see cref="LstmCell"/>).</para>
/// </remarks>
public sealed class LstmLayout : RecurrentLayout
{
    private readonly int[] blockOffset = new int[4];
    private readonly int[] weightedIndex = new int[4];

    public LstmLayout(LstmVariant variant, int inputSize, int units, bool useBias = true)
        : this(variant, inputSize, units, useBias, 0)
    {
    }

    /// <summary>A layout with a projection of h to <paramref name="projSize"/> values (0 = none; any positive P works, PyTorch requires P &lt; units).</summary>
    public LstmLayout(LstmVariant variant, int inputSize, int units, bool useBias, int projSize)
        : base("LstmLayout", inputSize, units, useBias, BlockCount(variant))
    {
        if (projSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(projSize), $"LstmLayout: projSize must be 0 (no projection) or a positive integer, got {projSize}.");
        }

        Variant = variant;
        ProjSize = projSize;

        bool[] hasBlock = Blocks(variant);
        int g = 0;
        for (int gate = 0; gate < 4; gate++)
        {
            blockOffset[gate] = hasBlock[gate] ? (g++) * units : -1;
        }

        int s = 0;
        foreach (int gate in new[] { 0, 1, 3 })
        {
            weightedIndex[gate] = hasBlock[gate] ? s++ : -1;
        }

        weightedIndex[2] = -1;
        WeightedGateCount = s;
        if (projSize > 0)
        {
            LayoutLimits.GateWidth("LstmLayout", g, units, projSize);
            LayoutLimits.GateWidth("LstmLayout", 1, projSize, units);
        }

        if (variant.FullGateRecurrence)
        {
            LayoutLimits.Square("LstmLayout", "gate_recurrence", s, units);
        }
    }

    public LstmVariant Variant { get; }

    /// <summary>P, the size of the projected output h (PyTorch <c>proj_size</c>); 0 = no projection.</summary>
    public int ProjSize { get; }

    public bool HasProjection => ProjSize > 0;

    /// <summary>Size of h (the output and the recurrent input): <see cref="ProjSize"/> with a projection, else units. U is [H, G·units].</summary>
    public override int OutputSize => ProjSize > 0 ? ProjSize : Units;

    /// <summary>S: number of gates with weights among i, f, o (peephole rows, gate-recurrence blocks).</summary>
    public int WeightedGateCount { get; }

    public bool HasInput => blockOffset[0] >= 0;

    /// <summary>True when f has its own weights (not under CIFG, not NFG).</summary>
    public bool HasForget => blockOffset[1] >= 0;

    public bool HasOutput => blockOffset[3] >= 0;

    public bool HasPeepholes => Variant.Peepholes;

    public bool HasGateRecurrence => Variant.FullGateRecurrence;

    /// <summary>
    /// First column of <paramref name="gate"/>'s block in W, U and b, or -1 when the gate has no
    /// weights. The layer uses the forget block for <c>unit_forget_bias</c>.
    /// </summary>
    public int BlockOffset(LstmGate gate) => blockOffset[(int)gate];

    /// <summary>Row of <paramref name="gate"/> in the peephole parameter and block in the gate recurrence, or -1.</summary>
    public int WeightedGateIndex(LstmGate gate) => weightedIndex[(int)gate];

    /// <summary>Shape [units, P] of the projection W_p, or null without one.</summary>
    public int[]? ProjectionShape => HasProjection ? [Units, ProjSize] : null;

    /// <summary>Shape [S, units] of the peephole weights, or null without peepholes.</summary>
    public int[]? PeepholeShape => HasPeepholes ? [WeightedGateCount, Units] : null;

    /// <summary>Shape [S·units, S·units] of the gate recurrence, or null without FGR.</summary>
    public int[]? GateRecurrenceShape => HasGateRecurrence ? [WeightedGateCount * Units, WeightedGateCount * Units] : null;

    /// <summary>Which of i, f, c~, o have a weight block under <paramref name="variant"/> (checked first).</summary>
    private static bool[] Blocks(LstmVariant variant)
    {
        ArgumentNullException.ThrowIfNull(variant);
        variant.Validate();
        return [variant.InputGate, variant.HasForgetWeights, true, variant.OutputGate];
    }

    /// <summary>G: the weight blocks of <paramref name="variant"/> (gates with weights plus the candidate), 1 to 4.</summary>
    private static int BlockCount(LstmVariant variant) => Blocks(variant).Count(b => b);

    /// <summary>peephole, gate_recurrence, projection_kernel after W, U and b (absent ones left out).</summary>
    private protected override void AddCellShapes(List<(string, int[])> shapes)
    {
        if (PeepholeShape is { } p)
        {
            shapes.Add(("peephole", p));
        }

        if (GateRecurrenceShape is { } r)
        {
            shapes.Add(("gate_recurrence", r));
        }

        if (ProjectionShape is { } pr)
        {
            shapes.Add(("projection_kernel", pr));
        }
    }

    public override string ToString() =>
        $"LstmLayout(units={Units}, input={InputSize}, gates={GateCount}{(HasProjection ? $", proj={ProjSize}" : string.Empty)}, W {Tensor.FormatShape(KernelShape)}, U {Tensor.FormatShape(RecurrentKernelShape)}, params={ParameterCount})";
}
