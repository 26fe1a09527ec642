using LstmSharp.Interop.Onnx;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// Seeded mutants of the graphs the mask and tf2onnx-shaped import paths read — masked exports
/// (Masking + LSTM sequence with its Where, Embedding mask_zero + Bidirectional GRU) and two
/// tf2onnx-shaped fixtures (bidirectional zero states, run-time lengths and states) — either
/// import or throw the documented <see cref="OnnxImportException"/> naming the file.
/// </summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public sealed class OnnxMaskedMutationTests
{
    [Fact]
    public void MutatedMaskedAndTf2OnnxShapedGraphsThrowTheDocumentedException()
    {
        Layer.SetRandomSeed(1);
        var seeds = new List<(string Name, byte[] Bytes)>
        {
            ("masking_lstm", new Sequential([new InputLayer([-1, 4]), new Masking(-1f), new LSTM(3, returnSequences: true)]).ToOnnxBytes()),
            ("embedding_bigru", new Sequential([new InputLayer([-1]), new Embedding(9, 4, maskZero: true), new Bidirectional(new GRU(3))]).ToOnnxBytes()),
        };
        foreach (string name in new[] { "keras_bilstm_sequences_op13", "tf_dynamic_lstm_lengths_states_op13" })
        {
            seeds.Add((name, File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "onnx-tf2onnx", name, "model.onnx"))));
        }

        int imported = 0, rejected = 0;
        foreach (var (name, original) in seeds)
        {
            Assert.NotNull(OnnxImport.Load(original, name: name));
            var rng = new Random(name.Length * 104729);
            for (int k = 0; k < 400; k++)
            {
                var bytes = (byte[])original.Clone();
                for (int j = 1 + rng.Next(3); j > 0; j--)
                {
                    int at = rng.Next(bytes.Length);
                    bytes[at] = rng.Next(3) switch
                    {
                        0 => (byte)(bytes[at] ^ (1 << rng.Next(8))),
                        1 => (byte)rng.Next(256),
                        _ => 0,
                    };
                }

                string label = $"{name}#{k}";
                var e = Record.Exception(() => OnnxImport.Load(bytes, name: label));
                if (e is null)
                {
                    imported++;
                    continue;
                }

                rejected++;
                var ie = e as OnnxImportException ?? throw new Xunit.Sdk.XunitException($"{label}: expected OnnxImportException, got {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                Assert.Contains(label, ie.Message, StringComparison.Ordinal);
            }
        }

        Assert.True(rejected > 300, $"only {rejected} of {imported + rejected} mutants were rejected");
        Assert.True(imported > 50, $"only {imported} of {imported + rejected} mutants imported");
    }
}
