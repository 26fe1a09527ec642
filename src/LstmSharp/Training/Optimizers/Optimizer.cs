using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using LstmSharp.Kernels;
using Tensor = LstmSharp.Tensors.Tensor;

namespace LstmSharp.Training;

/// <summary>One named array of optimizer state (a slot of one parameter).</summary>
public sealed record StateArray(int[] Shape, float[] Values);

/// <summary>
/// Everything an optimizer needs to continue exactly where it stopped: the step count, the
/// learning rate (null when a schedule drives it) and its slots, named
/// <c>{parameter path}/{slot}</c> (e.g. <c>lstm/kernel/momentum</c>).
/// </summary>
public sealed record OptimizerState(long Iterations, double? LearningRate, IReadOnlyDictionary<string, StateArray> Slots);

/// <summary>
/// Base of the Keras optimizers. <see cref="Step"/> takes the gradients accumulated in each
/// trainable <see cref="Parameter.Grad"/>, clips them (<see cref="ClipNorm"/>,
/// <see cref="ClipValue"/> or <see cref="GlobalClipNorm"/>), applies decoupled
/// <see cref="WeightDecay"/> (<c>w ← w − w·wd·lr</c>), the optimizer's update, then each
/// parameter's constraint, and counts the step.
/// </summary>
/// <remarks>
/// Regularization is not the optimizer's business: whoever computes the loss adds the
/// penalties to it and their gradients into <see cref="Parameter.Grad"/> before calling
/// <see cref="Step"/> — see <see cref="Regularization.AddPenaltiesAndGradients"/>.
/// Gradients are read, never modified. Slots are created on the first step of each parameter
/// and keyed by <see cref="Parameter.Path"/>.
/// </remarks>
public abstract class Optimizer
{
    private readonly Dictionary<string, Slot> slots = new(StringComparer.Ordinal);
    private float[] clipped = [];
    private double learningRate;
    private LearningRateSchedule? schedule;
    private double? clipNorm;
    private double? clipValue;
    private double? globalClipNorm;
    private double? weightDecay;
    private bool allowNonFiniteGradients;

    protected Optimizer(string name, double learningRate)
    {
        Name = name;
        CheckLearningRate(learningRate);
        this.learningRate = learningRate;
    }

    /// <summary>Keras name, e.g. <c>adam</c>.</summary>
    public string Name { get; }

    /// <summary>Keras class name, e.g. <c>Adam</c>.</summary>
    public abstract string ClassName { get; }

    /// <summary>Number of steps taken (Keras <c>iterations</c>).</summary>
    public long Iterations { get; private set; }

    /// <summary>
    /// The learning rate the next step uses: the schedule's value at <see cref="Iterations"/>,
    /// or the fixed rate. Settable (e.g. by ReduceLROnPlateau) only without a schedule.
    /// </summary>
    public double LearningRate
    {
        get => schedule?.Get(Iterations) ?? learningRate;
        set
        {
            if (schedule is not null)
            {
                throw new InvalidOperationException($"{ClassName}: the learning rate is driven by a {schedule.GetType().Name} schedule and cannot be set.");
            }

            CheckLearningRate(value);
            learningRate = value;
        }
    }

    /// <summary>A learning-rate schedule (replaces the fixed rate), or null.</summary>
    public LearningRateSchedule? Schedule
    {
        get => schedule;
        init => schedule = value;
    }

    /// <summary>Clip each parameter's gradient to this L2 norm (Keras <c>clipnorm</c>).</summary>
    public double? ClipNorm
    {
        get => clipNorm;
        init => clipNorm = CheckClip(value, nameof(ClipNorm));
    }

    /// <summary>Clip each gradient element to <c>[−v, v]</c> (Keras <c>clipvalue</c>).</summary>
    public double? ClipValue
    {
        get => clipValue;
        init => clipValue = CheckClip(value, nameof(ClipValue));
    }

    /// <summary>Scale all gradients together so their joint L2 norm is at most this (Keras <c>global_clipnorm</c>).</summary>
    public double? GlobalClipNorm
    {
        get => globalClipNorm;
        init => globalClipNorm = CheckClip(value, nameof(GlobalClipNorm));
    }

