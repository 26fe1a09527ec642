using System.Diagnostics;

namespace LstmSharp.Tests.Reliability;

/// <summary>
/// The rule the fuzz suite enforces on every input: the call ends in a result or in its
/// documented exception type, within <see cref="HangLimit"/>, allocating at most
/// <see cref="AllocationMultiple"/> × the input's size + <see cref="AllocationSlack"/> on the
/// calling thread. Anything else throws a <see cref="FuzzViolation"/> (CsCheck then shrinks the
/// input and prints its seed).
/// </summary>
internal static class FuzzRule
{
    /// <summary>Stated bound: bytes allocated per byte of input (JSON trees, weights, tokens).</summary>
    public const long AllocationMultiple = 64;

    /// <summary>Fixed part of the bound (model construction, buffers).</summary>
    public const long AllocationSlack = 8 << 20;

    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Long mode: <c>LSTMSHARP_FUZZ=long</c> multiplies every iteration count (default 1; any
    /// positive integer is taken as the multiplier itself).
    /// </summary>
    public static int Scale
    {
        get
        {
            string? v = Environment.GetEnvironmentVariable("LSTMSHARP_FUZZ");
            return v switch
            {
                null or "" => 1,
                "long" => 25,
                _ => int.TryParse(v, out int n) && n > 0 ? n : 1,
            };
        }
    }

    /// <summary>A seed to replay (<c>LSTMSHARP_FUZZ_SEED</c>, as printed by a failure), or null for a fresh one.</summary>
    public static string? Seed => Environment.GetEnvironmentVariable("LSTMSHARP_FUZZ_SEED") is { Length: > 0 } s ? s : null;

    [ThreadStatic]
    private static string? t_file;

    private static long tried;

    /// <summary>Inputs checked by this process so far (all targets).</summary>
    public static long Tried => Interlocked.Read(ref tried);

    /// <summary>Writes <paramref name="bytes"/> to this thread's scratch file <c>NAME</c> and checks <paramref name="call"/> on it.</summary>
    public static void HoldsForFile(string target, string fileName, byte[] bytes, Action<string> call, long sizeForBound, params Type[] documented)
    {
        t_file ??= Path.Combine(Path.GetTempPath(), "lstmsharp-fuzz", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(t_file);
        string path = Path.Combine(t_file, fileName);
        File.WriteAllBytes(path, bytes);
        Holds(target, () => call(path), Math.Max(bytes.Length, sizeForBound), documented);
    }

    /// <summary>Checks the rule for one call whose input is <paramref name="inputSize"/> bytes.</summary>
    public static void Holds(string target, Action call, long inputSize, params Type[] documented)
    {
        Interlocked.Increment(ref tried);
        Exception? error = null;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        try
        {
            call();
        }
        catch (Exception e)
        {
            error = e;
        }

        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (error is not null && !documented.Any(t => t.IsInstanceOfType(error)))
        {
            throw new FuzzViolation($"{target}: {error.GetType().FullName} escaped (documented: {string.Join(", ", documented.Select(t => t.Name))}): {error.Message}", error);
        }

        if (clock.Elapsed > HangLimit)
        {
            throw new FuzzViolation($"{target}: took {clock.Elapsed.TotalSeconds:F1} s (limit {HangLimit.TotalSeconds} s).");
        }

        long limit = (AllocationMultiple * inputSize) + AllocationSlack;
        if (allocated > limit)
        {
            throw new FuzzViolation($"{target}: allocated {allocated} bytes for a {inputSize}-byte input (limit {AllocationMultiple}x + {AllocationSlack}).");
        }
    }
}

/// <summary>A broken fuzz rule: the reader let another exception escape, hung, or allocated too much.</summary>
internal sealed class FuzzViolation : Exception
{
    public FuzzViolation(string message)
        : base(message)
    {
    }

    public FuzzViolation(string message, Exception inner)
        : base(message, inner)
    {
    }
}
