using LstmSharp.Data;

namespace LstmSharp.Tests.Data;

/// <summary>Finds the shared data sets and makes scratch folders for the data tests.</summary>
internal static class TestData
{
    private static readonly Lazy<string?> Root = new(FindRoot);

    /// <summary>
    /// The shared datasets folder (holding mnist/ and imdb/): <c>LSTMSHARP_DATA</c> when set, else
    /// <c>../shared/datasets</c> from the repository root (the folder with LstmSharp.sln), else
    /// <c>shared/datasets</c> beside any ancestor of it (a worktree sits deeper); null when absent.
    /// </summary>
    public static string? DatasetsRoot => Root.Value;

    public static string? MnistFolder => Sub("mnist");

    public static string? ImdbFolder => Sub("imdb");

    /// <summary>
    /// The shared data set <paramref name="name"/> (mnist, imdb, timeseries, text), or the test
    /// reports itself as skipped when this machine does not have it (the test needs
    /// <c>[SkippableFact]</c>); under <c>CI=true</c> a missing data set fails instead.
    /// </summary>
    public static string Require(string name)
    {
        string? folder = Sub(name);
        Skip.If(folder is null, $"the shared '{name}' data set is not on this machine (set {DataLocation.EnvironmentVariable} or put shared/datasets beside the clone)");
        return folder!;
    }

    public static string NewTempFolder(string tag)
    {
        string path = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", $"{tag}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteFolder(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string? Sub(string name)
    {
        string? root = DatasetsRoot;
        string? folder = root is not null && Directory.Exists(Path.Combine(root, name)) ? Path.Combine(root, name) : null;

        // CI always has ../shared/datasets beside the clone: there, a missing folder is a failure, not a quiet pass.
        if (folder is null && Environment.GetEnvironmentVariable("CI") == "true")
        {
            throw new InvalidOperationException($"CI=true but the shared '{name}' data set was not found (looked for shared/datasets/{name} beside the repository, or $LSTMSHARP_DATA).");
        }

        return folder;
    }

    private static string? FindRoot()
    {
        string? env = Environment.GetEnvironmentVariable(DataLocation.EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env) && Directory.Exists(env))
        {
            return Path.GetFullPath(env);
        }

        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LstmSharp.sln")))
        {
            dir = dir.Parent;
        }

        for (var d = dir?.Parent; d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "shared", "datasets");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>A downloader that fails like a machine without network.</summary>
internal sealed class OfflineDownloader : IFileDownloader
{
    public List<Uri> Requested { get; } = [];

    public void Download(Uri source, Stream destination, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken = default)
    {
        Requested.Add(source);
        throw new HttpRequestException($"Name or service not known ({source.Host}:443)");
    }
}

/// <summary>An HTTP handler that fails every request, for <see cref="HttpDownloader"/> offline.</summary>
internal sealed class FailingHandler : HttpMessageHandler
{
    public int Calls { get; private set; }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Calls++;
        throw new HttpRequestException("Network is unreachable");
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Task.FromResult(Send(request, cancellationToken));
}

/// <summary>An HTTP handler that serves files from a local folder by the URL's file name.</summary>
internal sealed class LocalFilesHandler(string folder, Func<byte[], byte[]>? tamper = null) : HttpMessageHandler
{
    public List<Uri> Requested { get; } = [];

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requested.Add(request.RequestUri!);
        string path = Path.Combine(folder, Path.GetFileName(request.RequestUri!.LocalPath));
        if (!File.Exists(path))
        {
            return new HttpResponseMessage(System.Net.HttpStatusCode.NotFound);
        }

        var bytes = File.ReadAllBytes(path);
        return new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent(tamper is null ? bytes : tamper(bytes)) };
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Task.FromResult(Send(request, cancellationToken));
}

/// <summary>Collects progress reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
internal sealed class ListProgress<T> : IProgress<T>
{
    public List<T> Items { get; } = [];

    public void Report(T value)
    {
        lock (Items)
        {
            Items.Add(value);
        }
    }
}
