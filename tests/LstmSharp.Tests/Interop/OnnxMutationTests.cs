using LstmSharp.Interop.Onnx;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// Truncated and corrupted ONNX files (thousands of seeded mutants of the torch.onnx fixtures and of
/// two attr_* fixtures with clip, exotic activations and run-time sequence_lens)
/// either import or throw the documented <see cref="OnnxImportException"/> naming the file —
/// never another exception, a hang or an allocation sized by a damaged field.
/// </summary>
public class OnnxMutationTests
{
    private static readonly string[] Sources = ["lstm_seqfirst_op9", "lstm_2layer_bidir_seqfirst_op11", "gru_bidir_tagger_op13", "embedding_lstm_op13", "lstm_classifier_softmax_op11", "attr_lstm_bidir_clip_activations", "attr_gru_reverse_lengths_softplus"];

    [Fact]
    public void TruncatedFilesThrowTheDocumentedException()
    {
        foreach (string name in Sources)
        {
            var bytes = File.ReadAllBytes(Path.Combine(OnnxTestFiles.FixturesRoot, name, "model.onnx"));
            var rng = new Random(7);
            for (int k = 0; k < 200; k++)
            {
                int length = k < 20 ? k : rng.Next(bytes.Length);
                var cut = bytes.AsSpan(0, length).ToArray();
                var e = Record.Exception(() => OnnxImport.Load(cut, name: $"{name}[..{length}]"));

                // A cut that ends between fields can still be a valid (shorter) model.
                if (e is not null)
                {
                    var ie = Assert.IsAssignableFrom<OnnxImportException>(e);
                    Assert.Contains($"{name}[..{length}]", ie.Message, StringComparison.Ordinal);
                }
            }
        }
    }

    [Fact]
    public void CorruptedFilesThrowTheDocumentedException()
    {
        int imported = 0, rejected = 0;
        foreach (string name in Sources)
        {
            var original = File.ReadAllBytes(Path.Combine(OnnxTestFiles.FixturesRoot, name, "model.onnx"));
            var rng = new Random(name.Length * 7919);
            for (int k = 0; k < 600; k++)
            {
                var bytes = (byte[])original.Clone();
                int edits = 1 + rng.Next(4);
                for (int j = 0; j < edits; j++)
                {
                    int at = rng.Next(bytes.Length);
                    switch (rng.Next(4))
                    {
                        case 0:
                            bytes[at] ^= (byte)(1 << rng.Next(8));
                            break;
                        case 1:
                            bytes[at] = (byte)rng.Next(256);
                            break;
                        case 2:
                            // A varint continuation byte turns a length or a dimension into a huge one.
                            bytes[at] = 0xFF;
                            break;
                        default:
                            bytes[at] = 0;
                            break;
                    }
                }

                string label = $"{name}#{k}";
                var e = Record.Exception(() => OnnxImport.Load(bytes, name: label));
                if (e is null)
                {
                    imported++;
                    continue;
                }

                rejected++;
                if (e is not OnnxImportException ie)
                {
                    Assert.Fail($"{label}: expected OnnxImportException, got {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                    return;
                }

                Assert.Contains(label, ie.Message, StringComparison.Ordinal);
            }
        }

        // Both outcomes happen: the mutants are neither all harmless nor all rejected at the first byte.
        Assert.True(rejected > 500, $"only {rejected} of {imported + rejected} mutants were rejected");
        Assert.True(imported > 50, $"only {imported} of {imported + rejected} mutants imported");
    }

    [Fact]
    public void NotOnnxAtAllNamesTheFile()
    {
        var e = Assert.ThrowsAny<OnnxImportException>(() => OnnxImport.Load("not a model"u8.ToArray(), name: "notes.txt"));
        Assert.Contains("notes.txt", e.Message, StringComparison.Ordinal);
        Assert.IsType<OnnxFormatException>(e);
        var empty = Assert.Throws<OnnxFormatException>(() => OnnxImport.Load([], name: "empty.onnx"));
        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);
    }
}
