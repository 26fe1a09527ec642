namespace LstmSharp.Data;

/// <summary>Downloads over HTTP(S) with <see cref="HttpClient"/>, reporting bytes as they arrive.</summary>
public sealed class HttpDownloader : IFileDownloader, IDisposable
{
    private const int ReportEveryBytes = 1 << 20;
    private readonly HttpClient client;

    /// <param name="handler">The message handler (tests pass one that fails); null uses the default.</param>
    /// <param name="timeout">Time allowed for one whole file (default 30 minutes).</param>
    public HttpDownloader(HttpMessageHandler? handler = null, TimeSpan? timeout = null)
    {
        client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        client.Timeout = timeout ?? TimeSpan.FromMinutes(30);
        client.DefaultRequestHeaders.UserAgent.ParseAdd("LstmSharp/0.1");
    }

    public void Download(Uri source, Stream destination, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        string name = Path.GetFileName(source.LocalPath);
        using var request = new HttpRequestMessage(HttpMethod.Get, source);
        using var response = client.Send(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET {source} answered {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
        }

        long? total = response.Content.Headers.ContentLength;
        using var body = response.Content.ReadAsStream(cancellationToken);
        var buffer = new byte[81920];
        long done = 0, lastReport = 0;
        progress?.Report(new DownloadProgress(name, 0, total));
        int n;
        while ((n = body.Read(buffer, 0, buffer.Length)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            destination.Write(buffer, 0, n);
            done += n;
            if (done - lastReport >= ReportEveryBytes)
            {
                lastReport = done;
                progress?.Report(new DownloadProgress(name, done, total));
            }
        }

        if (total is long expected && done != expected)
        {
            throw new IOException($"GET {source}: connection closed after {done} of {expected} bytes.");
        }

        progress?.Report(new DownloadProgress(name, done, total));
    }

    public void Dispose() => client.Dispose();
}
