using System.Runtime.CompilerServices;
using LstmSharp.Layers;

namespace LstmSharp.Recurrent;

/// <summary>
/// Registers this namespace's layers with <see cref="LayerRegistry"/> when the assembly loads,
/// so a saved model can name them while <c>LstmSharp.Layers</c> stays below
/// <c>LstmSharp.Recurrent</c> (the registry never names a recurrent layer itself).
/// </summary>
internal static class RecurrentRegistration
{
    // CA2255 warns that a library's module initializer runs code on load; this one only fills a dictionary.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        LayerRegistry.Register("LSTM", LSTM.FromConfig);
        LayerRegistry.Register("GRU", GRU.FromConfig);
        LayerRegistry.Register("SimpleRNN", SimpleRNN.FromConfig);
        LayerRegistry.Register("Bidirectional", Bidirectional.FromConfig);
        LayerRegistry.Register("ReverseTime", ReverseTime.FromConfig);
        LayerRegistry.Register("RNN", RNN.FromConfig);
        LayerRegistry.Register("LSTMCell", LstmAutogradCell.FromConfig);
        LayerRegistry.Register("GRUCell", GruAutogradCell.FromConfig);
        LayerRegistry.Register("SimpleRNNCell", SimpleRnnAutogradCell.FromConfig);
        LayerRegistry.Register("OnnxRecurrentCell", OnnxRecurrentCell.FromConfig);
        LayerRegistry.Register("LayerNormLSTM", LayerNormLSTM.FromConfig);
        LayerRegistry.Register("LayerNormLSTMCell", LayerNormLstmAutogradCell.FromConfig);
    }
}
