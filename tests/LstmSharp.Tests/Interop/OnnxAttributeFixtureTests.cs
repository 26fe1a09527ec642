using LstmSharp.Data;
using LstmSharp.Interop.Onnx;
using LstmSharp.Tensors;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// The attr_* fixtures (Fixtures/onnx/make_attribute_fixtures.py: graphs written by the onnx
/// package with clip, exotic activations and sequence_lens as a graph input; outputs from the
/// script's numpy reference of the operator spec) in ONNX Runtime: ONNX Runtime agrees with the
/// numpy reference, and the imported model agrees with both (the layout=1 one, which ONNX
/// Runtime's CPU kernels reject, with the numpy reference only).
/// </summary>
public class OnnxAttributeFixtureTests
{
    public static TheoryData<string> Fixtures() => new(Directory.GetDirectories(OnnxTestFiles.FixturesRoot, "attr_*").Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal).ToArray());

    [Fact]
    public void TheFourFixturesAreThere() => Assert.Equal(4, Fixtures().Count);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void OnnxRuntimeNumpyAndImportAgree(string name)
    {
        string dir = Path.Combine(OnnxTestFiles.FixturesRoot, name);
        byte[] onnx = File.ReadAllBytes(Path.Combine(dir, "model.onnx"));
        var x = ArrayFiles.LoadNpy(Path.Combine(dir, "input_0.npy"));
        string lensFile = Path.Combine(dir, "input_1.npy");
        Tensor? lens = File.Exists(lensFile) ? ArrayFiles.LoadNpy(lensFile) : null;
        var expected = Directory.GetFiles(dir, "output_*.npy").Order(StringComparer.Ordinal).Select(ArrayFiles.LoadNpy).ToArray();

        var model = OnnxImport.Load(onnx, name: name);
        var actual = model.Call(lens is null ? [x] : [x, lens]);
        for (int k = 0; k < expected.Length; k++)
        {
            OnnxRuntimeCheck.AssertClose($"{name} LstmSharp vs numpy output {k}", actual[k], expected[k].ToArray(), expected[k].ShapeArray);
        }

        if (name.Contains("batchwise", StringComparison.Ordinal))
        {
            // layout=1: ONNX Runtime's CPU kernels reject it; the numpy reference is the judge.
            return;
        }

        var ort = RecurrentNodeSpec.RunOrt(onnx, [x], lens?.ToArray().Select(v => (int)v).ToArray());
        Assert.Equal(expected.Length, ort.Count);
        for (int k = 0; k < expected.Length; k++)
        {
            OnnxRuntimeCheck.AssertClose($"{name} numpy vs ONNX Runtime {ort[k].Name}", expected[k], ort[k].Values, ort[k].Shape);
            OnnxRuntimeCheck.AssertClose($"{name} LstmSharp vs ONNX Runtime {ort[k].Name}", actual[k], ort[k].Values, ort[k].Shape);
        }
    }
}
