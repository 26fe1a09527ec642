using LstmSharp.Serialization;

namespace LstmSharp.Interop.Torch;

/// <summary>
/// A PyTorch state-dict file (<c>.pt</c> zip + pickle, or safetensors) that cannot be read or
/// does not fit the model. The message names the file and what is wrong, e.g.
/// <c>PyTorch 'model.pt': pickle global 'os.system' is not allowed; a state_dict needs only ...</c>.
/// </summary>
public sealed class TorchFormatException(string? fileName, string problem, Exception? inner = null)
    : ForeignFileException("PyTorch", fileName, problem, inner);
