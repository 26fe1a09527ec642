using LstmSharp.Kernels;
using LstmSharp.Recurrent;
using LstmSharp.Tests.Recurrent.Reference;

namespace LstmSharp.Tests.Recurrent.Harness;

/// <summary>
/// A double-precision oracle bound to its own parameter arrays: the harness fills them, then
/// perturbs them in place for finite differences. Written straight from the equations
/// (<see cref="LstmReference"/>, <see cref="GruReference"/>, <see cref="SimpleRnnReference"/>).
/// </summary>
internal interface IReferenceCell
{
    /// <summary>The parameters in the layer's order (kernel, recurrent_kernel, bias, ...), absent ones left out.</summary>
    IReadOnlyList<(string Name, double[] Values)> Parameters { get; }

    /// <summary>Sequence (processing order), last output and the final states; <paramref name="initial"/> entries may be null (zeros).</summary>
    RefResult Forward(RefSequence s, double[]?[] initial);
}

internal sealed record RefResult(double[] Sequence, double[] Last, double[][] Finals);

/// <summary>
/// One registry entry: a cell kind and variant, its oracle, and the float32 implementations
/// that claim to compute it — the fused sequence kernel always, and <c>RNN(autograd cell)</c>
/// where the built-in cells express the variant. A new variant is one line in <see cref="CellRegistry.All"/>.
/// </summary>
internal sealed class CellEntry
{
    public required string Name { get; init; }

    public required int StateCount { get; init; }

    /// <summary>A fresh oracle for <c>input</c> features and <c>units</c> units.</summary>
    public required Func<int, int, IReferenceCell> Reference { get; init; }

    /// <summary>The fused kernel for these sizes.</summary>
    public required Func<int, int, IRecurrentUnderTest> Kernel { get; init; }

    /// <summary>Size of the output and of h for <c>units</c> units (an LSTM's projection), or null: the units.</summary>
    public Func<int, int>? OutputSize { get; init; }

    /// <summary>The built-in autograd cell for these sizes, or null when no built-in cell expresses the variant.</summary>
    public Func<int, DenseRecurrentCell>? AutogradCell { get; init; }

    /// <summary>
    /// The harness's relative tolerance for <see cref="AutogradCell"/> (1e-4 unless set): the
    /// layer-normalised cell's tape runs its float32 normalisation backward over 4-value
    /// statistics op by op and lands within 2e-4 where the fused kernel stays within 1e-4.
    /// </summary>
    public double AutogradTolerance { get; init; } = 1e-4;

    public override string ToString() => Name;
}

/// <summary>Every recurrent cell × variant the library has, for <see cref="ReferenceHarness"/>.</summary>
internal static class CellRegistry
{
    public static readonly IReadOnlyList<CellEntry> All = Build();

    public static CellEntry Get(string name) =>
        All.FirstOrDefault(e => e.Name == name) ?? throw new ArgumentException($"no registry entry '{name}'; known: {string.Join(", ", All)}");

    /// <summary>
    /// The LSTM variants by the names the LSTM tests have always used (Greff et al.'s eight, the
    /// 1997 cell, the standard cell, combinations, other activations, no bias).
    /// </summary>
    public static (LstmVariant Variant, bool UseBias) VariantOf(string name) => name switch
    {
        "cifg+fgr-nopeep" => (LstmVariant.Standard with { CoupledInputForget = true, FullGateRecurrence = true }, true),
        "hard_sigmoid+relu" => (LstmVariant.Vanilla with { RecurrentActivation = ActivationKind.HardSigmoid, Activation = ActivationKind.Relu }, true),
        "no-bias" => (LstmVariant.Vanilla, false),
        "standard-hard_sigmoid+relu" => (LstmVariant.Standard with { RecurrentActivation = ActivationKind.HardSigmoid, Activation = ActivationKind.Relu }, true),
        "standard-no-bias" => (LstmVariant.Standard, false),
        "standard-softsign" => (LstmVariant.Standard with { Activation = ActivationKind.Softsign }, true),
        "vanilla-softplus+elu" => (LstmVariant.Vanilla with { RecurrentActivation = ActivationKind.Softplus, Activation = ActivationKind.Elu }, true),
        _ => (LstmVariant.FromName(name), true),
    };

