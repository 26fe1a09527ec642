namespace LstmSharp.Data;

/// <summary>
/// Where the data sets live. The root is, in order: an explicit path, the environment variable
/// <c>LSTMSHARP_DATA</c>, or the per-user cache <c>~/.lstmsharp/datasets</c>. Each data set has
/// its own sub-folder (<c>mnist</c>, <c>imdb</c>) under the root; an explicit path may also name
/// that sub-folder itself.
/// </summary>
public static class DataLocation
{
    /// <summary>The environment variable that overrides the default data root.</summary>
    public const string EnvironmentVariable = "LSTMSHARP_DATA";

    /// <summary><c>~/.lstmsharp/datasets</c> of the current user.</summary>
    public static string DefaultRoot =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".lstmsharp", "datasets");

    /// <summary>The environment variable that overrides the default cache folder.</summary>
    public const string CacheEnvironmentVariable = "LSTMSHARP_CACHE";

    /// <summary>
    /// The folder for derived files such as the IMDB token cache: <c>LSTMSHARP_CACHE</c>, else
    /// <c>~/.lstmsharp/cache</c>. Never a data folder, which may be read-only or shared.
    /// </summary>
    public static string CacheRoot
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable(CacheEnvironmentVariable);
            return string.IsNullOrWhiteSpace(env)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".lstmsharp", "cache")
                : Path.GetFullPath(env);
        }
    }

    /// <summary>The data root: <paramref name="path"/>, else <c>LSTMSHARP_DATA</c>, else <see cref="DefaultRoot"/>.</summary>
    public static string ResolveRoot(string? path = null)
    {
        if (!string.IsNullOrWhiteSpace(path))
        {
            return Path.GetFullPath(path);
        }

        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(env) ? DefaultRoot : Path.GetFullPath(env);
    }

    /// <summary>
    /// The folder of one data set: the root itself when it already holds one of
    /// <paramref name="markers"/> or is named <paramref name="dataset"/>, else <c>root/dataset</c>.
    /// </summary>
    internal static string ResolveDatasetFolder(string? path, string dataset, IEnumerable<string> markers)
    {
        string root = ResolveRoot(path);
        if (string.Equals(Path.GetFileName(Path.TrimEndingDirectorySeparator(root)), dataset, StringComparison.OrdinalIgnoreCase))
        {
            return root;
        }

        foreach (string marker in markers)
        {
            if (File.Exists(Path.Combine(root, marker)) || Directory.Exists(Path.Combine(root, marker)))
            {
                return root;
            }
        }

        return Path.Combine(root, dataset);
    }
}
