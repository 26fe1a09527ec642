using LstmSharp.Serialization;

namespace LstmSharp.Interop.Keras;

/// <summary>
/// A Keras file (<c>.keras</c> zip or legacy <c>.h5</c>) that cannot be read, holds a layer
/// LstmSharp does not have, or does not match its config. The message names the file and what is
/// wrong, e.g. <c>Keras 'model.keras': layer 'conv1d' is a Conv1D; LstmSharp has ...</c>.
/// </summary>
public sealed class KerasFormatException(string? fileName, string problem, Exception? inner = null)
    : ForeignFileException("Keras", fileName, problem, inner);
