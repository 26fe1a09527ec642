using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

/// <summary>
/// Which SIMD width a fused kernel runs: the one way to pin a kernel to a narrower path (tests
/// pin <see cref="Scalar"/> to hold the vector paths to their scalar twin). Kernels take it as a
/// per-instance option (<c>GruKernel</c>, <c>SimpleRnnKernel</c> constructors,
/// <c>LstmKernel.Width</c>, <c>Optimizer.Width</c> through <see cref="LaneLoop.Run"/>), resolved once with <see cref="LaneWidths.Resolve"/>, so the worker
/// threads of one call all see the same width. Process-wide, <c>DOTNET_EnableAVX512=0</c> and
/// <c>DOTNET_EnableHWIntrinsic=0</c> take the wider paths away from every kernel.
/// </summary>
internal enum LaneWidth
{
    /// <summary>The widest the hardware accelerates: Vector512, else Vector256, else scalar.</summary>
    Auto,
    Scalar,
    Vector256,

    /// <summary>Vector512, then Vector256 on the columns left (10 units: none, then 8), then scalar.</summary>
    Vector512,
}

internal static class LaneWidths
{
    /// <summary>Auto made concrete for this machine; a width it does not accelerate is refused.</summary>
    public static LaneWidth Resolve(LaneWidth w) => w switch
    {
        LaneWidth.Auto when Vector512.IsHardwareAccelerated => LaneWidth.Vector512,
        LaneWidth.Auto when Vector256.IsHardwareAccelerated => LaneWidth.Vector256,
        LaneWidth.Auto => LaneWidth.Scalar,
        LaneWidth.Vector512 when !Vector512.IsHardwareAccelerated => throw new PlatformNotSupportedException("Vector512 is not accelerated on this machine."),
        LaneWidth.Vector256 when !Vector256.IsHardwareAccelerated => throw new PlatformNotSupportedException("Vector256 is not accelerated on this machine."),
        _ => w,
    };
}
