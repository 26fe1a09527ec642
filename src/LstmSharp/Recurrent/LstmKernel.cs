using System.Numerics.Tensors;
using LstmSharp.Kernels;

namespace LstmSharp.Recurrent;

/// <summary>
/// The LSTM sequence kernel, forward and exact BPTT, on the shared time-loop driver
/// (<see cref="SequenceKernel{TWeights, TGradients}"/>: masks, dropout, go_backwards, initial
/// states, batch chunks, the time-major x·W projection, the h / c carries and dx): every gate
/// variant of <see cref="LstmCell"/> (peepholes, coupled or missing gates, activations, full gate
/// recurrence), a projection, a token lookup and int8/bf16 weights. Batch-1 inference goes to
/// <see cref="LstmLatencyPath"/> instead (it splits the units over threads). Equations: <see cref="LstmCell"/>.
/// </summary>
/// <remarks>
/// <para>Per step: b + h·U of a chunk's rows is added to their rows of x·W (one product, into
/// <see cref="LstmCache.Gates"/>, time-major), then each row's cell (<see cref="LstmCell"/>)
/// turns them into gate activations, c_s and h_s. Backward per step: each row's backward cell
/// (dh from the driver's carry, dc in <see cref="SequenceKernel.DcCarry"/>) leaves dz in place of the
/// gates, then one product dz·Uᵀ; after the loop dW, dU, dx are whole-sequence products and db,
/// the peepholes' gradient sums over rows in row order (the same bits for any thread count).</para>
/// <para>Full gate recurrence (FGR) carries a third state, the previous step's activations of the
/// gates with weights g = [a_i, a_f, a_o] (<see cref="LstmCache.GatesPrev"/>, row s·B + b =
/// g_{s−1}, zero for s = 0, copied over masked steps): per step g_{s−1}·R adds to each such
/// gate's rows; the backward carries ∂L/∂g in a [B, S·units] buffer (through masked rows
/// unchanged, as ∂L/∂c) that each step's dz·Rᵀ adds to, and dR is one product per gate.</para>
/// <para>Projection (h = m·W_p, P = H wide; the driver's h buffers, carries and outputs are H wide,
/// c is units wide): the cells write m_s into <see cref="LstmCache.Unprojected"/>, then one product
/// per chunk and step makes h_s; backward, dh_s goes to <see cref="LstmCache.DProjected"/> (for
/// dW_p) and one product dh_s·W_pᵀ gives the cells' ∂L/∂m_s.</para>
/// <para>Token lookup: x·W + b through the table (<see cref="TokenProjection"/>, rows in the
/// driver's order, <see cref="LstmCache.TokenRows"/>), and dW, db and the table's gradient through
/// its rows. int8/bf16 weights: x·W and h·U through <see cref="QuantizedGemm"/> (inference only).</para>
/// <para>An instance holds scratch for one call at a time (not thread-safe): a layer owns one per
/// direction. The buffers a backward needs live in an <see cref="LstmCache"/> the caller passes to
/// a training forward; an inference forward (cache = null) keeps no activations. The steps are in
/// <c>LstmKernel.Steps.cs</c>, the whole-sequence gradients in <c>LstmKernel.Gradients.cs</c>.</para>
/// </remarks>
internal sealed partial class LstmKernel : SequenceKernel<LstmWeights, LstmGradients>
{
    private readonly LstmCache inference;
    private LstmLatencyPath? latencyPath;
    private float[] wTransposed = [];
    private float[] dGates = [];
    private float[] tableProjection = [];
    private float[] tableScatter = [];
    private float[] dUnprojected = [];
    private float[] biasPart = [];
    private int backwardBatch;

    public LstmKernel(LstmLayout layout, string name = "lstm")
        : this(NotNull(layout), name, new LstmCache())
    {
    }

    private LstmKernel(LstmLayout layout, string name, LstmCache inference)
        : base(inference, "LSTM", name, layout.InputSize, layout.Units, layout.GateWidth, layout.Variant.Activation, layout.Variant.RecurrentActivation, LaneWidth.Auto, cellState: true, outputSize: layout.OutputSize)
    {
        Layout = layout;
        this.inference = inference;
    }

    public LstmLayout Layout { get; }

    /// <summary>Batch-1 inference through <see cref="LstmLatencyPath"/> (on unless LSTMSHARP_LATENCY_PATH=0; tests set it).</summary>
    internal bool UseLatencyPath { get; set; } = LstmLatencyPath.Enabled;

    /// <summary>The SIMD width of the batch-1 path's and the int8/bf16 products (tests pin <see cref="LaneWidth.Scalar"/>); the batch-1 path reads it when first used.</summary>
    internal LaneWidth Width { get; set; } = LaneWidth.Auto;

    /// <summary>S·units: the width of the FGR gate state (0 without full gate recurrence).</summary>
    private int GateStateWidth => Layout.HasGateRecurrence ? Layout.WeightedGateCount * Units : 0;

