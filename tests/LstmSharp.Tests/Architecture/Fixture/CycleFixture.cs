// Three tiny namespaces for NamespaceCycleTests: A and B use each other (one only inside a
// method body, the other through a field's type); C uses A and is in no cycle.
namespace LstmSharp.Tests.Architecture.Fixture.A
{
    internal sealed class Target;

    internal static class UsesB
    {
        internal static object Run() => new LstmSharp.Tests.Architecture.Fixture.B.Target();
    }
}

namespace LstmSharp.Tests.Architecture.Fixture.B
{
    internal sealed class Target;

    internal sealed class UsesA
    {
        internal LstmSharp.Tests.Architecture.Fixture.A.Target? Field = null;
    }
}

namespace LstmSharp.Tests.Architecture.Fixture.C
{
    internal static class UsesA
    {
        internal static object Run() => new LstmSharp.Tests.Architecture.Fixture.A.Target();
    }
}
