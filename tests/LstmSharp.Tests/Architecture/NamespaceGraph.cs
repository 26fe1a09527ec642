using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace LstmSharp.Tests.Architecture;

/// <summary>
/// Which namespace of an assembly uses which, read from its metadata and IL: base types,
/// interfaces, field/method/property signatures, locals, attributes, generic constraints and
/// every type, method or field token in a method body. A nested (also compiler-generated:
/// lambdas, iterators, async state machines) type counts as its outermost declaring type.
/// Only namespaces under <c>rootNamespace</c> are kept.
/// </summary>
internal sealed class NamespaceGraph
{
    /// <summary>namespace → namespace it uses → one example "Type → Type (how)".</summary>
    public Dictionary<string, Dictionary<string, string>> Edges { get; } = new(StringComparer.Ordinal);

    public SortedSet<string> Namespaces { get; } = new(StringComparer.Ordinal);

    public static NamespaceGraph Read(string assemblyPath, string rootNamespace)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var graph = new NamespaceGraph();
        var reader = new Reader(md, pe, rootNamespace, graph);
        foreach (var handle in md.TypeDefinitions)
        {
            reader.ReadType(handle);
        }

        return graph;
    }

    /// <summary>Every cycle's strongly connected component (Tarjan), each as a sorted list of namespaces.</summary>
    public List<List<string>> StronglyConnectedCycles()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var result = new List<List<string>>();
        int next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in Targets(v))
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);

                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    result.Add(component);
                }
            }
        }

        foreach (var ns in Namespaces)
        {
            if (!index.ContainsKey(ns))
            {
                Visit(ns);
            }
        }

        return result;
    }

    /// <summary>
    /// A readable account of one cycle inside <paramref name="component"/>: the shortest way
    /// from its first namespace back to itself, each step with the example use that makes it.
    /// </summary>
    public string DescribeCycle(IReadOnlyList<string> component)
    {
        var members = component.ToHashSet(StringComparer.Ordinal);
        var start = component[0];
        var previous = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        queue.Enqueue(start);
        string? last = null;
        while (queue.Count > 0 && last is null)
        {
            var v = queue.Dequeue();
            foreach (var w in Targets(v).Where(members.Contains))
            {
                if (w == start)
                {
                    last = v;
                    break;
                }

                if (previous.TryAdd(w, v))
                {
                    queue.Enqueue(w);
                }
            }
        }

        var path = new List<string> { start };
        for (var v = last!; v != start; v = previous[v])
        {
            path.Insert(1, v);
        }

        path.Add(start);
        var lines = new List<string> { string.Join(" -> ", path) };
        for (int i = 0; i + 1 < path.Count; i++)
        {
            lines.Add($"    {path[i]} -> {path[i + 1]}: {Edges[path[i]][path[i + 1]]}");
        }

        lines.Add("  every use between these namespaces:");
        foreach (var from in component)
        {
            foreach (var to in Targets(from).Where(members.Contains))
            {
                lines.Add($"    {from} -> {to}: {Edges[from][to]}");
            }
        }

        return string.Join(Environment.NewLine, lines);
    }

    public IEnumerable<string> Targets(string ns) =>
        Edges.TryGetValue(ns, out var targets) ? targets.Keys.Order(StringComparer.Ordinal) : [];

    private void Add(string from, string to, string example)
    {
        if (from == to)
        {
            return;
        }

        if (!Edges.TryGetValue(from, out var targets))
        {
            Edges[from] = targets = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        targets.TryAdd(to, example);
    }

    private sealed class Reader : ISignatureTypeProvider<ImmutableArray<TypeDefinitionHandle>, object?>
    {
        private static readonly Dictionary<short, OperandType> Operands = typeof(OpCodes)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(o => o.Value, o => o.OperandType);

        private readonly MetadataReader md;
        private readonly PEReader pe;
        private readonly string root;
        private readonly NamespaceGraph graph;

        public Reader(MetadataReader md, PEReader pe, string root, NamespaceGraph graph)
        {
            this.md = md;
            this.pe = pe;
            this.root = root;
            this.graph = graph;
        }

        public void ReadType(TypeDefinitionHandle handle)
        {
            var from = Namespace(handle);
            if (from is null)
            {
                return;
            }

            graph.Namespaces.Add(from);
            var type = md.GetTypeDefinition(handle);
            var who = Name(handle);
            Use(from, who, Types(type.BaseType), "base type");
            foreach (var i in type.GetInterfaceImplementations())
            {
                Use(from, who, Types(md.GetInterfaceImplementation(i).Interface), "interface");
            }

            Attributes(from, who, type.GetCustomAttributes());
            Constraints(from, who, type.GetGenericParameters());
            foreach (var f in type.GetFields())
            {
                var field = md.GetFieldDefinition(f);
                var where = $"{who}.{md.GetString(field.Name)}";
                Use(from, where, field.DecodeSignature(this, null), "field type");
                Attributes(from, where, field.GetCustomAttributes());
            }

            foreach (var p in type.GetProperties())
            {
                var property = md.GetPropertyDefinition(p);
                var where = $"{who}.{md.GetString(property.Name)}";
                var sig = property.DecodeSignature(this, null);
                Use(from, where, sig.ReturnType, "property type");
                Attributes(from, where, property.GetCustomAttributes());
            }

            foreach (var m in type.GetMethods())
            {
                ReadMethod(from, who, m);
            }
        }

        private void ReadMethod(string from, string who, MethodDefinitionHandle handle)
        {
            var method = md.GetMethodDefinition(handle);
            var where = $"{who}.{md.GetString(method.Name)}";
            var sig = method.DecodeSignature(this, null);
            Use(from, where, sig.ReturnType, "return type");
            foreach (var p in sig.ParameterTypes)
            {
                Use(from, where, p, "parameter");
            }

            Attributes(from, where, method.GetCustomAttributes());
            Constraints(from, where, method.GetGenericParameters());
            if (method.RelativeVirtualAddress == 0)
            {
                return;
            }

            var body = pe.GetMethodBody(method.RelativeVirtualAddress);
            if (!body.LocalSignature.IsNil)
            {
                var locals = md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(this, null);
                foreach (var l in locals)
                {
                    Use(from, where, l, "local");
                }
            }

            var il = body.GetILReader();
            while (il.RemainingBytes > 0)
            {
                short code = il.ReadByte();
                if (code == 0xFE)
                {
                    code = unchecked((short)(0xFE00 | il.ReadByte()));
                }

                if (!Operands.TryGetValue(code, out var operand))
                {
                    throw new InvalidOperationException($"{where}: unknown IL opcode 0x{code:X} at offset {il.Offset - 1}.");
                }

                switch (operand)
                {
                    case OperandType.InlineNone:
                        break;
                    case OperandType.ShortInlineBrTarget:
                    case OperandType.ShortInlineI:
                    case OperandType.ShortInlineVar:
                        il.Offset += 1;
                        break;
                    case OperandType.InlineVar:
                        il.Offset += 2;
                        break;
                    case OperandType.InlineI8:
                    case OperandType.InlineR:
                        il.Offset += 8;
                        break;
                    case OperandType.InlineSwitch:
                        int targets = il.ReadInt32();
                        il.Offset += 4 * targets;
                        break;
                    case OperandType.InlineMethod:
                    case OperandType.InlineField:
                    case OperandType.InlineType:
                    case OperandType.InlineTok:
                        Use(from, where, Types(MetadataTokens.EntityHandle(il.ReadInt32())), "body");
                        break;
                    default:
                        il.Offset += 4;
                        break;
                }
            }
        }

        private void Attributes(string from, string where, CustomAttributeHandleCollection attributes)
        {
            foreach (var a in attributes)
            {
                Use(from, where, Types(md.GetCustomAttribute(a).Constructor), "attribute");
            }
        }

        private void Constraints(string from, string where, GenericParameterHandleCollection parameters)
        {
            foreach (var p in parameters)
            {
                foreach (var c in md.GetGenericParameter(p).GetConstraints())
                {
                    Use(from, where, Types(md.GetGenericParameterConstraint(c).Type), "generic constraint");
                }
            }
        }

        private void Use(string from, string where, ImmutableArray<TypeDefinitionHandle> types, string how)
        {
            foreach (var t in types)
            {
                if (Namespace(t) is { } to)
                {
                    graph.Add(from, to, $"{where} uses {Name(t)} ({how})");
                }
            }
        }

        /// <summary>The types of this assembly that a type, member or token refers to.</summary>
        private ImmutableArray<TypeDefinitionHandle> Types(EntityHandle handle)
        {
            if (handle.IsNil)
            {
                return [];
            }

            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                    return [(TypeDefinitionHandle)handle];
                case HandleKind.TypeSpecification:
                    return md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, null);
                case HandleKind.MethodDefinition:
                    return [md.GetMethodDefinition((MethodDefinitionHandle)handle).GetDeclaringType()];
                case HandleKind.FieldDefinition:
                    return [md.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType()];
                case HandleKind.MemberReference:
                {
                    var member = md.GetMemberReference((MemberReferenceHandle)handle);
                    var parent = Types(member.Parent);
                    if (member.GetKind() == MemberReferenceKind.Field)
                    {
                        return parent.AddRange(member.DecodeFieldSignature(this, null));
                    }

                    var sig = member.DecodeMethodSignature(this, null);
                    return parent.AddRange(sig.ReturnType).AddRange(sig.ParameterTypes.SelectMany(p => p));
                }

                case HandleKind.MethodSpecification:
                {
                    var spec = md.GetMethodSpecification((MethodSpecificationHandle)handle);
                    return Types(spec.Method).AddRange(spec.DecodeSignature(this, null).SelectMany(p => p));
                }

                default:
                    return [];
            }
        }

        private string? Namespace(TypeDefinitionHandle handle)
        {
            var type = md.GetTypeDefinition(handle);
            while (type.GetDeclaringType() is { IsNil: false } outer)
            {
                type = md.GetTypeDefinition(outer);
            }

            var ns = md.GetString(type.Namespace);
            return ns == root || ns.StartsWith(root + ".", StringComparison.Ordinal) ? ns : null;
        }

        private string Name(TypeDefinitionHandle handle)
        {
            var type = md.GetTypeDefinition(handle);
            var name = md.GetString(type.Name);
            var outer = type.GetDeclaringType();
            return outer.IsNil ? name : $"{Name(outer)}+{name}";
        }

        // ISignatureTypeProvider: a signature's value is the set of this assembly's types it names.
        public ImmutableArray<TypeDefinitionHandle> GetPrimitiveType(PrimitiveTypeCode typeCode) => [];

        public ImmutableArray<TypeDefinitionHandle> GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => [handle];

        public ImmutableArray<TypeDefinitionHandle> GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => [];

        public ImmutableArray<TypeDefinitionHandle> GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);

        public ImmutableArray<TypeDefinitionHandle> GetSZArrayType(ImmutableArray<TypeDefinitionHandle> elementType) => elementType;

        public ImmutableArray<TypeDefinitionHandle> GetArrayType(ImmutableArray<TypeDefinitionHandle> elementType, ArrayShape shape) => elementType;

        public ImmutableArray<TypeDefinitionHandle> GetByReferenceType(ImmutableArray<TypeDefinitionHandle> elementType) => elementType;

        public ImmutableArray<TypeDefinitionHandle> GetPointerType(ImmutableArray<TypeDefinitionHandle> elementType) => elementType;

        public ImmutableArray<TypeDefinitionHandle> GetPinnedType(ImmutableArray<TypeDefinitionHandle> elementType) => elementType;

        public ImmutableArray<TypeDefinitionHandle> GetModifiedType(ImmutableArray<TypeDefinitionHandle> modifier, ImmutableArray<TypeDefinitionHandle> unmodifiedType, bool isRequired) => unmodifiedType;

        public ImmutableArray<TypeDefinitionHandle> GetGenericInstantiation(ImmutableArray<TypeDefinitionHandle> genericType, ImmutableArray<ImmutableArray<TypeDefinitionHandle>> typeArguments) =>
            genericType.AddRange(typeArguments.SelectMany(a => a));

        public ImmutableArray<TypeDefinitionHandle> GetGenericMethodParameter(object? genericContext, int index) => [];

        public ImmutableArray<TypeDefinitionHandle> GetGenericTypeParameter(object? genericContext, int index) => [];

        public ImmutableArray<TypeDefinitionHandle> GetFunctionPointerType(MethodSignature<ImmutableArray<TypeDefinitionHandle>> signature) =>
            signature.ReturnType.AddRange(signature.ParameterTypes.SelectMany(p => p));
    }
}
