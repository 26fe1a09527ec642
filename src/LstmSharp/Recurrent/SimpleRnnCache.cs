namespace LstmSharp.Recurrent;

/// <summary>
/// The buffers a training-mode <see cref="SimpleRnnKernel"/> forward saves for its backward:
/// the driver's (<see cref="SingleStateCache"/>) alone, as act' is taken from h_t itself.
/// </summary>
internal sealed class SimpleRnnCache : SingleStateCache
{
}
