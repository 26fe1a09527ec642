using System.Buffers.Binary;
using System.Text;

namespace LstmSharp.Interop.Torch;

/// <summary>
/// A minimal unpickler for PyTorch state dicts (<c>data.pkl</c> in a <c>torch.save</c> zip).
/// It never imports, instantiates or calls anything the file names: a GLOBAL is accepted only if
/// it is one of the few a state dict needs (<see cref="AllowedGlobals"/>), and REDUCE "calls" one
/// of those by building a plain description (an ordered dict, a tensor reference). Every other
/// global, and the opcodes that build arbitrary objects (NEWOBJ, INST, OBJ, EXT*), are errors.
/// </summary>
/// <remarks>
/// Why not Razorvine.Pickle: its unpickler turns an unknown global into a <c>ClassDict</c> and
/// keeps its constructors in a process-wide static table, so rejecting every other global would
/// mean patching its internals; the opcodes a state dict uses are few enough to read here.
/// </remarks>
internal sealed class StatePickle
{
    /// <summary>The globals a state dict may name: the dict type, the tensor rebuilders and the storage types.</summary>
    public static readonly IReadOnlyList<string> AllowedGlobals =
    [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter",
        .. TorchDTypes.StorageNames.Select(n => "torch." + n),
    ];

    private const int MaxStack = 1_000_000;
    private const int MaxMemo = 1_000_000;
    private const int MaxDims = 16;

    private static readonly object Mark = new();

    private readonly byte[] data;
    private readonly Func<string, Exception> error;
    private readonly List<object?> stack = [];
    private readonly List<int> marks = [];
    private readonly Dictionary<long, object?> memo = [];
    private int pos;

    private StatePickle(byte[] data, Func<string, Exception> error)
    {
        this.data = data;
        this.error = error;
    }

    /// <summary>Reads one pickled object (up to STOP).</summary>
    public static object? Load(byte[] data, Func<string, Exception> error) => new StatePickle(data, error).Run();