    /// <summary>
    /// With <see cref="ClipNorm"/>, <see cref="ClipValue"/> or <see cref="GlobalClipNorm"/> set, a
    /// gradient holding NaN or ±Inf makes <see cref="Step"/> throw an <see cref="InvalidOperationException"/>
    /// naming the parameter (default false): clipping would otherwise turn ±Inf into ±v or scale
    /// everything by 0 and hide the fault. True clips anyway, as Keras does.
    /// </summary>
    public bool AllowNonFiniteGradients
    {
        get => allowNonFiniteGradients;
        init => allowNonFiniteGradients = value;
    }

    /// <summary>Decoupled weight decay (Keras <c>weight_decay</c>): <c>w ← w − w·wd·lr</c> before the update.</summary>
    public double? WeightDecay
    {
        get => weightDecay;
        init => weightDecay = CheckWeightDecay(value);
    }

    /// <summary>The SIMD width of the update kernels, as the fused kernels take it (tests pin <see cref="LaneWidth.Scalar"/> to hold the SIMD paths to the scalar twin).</summary>
    internal LaneWidth Width { get; set; } = LaneWidth.Auto;

    /// <summary>Names of the per-parameter slots, e.g. <c>momentum</c>, <c>velocity</c>.</summary>
    protected abstract IReadOnlyList<string> SlotNames { get; }

    /// <summary>Initial value of slot <paramref name="slot"/> (Adagrad starts its accumulator above 0).</summary>
    protected virtual float SlotInitialValue(int slot) => 0f;

    /// <summary>
    /// The optimizer's update of one parameter. <paramref name="slotValues"/> follow
    /// <see cref="SlotNames"/>; <paramref name="iteration"/> is the number of steps already taken.
    /// </summary>
    protected abstract void Update(Span<float> w, ReadOnlySpan<float> g, float[][] slotValues, double lr, long iteration);

    /// <summary>Hyper-parameters specific to the optimizer, added to <see cref="GetConfig"/>.</summary>
    protected abstract void AddConfig(JsonObject config);

    /// <summary>One optimizer step on the trainable parameters of <paramref name="parameters"/>.</summary>
    public void Step(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double lr = LearningRate;
        double globalScale = 1;
        if ((clipNorm ?? clipValue ?? globalClipNorm) is not null && !AllowNonFiniteGradients)
        {
            CheckFiniteGradients(parameters);
        }

        if (globalClipNorm is double gcn)
        {
            double sumSq = 0;
            foreach (var p in parameters)
            {
                if (p.Trainable)
                {
                    sumSq += TensorPrimitives.SumOfSquares<float>(p.Grad.Span);
                }
            }

            // Gradients are finite here unless AllowNonFiniteGradients (then, as Keras, a non-finite norm scales by 0).
            double norm = Math.Sqrt(sumSq);
            globalScale = double.IsNaN(norm) ? 0 : gcn / Math.Max(norm, gcn);
        }

        foreach (var p in parameters)
        {
            if (!p.Trainable)
            {
                continue;
            }

            var slot = GetSlot(p);
            var w = p.Value.Span;
            ReadOnlySpan<float> g = ClipGradient(p.Grad.Span, globalScale);
            if (weightDecay is double wd && wd > 0)
            {
                TensorPrimitives.MultiplyAdd(w, (float)(-wd * lr), w, w);
            }

            Update(w, g, slot.Values, lr, Iterations);
            p.Constraint?.Apply(w, p.Value.Shape);
        }

        Iterations++;
    }

    private void CheckFiniteGradients(IReadOnlyList<Parameter> parameters)
    {
        foreach (var p in parameters)
        {
            // The largest magnitude is NaN if any element is NaN and Inf if any is ±Inf.
            if (p.Trainable && p.Grad.Length > 0 && TensorPrimitives.MaxMagnitude<float>(p.Grad.Span) is var m && !float.IsFinite(m))
            {
                string mode = clipNorm is not null ? "ClipNorm" : clipValue is not null ? "ClipValue" : "GlobalClipNorm";
                throw new InvalidOperationException(
                    $"{ClassName}: the gradient of '{p.Path}' holds {(float.IsNaN(m) ? "NaN" : "an infinite value")}; {mode} would hide it. " +
                    "Lower the learning rate or check the data; set AllowNonFiniteGradients = true to clip anyway (Keras's behaviour).");
            }
        }
    }

