using LstmSharp.Tensors;

namespace LstmSharp.Tests.Architecture;

/// <summary>
/// The library's namespaces form a layered graph (Tensors, Kernels → Autograd → Layers →
/// Recurrent → Models → Training.Callbacks, Data, Serialization, Interop at the top): no
/// namespace may use, directly or through others, one that uses it back. Read from the built
/// assembly's metadata and IL, so a call inside a method body counts as much as a signature.
/// </summary>
public sealed class NamespaceCycleTests
{
    private static readonly Lazy<NamespaceGraph> Library = new(() =>
        NamespaceGraph.Read(typeof(Tensor).Assembly.Location, "LstmSharp"));

    [Fact]
    public void LibraryHasNoNamespaceCycles()
    {
        var graph = Library.Value;
        var cycles = graph.StronglyConnectedCycles();
        Assert.True(cycles.Count == 0,
            "Namespace cycles in LstmSharp (each: a cycle, then the use that makes each step):" + Environment.NewLine +
            string.Join(Environment.NewLine, cycles.Select(c => $"  [{string.Join(", ", c)}]{Environment.NewLine}  " + graph.DescribeCycle(c))));
    }

    [Fact]
    public void ReaderSeesSignaturesAndMethodBodies()
    {
        var graph = Library.Value;
        Assert.Contains("LstmSharp.Recurrent", graph.Namespaces);

        // LSTM derives from a Layers type (a signature); Model.Fit's body calls optimizers (IL only).
        Assert.Contains("LstmSharp.Layers", graph.Targets("LstmSharp.Recurrent"));
        Assert.Contains("LstmSharp.Tensors", graph.Targets("LstmSharp.Autograd"));
        Assert.Contains("LstmSharp.Kernels", graph.Targets("LstmSharp.Recurrent"));
        Assert.DoesNotContain("LstmSharp.Recurrent", graph.Targets("LstmSharp.Tensors"));
    }

    [Fact]
    public void CycleFinderNamesTheCycleAndTheUsesThatMakeIt()
    {
        var graph = NamespaceGraph.Read(typeof(NamespaceCycleTests).Assembly.Location, "LstmSharp.Tests.Architecture.Fixture");
        var cycles = graph.StronglyConnectedCycles();

        var cycle = Assert.Single(cycles);
        Assert.Equal(["LstmSharp.Tests.Architecture.Fixture.A", "LstmSharp.Tests.Architecture.Fixture.B"], cycle);
        var text = graph.DescribeCycle(cycle);
        Assert.Contains("LstmSharp.Tests.Architecture.Fixture.A -> LstmSharp.Tests.Architecture.Fixture.B -> LstmSharp.Tests.Architecture.Fixture.A", text);
        Assert.Contains("UsesB.Run uses Target (body)", text);
        Assert.Contains("UsesA.Field uses Target (field type)", text);
        Assert.DoesNotContain("LstmSharp.Tests.Architecture.Fixture.C", string.Concat(cycles.SelectMany(c => c)));
    }
}