    private static IReadOnlyList<CellEntry> Build()
    {
        var list = new List<CellEntry>();
        foreach (var v in new[] { "standard", "vanilla", "original1997", "NIG", "NFG", "NOG", "NIAF", "NOAF", "CIFG", "FGR", "cifg+fgr-nopeep", "hard_sigmoid+relu", "no-bias", "standard-hard_sigmoid+relu", "standard-no-bias", "standard-softsign", "vanilla-softplus+elu" })
        {
            list.Add(Lstm(v));
        }

        // LSTMP (projection): h has P = units − 1 values, or P = units + 2 ("+projwide"), on several cells.
        foreach (var v in new[] { "standard+proj", "standard+projwide", "vanilla+proj", "cifg+fgr-nopeep+proj", "standard-no-bias+proj" })
        {
            list.Add(Lstm(v));
        }

        list.Add(LayerNormLstm("standard", ActivationKind.Tanh, ActivationKind.Sigmoid, true));
        list.Add(LayerNormLstm("no-bias", ActivationKind.Tanh, ActivationKind.Sigmoid, false));
        list.Add(LayerNormLstm("hard_sigmoid+relu", ActivationKind.Relu, ActivationKind.HardSigmoid, true));
        list.Add(Gru("reset-after", true, ActivationKind.Tanh, ActivationKind.Sigmoid, true));
        list.Add(Gru("reset-before", false, ActivationKind.Tanh, ActivationKind.Sigmoid, true));
        list.Add(Gru("reset-before-relu-hard_sigmoid", false, ActivationKind.Relu, ActivationKind.HardSigmoid, true));
        list.Add(Gru("reset-after-relu-hard_sigmoid", true, ActivationKind.Relu, ActivationKind.HardSigmoid, true));
        list.Add(Gru("reset-before-sigmoid-tanh-no-bias", false, ActivationKind.Sigmoid, ActivationKind.Tanh, false));
        list.Add(Gru("reset-after-linear-sigmoid-no-bias", true, ActivationKind.Linear, ActivationKind.Sigmoid, false));
        list.Add(SimpleRnn("tanh", ActivationKind.Tanh, true));
        list.Add(SimpleRnn("relu", ActivationKind.Relu, true));
        list.Add(SimpleRnn("sigmoid-no-bias", ActivationKind.Sigmoid, false));
        list.Add(SimpleRnn("hard_sigmoid", ActivationKind.HardSigmoid, true));
        list.Add(SimpleRnn("linear", ActivationKind.Linear, true));
        list.Add(Gru("reset-after-softsign-sigmoid", true, ActivationKind.Softsign, ActivationKind.Sigmoid, true));
        list.Add(Gru("reset-before-elu-softplus", false, ActivationKind.Elu, ActivationKind.Softplus, true));
        list.Add(SimpleRnn("elu", ActivationKind.Elu, true));
        list.Add(SimpleRnn("softsign", ActivationKind.Softsign, true));
        list.Add(SimpleRnn("softplus", ActivationKind.Softplus, true));
        return list;
    }

    /// <summary>The projection size an entry name asks for ("+proj": units − 1, at least 1; "+projwide": units + 2), else 0.</summary>
    public static int ProjSizeOf(string name, int units) =>
        name.EndsWith("+projwide", StringComparison.Ordinal) ? units + 2 : name.EndsWith("+proj", StringComparison.Ordinal) ? Math.Max(1, units - 1) : 0;

    private static CellEntry Lstm(string variantName)
    {
        string baseName = variantName.Replace("+projwide", string.Empty, StringComparison.Ordinal).Replace("+proj", string.Empty, StringComparison.Ordinal);
        var (variant, useBias) = VariantOf(baseName);

        // The autograd LSTM cell is the standard cell (any activations, with or without bias).
        bool standard = variant with { Activation = ActivationKind.Tanh, RecurrentActivation = ActivationKind.Sigmoid } == LstmVariant.Standard;
        return new CellEntry
        {
            Name = $"lstm/{variantName}",
            StateCount = 2,
            Reference = (input, units) => new LstmReferenceCell(new LstmLayout(variant, input, units, useBias, ProjSizeOf(variantName, units))),
            Kernel = (input, units) => new LstmKernelUnderTest(new LstmLayout(variant, input, units, useBias, ProjSizeOf(variantName, units))),
            OutputSize = units => ProjSizeOf(variantName, units) is > 0 and var p ? p : units,
            AutogradCell = standard ? units => new LstmAutogradCell(units, variant.Activation.ToName(), variant.RecurrentActivation.ToName(), useBias, unitForgetBias: false, projSize: ProjSizeOf(variantName, units)) : null,
        };
    }

