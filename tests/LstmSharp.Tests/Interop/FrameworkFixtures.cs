using LstmSharp.Data;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// The files in <c>tests/LstmSharp.Tests/Fixtures/frameworks</c>, written by
/// <c>make_fixtures.py</c> with PyTorch and h5py, found from the test binary's folder upwards
/// (works in a worktree and in CI without copying them).
/// </summary>
internal static class FrameworkFixtures
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "LstmSharp.Tests", "Fixtures", "frameworks");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"Fixtures/frameworks not found above {AppContext.BaseDirectory}.");
    });

    public static string Torch(string file) => Path.Combine(Root.Value, "torch", file);

    public static string Keras(string file) => Path.Combine(Root.Value, "keras", file);

    public static Tensor Npy(string path) => ArrayFiles.LoadNpy(path);

    /// <summary>|actual − expected| ≤ 1e-5·max(1, |expected|) everywhere (the "1e-5 relative").</summary>
    public static void AssertClose(string label, Tensor expected, Tensor actual)
    {
        Assert.Equal(Tensor.FormatShape(expected.Shape), Tensor.FormatShape(actual.Shape));
        var e = expected.Span;
        var a = actual.Span;
        double worst = 0;
        int at = -1;
        for (int i = 0; i < e.Length; i++)
        {
            double d = Math.Abs(a[i] - e[i]) / Math.Max(1.0, Math.Abs(e[i]));
            if (!(d <= worst))
            {
                worst = d;
                at = i;
            }
        }

        Assert.True(worst <= 1e-5, $"{label}: element {at} is {(at >= 0 ? a[at] : 0)}, expected {(at >= 0 ? e[at] : 0)} (relative difference {worst:g3})");
    }

    /// <summary>The exception's message contains <paramref name="text"/> (the whole message is shown when not).</summary>
    public static void AssertMentions(Exception e, string text) =>
        Assert.True(e.Message.Contains(text, StringComparison.Ordinal), $"'{text}' not in: {e.Message}");

    public static string NewTempFolder(string tag)
    {
        string path = Path.Combine(Path.GetTempPath(), "lstmsharp-tests", $"{tag}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }
}
