namespace LstmSharp.Recurrent;

/// <summary>
/// How the recurrent kernels cut a batch into row chunks that each run the whole time loop on
/// one thread (<see cref="LstmKernel"/>, <see cref="GruKernel"/>, <see cref="SimpleRnnKernel"/>).
/// </summary>
/// <remarks>
/// The cut depends on the batch size only, never on the thread count: every thread count then
/// runs the same matrix products on the same rows, so results are bit-identical for any
/// <see cref="Kernels.WorkerPool.ThreadCount"/> (a product's bits may depend on its row count,
/// e.g. one row takes the GEMV path). Chunk i holds rows [<see cref="Start"/>(i), Start(i + 1)).
/// </remarks>
internal static class BatchChunks
{
    /// <summary>
    /// Fewest rows a chunk keeps. Each chunk pays the fixed costs of its per-step calls (call
    /// overhead, packing the rows of h) on its own, so fewer, larger chunks win until each
    /// thread has one (the measurement is in bench/README.md).
    /// </summary>
    internal const int DefaultMinRows = 64;

    // A test's override, for the thread that sets it only (the chunk count is taken on the
    // calling thread), so tests running in parallel never see each other's cut.
    [ThreadStatic]
    private static int t_minRows;

    /// <summary><see cref="DefaultMinRows"/>, or what the calling thread set (tests lower it to split small batches).</summary>
    internal static int MinRows
    {
        get => t_minRows > 0 ? t_minRows : DefaultMinRows;
        set => t_minRows = value;
    }

    /// <summary>Most chunks of one call.</summary>
    internal const int MaxChunks = 64;

    /// <summary>
    /// The number of chunks: a power of two (even shares for 2, 4, … threads) with at least
    /// <see cref="MinRows"/> rows each; 1 (no split) below twice that.
    /// </summary>
    public static int Count(int batch)
    {
        int chunks = 1;
        while (chunks < MaxChunks && 2 * chunks <= batch && batch / (2 * chunks) >= MinRows)
        {
            chunks *= 2;
        }

        return chunks;
    }

    /// <summary>First row of chunk <paramref name="index"/>: an even split, so no chunk is empty or longer than another by more than a row.</summary>
    public static int Start(int batch, int chunks, int index) => (int)((long)batch * index / chunks);
}