    private object? Run()
    {
        while (true)
        {
            int at = pos;
            byte op = U8();
            switch (op)
            {
                case 0x80: // PROTO
                    int proto = U8();
                    if (proto > 5)
                    {
                        throw error($"pickle protocol {proto} is not supported (at most 5)");
                    }

                    break;
                case 0x95: // FRAME: a length hint only
                    Take(8);
                    break;
                case (byte)'.': // STOP
                    if (stack.Count != 1 || marks.Count != 0)
                    {
                        throw error($"pickle ends (STOP at byte {at}) with {stack.Count} values on the stack, expected 1");
                    }

                    return stack[0];
                case (byte)'(':
                    marks.Add(stack.Count);
                    Push(Mark);
                    break;
                case (byte)'}':
                    Push(new PickleDict());
                    break;
                case (byte)']':
                    Push(new List<object?>());
                    break;
                case (byte)')':
                    Push(Array.Empty<object?>());
                    break;
                case (byte)'t': // TUPLE
                    Push(PopToMark().ToArray());
                    break;
                case 0x85:
                    Push(new[] { Pop() });
                    break;
                case 0x86:
                    {
                        var b = Pop();
                        var a = Pop();
                        Push(new[] { a, b });
                        break;
                    }

                case 0x87:
                    {
                        var c = Pop();
                        var b = Pop();
                        var a = Pop();
                        Push(new[] { a, b, c });
                        break;
                    }

                case (byte)'q': // BINPUT
                    Memoize(U8());
                    break;
                case (byte)'r': // LONG_BINPUT
                    Memoize(U32());
                    break;
                case 0x94: // MEMOIZE
                    Memoize(memo.Count);
                    break;
                case (byte)'h': // BINGET
                    Push(Recall(U8(), at));
                    break;
                case (byte)'j': // LONG_BINGET
                    Push(Recall(U32(), at));
                    break;
                case (byte)'c': // GLOBAL "module\nname\n"
                    {
                        string module = Line();
                        string name = Line();
                        Push(Global(module, name));
                        break;
                    }

                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop() as string;
                        var module = Pop() as string;
                        if (name is null || module is null)
                        {
                            throw error($"STACK_GLOBAL at byte {at} expects two strings");
                        }

                        Push(Global(module, name));
                        break;
                    }

                case (byte)'R': // REDUCE
                    {
                        var args = Pop() as object?[] ?? throw error($"REDUCE at byte {at}: the arguments are not a tuple");
                        var callable = Pop() as PickleGlobal ?? throw error($"REDUCE at byte {at}: the callable is not an allowed global");
                        Push(Reduce(callable, args, at));
                        break;
                    }

                case (byte)'b': // BUILD: a state dict carries its _metadata this way; nothing is set
                    {
                        Pop();
                        if (Peek() is not (PickleDict or TensorRef))
                        {
                            throw error($"BUILD at byte {at} on a {Describe(Peek())}; only the state dict itself or a tensor may be built");
                        }

                        break;
                    }

                case (byte)'Q': // BINPERSID
                    Push(Persistent(Pop(), at));
                    break;
                case (byte)'J':
                    Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
                    break;
                case (byte)'K':
                    Push((long)U8());
                    break;
                case (byte)'M':
                    Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2)));
                    break;
                case 0x8a: // LONG1
                    {
                        int n = U8();
                        if (n > 8)
                        {
                            throw error($"LONG1 at byte {at}: a {n}-byte integer does not fit in 64 bits");
                        }

                        var bytes = Take(n);
                        long v = 0;
                        for (int i = n - 1; i >= 0; i--)
                        {
                            v = (v << 8) | bytes[i];
                        }

                        if (n is > 0 and < 8 && (bytes[n - 1] & 0x80) != 0)
                        {
                            v -= 1L << (8 * n);
                        }

                        Push(v);
                        break;
                    }

                case (byte)'N':
                    Push(null);
                    break;
                case 0x88:
                    Push(true);
                    break;
                case 0x89:
                    Push(false);
                    break;
                case (byte)'X': // BINUNICODE
                    Push(Utf8(U32(), at));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(Utf8(U8(), at));
                    break;
                case 0x8d: // BINUNICODE8
                    {
                        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
                        Push(Utf8(n > int.MaxValue ? long.MaxValue : (long)n, at));
                        break;
                    }

                case (byte)'G': // BINFLOAT (big-endian)
                    Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8)));
                    break;
                case (byte)'s': // SETITEM
                    {
                        var value = Pop();
                        var key = Pop();
                        (Peek() as PickleDict ?? throw error($"SETITEM at byte {at} on a {Describe(Peek())}")).Add(key, value);
                        break;
                    }

                case (byte)'u': // SETITEMS
                    {
                        var items = PopToMark();
                        var dict = Peek() as PickleDict ?? throw error($"SETITEMS at byte {at} on a {Describe(Peek())}");
                        if (items.Count % 2 != 0)
                        {
                            throw error($"SETITEMS at byte {at}: odd number of values ({items.Count})");
                        }

                        for (int i = 0; i < items.Count; i += 2)
                        {
                            dict.Add(items[i], items[i + 1]);
                        }

                        break;
                    }

                case (byte)'a': // APPEND
                    {
                        var value = Pop();
                        (Peek() as List<object?> ?? throw error($"APPEND at byte {at} on a {Describe(Peek())}")).Add(value);
                        break;
                    }

                case (byte)'e': // APPENDS
                    {
                        var items = PopToMark();
                        (Peek() as List<object?> ?? throw error($"APPENDS at byte {at} on a {Describe(Peek())}")).AddRange(items);
                        break;
                    }

                default:
                    throw error($"pickle opcode 0x{op:x2} ('{(op is >= 32 and < 127 ? (char)op : '?')}') at byte {at} is not supported in a state dict");
            }
        }
    }

    private object Global(string module, string name)
    {
        string full = module + "." + name;
        if (!AllowedGlobals.Contains(full, StringComparer.Ordinal))
        {
            string shown = full.Length > 120 ? full[..120] + "..." : full;
            throw error($"pickle global '{shown}' is not allowed; a state_dict needs only {string.Join(", ", AllowedGlobals.Take(4))} and torch.*Storage");
        }

        return new PickleGlobal(full);
    }

    private object Reduce(PickleGlobal callable, object?[] args, int at)
    {
        switch (callable.FullName)
        {
            case "collections.OrderedDict":
                if (args.Length != 0)
                {
                    throw error($"REDUCE at byte {at}: OrderedDict with {args.Length} arguments, expected none");
                }

                return new PickleDict();
            case "torch._utils._rebuild_tensor_v2" or "torch._utils._rebuild_tensor":
                if (args.Length < 4 || args[0] is not StorageRef storage)
                {
                    throw error($"REDUCE at byte {at}: {callable.FullName} expects (storage, offset, size, stride, ...)");
                }

                return new TensorRef(storage, Int(args[1], "storage offset", at), Ints(args[2], "size", at), Ints(args[3], "stride", at));
            case "torch._utils._rebuild_parameter":
                return args.Length >= 1 && args[0] is TensorRef t ? t : throw error($"REDUCE at byte {at}: _rebuild_parameter expects a tensor");
            default:
                throw error($"REDUCE at byte {at}: '{callable.FullName}' cannot be called");
        }
    }

    private StorageRef Persistent(object? pid, int at)
    {
        // ('storage', torch.FloatStorage, key, location, numel)
        if (pid is not object?[] { Length: 5 } t || t[0] as string != "storage" || t[1] is not PickleGlobal type || t[2] is not string key || t[3] is not string location)
        {
            throw error($"persistent id at byte {at} is not ('storage', torch.*Storage, key, location, numel)");
        }

        string storageName = type.FullName["torch.".Length..];
        var dtype = TorchDTypes.FromStorage(storageName) ?? throw error($"persistent id at byte {at}: '{type.FullName}' is not a storage type");
        return new StorageRef(dtype, key, location, Int(t[4], "storage size", at));
    }

    private long Int(object? v, string what, int at) =>
        v is long l ? l : throw error($"tensor at byte {at}: {what} is a {Describe(v)}, expected an integer");

    private long[] Ints(object? v, string what, int at)
    {
        if (v is not object?[] t)
        {
            throw error($"tensor at byte {at}: {what} is a {Describe(v)}, expected a tuple of integers");
        }

        if (t.Length > MaxDims)
        {
            throw error($"tensor at byte {at}: {what} has {t.Length} dimensions (at most {MaxDims})");
        }

        return t.Select(x => Int(x, what, at)).ToArray();
    }

    private static string Describe(object? v) => v switch
    {
        null => "None",
        long => "integer",
        string => "string",
        object?[] => "tuple",
        List<object?> => "list",
        PickleDict => "dict",
        PickleGlobal g => $"global {g.FullName}",
        TensorRef => "tensor",
        StorageRef => "storage",
        _ when ReferenceEquals(v, Mark) => "MARK",
        _ => v.GetType().Name,
    };

    private void Memoize(long index)
    {
        if (memo.Count >= MaxMemo && !memo.ContainsKey(index))
        {
            throw error($"pickle memo holds more than {MaxMemo} entries");
        }

        memo[index] = Peek();
    }

    private object? Recall(long index, int at) =>
        memo.TryGetValue(index, out var v) ? v : throw error($"pickle GET at byte {at} of memo entry {index}, which was never stored");

    private void Push(object? v)
    {
        if (stack.Count >= MaxStack)
        {
            throw error($"pickle stack deeper than {MaxStack}");
        }

        stack.Add(v);
    }

    private object? Pop()
    {
        if (stack.Count == 0 || ReferenceEquals(stack[^1], Mark))
        {
            throw error($"pickle stack underflow at byte {pos - 1}");
        }

        var v = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return v;
    }

    private object? Peek() =>
        stack.Count == 0 || ReferenceEquals(stack[^1], Mark) ? throw error($"pickle stack underflow at byte {pos - 1}") : stack[^1];

    private List<object?> PopToMark()
    {
        if (marks.Count == 0)
        {
            throw error($"pickle has no MARK before byte {pos - 1}");
        }

        int m = marks[^1];
        marks.RemoveAt(marks.Count - 1);
        var items = stack.GetRange(m + 1, stack.Count - m - 1);
        if (items.Any(i => ReferenceEquals(i, Mark)))
        {
            throw error($"pickle marks are not nested at byte {pos - 1}");
        }

        stack.RemoveRange(m, stack.Count - m);
        return items;
    }

    private byte U8() => Take(1)[0];

    private uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    private ReadOnlySpan<byte> Take(long n)
    {
        if (n < 0 || n > data.Length - pos)
        {
            throw error($"pickle is truncated: {n} bytes needed at byte {pos}, {data.Length - pos} left");
        }

        var s = data.AsSpan(pos, (int)n);
        pos += (int)n;
        return s;
    }

    private string Utf8(long n, int at)
    {
        var bytes = Take(n);
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw error($"string at byte {at} is not valid UTF-8");
        }
    }

    private string Line()
    {
        int end = Array.IndexOf(data, (byte)'\n', pos, Math.Min(data.Length - pos, 256));
        if (end < 0)
        {
            throw error($"GLOBAL at byte {pos} has no line end within 256 bytes");
        }

        string s = Encoding.ASCII.GetString(data, pos, end - pos);
        pos = end + 1;
        return s;
    }

    /// <summary>A dict or OrderedDict, keys in insertion order.</summary>
    internal sealed class PickleDict
    {
        public List<KeyValuePair<object?, object?>> Items { get; } = [];

        public void Add(object? key, object? value) => Items.Add(new(key, value));
    }

    internal sealed record PickleGlobal(string FullName);

    internal sealed record StorageRef(TorchDType DType, string Key, string Location, long Count);

    internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Size, long[] Stride);
}
