using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using static LstmSharp.Interop.Onnx.OnnxGraphBuilder;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// Conv1D, the 1-D poolings, SpatialDropout1D, LayerNormalization and BatchNormalization as
/// ONNX nodes. ONNX's Conv, MaxPool, AveragePool, Global*Pool and BatchNormalization work on
/// channels-first tensors <c>[batch, channels, steps]</c>, so each sits between two Transposes
/// (LstmSharp keeps Keras's <c>[batch, steps, channels]</c>); the padding Keras computes
/// ("same": the smaller half first, "causal": all before) is written as explicit pads when the
/// number of steps is known, else as <c>auto_pad = SAME_UPPER</c> (the same split).
/// </summary>
internal sealed partial class OnnxExporter
{
    /// <summary>The layers of this file, for the switch in <see cref="Emit"/>.</summary>
    private static bool IsConvolutional(Layer layer) =>
        layer is Conv1D or Pooling1D or GlobalPooling1D or SpatialDropout1D or LayerNormalization or BatchNormalization;

    private OnnxValue EmitConvolutional(Layer layer, OnnxValue x, int[] shape) => layer switch
    {
        Conv1D c => new OnnxValue(EmitConv1D(c, x), shape),
        Pooling1D p => new OnnxValue(EmitPool1D(p, x), shape),
        GlobalPooling1D gp => new OnnxValue(EmitGlobalPool1D(gp, x), shape),
        SpatialDropout1D => x,
        LayerNormalization ln => new OnnxValue(EmitLayerNormalization(ln, x), shape, x.Mask),
        BatchNormalization bn => new OnnxValue(EmitBatchNormalization(bn, x), shape, x.Mask),
        _ => throw new NotSupportedException($"ONNX export: {layer} has no ONNX mapping."),
    };

    private string ChannelsFirst(string x, string owner) => g.Node("Transpose", owner + "/ChannelsFirst", [x], Attr("perm", new long[] { 0, 2, 1 }));

    private string ChannelsLast(string x, string owner) => g.Node("Transpose", owner + "/ChannelsLast", [x], Attr("perm", new long[] { 0, 2, 1 }));

    /// <summary>Explicit [begin, end] pads for a known number of steps, or auto_pad SAME_UPPER ("same" with unknown steps).</summary>
    private static AttributeProto[] PadAttributes(string padding, int steps, int width, int stride, int dilation)
    {
        if (steps < 0 && padding == "same")
        {
            return [Attr("auto_pad", "SAME_UPPER")];
        }

        int span = (dilation * (width - 1)) + 1;
        if (padding == "causal")
        {
            return [Attr("pads", new long[] { span - 1, 0 })];
        }

        if (padding == "valid")
        {
            return [Attr("pads", new long[] { 0, 0 })];
        }

        var geometry = Conv1DGeometry.For(padding, steps, width, stride, dilation)!.Value;
        long end = Math.Max(0, ((geometry.OutSteps - 1) * stride) + span - steps - geometry.PadLeft);
        return [Attr("pads", new long[] { geometry.PadLeft, end })];
    }

    private string EmitConv1D(Conv1D c, OnnxValue x)
    {
        // Keras [kernel_size, channels, filters] → ONNX [filters, channels, kernel_size].
        var kernel = c.Kernel!.Value;
        int width = kernel.Dim(0), channels = kernel.Dim(1), filters = kernel.Dim(2);
        var w = new float[kernel.Length];
        for (int k = 0; k < width; k++)
        {
            for (int ch = 0; ch < channels; ch++)
            {
                for (int f = 0; f < filters; f++)
                {
                    w[(((f * channels) + ch) * width) + k] = kernel[k, ch, f];
                }
            }
        }

        string wName = g.Weight(c.Name + "/kernel", [filters, channels, width], w);
        string? bName = c.Bias is { } bias ? g.Weight(c.Name + "/bias", [filters], bias.Value.Span) : null;
        var attributes = new List<AttributeProto>
        {
            Attr("kernel_shape", new long[] { width }),
            Attr("strides", new long[] { c.Strides }),
            Attr("dilations", new long[] { c.DilationRate }),
        };
        attributes.AddRange(PadAttributes(c.Padding, x.Shape[0], width, c.Strides, c.DilationRate));
        string cf = ChannelsFirst(x.Name, c.Name);
        string y = g.Node("Conv", c.Name + "/Conv", bName is null ? [cf, wName] : [cf, wName, bName], [.. attributes]);
        return EmitActivation(c.Activation, ChannelsLast(y, c.Name), c.Name);
    }

    private string EmitPool1D(Pooling1D p, OnnxValue x)
    {
        var attributes = new List<AttributeProto>
        {
            Attr("kernel_shape", new long[] { p.PoolSize }),
            Attr("strides", new long[] { p.Strides }),
        };
        attributes.AddRange(PadAttributes(p.Padding, x.Shape[0], p.PoolSize, p.Strides, 1));
        string op = p is MaxPooling1D ? "MaxPool" : "AveragePool";
        if (op == "AveragePool")
        {
            // Padded positions are not counted (Keras/TensorFlow), ONNX's default made explicit.
            attributes.Add(Attr("count_include_pad", 0L));
        }

        string y = g.Node(op, $"{p.Name}/{op}", [ChannelsFirst(x.Name, p.Name)], [.. attributes]);
        return ChannelsLast(y, p.Name);
    }