    private ReadOnlySpan<float> ClipGradient(ReadOnlySpan<float> g, double globalScale)
    {
        if (clipNorm is double cn)
        {
            float norm = TensorPrimitives.Norm(g);
            return norm > cn ? Scaled(g, (float)(cn / norm)) : g;
        }

        if (clipValue is double cv)
        {
            var dst = Scratch(g.Length);
            TensorPrimitives.Min(g, (float)cv, dst);
            TensorPrimitives.Max(dst, (float)-cv, dst);
            return dst;
        }

        return globalScale < 1 ? Scaled(g, (float)globalScale) : g;
    }

    private Span<float> Scaled(ReadOnlySpan<float> g, float scale)
    {
        var dst = Scratch(g.Length);
        TensorPrimitives.Multiply(g, scale, dst);
        return dst;
    }

    private Span<float> Scratch(int n)
    {
        if (clipped.Length < n)
        {
            clipped = new float[n];
        }

        return clipped.AsSpan(0, n);
    }

    private Slot GetSlot(Parameter p)
    {
        if (!slots.TryGetValue(p.Path, out var slot))
        {
            var names = SlotNames;
            var values = new float[names.Count][];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = new float[p.Count];
                values[i].AsSpan().Fill(SlotInitialValue(i));
            }

            slot = new Slot(p.Value.ShapeArray, values);
            slots.Add(p.Path, slot);
        }
        else if (!p.Value.SameShape(slot.Shape))
        {
            throw new InvalidOperationException($"{ClassName}: parameter '{p.Path}' has shape {Tensor.FormatShape(p.Value.Shape)} but the optimizer's slots for that path have {Tensor.FormatShape(slot.Shape)} (two parameters with one path, or a changed model).");
        }

