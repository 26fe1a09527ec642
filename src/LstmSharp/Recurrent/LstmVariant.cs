using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// Which LSTM is computed: the gates that exist, peepholes, coupling, gate recurrence and the
/// two activations. Flags combine; the named presets are the architectures of the literature.
/// The equations of every variant are in <see cref="LstmCell"/>.
/// </summary>
/// <remarks>
/// Presets (Greff et al. 2015, "LSTM: A Search Space Odyssey", names in brackets):
/// <list type="bullet">
/// <item><see cref="Standard"/> [NP]: Keras / PyTorch / cuDNN LSTM — forget gate, no peepholes.</item>
/// <item><see cref="Vanilla"/> [V] = <see cref="Peephole"/> (Gers &amp; Schmidhuber 2000): forget gate and peepholes.</item>
/// <item><see cref="Original1997"/> (Hochreiter &amp; Schmidhuber): no forget gate, no peepholes.</item>
/// <item><see cref="Nig"/>, <see cref="Nfg"/>, <see cref="Nog"/>, <see cref="Niaf"/>, <see cref="Noaf"/>,
/// <see cref="Cifg"/>, <see cref="Fgr"/>: Vanilla with one change (no input gate, no forget gate, no output
/// gate, no input activation, no output activation, coupled input-forget gate, full gate recurrence);
/// <see cref="Np"/> (no peepholes) is <see cref="Standard"/>.</item>
/// </list>
/// A record: derive your own with <c>LstmVariant.Standard with { Peepholes = true }</c>.
/// </remarks>
public sealed record LstmVariant
{
    /// <summary>Input gate i exists (false: i = 1, NIG).</summary>
    public bool InputGate { get; init; } = true;

    /// <summary>Forget gate f exists (false: f = 1, i.e. c_t = c_{t-1} + i·c~; NFG and the 1997 LSTM).</summary>
    public bool ForgetGate { get; init; } = true;

    /// <summary>Output gate o exists (false: o = 1, NOG).</summary>
    public bool OutputGate { get; init; } = true;

    /// <summary>Diagonal peephole weights from the cell: i and f see c_{t-1}, o sees c_t.</summary>
    public bool Peepholes { get; init; }

    /// <summary>Coupled input and forget gate (CIFG): f = 1 − i, the forget gate has no weights of its own.</summary>
    public bool CoupledInputForget { get; init; }

    /// <summary>
    /// Full gate recurrence (FGR): the pre-activations of the gates with weights also receive the
    /// previous step's gate activations through a matrix of shape [S·units, S·units].
    /// </summary>
    public bool FullGateRecurrence { get; init; }

    /// <summary>Whether the cell input c~ goes through <see cref="Activation"/> (false: NIAF, c~ is its pre-activation).</summary>
    public bool InputActivation { get; init; } = true;

    /// <summary>Whether the cell output goes through <see cref="Activation"/> (false: NOAF, h = o·c).</summary>
    public bool OutputActivation { get; init; } = true;

    /// <summary>Keras <c>activation</c> (default tanh): applied to c~ and to c_t before the output gate.</summary>
    public ActivationKind Activation { get; init; } = ActivationKind.Tanh;

    /// <summary>Keras <c>recurrent_activation</c> (default sigmoid): applied to the gates i, f, o.</summary>
    public ActivationKind RecurrentActivation { get; init; } = ActivationKind.Sigmoid;

    /// <summary>The Keras LSTM (Greff's NP): forget gate, no peepholes.</summary>
    public static LstmVariant Standard { get; } = new();

    /// <summary>Greff's vanilla LSTM (V): forget gate and peepholes.</summary>
    public static LstmVariant Vanilla { get; } = new() { Peepholes = true };

    /// <summary>Gers &amp; Schmidhuber (2000) peephole LSTM; the same cell as <see cref="Vanilla"/>.</summary>
    public static LstmVariant Peephole => Vanilla;

    /// <summary>Hochreiter &amp; Schmidhuber (1997): no forget gate (c_t = c_{t-1} + i·c~), no peepholes.</summary>
    public static LstmVariant Original1997 { get; } = new() { ForgetGate = false };

