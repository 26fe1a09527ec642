using System.Buffers.Binary;
using System.Text;
using LstmSharp.Serialization;

namespace LstmSharp.Tests.Serialization;

/// <summary>Builders of valid and hand-made safetensors bytes shared by the serialization tests.</summary>
internal static class SafeTensorsTestFiles
{
    /// <summary>A small valid file: several dtypes, a scalar, an empty tensor and metadata.</summary>
    public static (List<SafeTensor> Tensors, Dictionary<string, string> Metadata) Sample()
    {
        var tensors = new List<SafeTensor>
        {
            SafeTensor.FromSingles("lstm/kernel", new[] { 1f, -2.5f, 3.25f, float.MaxValue, float.Epsilon, -0f }, new[] { 2, 3 }),
            SafeTensor.FromSingles("lstm/recurrent_kernel", new[] { 0.5f, 0.25f, -0.125f, 8f }, new[] { 2, 2 }),
            SafeTensor.FromSingles("dense/bias", new[] { 7f }, Array.Empty<int>()),
            SafeTensor.FromDoubles("optimizer/adam/step_scale", new[] { Math.PI, -1e300 }, new[] { 2 }),
            SafeTensor.FromInt64s("optimizer/adam/iterations", new[] { 123456789012345L }, new[] { 1 }),
            SafeTensor.FromInt32s("vocab/ids", new[] { -1, 0, int.MaxValue }, new[] { 3 }),
            SafeTensor.FromBytes("mask", new byte[] { 0, 1, 255 }, new[] { 3, 1 }),
            SafeTensor.FromHalves("half", new[] { (Half)1.5f, (Half)(-2f) }, new[] { 2 }),
            SafeTensor.FromSinglesAsBFloat16("bf16", new[] { 1f, -3.5f, 65536f }, new[] { 3 }),
            SafeTensor.FromSingles("empty", Array.Empty<float>(), new[] { 0, 4 }),
        };
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "lstmsharp",
            ["format_version"] = "1",
            ["config"] = "{\"layers\":[{\"class\":\"LSTM\",\"units\":2,\"name\":\"lstm<1>\"}],\"note\":\"ünïcode \\\"quoted\\\"\"}",
            ["epoch"] = "12",
        };
        return (tensors, metadata);
    }

    public static byte[] SampleBytes()
    {
        var (tensors, metadata) = Sample();
        return SafeTensors.Serialize(tensors, metadata);
    }

    /// <summary>A file from a literal header (padded to 8 with spaces unless told otherwise) and data bytes.</summary>
    public static byte[] Build(string header, byte[]? data = null, bool pad = true, ulong? declaredLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        return Build(h, data, pad, declaredLength);
    }

    public static byte[] Build(byte[] header, byte[]? data = null, bool pad = true, ulong? declaredLength = null)
    {
        int padding = pad ? (8 - (header.Length % 8)) % 8 : 0;
        data ??= Array.Empty<byte>();
        var file = new byte[8 + header.Length + padding + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredLength ?? (ulong)(header.Length + padding));
        header.CopyTo(file, 8);
        file.AsSpan(8 + header.Length, padding).Fill((byte)' ');
        data.CopyTo(file, 8 + header.Length + padding);
        return file;
    }

    /// <summary>One F32 tensor entry, for composing headers by hand.</summary>
    public static string F32(string name, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";
}
