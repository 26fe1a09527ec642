using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using LstmSharp.Kernels;

namespace LstmSharp.Training;

/// <summary>
/// Keras <c>SGD</c>. Without momentum <c>w ← w − lr·g</c>; with momentum μ
/// <c>m ← μ·m − lr·g</c>, then <c>w ← w + m</c>, or with Nesterov <c>w ← w + μ·m − lr·g</c>.
/// </summary>
public sealed class Sgd(double learningRate = 0.01, double momentum = 0, bool nesterov = false)
    : Optimizer("SGD", learningRate)
{
    private const string Who = "SGD";
    private static readonly string[] NoSlots = [];
    private static readonly string[] MomentumSlot = ["momentum"];

    public override string ClassName => Who;

    public double Momentum { get; } = CheckRange(Who, momentum, nameof(momentum), 0, 1);

    public bool Nesterov { get; } = nesterov;

    protected override IReadOnlyList<string> SlotNames => Momentum > 0 ? MomentumSlot : NoSlots;

    protected override void Update(Span<float> w, ReadOnlySpan<float> g, float[][] slotValues, double lr, long iteration)
    {
        var k = new Kernel
        {
            W = ref MemoryMarshal.GetReference(w),
            G = ref MemoryMarshal.GetReference(g),
            M = ref Momentum > 0 ? ref MemoryMarshal.GetArrayDataReference(slotValues[0]) : ref MemoryMarshal.GetReference(w),
            Lr = (float)lr,
            Mu = (float)Momentum,
            HasMomentum = Momentum > 0,
            Nesterov = Nesterov,
        };
        LaneLoop.Run(ref k, w.Length, Width);
    }

    protected override void AddConfig(JsonObject config)
    {
        config["momentum"] = Momentum;
        config["nesterov"] = Nesterov;
    }

    private ref struct Kernel : ILaneOp
    {
        public ref float W;
        public ref float G;
        public ref float M;
        public float Lr;
        public float Mu;
        public bool HasMomentum;
        public bool Nesterov;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            var g = TL.Load(ref G, i);
            var w = TL.Load(ref W, i);
            var lrG = TL.Mul(g, TL.Broadcast(Lr));
            if (!HasMomentum)
            {
                TL.Store(TL.Sub(w, lrG), ref W, i);
                return;
            }

            var m = TL.Sub(TL.Mul(TL.Load(ref M, i), TL.Broadcast(Mu)), lrG);
            TL.Store(m, ref M, i);
            TL.Store(Nesterov ? TL.Add(w, TL.Sub(TL.Mul(m, TL.Broadcast(Mu)), lrG)) : TL.Add(w, m), ref W, i);
        }
    }
}

/// <summary>
/// Keras <c>Adam</c> (Keras 3 form, ε outside the square root): at step <c>t</c> (1-based)
/// <code>
/// α_t = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
/// m ← m + (g − m)(1 − β₁)          (= β₁m + (1 − β₁)g)
/// v ← v + (g² − v)(1 − β₂)         (= β₂v + (1 − β₂)g²)
/// v̂ ← max(v̂, v), used instead of v   (amsgrad only)
/// w ← w − α_t · m / (√v + ε)
/// </code>
/// </summary>
public sealed class Adam(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-7, bool amsgrad = false)
    : Optimizer("adam", learningRate)
{
    private const string Who = "Adam";
    private static readonly string[] Slots = ["momentum", "velocity"];
    private static readonly string[] AmsgradSlots = ["momentum", "velocity", "velocity_hat"];

    public override string ClassName => Who;

    public double Beta1 { get; } = CheckRange(Who, beta1, nameof(beta1), 0, 1, maxInclusive: false);

    public double Beta2 { get; } = CheckRange(Who, beta2, nameof(beta2), 0, 1, maxInclusive: false);

    public double Epsilon { get; } = CheckRange(Who, epsilon, nameof(epsilon), 0, double.MaxValue);

    public bool Amsgrad { get; } = amsgrad;

    protected override IReadOnlyList<string> SlotNames => Amsgrad ? AmsgradSlots : Slots;

    protected override void Update(Span<float> w, ReadOnlySpan<float> g, float[][] slotValues, double lr, long iteration)
    {
        double t = iteration + 1;
        double alpha = lr * Math.Sqrt(1 - Math.Pow(Beta2, t)) / (1 - Math.Pow(Beta1, t));
        var k = new Kernel
        {
            W = ref MemoryMarshal.GetReference(w),
            G = ref MemoryMarshal.GetReference(g),
            M = ref MemoryMarshal.GetArrayDataReference(slotValues[0]),
            V = ref MemoryMarshal.GetArrayDataReference(slotValues[1]),
            VHat = ref MemoryMarshal.GetArrayDataReference(slotValues[Amsgrad ? 2 : 1]),
            Alpha = (float)alpha,
            OneMinusBeta1 = (float)(1 - Beta1),
            OneMinusBeta2 = (float)(1 - Beta2),
            Eps = (float)Epsilon,
            Amsgrad = Amsgrad,
        };
        LaneLoop.Run(ref k, w.Length, Width);
    }

    protected override void AddConfig(JsonObject config)
    {
        config["beta_1"] = Beta1;
        config["beta_2"] = Beta2;
        config["epsilon"] = Epsilon;
        config["amsgrad"] = Amsgrad;
    }

    private ref struct Kernel : ILaneOp
    {
        public ref float W;
        public ref float G;
        public ref float M;
        public ref float V;
        public ref float VHat;
        public float Alpha;
        public float OneMinusBeta1;
        public float OneMinusBeta2;
        public float Eps;
        public bool Amsgrad;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            var g = TL.Load(ref G, i);
            var m = TL.Load(ref M, i);
            var v = TL.Load(ref V, i);
            m = TL.Add(m, TL.Mul(TL.Sub(g, m), TL.Broadcast(OneMinusBeta1)));
            v = TL.Add(v, TL.Mul(TL.Sub(TL.Mul(g, g), v), TL.Broadcast(OneMinusBeta2)));
            TL.Store(m, ref M, i);
            TL.Store(v, ref V, i);
            if (Amsgrad)
            {
                v = TL.Max(TL.Load(ref VHat, i), v);
                TL.Store(v, ref VHat, i);
            }

            var w = TL.Load(ref W, i);
            TL.Store(TL.Sub(w, TL.Div(TL.Mul(m, TL.Broadcast(Alpha)), TL.Add(TL.Sqrt(v), TL.Broadcast(Eps)))), ref W, i);
        }
    }
}

