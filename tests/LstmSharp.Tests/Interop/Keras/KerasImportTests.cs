using LstmSharp.Interop.Keras;
using LstmSharp.Models;

namespace LstmSharp.Tests.Interop.Keras;

/// <summary>
/// Keras 3 .keras and tf.keras 2 .h5 files (written with h5py in Keras's layouts by
/// make_fixtures.py) rebuild and reproduce the outputs numpy computed from the layer equations.
/// </summary>
public class KerasImportTests
{
    [Theory]
    [InlineData("seq_lstm_gru.keras", "Sequential")]
    [InlineData("func_embed_bidi.keras", "Functional")]
    [InlineData("legacy_seq.h5", "Sequential")]
    [InlineData("legacy_func.h5", "Functional")]
    [InlineData("seq_cnn_norm.keras", "Sequential")]
    public void RebuildsTheModelAndMatchesTheReferenceOutputs(string file, string modelClass)
    {
        var model = KerasImport.LoadKeras(FrameworkFixtures.Keras(file));
        Assert.Equal(modelClass, model.GetType().Name);
        string stem = Path.GetFileNameWithoutExtension(file);
        var y = model.Predict(FrameworkFixtures.Npy(FrameworkFixtures.Keras(stem + "_x.npy")));
        FrameworkFixtures.AssertClose(file, FrameworkFixtures.Npy(FrameworkFixtures.Keras(stem + "_y.npy")), y);
    }
}