    private string EmitGlobalPool1D(GlobalPooling1D p, OnnxValue x)
    {
        string y;
        if (p is GlobalAveragePooling1D && x.Mask is not null)
        {
            // Σ_t mask·x / max(Σ_t mask, 1): only unmasked steps count; a sequence masked entirely gives zeros.
            string m = g.Node("Unsqueeze", p.Name + "/MaskPerFeature", [x.Mask, g.Int64s(-1)]);
            string sum = g.Node("ReduceSum", p.Name + "/MaskedSum", [g.Node("Mul", p.Name + "/Masked", [x.Name, m]), g.Int64s(1)], Attr("keepdims", 1L));
            string count = g.Node("ReduceSum", p.Name + "/Count", [m, g.Int64s(1)], Attr("keepdims", 1L));
            y = g.Node("Div", p.Name + "/Mean", [sum, g.Node("Max", p.Name + "/AtLeastOne", [count, g.FloatScalar(p.Name + "/one", 1f)])]);
        }
        else
        {
            string op = p is GlobalMaxPooling1D ? "GlobalMaxPool" : "GlobalAveragePool";
            y = ChannelsLast(g.Node(op, $"{p.Name}/{op}", [ChannelsFirst(x.Name, p.Name)]), p.Name);
        }

        // y is [batch, 1, channels].
        return p.KeepDims ? y : g.Node("Squeeze", p.Name + "/Squeeze", [y, g.Int64s(1)]);
    }

    private string EmitLayerNormalization(LayerNormalization ln, OnnxValue x)
    {
        int rank = x.Shape.Length + 1;
        int first = ln.Axis.Select(a => a < 0 ? a + rank : a).Min();

        var normShape = x.Shape[(first - 1)..].Select(d => (long)d).ToArray();
        var ones = Enumerable.Repeat(1f, ln.NormalizedSize).ToArray();
        string scale = ln.Gamma is { } gamma ? g.Weight(ln.Name + "/gamma", normShape, gamma.Value.Span) : g.Weight(ln.Name + "/ones", normShape, ones);
        string? bias = ln.Beta is { } beta ? g.Weight(ln.Name + "/beta", normShape, beta.Value.Span) : null;
        if (options.Opset >= 17)
        {
            return g.Node("LayerNormalization", ln.Name + "/LayerNormalization", bias is null ? [x.Name, scale] : [x.Name, scale, bias], Attr("axis", (long)first), Attr("epsilon", ln.Epsilon));
        }

        // Before opset 17: (x − mean) / √(var + ε) · γ + β with ReduceMean (axes as an attribute up to opset 17).
        var axes = Enumerable.Range(first, rank - first).Select(a => (long)a).ToArray();
        string mean = g.Node("ReduceMean", ln.Name + "/Mean", [x.Name], Attr("axes", axes), Attr("keepdims", 1L));
        string d = g.Node("Sub", ln.Name + "/Centered", [x.Name, mean]);
        string variance = g.Node("ReduceMean", ln.Name + "/Variance", [g.Node("Mul", ln.Name + "/Squared", [d, d])], Attr("axes", axes), Attr("keepdims", 1L));
        string std = g.Node("Sqrt", ln.Name + "/Std", [g.Node("Add", ln.Name + "/PlusEpsilon", [variance, g.FloatScalar(ln.Name + "/epsilon", ln.Epsilon)])]);
        string y = g.Node("Mul", ln.Name + "/Scale", [g.Node("Div", ln.Name + "/Normalized", [d, std]), scale]);
        return bias is null ? y : g.Node("Add", ln.Name + "/Offset", [y, bias]);
    }

    private string EmitBatchNormalization(BatchNormalization bn, OnnxValue x)
    {
        int c = bn.MovingMean!.Count;
        string scale = bn.Gamma is { } gamma ? g.Weight(bn.Name + "/gamma", [c], gamma.Value.Span) : g.Weight(bn.Name + "/ones", [c], Enumerable.Repeat(1f, c).ToArray());
        string bias = bn.Beta is { } beta ? g.Weight(bn.Name + "/beta", [c], beta.Value.Span) : g.Weight(bn.Name + "/zeros", [c], new float[c]);
        string mean = g.Weight(bn.Name + "/moving_mean", [c], bn.MovingMean.Value.Span);
        string variance = g.Weight(bn.Name + "/moving_variance", [c], bn.MovingVariance!.Value.Span);
        int rank = x.Shape.Length + 1;
        if (rank == 2)
        {
            return g.Node("BatchNormalization", bn.Name + "/BatchNormalization", [x.Name, scale, bias, mean, variance], Attr("epsilon", bn.Epsilon));
        }

        // Channels to axis 1 and back.
        var toFirst = MoveAxis(rank, rank - 1, 1);
        var toLast = MoveAxis(rank, 1, rank - 1);
        string cf = g.Node("Transpose", bn.Name + "/ChannelsFirst", [x.Name], Attr("perm", toFirst));
        string y = g.Node("BatchNormalization", bn.Name + "/BatchNormalization", [cf, scale, bias, mean, variance], Attr("epsilon", bn.Epsilon));
        return g.Node("Transpose", bn.Name + "/ChannelsLast", [y], Attr("perm", toLast));
    }
}
