using LstmSharp.Tensors;

namespace LstmSharp.Autograd;

/// <summary>
/// Define-by-run reverse-mode autodiff, micrograd style. While a tape is recording, every op
/// whose inputs require gradients appends one entry: its name, the layer that ran it, its
/// inputs and outputs, and a backward closure written next to the op's forward computation.
/// <see cref="Backward"/> seeds d(loss) and runs the closures in reverse order of recording,
/// which is a valid reverse topological order because an op can only consume tensors that
/// already exist.
/// </summary>
/// <remarks>
/// <code>
/// using (var tape = Tape.Record())
/// {
///     var loss = Ops.Mean(Ops.Mul(err, err));
///     tape.Backward(loss);          // gradients accumulate into each Tensor.Grad
/// }
/// </code>
/// With no tape (<see cref="Current"/> is null, or inside <see cref="NoGrad"/>) ops compute
/// values only: nothing is recorded and no activation is kept alive. Gradients accumulate
/// (a tensor used twice receives the sum of both contributions); parameters keep theirs
/// across tapes until zeroed (<see cref="ZeroGrad(IEnumerable{Tensor})"/>). A coarse op (a
/// whole recurrent layer over all time steps) is one entry whose closure runs BPTT.
/// </remarks>
public sealed class Tape : IDisposable
{
    [ThreadStatic]
    private static Tape? current;

    [ThreadStatic]
    private static int noGradDepth;

    [ThreadStatic]
    private static List<string>? layerStack;

    private readonly Tape? previous;
    private readonly List<Entry> entries = new();
    private readonly List<float[]> pooled = new();
    private bool backwardDone;
    private bool disposed;

    private Tape(bool detectAnomalies)
    {
        previous = current;
        DetectAnomalies = detectAnomalies;
        current = this;
    }

    /// <summary>The recording tape of this thread, or null (inference: ops record nothing).</summary>
    public static Tape? Current => noGradDepth == 0 ? current : null;

    /// <summary>
    /// Global anomaly mode: when set, every op's output is checked for NaN/Inf even without a
    /// tape, and every tape checks its backward gradients. Costs a pass over each tensor.
    /// </summary>
    public static bool DetectAnomaliesGlobally { get; set; }

    /// <summary>The name of the innermost layer running on this thread (for error messages), or null.</summary>
    public static string? CurrentLayer => layerStack is { Count: > 0 } s ? s[^1] : null;

    /// <summary>True when this tape checks forward outputs and backward gradients for NaN/Inf.</summary>
    public bool DetectAnomalies { get; }

    /// <summary>Number of recorded ops.</summary>
    public int Count => entries.Count;

    /// <summary>Recorded op names in order, e.g. <c>"dense/matmul"</c> (layer/op) — for tests and debugging.</summary>
    public IReadOnlyList<string> OpNames => entries.Select(e => e.Layer is null ? e.Op : $"{e.Layer}/{e.Op}").ToArray();

    /// <summary>Starts recording on this thread; dispose to stop. Tapes nest (the inner one records).</summary>
    public static Tape Record(bool detectAnomalies = false) => new(detectAnomalies);

    /// <summary>A scope in which no tape records (like <c>torch.no_grad()</c>).</summary>
    public static NoGradScope NoGrad()
    {
        noGradDepth++;
        return default;
    }

    /// <summary>Marks ops run inside the scope as belonging to layer <paramref name="layerName"/>.</summary>
    public static LayerScope InLayer(string layerName)
    {
        (layerStack ??= new List<string>()).Add(layerName);
        return default;
    }

    /// <summary>True when a tape is recording and at least one input requires gradients.</summary>
    public static bool ShouldRecord(Tensor a) => Current is not null && a.RequiresGrad;

    public static bool ShouldRecord(Tensor a, Tensor b) => Current is not null && (a.RequiresGrad || b.RequiresGrad);

