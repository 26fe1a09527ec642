using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Architecture;

/// <summary>
/// The library writes to the console only when asked, and only through the progress writer:
/// read from the built assembly's IL, every method that touches <see cref="Console"/> belongs
/// to <c>ProgbarLogger</c> or <c>ProgressLine</c> (compiler-generated types count as the type
/// that declares them).
/// </summary>
public sealed class ConsoleUseTests
{
    private static readonly string[] Allowed = ["LstmSharp.Models.ProgbarLogger", "LstmSharp.Models.ProgressLine"];

    [Fact]
    public void OnlyTheProgressWriterTouchesTheConsole()
    {
        var users = TypesUsingConsole(typeof(Tensor).Assembly.Location);

        Assert.Contains("LstmSharp.Models.ProgbarLogger", users); // the reader sees a use where there is one
        var others = users.Except(Allowed).ToArray();
        Assert.True(others.Length == 0, "Console used outside the progress writer by: " + string.Join(", ", others));
    }

    private static SortedSet<string> TypesUsingConsole(string assemblyPath)
    {
        var operands = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(o => o.Value, o => o.OperandType);
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var users = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var handle in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(handle);
            foreach (var m in type.GetMethods())
            {
                var method = md.GetMethodDefinition(m);
                if (method.RelativeVirtualAddress != 0 && UsesConsole(md, pe.GetMethodBody(method.RelativeVirtualAddress).GetILReader(), operands))
                {
                    users.Add(Outermost(md, handle));
                }
            }
        }

        return users;
    }

    private static bool UsesConsole(MetadataReader md, BlobReader il, Dictionary<short, OperandType> operands)
    {
        while (il.RemainingBytes > 0)
        {
            short code = il.ReadByte();
            if (code == 0xFE)
            {
                code = unchecked((short)(0xFE00 | il.ReadByte()));
            }

            switch (operands[code])
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
                    int targets = il.ReadInt32(); // read first: `Offset += 4 * ReadInt32()` would add to the offset before the read
                    il.Offset += 4 * targets;
                    break;
                case OperandType.InlineMethod:
                case OperandType.InlineField:
                    var token = MetadataTokens.EntityHandle(il.ReadInt32());
                    if (token.Kind == HandleKind.MemberReference && IsConsole(md, md.GetMemberReference((MemberReferenceHandle)token).Parent))
                    {
                        return true;
                    }

                    break;
                default:
                    il.Offset += 4;
                    break;
            }
        }

        return false;
    }

    private static bool IsConsole(MetadataReader md, EntityHandle parent) =>
        parent.Kind == HandleKind.TypeReference
        && md.GetTypeReference((TypeReferenceHandle)parent) is var t
        && md.GetString(t.Namespace) == "System" && md.GetString(t.Name) == "Console";

    private static string Outermost(MetadataReader md, TypeDefinitionHandle handle)
    {
        var type = md.GetTypeDefinition(handle);
        while (type.GetDeclaringType() is { IsNil: false } outer)
        {
            type = md.GetTypeDefinition(outer);
        }

        return $"{md.GetString(type.Namespace)}.{md.GetString(type.Name)}";
    }
}
