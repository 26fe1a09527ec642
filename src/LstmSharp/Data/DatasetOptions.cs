namespace LstmSharp.Data;

/// <summary>Where to find a data set, whether to fetch it, and whom to tell about progress.</summary>
public sealed class DatasetOptions
{
    /// <summary>The data root or the data set's own folder; null: see <see cref="DataLocation.ResolveRoot"/>.</summary>
    public string? Path { get; init; }

    /// <summary>Download missing files from the official mirrors (default true).</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>Fetches a URL; null uses <see cref="HttpDownloader"/>. Tests inject one that fails.</summary>
    public IFileDownloader? Downloader { get; init; }

    /// <summary>Bytes received while downloading (for a progress bar).</summary>
    public IProgress<DownloadProgress>? DownloadProgress { get; init; }

    /// <summary>Progress of slow loading stages (IMDB tokenization).</summary>
    public IProgress<LoadProgress>? LoadProgress { get; init; }

    /// <summary>
    /// Folder for derived files (the IMDB token cache). Null: <see cref="DataLocation.CacheRoot"/>
    /// (<c>$LSTMSHARP_CACHE</c>, else <c>~/.lstmsharp/cache</c>); never the data set's folder.
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Read and write the derived-file cache (default true).</summary>
    public bool UseCache { get; init; } = true;
}
