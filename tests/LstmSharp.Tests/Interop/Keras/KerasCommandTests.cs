using LstmSharp.Interop.Keras;
using LstmSharp.Models;

namespace LstmSharp.Tests.Interop.Keras;

/// <summary>
/// <c>lstmsharp import-keras</c> and <c>export-keras</c> end to end: Keras-layout files in, .lstm out with the reference
/// outputs, .keras back out and in again bit-identical; a damaged file is one line on stderr, exit code 1, no output.
/// </summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class KerasCommandTests
{
    [Theory]
    [InlineData("seq_lstm_gru.keras")]
    [InlineData("func_embed_bidi.keras")]
    [InlineData("legacy_seq.h5")]
    [InlineData("legacy_func.h5")]
    public void ImportKerasThenExportKerasThenImportAgain(string file)
    {
        string dir = FrameworkFixtures.NewTempFolder("keras-cli");
        try
        {
            string stem = Path.GetFileNameWithoutExtension(file);
            var x = FrameworkFixtures.Npy(FrameworkFixtures.Keras(stem + "_x.npy"));
            string imported = Path.Combine(dir, "imported.lstm");
            var (code, output, errors) = Run(["import-keras", FrameworkFixtures.Keras(file), imported]);
            Assert.True(code == 0, errors);
            Assert.Contains($"saved {imported}", output);
            var model = Model.Load(imported);
            FrameworkFixtures.AssertClose(file, FrameworkFixtures.Npy(FrameworkFixtures.Keras(stem + "_y.npy")), model.Predict(x));

            string exported = Path.Combine(dir, "exported.keras");
            (code, _, errors) = Run(["export-keras", imported, exported]);
            Assert.True(code == 0, errors);
            string again = Path.Combine(dir, "again.lstm");
            (code, _, errors) = Run(["import-keras", exported, again]);
            Assert.True(code == 0, errors);
            var back = Model.Load(again);
            Assert.Equal(model.Parameters.Count, back.Parameters.Count);
            for (int i = 0; i < model.Parameters.Count; i++)
            {
                Assert.Equal(model.Parameters[i].Value.Shape.ToArray(), back.Parameters[i].Value.Shape.ToArray());
                Assert.True(model.Parameters[i].Value.Span.SequenceEqual(back.Parameters[i].Value.Span), $"{file}: weight {i} changed in export-keras → import-keras");
            }

            Assert.True(model.Predict(x).Span.SequenceEqual(back.Predict(x).Span));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ADamagedFileIsOneLineNamingTheFileAndNothingIsWritten()
    {
        string dir = FrameworkFixtures.NewTempFolder("keras-cli-bad");
        try
        {
            byte[] bytes = File.ReadAllBytes(FrameworkFixtures.Keras("legacy_seq.h5"));
            string damaged = Path.Combine(dir, "damaged.h5");
            File.WriteAllBytes(damaged, bytes[..(bytes.Length / 3)]);
            string output = Path.Combine(dir, "out.lstm");
            var (code, _, errors) = Run(["import-keras", damaged, output]);
            Assert.Equal(1, code);
            Assert.Contains("damaged.h5", errors);
            Assert.Single(errors.Trim().Split('\n'));
            Assert.DoesNotContain("   at ", errors);
            Assert.False(File.Exists(output));

            string missing = Path.Combine(dir, "missing.lstm");
            (code, _, errors) = Run(["export-keras", missing, Path.Combine(dir, "x.keras")]);
            Assert.Equal(1, code);
            Assert.Contains("missing.lstm", errors);
            Assert.False(File.Exists(Path.Combine(dir, "x.keras")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (int Code, string Output, string Errors) Run(string[] args)
    {
        var stdout = Console.Out;
        var stderr = Console.Error;
        var output = new StringWriter();
        var errors = new StringWriter();
        try
        {
            Console.SetOut(output);
            Console.SetError(errors);
            int code = LstmSharp.Cli.Program.Run(args);
            return (code, output.ToString(), errors.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }
}