        return slot;
    }

    /// <summary>A copy of the optimizer's state, for checkpoints.</summary>
    public OptimizerState GetState()
    {
        var names = SlotNames;
        var arrays = new Dictionary<string, StateArray>(StringComparer.Ordinal);
        foreach (var (path, slot) in slots)
        {
            for (int i = 0; i < names.Count; i++)
            {
                arrays.Add($"{path}/{names[i]}", new StateArray((int[])slot.Shape.Clone(), (float[])slot.Values[i].Clone()));
            }
        }

        return new OptimizerState(Iterations, schedule is null ? learningRate : null, arrays);
    }

    /// <summary>
    /// Restores a state from <see cref="GetState"/> for <paramref name="parameters"/>: either
    /// no slots at all (a fresh optimizer) or every slot of every trainable parameter, with
    /// matching shapes; any other name is an error.
    /// </summary>
    public void SetState(OptimizerState state, IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(parameters);
        if (state.Iterations < 0)
        {
            throw new ArgumentException($"{ClassName}.SetState: iterations must be >= 0, got {state.Iterations}.", nameof(state));
        }

        var names = SlotNames;
        var restored = new Dictionary<string, Slot>(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        if (state.Slots.Count > 0)
        {
            foreach (var p in parameters)
            {
                if (!p.Trainable)
                {
                    continue;
                }

                if (restored.ContainsKey(p.Path))
                {
                    throw new ArgumentException($"{ClassName}.SetState: two trainable parameters share the path '{p.Path}'.", nameof(parameters));
                }

                var values = new float[names.Count][];
                for (int i = 0; i < names.Count; i++)
                {
                    string key = $"{p.Path}/{names[i]}";
                    if (!state.Slots.TryGetValue(key, out var a))
                    {
                        throw new ArgumentException($"{ClassName}.SetState: state has no '{key}'; it holds: {string.Join(", ", state.Slots.Keys.Order(StringComparer.Ordinal))}.", nameof(state));
                    }

                    if (!p.Value.SameShape(a.Shape) || a.Values.Length != p.Count)
                    {
                        throw new ArgumentException($"{ClassName}.SetState: '{key}' expected shape {Tensor.FormatShape(p.Value.Shape)}, got {Tensor.FormatShape(a.Shape)} with {a.Values.Length} values.", nameof(state));
                    }

                    values[i] = (float[])a.Values.Clone();
                    used.Add(key);
                }

                restored.Add(p.Path, new Slot(p.Value.ShapeArray, values));
            }

            var unknown = state.Slots.Keys.Where(k => !used.Contains(k)).Order(StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
            {
                throw new ArgumentException($"{ClassName}.SetState: state holds entries that match no trainable parameter's slot ({string.Join(", ", names)}): {string.Join(", ", unknown)}.", nameof(state));
            }
        }

        if (state.LearningRate is double lr && schedule is null)
        {
            CheckLearningRate(lr);
            learningRate = lr;
        }

        slots.Clear();
        foreach (var (k, v) in restored)
        {
            slots.Add(k, v);
        }

        Iterations = state.Iterations;
    }

    /// <summary>Keras-style config: <c>{"class_name": "Adam", "config": {"learning_rate": ..., ...}}</c>.</summary>
    public JsonObject GetConfig()
    {
        var c = new JsonObject
        {
            ["name"] = Name,
            ["learning_rate"] = schedule is null ? JsonValue.Create(learningRate) : schedule.GetConfig(),
            ["weight_decay"] = weightDecay,
            ["clipnorm"] = clipNorm,
            ["clipvalue"] = clipValue,
            ["global_clipnorm"] = globalClipNorm,
        };
        if (AllowNonFiniteGradients)
        {
            c["allow_non_finite_gradients"] = true;
        }

        AddConfig(c);
        return new JsonObject { ["class_name"] = ClassName, ["config"] = c };
    }

    public override string ToString() => $"{ClassName}(learning_rate={LearningRate}, iterations={Iterations})";

    /// <summary>A hyperparameter checked against its range (for the subclasses' property initializers); <paramref name="who"/> is the class name the message starts with.</summary>
    private protected static double CheckRange(string who, double value, string name, double min, double max, bool minInclusive = true, bool maxInclusive = true)
    {
        bool ok = (minInclusive ? value >= min : value > min) && (maxInclusive ? value <= max : value < max);
        if (!ok)
        {
            string range = $"{(minInclusive ? '[' : '(')}{min}, {max}{(maxInclusive ? ']' : ')')}";
            throw new ArgumentOutOfRangeException(name, value, $"{who}: {name} must lie in {range}, got {value}.");
        }

        return value;
    }

    private void CheckLearningRate(double value)
    {
        if (!(value >= 0) || !double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException("learningRate", value, $"{GetType().Name}: learning rate must be a finite number >= 0, got {value}.");
        }
    }

    /// <summary>
    /// Sets the settings every optimizer shares from a <see cref="GetConfig"/> config, checked in
    /// the order of their init accessors (for <see cref="Optimizers.FromConfig"/>; the learning rate
    /// and the subclass's own hyperparameters go through its constructor).
    /// </summary>
    internal void ReadSharedConfig(JsonObject config, LearningRateSchedule? learningRateSchedule)
    {
        schedule = learningRateSchedule;
        clipNorm = CheckClip(Config.NullableNumber(config, "clipnorm"), nameof(ClipNorm));
        clipValue = CheckClip(Config.NullableNumber(config, "clipvalue"), nameof(ClipValue));
        globalClipNorm = CheckClip(Config.NullableNumber(config, "global_clipnorm"), nameof(GlobalClipNorm));
        weightDecay = CheckWeightDecay(Config.NullableNumber(config, "weight_decay"));
        allowNonFiniteGradients = Config.Bool(config, "allow_non_finite_gradients", false);
    }

    private double? CheckWeightDecay(double? value)
    {
        if (value is double v && (!(v >= 0) || !double.IsFinite(v)))
        {
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), v, $"{ClassName}: WeightDecay must be a finite number >= 0, got {v}.");
        }

        return value;
    }

    private double? CheckClip(double? value, string name)
    {
        if (value is double v && (!(v > 0) || !double.IsFinite(v)))
        {
            throw new ArgumentOutOfRangeException(name, v, $"{ClassName}: {name} must be a positive finite number, got {v}.");
        }

        int set = (clipNorm is null ? 0 : 1) + (clipValue is null ? 0 : 1) + (globalClipNorm is null ? 0 : 1);
        if (value is not null && set > 0)
        {
            throw new ArgumentException($"{ClassName}: only one of ClipNorm, ClipValue and GlobalClipNorm can be set (got {name} after another).", name);
        }

        return value;
    }

    private sealed record Slot(int[] Shape, float[][] Values);
}