    private static CellEntry LayerNormLstm(string name, ActivationKind activation, ActivationKind recurrentActivation, bool useBias) => new()
    {
        Name = $"lnlstm/{name}",
        StateCount = 2,
        Reference = (input, units) => new LayerNormLstmReference(input, units, useBias, activation, recurrentActivation),
        Kernel = (input, units) => new LayerNormLstmKernelUnderTest(input, units, useBias, activation, recurrentActivation),
        AutogradCell = units => new LayerNormLstmAutogradCell(units, activation.ToName(), recurrentActivation.ToName(), useBias, unitForgetBias: false),
        AutogradTolerance = 3e-4,
    };

    private static CellEntry Gru(string name, bool resetAfter, ActivationKind activation, ActivationKind recurrentActivation, bool useBias) => new()
    {
        Name = $"gru/{name}",
        StateCount = 1,
        Reference = (input, units) => new SingleStateReferenceCell(
            input, units, 3, new GruLayout(input, units, resetAfter, useBias).BiasLength,
            (s, w, u, b) => GruReference.Forward(s, w, u, b, resetAfter, activation, recurrentActivation)),
        Kernel = (input, units) => new SingleStateKernelUnderTest(new GruUnderTest(new GruKernel(new GruLayout(input, units, resetAfter, useBias, activation, recurrentActivation)))),
        AutogradCell = units => new GruAutogradCell(units, activation.ToName(), recurrentActivation.ToName(), useBias, resetAfter: resetAfter),
    };

    private static CellEntry SimpleRnn(string name, ActivationKind activation, bool useBias) => new()
    {
        Name = $"simplernn/{name}",
        StateCount = 1,
        Reference = (input, units) => new SingleStateReferenceCell(
            input, units, 1, useBias ? units : 0,
            (s, w, u, b) => SimpleRnnReference.Forward(s, w, u, b, activation)),
        Kernel = (input, units) => new SingleStateKernelUnderTest(new SimpleRnnUnderTest(new SimpleRnnKernel(new SimpleRnnLayout(input, units, useBias, activation)))),
        AutogradCell = units => new SimpleRnnAutogradCell(units, activation.ToName(), useBias),
    };
}

/// <summary><see cref="LstmReference"/> (h and c) as an <see cref="IReferenceCell"/>.</summary>
internal sealed class LstmReferenceCell(LstmLayout layout) : IReferenceCell
{
    private readonly LstmParams p = new(layout);

    public IReadOnlyList<(string Name, double[] Values)> Parameters => p.All.Where(a => a.Values.Length > 0).ToArray();

    public RefResult Forward(RefSequence s, double[]?[] initial)
    {
        var r = LstmReference.Forward(p, new LstmProblem
        {
            Batch = s.Batch,
            Time = s.Time,
            InputSize = s.Input,
            X = s.X,
            Mask = s.Mask,
            InputDropout = s.InputDropMask,
            RecurrentDropout = s.RecurrentDropMask,
            H0 = initial[0],
            C0 = initial[1],
            GoBackwards = s.GoBackwards,
            ZeroOutputForMask = s.ZeroOutputForMask,
        });
        return new RefResult(r.Sequence, r.Last, [r.H, r.C]);
    }
}

/// <summary>A one-state reference (GRU, SimpleRNN) over kernel / recurrent_kernel / bias arrays.</summary>
internal sealed class SingleStateReferenceCell : IReferenceCell
{
    private readonly double[] w, u, b;
    private readonly Func<RefSequence, double[], double[], double[]?, RefOutputs> forward;

    public SingleStateReferenceCell(int input, int units, int gates, int biasLength, Func<RefSequence, double[], double[], double[]?, RefOutputs> forward)
    {
        w = new double[input * gates * units];
        u = new double[units * gates * units];
        b = new double[biasLength];
        this.forward = forward;
    }

    public IReadOnlyList<(string Name, double[] Values)> Parameters =>
        b.Length == 0 ? [("kernel", w), ("recurrent_kernel", u)] : [("kernel", w), ("recurrent_kernel", u), ("bias", b)];

    public RefResult Forward(RefSequence s, double[]?[] initial)
    {
        var sequence = new RefSequence
        {
            Batch = s.Batch,
            Time = s.Time,
            Input = s.Input,
            Units = s.Units,
            X = s.X,
            H0 = initial[0],
            Mask = s.Mask,
            InputDropMask = s.InputDropMask,
            RecurrentDropMask = s.RecurrentDropMask,
            GoBackwards = s.GoBackwards,
            ZeroOutputForMask = s.ZeroOutputForMask,
        };
        var r = forward(sequence, w, u, b.Length == 0 ? null : b);
        return new RefResult(r.Sequence, r.LastOutput, [r.FinalState]);
    }
}
