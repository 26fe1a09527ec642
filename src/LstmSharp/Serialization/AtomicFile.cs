using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace LstmSharp.Serialization;

/// <summary>
/// Writes a file so that a crash at any moment (an exception, SIGKILL, a power loss) leaves
/// either the previous file or the complete new one at the path, never a mix.
/// </summary>
/// <remarks>
/// The bytes go to <c>.NAME.lstmsharp-save-PID-GUID.tmp</c> in the same folder, are flushed to
/// the disk, the temporary file is renamed over the target, and the folder itself is flushed
/// (POSIX: fsync of the directory; without it a power loss can undo the rename). A process killed
/// mid-save leaves its temporary file behind; the next save to the same path removes the ones
/// whose process is gone (the PID in the name tells), and never those of a live process.
/// </remarks>
internal static partial class AtomicFile
{
    /// <summary>What every temporary file of a save to <c>NAME</c> starts with: <c>.NAME.lstmsharp-save-</c>.</summary>
    public static string TempPrefix(string path) => $".{Path.GetFileName(Path.GetFullPath(path))}.lstmsharp-save-";

    /// <summary>Writes through <paramref name="write"/> into a temporary file, then publishes it at <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string fullPath = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{path}' has no parent folder.", nameof(path));
        RemoveStaleTemps(fullPath);
        string temp = Path.Combine(folder, $"{TempPrefix(fullPath)}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(file);

                // The rename below must never publish a file whose bytes are still only in the OS cache.
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        SyncDirectory(folder);
    }

    /// <summary>Temporary files of earlier saves to <paramref name="path"/> whose process no longer runs.</summary>
    public static IReadOnlyList<string> StaleTemps(string path)
    {
        string fullPath = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(fullPath);
        if (folder is null || !Directory.Exists(folder))
        {
            return [];
        }

        string prefix = TempPrefix(fullPath);
        var stale = new List<string>();
        foreach (string file in Directory.EnumerateFiles(folder, "*.tmp"))
        {
            string name = Path.GetFileName(file);
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            string rest = name[prefix.Length..];
            int dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || !int.TryParse(rest.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            // Our own PID may be another thread saving to the same path right now.
            if (pid != Environment.ProcessId && !IsRunning(pid))
            {
                stale.Add(file);
            }
        }

        return stale;
    }

    private static void RemoveStaleTemps(string fullPath)
    {
        foreach (string file in StaleTemps(fullPath))
        {
            TryDelete(file);
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The original exception (or the save itself) matters more than a leftover temporary file.
        }
    }

    /// <summary>POSIX: flush the folder's entry table so the rename survives a power loss; a no-op on Windows.</summary>
    private static void SyncDirectory(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            int fd = Open(folder, 0 /* O_RDONLY */);
            if (fd >= 0)
            {
                _ = Fsync(fd);
                _ = Close(fd);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not a POSIX libc: the rename is as durable as the platform makes it.
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
