using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using LstmSharp.Serialization;

namespace LstmSharp.Tests.Reliability;

/// <summary>Builders of damaged files shared by the regression tests, the property tests and the fuzz corpus.</summary>
internal static class HostileInput
{
    /// <summary>A model file's bytes with its safetensors header changed by <paramref name="change"/> (re-padded), data unchanged.</summary>
    public static byte[] RewriteHeader(byte[] file, Action<JsonObject> change)
    {
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, n))!.AsObject();
        change(header);
        var text = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (text.Length + 7) / 8 * 8;
        var result = new byte[8 + padded + (file.Length - 8 - n)];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)padded);
        result.AsSpan(8, padded).Fill((byte)' ');
        text.CopyTo(result, 8);
        file.AsSpan(8 + n).CopyTo(result.AsSpan(8 + padded));
        return result;
    }

    /// <summary>A model file with its architecture JSON (metadata 'config') changed.</summary>
    public static byte[] RewriteConfig(byte[] file, Action<JsonObject> change) => RewriteHeader(file, h =>
    {
        var meta = (JsonObject)h[SafeTensors.MetadataKey]!;
        var config = JsonNode.Parse(meta["config"]!.GetValue<string>())!.AsObject();
        change(config);
        meta["config"] = config.ToJsonString();
    });

    public static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write(raw);
        }

        return ms.ToArray();
    }

    public static byte[] IdxLabels(int declared, byte[] labels)
    {
        var b = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(b, 2049);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), declared);
        labels.CopyTo(b, 8);
        return b;
    }

    public static byte[] IdxImages(int declared, byte[] pixels)
    {
        var b = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(b, 2051);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), declared);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(12), 28);
        pixels.CopyTo(b, 16);
        return b;
    }

    /// <summary>A .npy file with the given header text (padded as numpy does) and data bytes.</summary>
    public static byte[] Npy(string header, byte[] data)
    {
        int total = 10 + header.Length + 1;
        string padded = header + new string(' ', (64 - (total % 64)) % 64) + "\n";
        var b = new byte[10 + padded.Length + data.Length];
        b[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(b, 1);
        b[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), (ushort)padded.Length);
        Encoding.Latin1.GetBytes(padded).CopyTo(b, 10);
        data.CopyTo(b, 10 + padded.Length);
        return b;
    }
}