/// <summary>
/// Keras <c>RMSprop</c> (ε inside the square root):
/// <code>
/// v ← ρv + (1 − ρ)g²
/// a ← ρa + (1 − ρ)g,  d = v − a² + ε      (centered)      else d = v + ε
/// Δ = lr · g / √d
/// mom ← μ·mom + Δ, w ← w − mom           (momentum > 0)  else w ← w − Δ
/// </code>
/// </summary>
public sealed class RmsProp(double learningRate = 0.001, double rho = 0.9, double momentum = 0, double epsilon = 1e-7, bool centered = false)
    : Optimizer("rmsprop", learningRate)
{
    private const string Who = "RMSprop";

    public override string ClassName => Who;

    public double Rho { get; } = CheckRange(Who, rho, nameof(rho), 0, 1);

    public double Momentum { get; } = CheckRange(Who, momentum, nameof(momentum), 0, 1);

    public double Epsilon { get; } = CheckRange(Who, epsilon, nameof(epsilon), 0, double.MaxValue);

    public bool Centered { get; } = centered;

    protected override IReadOnlyList<string> SlotNames { get; } = SlotsFor(momentum > 0, centered);

    protected override void Update(Span<float> w, ReadOnlySpan<float> g, float[][] slotValues, double lr, long iteration)
    {
        int s = 1;
        ref float v = ref MemoryMarshal.GetArrayDataReference(slotValues[0]);
        var k = new Kernel
        {
            W = ref MemoryMarshal.GetReference(w),
            G = ref MemoryMarshal.GetReference(g),
            V = ref v,
            Mom = ref Momentum > 0 ? ref MemoryMarshal.GetArrayDataReference(slotValues[s++]) : ref v,
            Avg = ref Centered ? ref MemoryMarshal.GetArrayDataReference(slotValues[s]) : ref v,
            Lr = (float)lr,
            Rho = (float)Rho,
            OneMinusRho = (float)(1 - Rho),
            Mu = (float)Momentum,
            Eps = (float)Epsilon,
            HasMomentum = Momentum > 0,
            Centered = Centered,
        };
        LaneLoop.Run(ref k, w.Length, Width);
    }

    private static List<string> SlotsFor(bool momentum, bool centered)
    {
        var names = new List<string> { "velocity" };
        if (momentum)
        {
            names.Add("momentum");
        }

        if (centered)
        {
            names.Add("average_gradient");
        }

        return names;
    }

    protected override void AddConfig(JsonObject config)
    {
        config["rho"] = Rho;
        config["momentum"] = Momentum;
        config["epsilon"] = Epsilon;
        config["centered"] = Centered;
    }

    private ref struct Kernel : ILaneOp
    {
        public ref float W;
        public ref float G;
        public ref float V;
        public ref float Mom;
        public ref float Avg;
        public float Lr;
        public float Rho;
        public float OneMinusRho;
        public float Mu;
        public float Eps;
        public bool HasMomentum;
        public bool Centered;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            var g = TL.Load(ref G, i);
            var v = TL.Add(TL.Mul(TL.Broadcast(Rho), TL.Load(ref V, i)), TL.Mul(TL.Broadcast(OneMinusRho), TL.Mul(g, g)));
            TL.Store(v, ref V, i);
            TV denominator;
            if (Centered)
            {
                var a = TL.Add(TL.Mul(TL.Broadcast(Rho), TL.Load(ref Avg, i)), TL.Mul(TL.Broadcast(OneMinusRho), g));
                TL.Store(a, ref Avg, i);
                denominator = TL.Add(TL.Sub(v, TL.Mul(a, a)), TL.Broadcast(Eps));
            }
            else
            {
                denominator = TL.Add(v, TL.Broadcast(Eps));
            }

            var increment = TL.Div(TL.Mul(TL.Broadcast(Lr), g), TL.Sqrt(denominator));
            if (HasMomentum)
            {
                increment = TL.Add(TL.Mul(TL.Broadcast(Mu), TL.Load(ref Mom, i)), increment);
                TL.Store(increment, ref Mom, i);
            }

            TL.Store(TL.Sub(TL.Load(ref W, i), increment), ref W, i);
        }
    }
}

