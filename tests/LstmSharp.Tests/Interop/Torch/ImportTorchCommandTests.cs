using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;

namespace LstmSharp.Tests.Interop.Torch;

/// <summary><c>lstmsharp import-torch</c> end to end: config in, .lstm out, outputs equal PyTorch's.</summary>
[Collection(LstmSharp.Tests.Tensors.GlobalRngCollection.Name)]
public class ImportTorchCommandTests
{
    [Fact]
    public void ImportsAStateDictIntoAJsonConfigPrintsTheMappingAndSaves()
    {
        string dir = FrameworkFixtures.NewTempFolder("import-torch");
        var stdout = Console.Out;
        var stderr = Console.Error;
        try
        {
            var model = new Sequential(
            [
                new Embedding(20, 6, inputShape: [9], name: "embed"),
                new Bidirectional(new LSTM(8, name: "enc"), name: "bi"),
                new Dense(3, name: "head"),
            ]);
            string config = Path.Combine(dir, "model.json");
            File.WriteAllText(config, model.GetConfig().ToJsonString());
            string output = Path.Combine(dir, "imported.lstm");
            var printed = new StringWriter();
            var errors = new StringWriter();
            Console.SetOut(printed);
            Console.SetError(errors);
            int code = LstmSharp.Cli.Program.Run(["import-torch", FrameworkFixtures.Torch("embed_bilstm_linear.pt"), "--model", config, output, "--map", "head=head"]);
            Console.SetOut(stdout);
            Console.SetError(stderr);
            Assert.True(code == 0, errors.ToString());
            Assert.Contains("encoder.weight_hh_l0_reverse -> bi/backward_enc/recurrent_kernel", printed.ToString());
            Assert.Contains("head.weight -> head/kernel (transposed)", printed.ToString());

            var y = Model.Load(output).Predict(FrameworkFixtures.Npy(FrameworkFixtures.Torch("embed_bilstm_linear_x.npy")));
            FrameworkFixtures.AssertClose("import-torch", FrameworkFixtures.Npy(FrameworkFixtures.Torch("embed_bilstm_linear_y.npy")), y);

            // A misfit is one line on stderr naming both sides, exit code 1, no output file.
            errors = new StringWriter();
            Console.SetError(errors);
            Console.SetOut(new StringWriter());
            string bad = Path.Combine(dir, "bad.lstm");
            code = LstmSharp.Cli.Program.Run(["import-torch", FrameworkFixtures.Torch("lstm2.pt"), "--model", config, bad]);
            Console.SetOut(stdout);
            Console.SetError(stderr);
            Assert.Equal(1, code);
            Assert.Contains("lstm2.pt", errors.ToString());
            Assert.Contains("Dense 'head'", errors.ToString());
            Assert.Single(errors.ToString().Trim().Split('\n'));
            Assert.False(File.Exists(bad));
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            Directory.Delete(dir, recursive: true);
        }
    }
}