    public static bool ShouldRecord(IReadOnlyList<Tensor> inputs)
    {
        if (Current is null)
        {
            return false;
        }

        foreach (var t in inputs)
        {
            if (t.RequiresGrad)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Called by every op after its forward computation. Checks the output for NaN/Inf in
    /// anomaly mode; when a tape records and an input requires gradients, marks the output as
    /// requiring gradients and appends <paramref name="backward"/>. The closure reads the
    /// output's <see cref="Tensor.Grad"/> (never null when it runs) and accumulates into the
    /// <see cref="Tensor.EnsureGrad"/> of each input that <see cref="Tensor.RequiresGrad"/>.
    /// </summary>
    public static void Track(string op, Tensor output, Tensor input, Action backward) => Track(op, [output], [input], backward);

    public static void Track(string op, Tensor output, Tensor a, Tensor b, Action backward) => Track(op, [output], [a, b], backward);

    /// <summary>Multi-input, multi-output form of <see cref="Track(string, Tensor, Tensor, Action)"/>.</summary>
    public static void Track(string op, Tensor[] outputs, Tensor[] inputs, Action backward)
    {
        var tape = Current;
        if (DetectAnomaliesGlobally || (tape?.DetectAnomalies ?? false))
        {
            foreach (var y in outputs)
            {
                CheckFinite(y, op, CurrentLayer, "forward", "output");
            }
        }

        if (tape is null || !ShouldRecord(inputs))
        {
            return;
        }

        if (tape.backwardDone)
        {
            throw new InvalidOperationException($"op '{op}': the tape already ran Backward; record the next step on a new tape.");
        }

        foreach (var y in outputs)
        {
            y.RequiresGrad = true;
        }

        tape.entries.Add(new Entry(op, CurrentLayer, outputs, inputs, backward));
    }

    /// <summary>
    /// Backpropagates from <paramref name="output"/>: seeds its gradient with 1 (a scalar, or a
    /// tensor of one element) or with <paramref name="outputGrad"/>, then runs the recorded
    /// closures in reverse. Runs once per tape.
    /// </summary>
    public void Backward(Tensor output, Tensor? outputGrad = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (backwardDone)
        {
            throw new InvalidOperationException("Tape.Backward: already ran on this tape; gradients of intermediates would be counted twice. Record the next step on a new tape.");
        }

        if (!output.RequiresGrad)
        {
            throw new InvalidOperationException($"Tape.Backward: the output {Tensor.FormatShape(output.Shape)} does not depend on any tensor that requires gradients (was it computed outside Tape.Record, or from constants only?).");
        }

        if (outputGrad is null)
        {
            if (output.Length != 1)
            {
                throw new ArgumentException($"Tape.Backward: output has shape {Tensor.FormatShape(output.Shape)}; pass outputGrad for a non-scalar output.", nameof(outputGrad));
            }

            output.EnsureGrad().Span[0] += 1f;
        }
        else if (!outputGrad.SameShape(output))
        {
            throw new ArgumentException($"Tape.Backward: outputGrad has shape {Tensor.FormatShape(outputGrad.Shape)}, expected the output's {Tensor.FormatShape(output.Shape)}.", nameof(outputGrad));
        }
        else if (output.Grad is null)
        {
            // 0 + dy without zeroing a fresh buffer first: dy + 0 gives the same bits.
            output.Grad = new Tensor(GC.AllocateUninitializedArray<float>(output.Length), output.ShapeArray);
            System.Numerics.Tensors.TensorPrimitives.Add(outputGrad.Span, 0f, output.Grad.Span);
        }
        else
        {
            System.Numerics.Tensors.TensorPrimitives.Add(output.Grad.Span, outputGrad.Span, output.Grad.Span);
        }

        backwardDone = true;
        bool check = DetectAnomalies || DetectAnomaliesGlobally;
        using var noGrad = NoGrad();
        for (int i = entries.Count - 1; i >= 0; i--)
        {
            var e = entries[i];
            if (!AnyGrad(e.Outputs))
            {
                continue;
            }

            foreach (var y in e.Outputs)
            {
                y.EnsureGrad();
            }

            e.Backward();
            if (check)
            {
                foreach (var x in e.Inputs)
                {
                    if (x.RequiresGrad && x.Grad is not null)
                    {
                        CheckFinite(x.Grad, e.Op, e.Layer, "backward", "input gradient");
                    }
                }
            }
        }
    }

    /// <summary>
    /// Hands the tape arrays rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/> that a
    /// recorded backward closure reads (an op's intermediates nobody else sees); they go back to
    /// the pool when the tape is disposed, after which no closure of it can run. Nulls are skipped.
    /// </summary>
    internal void KeepUntilDisposed(float[]? first, float[]? second = null)
    {
        if (first is not null)
        {
            pooled.Add(first);
        }

        if (second is not null)
        {
            pooled.Add(second);
        }
    }

    /// <summary>Zeroes the gradient buffers of <paramref name="tensors"/> (those that have one).</summary>
    public static void ZeroGrad(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors)
        {
            t.Grad?.Clear();
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        if (!ReferenceEquals(current, this))
        {
            throw new InvalidOperationException("Tape.Dispose: tapes must be disposed in the reverse order of Record (use 'using').");
        }

        disposed = true;
        current = previous;
        entries.Clear();
        foreach (var array in pooled)
        {
            System.Buffers.ArrayPool<float>.Shared.Return(array);
        }

        pooled.Clear();
    }

    private static bool AnyGrad(Tensor[] outputs)
    {
        foreach (var y in outputs)
        {
            if (y.Grad is not null)
            {
                return true;
            }
        }

        return false;
    }

    private static void CheckFinite(Tensor t, string op, string? layer, string pass, string what)
    {
        int i = Kernels.Reductions.IndexOfNonFinite(t.Span);
        if (i >= 0)
        {
            string where = layer is null ? $"op '{op}'" : $"op '{op}' in layer '{layer}'";
            throw new AnomalyException(
                $"{where}: {pass} pass produced {t.Span[i]} in its {what} {Tensor.FormatShape(t.Shape)} at flat index {i}.",
                op,
                layer,
                pass == "forward");
        }
    }

    private readonly record struct Entry(string Op, string? Layer, Tensor[] Outputs, Tensor[] Inputs, Action Backward);

    /// <summary>Ends a <see cref="NoGrad"/> scope.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => noGradDepth--;
    }

    /// <summary>Ends an <see cref="InLayer"/> scope.</summary>
    public readonly struct LayerScope : IDisposable
    {
        public void Dispose() => layerStack!.RemoveAt(layerStack.Count - 1);
    }
}

/// <summary>Thrown in anomaly mode when an op's forward output or backward gradient holds NaN or Inf.</summary>
public sealed class AnomalyException : ArithmeticException
{
    public AnomalyException(string message, string op, string? layer, bool inForward)
        : base(message)
    {
        Op = op;
        Layer = layer;
        InForward = inForward;
    }

    public string Op { get; }

    public string? Layer { get; }

    /// <summary>True when the forward pass produced the value, false for the backward pass.</summary>
    public bool InForward { get; }
}
