using LstmSharp.Tensors;
using LstmSharp.Training;

namespace LstmSharp.Layers;

/// <summary>
/// A layer's weights: creation (<see cref="AddWeight(string, int[], string, IRegularizer?, IConstraint?, bool)"/>,
/// within the budget a model file sets), sublayers and their paths, the trainable flag, and
/// Keras's get/set_weights and count_params.
/// </summary>
public abstract partial class Layer
{
    [ThreadStatic]
    private static long? weightBudget;

    /// <summary>All weights: the layer's own in creation order, then each sublayer's.</summary>
    public IReadOnlyList<Parameter> Parameters
    {
        get
        {
            TryBuildFromDeclaredShape();
            var all = new List<Parameter>(ownParameters);
            foreach (var s in sublayers)
            {
                all.AddRange(s.Parameters);
            }

            return all;
        }
    }

    /// <summary>Parameters an optimizer updates: trainable themselves, in a trainable layer (and parents).</summary>
    public IReadOnlyList<Parameter> TrainableParameters
    {
        get
        {
            TryBuildFromDeclaredShape();
            var list = new List<Parameter>();
            if (Trainable)
            {
                list.AddRange(ownParameters.Where(p => p.Trainable));
            }

            foreach (var s in sublayers)
            {
                list.AddRange(s.TrainableParameters);
            }

            return list;
        }
    }

    public IReadOnlyList<Parameter> NonTrainableParameters
    {
        get
        {
            var trainableSet = TrainableParameters.ToHashSet();
            return Parameters.Where(p => !trainableSet.Contains(p)).ToArray();
        }
    }

    /// <summary>
    /// Within the scope, layers built on this thread may create at most <paramref name="values"/>
    /// weight values in total. Loading a model file sets it to what the file holds, so a hostile
    /// config (units = 10⁸) fails with a clear error before allocating gigabytes.
    /// </summary>
    internal static WeightBudgetScope LimitWeights(long values)
    {
        var scope = new WeightBudgetScope(weightBudget);
        weightBudget = values;
        return scope;
    }

    /// <summary>
    /// Fails now, before a kernel sizes its scratch by them, when weights of these shapes would
    /// need more values than <see cref="LimitWeights"/> still allows (AddWeight charges them later).
    /// </summary>
    protected void ReserveWeightValues(string what, long values)
    {
        if (weightBudget is { } budget && values > budget)
        {
            throw new ArgumentException($"{Describe()}: {what} need at least {values} values, more than the {budget} the source still holds.");
        }
    }

    /// <summary>As <see cref="ReserveWeightValues"/> for weights of known shapes.</summary>
    protected void ReserveWeights(IEnumerable<(string Name, int[] Shape)> shapes)
    {
        if (weightBudget is not { } budget)
        {
            return;
        }

        long total = 0;
        foreach (var (name, shape) in shapes)
        {
            total = SaturatingAdd(total, ValueCount(shape));
            if (total > budget)
            {
                throw new ArgumentException($"{Describe()}: weight '{name}' {Tensor.FormatShape(shape)} brings the layer to {total} values, more than the {budget} the source still holds.");
            }
        }
    }

    private static long ValueCount(int[] shape)
    {
        long count = 1;
        foreach (int d in shape)
        {
            count = d <= 0 ? 0 : count > long.MaxValue / d ? long.MaxValue : count * d;
        }

        return count;
    }

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    /// <summary>Total number of weights (trainable and not), as Keras's <c>count_params()</c>.</summary>
    public int CountParams()
    {
        TryBuildFromDeclaredShape();
        if (!Built)
        {
            throw new InvalidOperationException($"{Describe()}: not built yet, so it has no weights to count; give it an inputShape or call it once.");
        }

        return Parameters.Sum(p => p.Count);
    }

    /// <summary>Copies of the weights in <see cref="Parameters"/> order (Keras <c>get_weights</c>).</summary>
    public IReadOnlyList<Tensor> GetWeights() => Parameters.Select(p => p.Value.Clone()).ToArray();

