using LstmSharp.Interop.Onnx.Proto;
using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Models;
using LstmSharp.Recurrent;

namespace LstmSharp.Interop.Onnx;

/// <summary>
/// ONNX recurrent nodes that the fused layers cannot express — a <c>clip</c>, an activation that
/// does not fold into an <see cref="ActivationKind"/> (LeakyRelu(0.1), Elu, Softsign, ScaledTanh(2, β),
/// an LSTM whose g and h differ, ...) — become <see cref="RNN"/> layers over an
/// <see cref="OnnxRecurrentCell"/> per direction, which runs the operator's equations as they are,
/// with the weights in ONNX's own layout (W, R, B and P of that direction, copied unchanged).
/// </summary>
/// <remarks>
/// A bidirectional node becomes two RNNs (forward, and go_backwards re-reversed by ReverseTime)
/// whose sequences are concatenated; the exporter writes each back as a node of its own with the
/// same attributes.
/// </remarks>
internal sealed partial class OnnxImporter
{
    private Value[] ImportAsCells(
        NodeProto node, string op, int h, int f, long time, long layout, string direction, ActivationFunction[][] functions, float? clip,
        SymbolicTensor xSym, SymbolicTensor?[,] initial, bool anyInitial, bool[] zeroOutputForMask, bool wantY, bool wantStates,
        OnnxConstant w, OnnxConstant r, OnnxConstant? b, OnnxConstant? p)
    {
        int dirs = functions.Length;
        int states = op == "LSTM" ? 2 : 1;
        int gates = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
        var sequences = new SymbolicTensor[dirs];
        var finals = new SymbolicTensor[dirs][];
        for (int d = 0; d < dirs; d++)
        {
            bool backwards = direction == "reverse" || d == 1;
            OnnxRecurrentCell cell;
            RNN rnn;
            SymbolicTensor[] outs;
            try
            {
                cell = new OnnxRecurrentCell(
                    op,
                    h,
                    functions[d],
                    clip,
                    inputForget: op == "LSTM" && AttrInt(node, "input_forget", 0) != 0,
                    linearBeforeReset: op == "GRU" && AttrInt(node, "linear_before_reset", 0) != 0,
                    peepholes: p is not null && Peepholes(p, d, h));
                rnn = new RNN(cell, returnSequences: wantY, returnState: wantStates, goBackwards: backwards, zeroOutputForMask: zeroOutputForMask[d]);
                var inputs = new List<SymbolicTensor> { xSym };
                if (anyInitial)
                {
                    for (int s = 0; s < states; s++)
                    {
                        inputs.Add(initial[s, d]!);
                    }
                }

                outs = rnn.ApplyAll(inputs.ToArray());
            }
            catch (ArgumentException e)
            {
                throw UnsupportedNode(node, e.Message);
            }

            CopyCellWeights(cell, w, r, b, p, d, gates, h, f);
            if (wantY)
            {
                sequences[d] = backwards ? new ReverseTime().Apply(outs[0]) : outs[0];
            }

            finals[d] = outs.Skip(1).ToArray();
        }

        // Outputs as ImportRecurrent gives them.
        var joined = !wantY ? null : dirs == 1 ? sequences[0] : new Concatenate(-1).Apply(sequences);
        return RecurrentOutputs(joined, wantStates ? finals : null, states, dirs, h, time, layout);
    }

    /// <summary>Direction <paramref name="d"/>'s W, R, B (zeros when absent) and P, unchanged: the cell keeps ONNX's layout.</summary>
    private static void CopyCellWeights(OnnxRecurrentCell cell, OnnxConstant w, OnnxConstant r, OnnxConstant? b, OnnxConstant? p, int d, int gates, int h, int f)
    {
        w.Floats!.AsSpan(d * gates * h * f, gates * h * f).CopyTo(cell.Kernel!.Value.Span);
        r.Floats!.AsSpan(d * gates * h * h, gates * h * h).CopyTo(cell.RecurrentKernel!.Value.Span);
        var bias = cell.Bias!.Value.Span;
        if (b is null)
        {
            bias.Clear();
        }
        else
        {
            b.Floats!.AsSpan(d * 2 * gates * h, 2 * gates * h).CopyTo(bias);
        }

        if (cell.Peephole is { } peep)
        {
            p!.Floats!.AsSpan(d * 3 * h, 3 * h).CopyTo(peep.Value.Span);
        }
    }
}