    /// <summary>NIG: vanilla without input gate.</summary>
    public static LstmVariant Nig { get; } = Vanilla with { InputGate = false };

    /// <summary>NFG: vanilla without forget gate.</summary>
    public static LstmVariant Nfg { get; } = Vanilla with { ForgetGate = false };

    /// <summary>NOG: vanilla without output gate.</summary>
    public static LstmVariant Nog { get; } = Vanilla with { OutputGate = false };

    /// <summary>NIAF: vanilla without input activation.</summary>
    public static LstmVariant Niaf { get; } = Vanilla with { InputActivation = false };

    /// <summary>NOAF: vanilla without output activation.</summary>
    public static LstmVariant Noaf { get; } = Vanilla with { OutputActivation = false };

    /// <summary>NP: vanilla without peepholes (the same cell as <see cref="Standard"/>).</summary>
    public static LstmVariant Np => Standard;

    /// <summary>CIFG: vanilla with f = 1 − i.</summary>
    public static LstmVariant Cifg { get; } = Vanilla with { CoupledInputForget = true };

    /// <summary>FGR: vanilla with full gate recurrence.</summary>
    public static LstmVariant Fgr { get; } = Vanilla with { FullGateRecurrence = true };

    /// <summary>The presets by name (Greff's abbreviations and descriptive names, case-insensitive).</summary>
    public static LstmVariant FromName(string name) => (name ?? string.Empty).ToUpperInvariant() switch
    {
        "STANDARD" or "KERAS" or "NP" => Standard,
        "V" or "VANILLA" or "PEEPHOLE" => Vanilla,
        "ORIGINAL1997" or "1997" => Original1997,
        "NIG" => Nig,
        "NFG" => Nfg,
        "NOG" => Nog,
        "NIAF" => Niaf,
        "NOAF" => Noaf,
        "CIFG" => Cifg,
        "FGR" => Fgr,
        _ => throw new ArgumentException($"LstmVariant: unknown variant '{name}'; expected one of standard, vanilla, peephole, original1997, NIG, NFG, NOG, NIAF, NOAF, NP, CIFG, FGR.", nameof(name)),
    };

    /// <summary>True when the forget gate has weights of its own (it exists and is not coupled).</summary>
    public bool HasForgetWeights => ForgetGate && !CoupledInputForget;

    /// <summary>
    /// Number S of gates with weights of their own among i, f, o: the rows of the peephole
    /// parameter and the blocks of the gate-recurrence matrix.
    /// </summary>
    public int WeightedGateCount => (InputGate ? 1 : 0) + (HasForgetWeights ? 1 : 0) + (OutputGate ? 1 : 0);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the options when they do not combine.</summary>
    public void Validate()
    {
        if (CoupledInputForget && !InputGate)
        {
            throw new ArgumentException($"LstmVariant: CoupledInputForget=true needs InputGate=true (f = 1 - i), got InputGate=false.");
        }

        if (CoupledInputForget && !ForgetGate)
        {
            throw new ArgumentException($"LstmVariant: CoupledInputForget=true needs ForgetGate=true (the coupled gate is the forget gate), got ForgetGate=false.");
        }

        if (Peepholes && WeightedGateCount == 0)
        {
            throw new ArgumentException("LstmVariant: Peepholes=true needs at least one of InputGate, ForgetGate (uncoupled), OutputGate; got none.");
        }

        if (FullGateRecurrence && WeightedGateCount == 0)
        {
            throw new ArgumentException("LstmVariant: FullGateRecurrence=true needs at least one of InputGate, ForgetGate (uncoupled), OutputGate; got none.");
        }

        if (!Enum.IsDefined(Activation))
        {
            throw new ArgumentException($"LstmVariant: Activation={(int)Activation} is not an ActivationKind.");
        }

        if (!Enum.IsDefined(RecurrentActivation))
        {
            throw new ArgumentException($"LstmVariant: RecurrentActivation={(int)RecurrentActivation} is not an ActivationKind.");
        }
    }
}