    /// <summary>Overwrites the weights in <see cref="Parameters"/> order; shapes must match (Keras <c>set_weights</c>).</summary>
    public void SetWeights(IReadOnlyList<Tensor> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var ps = Parameters;
        if (weights.Count != ps.Count)
        {
            throw new ArgumentException($"{Describe()}: expected {ps.Count} weight tensors ({string.Join(", ", ps)}), got {weights.Count}.", nameof(weights));
        }

        QuantizedWeights.ThrowIfQuantized(ps, Describe(), nameof(SetWeights));
        for (int i = 0; i < ps.Count; i++)
        {
            if (!weights[i].SameShape(ps[i].Value))
            {
                throw new ArgumentException($"{Describe()}: weight '{ps[i].Path}' expected {Tensor.FormatShape(ps[i].Value.Shape)}, got {Tensor.FormatShape(weights[i].Shape)}.", nameof(weights));
            }
        }

        for (int i = 0; i < ps.Count; i++)
        {
            weights[i].Span.CopyTo(ps[i].Value.Span);
        }
    }

    /// <summary>
    /// Creates a weight named <paramref name="name"/> (path <c>layer/name</c>) initialised by the
    /// Keras initializer <paramref name="initializer"/> ("glorot_uniform", "zeros", "uniform", ...),
    /// drawing from a generator seeded by the global one (<see cref="Rng.SetGlobalSeed"/>, Keras's <c>set_random_seed</c>).
    /// </summary>
    protected Parameter AddWeight(string name, int[] shape, string initializer, IRegularizer? regularizer = null, IConstraint? constraint = null, bool trainable = true)
    {
        if (weightBudget is { } budget)
        {
            long count = ValueCount(shape);
            if (count > budget)
            {
                throw new ArgumentException($"{Describe()}: weight '{name}' {Tensor.FormatShape(shape)} needs {count} values, more than the {budget} the source still holds.");
            }

            weightBudget = budget - count;
        }

        var value = new Tensor(shape);
        WeightInitializers.Fill(initializer, value, InitRandom, $"{Describe()} weight '{name}'");
        return AddWeight(name, value, regularizer, constraint, trainable);
    }

    /// <summary>Creates a weight with its initializer, regularizer and constraint from <paramref name="options"/>.</summary>
    private protected Parameter AddWeight(string name, int[] shape, WeightOptions options) =>
        AddWeight(name, shape, options.Initializer, options.Regularizer, options.Constraint);

    /// <summary>Adds an already initialised weight (taken over, not copied).</summary>
    protected Parameter AddWeight(string name, Tensor value, IRegularizer? regularizer = null, IConstraint? constraint = null, bool trainable = true)
    {
        if (ownParameters.Any(p => p.Name == name))
        {
            throw new InvalidOperationException($"{Describe()}: a weight named '{name}' already exists.");
        }

        var p = new Parameter(name, value, trainable, regularizer, constraint) { Path = $"{PathPrefix}/{name}" };
        ownParameters.Add(p);
        p.Value.RequiresGrad = p.Trainable && Trainable;
        return p;
    }

    /// <summary>Adopts <paramref name="layer"/> as a sublayer: its parameters follow this layer's, with paths <c>this/sub/param</c>.</summary>
    protected T TrackLayer<T>(T layer)
        where T : Layer
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.parent is not null && !ReferenceEquals(layer.parent, this))
        {
            throw new InvalidOperationException($"{Describe()}: {layer.Describe()} already belongs to {layer.parent.Describe()}.");
        }

        if (!sublayers.Contains(layer))
        {
            layer.parent = this;
            sublayers.Add(layer);
            layer.RefreshPaths();
            layer.SyncTrainable();
        }

        return layer;
    }

    private string PathPrefix => parent is null ? Name : $"{parent.PathPrefix}/{Name}";

    private void RefreshPaths()
    {
        foreach (var p in ownParameters)
        {
            p.Path = $"{PathPrefix}/{p.Name}";
        }

        foreach (var s in sublayers)
        {
            s.RefreshPaths();
        }
    }

    private void SyncTrainable()
    {
        bool on = Trainable;
        foreach (var p in ownParameters)
        {
            p.Value.RequiresGrad = on && p.Trainable;
        }

        foreach (var s in sublayers)
        {
            s.SyncTrainable();
        }
    }

    /// <summary>Ends a <see cref="LimitWeights"/> scope, restoring the previous limit.</summary>
    internal readonly struct WeightBudgetScope(long? previous) : IDisposable
    {
        public void Dispose() => weightBudget = previous;
    }
}
