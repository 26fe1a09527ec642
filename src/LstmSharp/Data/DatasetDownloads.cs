namespace LstmSharp.Data;

/// <summary>A file to fetch: its name in the data folder, its mirrors (tried in order), and its check.</summary>
/// <param name="Name">The file's name in the data folder.</param>
/// <param name="Mirrors">Full URLs of the file, tried in order.</param>
/// <param name="Verify">Throws <see cref="InvalidDataException"/> when the downloaded file is not the expected one.</param>
internal sealed record RemoteFile(string Name, IReadOnlyList<Uri> Mirrors, Action<string> Verify);

/// <summary>Downloads missing files into a data folder: temp file, check, then rename (atomic on one volume).</summary>
internal static class DatasetDownloads
{
    /// <summary>
    /// Fetches every file of <paramref name="files"/> into <paramref name="folder"/>; on failure
    /// throws <see cref="DatasetNotFoundException"/> with <paramref name="manualHint"/>, which
    /// tells the user which files to put where.
    /// </summary>
    public static void Fetch(string dataset, string folder, IReadOnlyList<RemoteFile> files, DatasetOptions options, string manualHint, IReadOnlyList<string> expectedFiles)
    {
        if (!options.AllowDownload)
        {
            throw Missing(dataset, folder, manualHint, expectedFiles, "downloading is turned off", null);
        }

        // A failed download must not leave an empty folder behind: remember what was created here.
        string? created = FirstMissingFolder(folder);
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Missing(dataset, folder, manualHint, expectedFiles, $"cannot create the folder ({e.Message})", e);
        }

        IFileDownloader downloader = options.Downloader ?? SharedHttp.Value;
        foreach (var file in files)
        {
            string target = Path.Combine(folder, file.Name);
            if (File.Exists(target))
            {
                continue;
            }

            var failures = new List<string>();
            Exception? last = null;
            bool done = false;
            foreach (var url in file.Mirrors)
            {
                string temp = Path.Combine(folder, $".{file.Name}.{Guid.NewGuid():N}.part");
                try
                {
                    using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                    {
                        downloader.Download(url, stream, options.DownloadProgress);
                    }

                    file.Verify(temp);
                    try
                    {
                        File.Move(temp, target, overwrite: false);
                    }
                    catch (IOException) when (File.Exists(target))
                    {
                        // Another process finished the same download first; its copy was checked too.
                    }

                    done = true;
                    break;
                }
                catch (Exception e)
                {
                    failures.Add($"{url}: {e.GetType().Name}: {e.Message}");
                    last = e;
                }
                finally
                {
                    TryDelete(temp);
                }
            }

            if (!done)
            {
                RemoveIfEmpty(created, folder);
                throw Missing(dataset, folder, manualHint, expectedFiles, "the download failed — " + string.Join("; ", failures), last);
            }
        }
    }

    public static DatasetNotFoundException Missing(string dataset, string folder, string manualHint, IReadOnlyList<string> expectedFiles, string reason, Exception? inner) =>
        new(
            $"{dataset}: the data set is not in '{folder}' and {reason}. {manualHint} " +
            $"Or point to another folder with the path argument or the {DataLocation.EnvironmentVariable} environment variable.",
            folder,
            expectedFiles,
            inner);

    /// <summary>The outermost folder of <paramref name="folder"/>'s path that does not exist yet, or null.</summary>
    private static string? FirstMissingFolder(string folder)
    {
        string? missing = null;
        for (string? f = Path.GetFullPath(folder); f is not null && !Directory.Exists(f); f = Path.GetDirectoryName(f))
        {
            missing = f;
        }

        return missing;
    }

    /// <summary>Deletes the folders from <paramref name="folder"/> up to <paramref name="created"/> while they are empty.</summary>
    private static void RemoveIfEmpty(string? created, string folder)
    {
        if (created is null)
        {
            return;
        }

        try
        {
            for (string? f = Path.GetFullPath(folder); f is not null && f.Length >= created.Length; f = Path.GetDirectoryName(f))
            {
                if (Directory.EnumerateFileSystemEntries(f).Any())
                {
                    return;
                }

                Directory.Delete(f);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the error the user sees is the failed download.
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static readonly Lazy<HttpDownloader> SharedHttp = new(() => new HttpDownloader());
}
