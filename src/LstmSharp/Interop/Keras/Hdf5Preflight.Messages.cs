using System.Buffers.Binary;
using System.Globalization;

namespace LstmSharp.Interop.Keras;

/// <summary>The message bodies: dataspace, datatype, fill value, link, filter pipeline, attribute.</summary>
internal sealed partial class Hdf5Preflight
{
    private static SpaceInfo Dataspace(Cursor c)
    {
        int version = c.U8("version");
        int rank = c.U8("rank");
        int flags = c.U8("flags");
        int type = 1;
        if (version == 1)
        {
            type = rank > 0 ? 1 : 0;
            c.Skip(5, "reserved");
        }
        else
        {
            type = c.U8("type");
        }

        var dims = new ulong[rank];
        for (int i = 0; i < rank; i++)
        {
            dims[i] = c.Length("dimension size");
        }

        var max = dims;
        if ((flags & 1) != 0)
        {
            max = new ulong[rank];
            for (int i = 0; i < rank; i++)
            {
                max[i] = c.Length("maximum dimension size");
            }
        }

        if ((flags & 2) != 0)
        {
            c.Skip((long)rank * c.LengthSize, "permutation indices");
        }

        ulong count = type == 2 ? 0UL : 1UL;
        foreach (ulong d in dims)
        {
            count = d == 0 || count == 0 ? 0 : count > ulong.MaxValue / d ? ulong.MaxValue : count * d;
        }

        return new SpaceInfo(dims, count, max);
    }

    /// <summary>A datatype, decoded as PureHDF's DatatypeMessage.Decode reads it.</summary>
    private TypeInfo Datatype(Cursor c, int depth)
    {
        if (depth > MaxDepth)
        {
            throw Fail($"{c.Where}: datatypes nest deeper than {MaxDepth}");
        }

        int classVersion = c.U8("datatype class and version");
        int version = classVersion >> 4;
        int cls = classVersion & 0x0F;
        var bits = c.Bytes(3, "datatype bit field");
        uint size = c.U32("datatype size");
        bool vlen = false;
        bool nested = false;
        switch (cls)
        {
            case 0 or 4:
                c.Skip(4, "bit offset and precision");
                break;
            case 1:
                c.Skip(12, "floating-point properties");
                break;
            case 2:
                c.Skip(2, "bit precision");
                break;
            case 3 or 7:
                break;
            case 5:
                c.Skip(bits[0], "opaque tag");
                break;
            case 6:
            {
                int members = bits[0] | (bits[1] << 8);
                for (int i = 0; i < members; i++)
                {
                    Visit(c.Where);
                    switch (version)
                    {
                        case 1:
                            c.CString("compound member name", pad: true);
                            c.Skip(4 + 1 + 3 + 4 + 4 + 16, "compound member offset and dimensions");
                            break;
                        case 2:
                            c.CString("compound member name", pad: true);
                            c.Skip(4, "compound member offset");
                            break;
                        default:
                            c.CString("compound member name", pad: false);
                            c.Skip(MinByteCount(size), "compound member offset");
                            break;
                    }

                    var member = Datatype(c, depth + 1);
                    nested |= member.Vlen || member.Nested;
                }

                break;
            }

            case 8:
            {
                int members = bits[0] | (bits[1] << 8);
                Datatype(c, depth + 1);
                for (int i = 0; i < members; i++)
                {
                    c.CString("enumeration member name", pad: version <= 2);
                }

                c.Skip((long)members * size, "enumeration values");
                break;
            }

            case 9:
            {
                var b = Datatype(c, depth + 1);
                vlen = true;
                nested = b.Vlen || b.Nested;
                break;
            }

            case 10:
            {
                int rank = c.U8("array rank");
                if (version == 2)
                {
                    c.Skip(3, "reserved");
                }

                c.Skip(4L * rank, "array dimensions");
                if (version == 2)
                {
                    c.Skip(4L * rank, "array permutation");
                }

                var b = Datatype(c, depth + 1);
                nested = b.Vlen || b.Nested;
                break;
            }

            default:
                throw Fail($"{c.Where}: datatype class {cls} (expected 0 to 10)");
        }

        return new TypeInfo(size, vlen, nested, cls == 9 && (bits[0] & 0x0F) == 1);
    }

    private static int MinByteCount(uint value)
    {
        int bits = 1;
        while ((value >>= 1) != 0)
        {
            bits++;
        }

        return (bits + 7) / 8;
    }

    private static void FillValue(Cursor c)
    {
        int version = c.U8("version");
        if (version is 1 or 2)
        {
            c.Skip(2, "allocation and fill times");
            if (c.U8("fill value defined") == 1)
            {
                c.Bytes(c.U32("fill value size"), "fill value");
            }
        }
        else if (version == 3)
        {
            int flags = c.U8("flags");
            if ((flags & 0x10) == 0 && (flags & 0x20) != 0)
            {
                c.Bytes(c.U32("fill value size"), "fill value");
            }
        }
    }

