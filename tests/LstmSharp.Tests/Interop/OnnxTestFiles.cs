namespace LstmSharp.Tests.Interop;

/// <summary>Finds ONNX's conformance cases (shared/onnx/node beside the repository, as TestData finds the data sets) and the committed fixtures.</summary>
internal static class OnnxTestFiles
{
    private static readonly Lazy<string?> NodeRoot = new(FindNodeRoot);

    /// <summary>The folder of ONNX's recurrent-operator conformance cases; null when absent (FAILS when CI=true).</summary>
    /// <summary>The conformance cases' folder; the test reports itself skipped without it (and fails under CI=true).</summary>
    public static string RequireConformanceRoot()
    {
        string? root = ConformanceRoot;
        Skip.If(root is null, "shared/onnx/node (ONNX's conformance cases) is not beside the repository");
        return root!;
    }

    public static string? ConformanceRoot
    {
        get
        {
            if (NodeRoot.Value is null && Environment.GetEnvironmentVariable("CI") == "true")
            {
                throw new InvalidOperationException("CI=true but shared/onnx/node (ONNX's conformance cases) was not found beside the repository.");
            }

            return NodeRoot.Value;
        }
    }

    /// <summary>tests/LstmSharp.Tests/Fixtures/onnx, copied next to the test assembly.</summary>
    public static string FixturesRoot => Path.Combine(AppContext.BaseDirectory, "Fixtures", "onnx");

    private static string? FindNodeRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LstmSharp.sln")))
        {
            dir = dir.Parent;
        }

        for (var d = dir?.Parent; d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "shared", "onnx", "node");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