    internal override SequenceCache NewCache() => new LstmCache();

    private protected override object LayoutKey => Layout;

    private protected override int BiasLength => Layout.BiasLength;

    /// <summary>
    /// Runs the LSTM over <paramref name="run"/>. <paramref name="h0"/> [batch, H],
    /// <paramref name="c0"/> [batch, units] are the initial states (empty = zeros). With a
    /// <paramref name="cache"/> (training) it saves what the backward needs; with null
    /// (inference) it keeps nothing. Batch-1 inference runs on <see cref="LstmLatencyPath"/>.
    /// </summary>
    public void Forward(in SequenceRun run, in LstmWeights weights, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, in RnnOutputs outputs, LstmCache? cache)
    {
        if (UseLatencyPath && weights.QuantizedRecurrentKernel is null && LstmLatencyPath.Supports(Layout, run, cache is not null))
        {
            string owner = OwnerForward;
            CheckRun(owner, run, h0, c0, outputs);
            CheckWeights(owner, weights);
            (latencyPath ??= new LstmLatencyPath(Layout, Width)).Forward(run, weights, h0, c0, outputs);
            return;
        }

        base.Forward(run, weights, h0, c0, outputs, cache);
    }

    private protected override void CheckWeights(string owner, in LstmWeights weights)
    {
        base.CheckWeights(owner, weights);
        weights.ValidateCell(owner, Layout);
    }

    private protected override void CheckGradients(string owner, in SequenceRun run, in RnnOutputGradients dOut, in LstmGradients grads)
    {
        base.CheckGradients(owner, run, dOut, grads);
        grads.ValidateCell(owner, Layout, run);
        backwardBatch = run.Batch;
    }

    /// <summary>x·W lands in the cache's gate rows: each step adds b + h·U to its rows and the cells activate them in place.</summary>
    private protected override float[] ProjectionBuffer(SequenceCache cache, int length)
    {
        var k = (LstmCache)cache;
        LstmCache.Grow(ref k.Gates, length);
        int rows = length / GateWidth;
        LstmCache.Grow(ref k.GatesPrev, rows * GateStateWidth);
        if (Layout.HasProjection)
        {
            LstmCache.Grow(ref k.Unprojected, rows * Units);
            LstmCache.Grow(ref k.DProjected, k == inference ? 0 : rows * OutputSize);
        }

        return k.Gates;
    }

    /// <summary>
    /// x·W of every step: through the token table when x is an embedding lookup (z = P[token],
    /// P = E·W + b, <see cref="TokenProjection"/>, rows in the driver's order), through int8/bf16 W
    /// onto rows that start as b when the weights are quantized, else the driver's product (the
    /// steps add b: <see cref="BiasInProjection"/>).
    /// </summary>
    private protected override void ProjectInput(in SequenceRun run, in LstmWeights weights, SequenceCache c, Span<float> z)
    {
        var k = (LstmCache)c;
        int n = InputSize, g = GateWidth, bt = run.Batch, tt = run.Time, rows = bt * tt;
        if (ReadsTable(run, weights))
        {
            if (k.TokenRows.Length < rows)
            {
                k.TokenRows = new int[rows];
            }

            var tokens = k.TokenRows.AsSpan(0, rows);
            for (int s = 0; s < tt; s++)
            {
                int t = run.TimeIndex(s);
                for (int b = 0; b < bt; b++)
                {
                    tokens[(s * bt) + b] = run.Tokens[(b * tt) + t];
                }
            }

            TokenProjection.Forward(tokens, run.TokenTable, n, weights.Kernel, weights.Bias, g, z, ref tableProjection);
        }
        else if (weights.QuantizedKernel is { } qw)
        {
            RnnRun.GatherInput(run.X, run.InputDropoutMask, bt, tt, n, run.GoBackwards, c.XDropped);
            if (weights.Bias.IsEmpty)
            {
                z.Clear();
            }
            else
            {
                for (int r = 0; r < rows; r++)
                {
                    weights.Bias.CopyTo(z.Slice(r * g, g));
                }
            }

            QuantizedGemm.MultiplyAddParallel(qw, rows, c.XDropped, n, z, g, Width);
        }
        else
        {
            base.ProjectInput(run, weights, c, z);
        }
    }

    /// <summary>Whether x·W + b comes from the token table.</summary>
    private static bool ReadsTable(in SequenceRun run, in LstmWeights weights) => run.HasTokens && weights.QuantizedKernel is null;

    /// <summary>Whether <see cref="ProjectInput"/> put b into z (token table, int8/bf16 W), so the steps add none.</summary>
    private static bool BiasInProjection(in SequenceRun run, in LstmWeights weights) => run.HasTokens || weights.QuantizedKernel is not null;

    private protected override void PrepareForward(ReadOnlySpan<float> bias, int batch)
    {
    }

    private static LstmLayout NotNull(LstmLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return layout;
    }
}