/// <summary>
/// Keras <c>Adagrad</c>: the accumulator starts at <c>initialAccumulatorValue</c>;
/// <c>acc ← acc + g²</c>, <c>w ← w − lr·g / √(acc + ε)</c>.
/// </summary>
public sealed class Adagrad(double learningRate = 0.001, double initialAccumulatorValue = 0.1, double epsilon = 1e-7)
    : Optimizer("adagrad", learningRate)
{
    private const string Who = "Adagrad";
    private static readonly string[] Slots = ["accumulator"];

    public override string ClassName => Who;

    public double InitialAccumulatorValue { get; } = CheckRange(Who, initialAccumulatorValue, nameof(initialAccumulatorValue), 0, double.MaxValue);

    public double Epsilon { get; } = CheckRange(Who, epsilon, nameof(epsilon), 0, double.MaxValue);

    protected override IReadOnlyList<string> SlotNames => Slots;

    protected override float SlotInitialValue(int slot) => (float)InitialAccumulatorValue;

    protected override void Update(Span<float> w, ReadOnlySpan<float> g, float[][] slotValues, double lr, long iteration)
    {
        var k = new Kernel
        {
            W = ref MemoryMarshal.GetReference(w),
            G = ref MemoryMarshal.GetReference(g),
            Acc = ref MemoryMarshal.GetArrayDataReference(slotValues[0]),
            Lr = (float)lr,
            Eps = (float)Epsilon,
        };
        LaneLoop.Run(ref k, w.Length, Width);
    }

    protected override void AddConfig(JsonObject config)
    {
        config["initial_accumulator_value"] = InitialAccumulatorValue;
        config["epsilon"] = Epsilon;
    }

    private ref struct Kernel : ILaneOp
    {
        public ref float W;
        public ref float G;
        public ref float Acc;
        public float Lr;
        public float Eps;

        public readonly void Apply<TL, TV>(int i)
            where TL : struct, ILanes<TV>
            where TV : struct
        {
            var g = TL.Load(ref G, i);
            var acc = TL.Add(TL.Load(ref Acc, i), TL.Mul(g, g));
            TL.Store(acc, ref Acc, i);
            TL.Store(TL.Sub(TL.Load(ref W, i), TL.Div(TL.Mul(TL.Broadcast(Lr), g), TL.Sqrt(TL.Add(acc, TL.Broadcast(Eps))))), ref W, i);
        }
    }
}

/// <summary>Optimizers by Keras name and from configs.</summary>
public static class Optimizers
{
    /// <summary>An optimizer with Keras defaults by name: <c>sgd</c>, <c>adam</c>, <c>rmsprop</c>, <c>adagrad</c>.</summary>
    public static Optimizer Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "sgd" => new Sgd(),
            "adam" => new Adam(),
            "rmsprop" => new RmsProp(),
            "adagrad" => new Adagrad(),
            _ => throw new ArgumentException($"Optimizers.Get: unknown optimizer '{name}'; valid names: sgd, adam, rmsprop, adagrad.", nameof(name)),
        };
    }

    /// <summary>Rebuilds an optimizer (without its state) from <see cref="Optimizer.GetConfig"/>'s output.</summary>
    public static Optimizer FromConfig(JsonObject config)
    {
        const string who = "Optimizers.FromConfig";
        var (className, c) = Config.Envelope(config, who);
        var lrNode = c["learning_rate"];
        LearningRateSchedule? schedule = lrNode is JsonObject o ? LearningRateSchedule.FromConfig(o) : null;
        double Lr(double fallback) => lrNode is JsonValue v ? Config.ToDouble(v, "learning_rate") : fallback;
        double Num(string key, double fallback) => Config.Number(c, key, fallback);
        bool Flag(string key) => Config.Bool(c, key, false);
        Optimizer optimizer = className.ToLowerInvariant() switch
        {
            "sgd" => new Sgd(Lr(0.01), Num("momentum", 0), Flag("nesterov")),
            "adam" => new Adam(Lr(0.001), Num("beta_1", 0.9), Num("beta_2", 0.999), Num("epsilon", 1e-7), Flag("amsgrad")),
            "rmsprop" => new RmsProp(Lr(0.001), Num("rho", 0.9), Num("momentum", 0), Num("epsilon", 1e-7), Flag("centered")),
            "adagrad" => new Adagrad(Lr(0.001), Num("initial_accumulator_value", 0.1), Num("epsilon", 1e-7)),
            _ => throw new ArgumentException($"{who}: unknown optimizer class '{className}'; valid: SGD, Adam, RMSprop, Adagrad."),
        };
        optimizer.ReadSharedConfig(c, schedule);
        return optimizer;
    }
}
