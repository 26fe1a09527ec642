namespace LstmSharp.Autograd;

/// <summary>
/// Storage for the large intermediates of one training step (today: the embedding lookup and
/// its rows), handed back to the next step of the same model instead of to the garbage
/// collector. A model's training step, and each batch of its Predict and Evaluate, enters its
/// arena (<see cref="Enter"/>); the step's ops
/// rent from it (<see cref="Floats"/>, <see cref="Ints"/>); when the step's scope ends every
/// rented array becomes free for the next step.
/// </summary>
/// <remarks>
/// Only storage whose tensors cannot outlive the step may be rented: intermediates of the
/// model's forward pass, which nothing outside the step sees (a training step returns a
/// number; Predict copies each batch's outputs into its results). Outside a step (Call, a
/// layer's Apply, a user's own tape) there is no arena and every call allocates, so a tensor
/// handed to the user is never overwritten by a later call.
/// A step with the same shapes as the last one allocates nothing here; at most 8 free arrays
/// of each type are kept, so changing shapes (a smaller last batch) cannot grow it without bound.
/// </remarks>
internal sealed class StepArena
{
    private const int MaxFree = 8;

    [ThreadStatic]
    private static StepArena? current;

    private readonly List<float[]> freeFloats = [];
    private readonly List<float[]> usedFloats = [];
    private readonly List<int[]> freeInts = [];
    private readonly List<int[]> usedInts = [];

    /// <summary>Makes <paramref name="arena"/> the current thread's arena until the scope is disposed, which ends the step.</summary>
    public static Scope Enter(StepArena arena)
    {
        ArgumentNullException.ThrowIfNull(arena);
        var scope = new Scope(arena, current, arena.usedFloats.Count, arena.usedInts.Count);
        current = arena;
        return scope;
    }

    /// <summary>
    /// An array of exactly <paramref name="length"/> floats the caller overwrites whole: from the
    /// current step's arena (old contents) when one is active, else a new one.
    /// </summary>
    public static float[] Floats(int length) => current is { } a ? Rent(a.freeFloats, a.usedFloats, length) : GC.AllocateUninitializedArray<float>(length);

    /// <summary>As <see cref="Floats"/>, for ints.</summary>
    public static int[] Ints(int length) => current is { } a ? Rent(a.freeInts, a.usedInts, length) : GC.AllocateUninitializedArray<int>(length);

    /// <summary>Arrays rented in the current step (tests).</summary>
    internal int RentedCount => usedFloats.Count + usedInts.Count;

    private static T[] Rent<T>(List<T[]> free, List<T[]> used, int length)
    {
        T[]? array = null;
        for (int i = free.Count - 1; i >= 0; i--)
        {
            if (free[i].Length == length)
            {
                array = free[i];
                free.RemoveAt(i);
                break;
            }
        }

        array ??= GC.AllocateUninitializedArray<T>(length);
        used.Add(array);
        return array;
    }

    /// <summary>Frees what was rented after the first <paramref name="mark"/> arrays (an enclosing step keeps its own).</summary>
    private static void Release<T>(List<T[]> free, List<T[]> used, int mark)
    {
        for (int i = mark; i < used.Count; i++)
        {
            free.Add(used[i]);
        }

        used.RemoveRange(mark, used.Count - mark);
        if (free.Count > MaxFree)
        {
            free.RemoveRange(0, free.Count - MaxFree);
        }
    }

    /// <summary>
    /// Ends the step: restores the previous arena and frees what the step rented. Steps nest
    /// (Predict called inside another step of the same model frees only its own arrays).
    /// </summary>
    public readonly struct Scope(StepArena arena, StepArena? previous, int floatsMark, int intsMark) : IDisposable
    {
        public void Dispose()
        {
            current = previous;
            Release(arena.freeFloats, arena.usedFloats, floatsMark);
            Release(arena.freeInts, arena.usedInts, intsMark);
        }
    }
}