    private void Link(Cursor c, HeaderInfo info)
    {
        Visit(c.Where);
        c.U8("version");
        int flags = c.U8("flags");
        int type = (flags & 0x08) != 0 ? c.U8("link type") : 0;
        if ((flags & 0x04) != 0)
        {
            c.Skip(8, "creation order");
        }

        if ((flags & 0x10) != 0)
        {
            c.U8("link name character set");
        }

        ulong nameLength = c.Uint(1 << (flags & 0x03), "link name length");
        string name = c.Text(nameLength, "link name");
        switch (type)
        {
            case 0:
                info.HardLinks.Add((name, Address(c.Offset("link target address"), c.Where, $"address of link '{name}'", 1)));
                break;
            case 1:
                c.Bytes(c.U16("soft link length"), "soft link value");
                break;
            case 64:
                c.U16("external link length");
                c.U8("external link version and flags");
                c.CString("external link file name", pad: false);
                c.CString("external link object path", pad: false);
                break;
            case >= 65:
                c.Bytes(c.U16("user-defined link length"), "user-defined link data");
                break;
        }
    }

    /// <summary>A filter pipeline; returns the filter identifiers in pipeline order.</summary>
    private static List<int> FilterPipeline(Cursor c)
    {
        var ids = new List<int>();
        int version = c.U8("version");
        int count = c.U8("number of filters");
        if (version == 1)
        {
            c.Skip(6, "reserved");
        }

        for (int i = 0; i < count && i <= 32; i++)
        {
            int id = c.U16("filter identifier");
            ids.Add(id);
            int nameLength = version == 1 || id >= 256 ? c.U16("filter name length") : 0;
            c.U16("filter flags");
            int values = c.U16("number of client data values");
            if (nameLength > 0)
            {
                if (version == 1)
                {
                    c.CString("filter name", pad: true);
                }
                else
                {
                    c.Bytes((uint)nameLength, "filter name");
                }
            }

            c.Skip(4L * values, "client data");
            if (version == 1 && values % 2 != 0)
            {
                c.Skip(4, "padding");
            }
        }

        return ids;
    }

    /// <summary>An attribute message (in an object header or a fractal heap), decoded as PureHDF's AttributeMessage.Decode reads it.</summary>
    private void Attribute(Cursor c, HeaderInfo info)
    {
        Visit(c.Where);
        int version = c.U8("attribute version");
        int flags = c.U8("attribute flags");
        c.U16("attribute name size");
        int datatypeSize = c.U16("attribute datatype size");
        int dataspaceSize = c.U16("attribute dataspace size");
        if (version == 3)
        {
            c.U8("attribute name character set");
        }

        string name = c.CString("attribute name", pad: version == 1);
        c.Where = $"{c.Where}, attribute '{Printable(name)}'";
        TypeInfo type;
        if (version >= 2 && (flags & 1) != 0)
        {
            // a committed datatype: its size is the one in the header it lives in
            var shared = SharedMessage(c, info);
            if (shared?.Type is not { } t)
            {
                return; // PureHDF cannot read it either (and does not allocate for it)
            }

            type = t;
        }
        else
        {
            type = Datatype(c, 0);
        }

        if (version == 1)
        {
            c.Skip(((datatypeSize + 7) / 8 * 8) - datatypeSize, "datatype padding");
        }

        SpaceInfo space;
        if (version >= 2 && (flags & 2) != 0)
        {
            var shared = SharedMessage(c, info);
            if (shared?.Dataspace is not { } d)
            {
                return;
            }

            space = d;
        }
        else
        {
            space = Dataspace(c);
        }

        if (version == 1)
        {
            c.Skip(((dataspaceSize + 7) / 8 * 8) - dataspaceSize, "dataspace padding");
        }

        ulong count = space.Count;
        ulong bytes = type.Size == 0 || count == 0 ? 0 : count > ulong.MaxValue / type.Size ? ulong.MaxValue : count * type.Size;
        if (bytes > (ulong)c.Left || count > (ulong)c.Left + 1)
        {
            throw Fail($"{c.Where} claims {DescribeCount(space)} elements of {type.Size} bytes; its message has {c.Left} bytes left");
        }

        long dataAt = c.Position;
        var data = c.Bytes(bytes, "attribute data");
        if (type.Nested)
        {
            throw Fail($"{c.Where}: variable-length data inside a compound or array attribute (not read)");
        }

        if (type.Vlen && count > 0)
        {
            int element = 4 + offsetSize + 4;
            if (type.Size < element)
            {
                throw Fail($"{c.Where}: variable-length elements of {type.Size} bytes (a length and a global heap ID take {element})");
            }

            for (ulong i = 0; i < count; i++)
            {
                var e = data.AsSpan((int)(i * type.Size));
                uint n = BinaryPrimitives.ReadUInt32LittleEndian(e);
                if (n == 0)
                {
                    continue;
                }

                ulong collection = ReadUint(e.Slice(4), offsetSize);
                int index = (int)BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(4 + offsetSize));
                long size = GlobalHeapObject(collection, index, $"{c.Where}, element {i} at 0x{dataAt + (long)(i * type.Size):X}");
                if (n > size)
                {
                    throw Fail($"{c.Where}, element {i}: claims {n} items; its global heap object holds {size} bytes");
                }
            }
        }
    }

    private static string DescribeCount(SpaceInfo s) => s.Dims.Length == 0 ? "1" : string.Join(" x ", s.Dims);

    private static string Printable(string s) => s.Length > 64 ? s[..64] + "..." : s;
}
