using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace LstmSharp.Data.Batches;

/// <summary>
/// Reads an epoch of an <see cref="IBatchSource"/> on a background thread, at most
/// <c>depth</c> batches ahead of the consumer: while the model trains on batch k, batch k + 1
/// is being built. At most <c>depth</c> + 2 batches are alive at once (the queue, the one
/// the reader is handing over and the one in use), whatever the size of the data. An exception in the source is rethrown to the
/// consumer at the batch where it happened; stopping early (disposing the enumerator) stops
/// the reader and waits for it.
/// </summary>
public static class BatchPrefetcher
{
    /// <summary>The batches of <paramref name="epoch"/>, prefetched <paramref name="depth"/> ahead (0: read in the caller's thread).</summary>
    public static IEnumerable<Batch> ReadEpoch(IBatchSource source, int epoch, int depth = 1)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        return depth == 0 ? source.ReadEpoch(epoch) : Prefetch(source, epoch, depth);
    }

    private static IEnumerable<Batch> Prefetch(IBatchSource source, int epoch, int depth)
    {
        using var queue = new BlockingCollection<Batch>(depth);
        using var cancel = new CancellationTokenSource();
        ExceptionDispatchInfo? failure = null;
        var reader = new Thread(() =>
        {
            try
            {
                foreach (var batch in source.ReadEpoch(epoch))
                {
                    queue.Add(batch, cancel.Token);
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // The consumer stopped early.
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                queue.CompleteAdding();
            }
        })
        {
            IsBackground = true,
            Name = "LstmSharp batch prefetch",
        };
        reader.Start();
        try
        {
            foreach (var batch in queue.GetConsumingEnumerable())
            {
                yield return batch;
            }

            reader.Join();
            failure?.Throw();
        }
        finally
        {
            cancel.Cancel();
            reader.Join();
        }
    }
}
