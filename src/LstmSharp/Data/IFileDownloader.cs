namespace LstmSharp.Data;

/// <summary>Copies the bytes at a URL into a stream. Throws on any failure.</summary>
public interface IFileDownloader
{
    void Download(Uri source, Stream destination, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken = default);
}
