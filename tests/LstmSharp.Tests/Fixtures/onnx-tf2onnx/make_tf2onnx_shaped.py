#!/usr/bin/python3
"""Builds ONNX graphs shaped as tf2onnx writes Keras / TensorFlow recurrent layers.

These are NOT tf2onnx output: PyPI (tensorflow, tf2onnx) is not reachable where this was made,
so the graphs are laid out by hand after reading tf2onnx's source (github.com/onnx/tensorflow-onnx,
commit 6537fcb2), each pattern citing the file/function it follows. The expected outputs are
computed in float64 NumPy from Keras's / TensorFlow's own cell equations on the ORIGINAL (Keras /
TF) weights, so the gate reordering done in the graph is checked, not assumed.

Run with Debian's /usr/bin/python3 (onnx 1.12, numpy); writes one folder per case with
model.onnx, input_N.npy and output_N.npy (graph order). CI never needs Python.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
INT32_MAX = np.iinfo(np.int32).max


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def hard_sigmoid_keras2(x):
    # Keras 2 / tf.keras: clip(0.2 x + 0.5, 0, 1); tf2onnx writes ONNX HardSigmoid with its
    # default alpha 0.2, beta 0.5 (lstm_tf2_rewriter.py, rewriter_lstm_tf2: "HardSigmoid").
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


# ---- references: the frameworks' equations on their own weights (float64) ----------------

def keras_lstm(x, kernel, recurrent, bias, rec_act=sigmoid, backwards=False):
    """Keras LSTM, gate blocks i, f, c, o. Returns outputs [B, T, H] in time order and h, c."""
    b, t, _ = x.shape
    u = recurrent.shape[0]
    h = np.zeros((b, u))
    c = np.zeros((b, u))
    ys = np.zeros((b, t, u))
    steps = range(t - 1, -1, -1) if backwards else range(t)
    for s in steps:
        z = x[:, s] @ kernel + h @ recurrent + bias
        i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
        c = rec_act(f) * c + rec_act(i) * np.tanh(g)
        h = rec_act(o) * np.tanh(c)
        ys[:, s] = h
    return ys, h, c


def keras_gru(x, kernel, recurrent, bias, backwards=False):
    """Keras GRU with reset_after=True, gate blocks z, r, h; bias [2, 3H] (input, recurrent)."""
    b, t, _ = x.shape
    u = recurrent.shape[0]
    h = np.zeros((b, u))
    ys = np.zeros((b, t, u))
    steps = range(t - 1, -1, -1) if backwards else range(t)
    for s in steps:
        xi = x[:, s] @ kernel + bias[0]
        hr = h @ recurrent + bias[1]
        z = sigmoid(xi[:, :u] + hr[:, :u])
        r = sigmoid(xi[:, u:2 * u] + hr[:, u:2 * u])
        hh = np.tanh(xi[:, 2 * u:] + r * hr[:, 2 * u:])
        h = z * h + (1 - z) * hh
        ys[:, s] = h
    return ys, h


def tf_lstm_cell_dynamic_rnn(x, kernel, bias, forget_bias, lengths, h0, c0):
    """tf.nn.rnn_cell.LSTMCell in tf.nn.dynamic_rnn with sequence_length: blocks i, j, f, o of
    concat(x, h) @ kernel + bias, f gets forget_bias; past a row's length the output is 0 and the
    state is carried unchanged."""
    b, t, _ = x.shape
    u = h0.shape[1]
    h, c = h0.copy(), c0.copy()
    ys = np.zeros((b, t, u))
    for s in range(t):
        z = np.concatenate([x[:, s], h], axis=1) @ kernel + bias
        i, j, f, o = (z[:, k * u:(k + 1) * u] for k in range(4))
        c_new = sigmoid(f + forget_bias) * c + sigmoid(i) * np.tanh(j)
        h_new = sigmoid(o) * np.tanh(c_new)
        live = (s < lengths)[:, None]
        c = np.where(live, c_new, c)
        h = np.where(live, h_new, h)
        ys[:, s] = np.where(live, h_new, 0.0)
    return ys, h, c


# ---- weights as tf2onnx writes them ----------------------------------------------------

def keras_lstm_onnx_weights(kernel, recurrent, bias):
    # lstm_rewriter.py, LSTMRewriter._process_weights_and_bias_per_layer (from_keras) and
    # _convert_gates_ifco_to_iofc: Keras blocks i, f, c, o reordered to ONNX i, o, f, c;
    # W = kernel^T, R = recurrent^T, B = [bias, zeros] (Rb is 0: Keras has one bias).
    def iofc(m):
        g = np.split(m, 4, axis=-1)
        return np.concatenate((g[0], g[3], g[1], g[2]), axis=-1)
    w = iofc(kernel).T[None]
    r = iofc(recurrent).T[None]
    b = np.concatenate((iofc(bias[None]), np.zeros((1, bias.shape[0]))), axis=1)
    return w, r, b


def tf_lstm_onnx_weights(kernel, bias, forget_bias, units):
    # lstm_rewriter.py, _process_weights_and_bias_per_layer (TF cell): forget_bias added to the
    # f block, blocks i, c, f, o reordered by _convert_gates_icfo_to_iofc, the [F + H, 4H]
    # kernel split into its x and h rows.
    bg = np.split(bias[None], 4, axis=1)
    bg[2] = bg[2] + forget_bias
    wb = np.concatenate((bg[0], bg[3], bg[2], bg[1]), axis=1)
    b = np.concatenate((wb, np.zeros_like(wb)), axis=1)
    wx, wh = kernel[:-units], kernel[-units:]

    def iofc(m):
        g = np.split(m, 4, axis=1)
        return np.concatenate((g[0], g[3], g[2], g[1]), axis=1)
    return iofc(wx).T[None], iofc(wh).T[None], b


def keras_gru_onnx_weights(kernel, recurrent, bias):
    # gru_rewriter.py, GRUUnitRewriter._process_weights_and_bias_keras: z, r, h kept, W = kernel^T,
    # R = recurrent^T, B = [input bias, recurrent bias]; linear_before_reset=1 (gru_tf2_rewriter.py).
    return kernel.T[None], recurrent.T[None], np.concatenate((bias[0], bias[1]))[None]


# ---- graph writing ------------------------------------------------------------------------

class Graph:
    """Nodes, initializers and tf2onnx-style names (utils.make_name: '<base>__<n>')."""

    def __init__(self, opset):
        self.opset = opset
        self.nodes = []
        self.inits = []
        self.count = 10

    def name(self, base):
        self.count += 1
        return f"{base}__{self.count}"

    def const(self, base, value, dtype=np.float32):
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), n))
        return n

    def node(self, op, inputs, base=None, outputs=1, **attrs):
        name = self.name(base or op)
        outs = [f"{name}:{k}" for k in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if outputs == 1 else outs

    def squeeze(self, x, axes, base="Squeeze"):
        # graph_builder.py make_squeeze: axes an input from opset 13, an attribute before.
        if self.opset >= 13:
            return self.node("Squeeze", [x, self.const("const_axes", axes, np.int64)], base)
        return self.node("Squeeze", [x], base, axes=axes)

    def unsqueeze(self, x, axes, base="Unsqueeze"):
        if self.opset >= 13:
            return self.node("Unsqueeze", [x, self.const("const_axes", axes, np.int64)], base)
        return self.node("Unsqueeze", [x], base, axes=axes)

    def slice(self, x, starts, ends, axes, base="Slice"):
        # graph_builder.py make_slice: int64 inputs from opset 10, attributes before.
        if self.opset >= 10:
            return self.node("Slice", [x, self.const("const_starts", starts, np.int64), self.const("const_ends", ends, np.int64),
                                       self.const("const_axes", axes, np.int64)], base)
        return self.node("Slice", [x], base, starts=starts, ends=ends, axes=axes)

    def zero_state(self, x, units, scope):
        """Keras's zeros([tf.shape(inputs)[0], units]) as tf2onnx converts it: Shape (int64) →
        Cast int32 (onnx_opset/tensor.py Shape), StridedSlice → Slice + Squeeze (tensor.py
        StridedSlice), Pack → Unsqueeze + Concat (tensor.py Pack), Fill → Cast int64 + Expand from
        opset 11, ConstantOfShape before (onnx_opset/generator.py Fill.version_9 / version_11)."""
        shape = self.node("Shape", [x], scope + "/Shape")
        shape32 = self.node("Cast", [shape], scope + "/Shape", to=TensorProto.INT32)
        batch = self.squeeze(self.slice(shape32, [0], [1], [0], scope + "/strided_slice"), [0], scope + "/strided_slice")
        packed = self.node("Concat", [self.unsqueeze(batch, [0], scope + "/zeros/packed"), self.const("const_fold_opt", [units], np.int32)],
                           scope + "/zeros/packed", axis=0)
        dims = self.node("Cast", [packed], scope + "/zeros", to=TensorProto.INT64)
        if self.opset >= 11:
            return self.node("Expand", [self.const(scope + "/zeros/Const", 0.0), dims], scope + "/zeros")
        return self.node("ConstantOfShape", [dims], scope + "/zeros", value=numpy_helper.from_array(np.zeros(1, np.float32)))

    def save(self, folder, inputs, outputs, values_in, values_out):
        graph = helper.make_graph(self.nodes, "tf2onnx", inputs, outputs, self.inits)
        model = helper.make_model(graph, producer_name="tf2onnx-shaped (LstmSharp make_tf2onnx_shaped.py)",
                                  opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 7
        onnx.checker.check_model(model)
        path = os.path.join(HERE, folder)
        os.makedirs(path, exist_ok=True)
        onnx.save(model, os.path.join(path, "model.onnx"))
        for k, v in enumerate(values_in):
            np.save(os.path.join(path, f"input_{k}.npy"), v)
        for k, v in enumerate(values_out):
            np.save(os.path.join(path, f"output_{k}.npy"), v.astype(np.float32))


def f32(a):
    return np.asarray(a, dtype=np.float32)


def tensor_in(name, dims, elem=TensorProto.FLOAT):
    # tf2onnx names unknown dims 'unk__N' (utils.py, make_name("unk")).
    return helper.make_tensor_value_info(name, elem, dims)


def rand(rng, *shape, scale=0.5):
    return f32(rng.uniform(-scale, scale, size=shape)).astype(np.float64)


def lstm_node(g, x, w, r, b, seq, h0, c0, acts, units, scope, direction="forward"):
    # lstm_rewriter.py, LSTMRewriter.create_single_rnn_node: inputs X, W, R, B, sequence_lens,
    # initial_h, initial_c; attributes activations, direction, hidden_size; three outputs.
    return g.node("LSTM", [x, w, r, b, seq, h0, c0], scope + "/LSTM", outputs=3,
                  activations=acts, direction=direction, hidden_size=units)


def keras_lstm_last_dense(opset, folder, rng):
    """tests/test_lstm.py-like Keras Sequential: LSTM(5) (last output) then Dense(3, softmax)."""
    B, T, F, U = 3, 6, 3, 5
    kernel, recurrent, bias = rand(rng, F, 4 * U), rand(rng, U, 4 * U), rand(rng, 4 * U)
    dk, db = rand(rng, U, 3), rand(rng, 3)
    x = rand(rng, B, T, F, scale=1.0)
    g = Graph(opset)
    scope = "sequential/lstm/PartitionedCall"
    # Keras's standard_lstm transposes to time-major; that Transpose feeds TensorListFromTensor,
    # whose input becomes X (lstm_tf2_rewriter.py: onnx_input_ids["X"] = tensor_array_inp.input[0]).
    xt = g.node("Transpose", ["input_1"], scope + "/transpose", perm=[1, 0, 2])
    zeros = g.zero_state("input_1", U, "sequential/lstm")  # one Fill for h and c (merge_duplicated_nodes_optimizer.py)
    w, r, b = keras_lstm_onnx_weights(kernel, recurrent, bias)
    # Initial states: Unsqueeze(axes 0) of the loop's state inputs (rewriter_lstm_tf2, state_is_tuple).
    h0, c0 = g.unsqueeze(zeros, [0]), g.unsqueeze(zeros, [0])
    y, _, _ = lstm_node(g, xt, g.const("W", w), g.const("R", r), g.const("B", b), "", h0, c0, ["Sigmoid", "Tanh", "Tanh"], U, scope)
    # Y squeezed on axis 1 replaces TensorListStack (rewriter_lstm_tf2), then Keras's outputs[-1]:
    # StridedSlice(-1, shrink) → Slice(starts -1, ends INT32_MAX, axes 0) + Squeeze(0) (tensor.py StridedSlice).
    seq = g.squeeze(y, [1])
    last = g.squeeze(g.slice(seq, [-1], [INT32_MAX], [0], scope + "/strided_slice_3"), [0], scope + "/strided_slice_3")
    # Dense: MatMul + BiasAdd (→ Add) + Softmax.
    logits = g.node("Add", [g.node("MatMul", [last, g.const("sequential/dense/MatMul/ReadVariableOp", dk)], "sequential/dense/MatMul"),
                            g.const("sequential/dense/BiasAdd/ReadVariableOp", db)], "sequential/dense/BiasAdd")
    soft = g.node("Softmax", [logits], "sequential/dense/Softmax", axis=-1 if opset >= 13 else 1)
    g.nodes.append(helper.make_node("Identity", [soft], ["dense"], name="Identity"))
    _, h, _ = keras_lstm(x, kernel, recurrent, bias)
    z = h @ dk + db
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    g.save(folder, [tensor_in("input_1", ["unk__31", "unk__32", F])], [tensor_in("dense", ["unk__33", 3])], [f32(x)], [expected])


def keras_lstm_sequences_states(opset, folder, rng):
    """tests/test_lstm.py test_keras_lstm_recurrent_activation_is_hard_sigmoid: LSTM(5,
    return_sequences, return_state, recurrent_activation='hard_sigmoid') → outputs, h, c."""
    B, T, F, U = 2, 7, 3, 5
    kernel, recurrent, bias = rand(rng, F, 4 * U), rand(rng, U, 4 * U), rand(rng, 4 * U)
    x = rand(rng, B, T, F, scale=1.5)
    g = Graph(opset)
    scope = "model/lstm/PartitionedCall"
    xt = g.node("Transpose", ["input"], scope + "/transpose", perm=[1, 0, 2])
    zh = g.zero_state("input", U, "model/lstm")
    zc = g.zero_state("input", U, "model/lstm_1")  # two Fills kept (no merge): both shapes appear in tf2onnx output
    w, r, b = keras_lstm_onnx_weights(kernel, recurrent, bias)
    y, yh, yc = lstm_node(g, xt, g.const("W", w), g.const("R", r), g.const("B", b), "", g.unsqueeze(zh, [0]), g.unsqueeze(zc, [0]),
                          ["HardSigmoid", "Tanh", "Tanh"], U, scope)
    # Sequences: Squeeze(Y, 1) then Keras's transpose back to batch-major; states: Squeeze(Y_h / Y_c, 0)
    # (rewriter_lstm_tf2: c_squeeze / h_squeeze replace the loop's state outputs).
    seq = g.node("Transpose", [g.squeeze(y, [1])], scope + "/transpose_1", perm=[1, 0, 2])
    g.nodes.append(helper.make_node("Identity", [seq], ["output"], name="output"))
    g.nodes.append(helper.make_node("Identity", [g.squeeze(yh, [0])], ["output1"], name="output1"))
    g.nodes.append(helper.make_node("Identity", [g.squeeze(yc, [0])], ["output2"], name="output2"))
    ys, h, c = keras_lstm(x, kernel, recurrent, bias, rec_act=hard_sigmoid_keras2)
    outs = [tensor_in("output", ["unk__40", "unk__41", U]), tensor_in("output1", ["unk__42", U]), tensor_in("output2", ["unk__43", U])]
    g.save(folder, [tensor_in("input", ["unk__38", "unk__39", F])], outs, [f32(x)], [ys, h, c])


def keras_gru_sequences_state(opset, folder, rng):
    """tests/test_gru.py test_keras_gru: GRU(5, return_sequences, return_state), reset_after=True."""
    B, T, F, U = 3, 5, 4, 5
    kernel, recurrent, bias = rand(rng, F, 3 * U), rand(rng, U, 3 * U), rand(rng, 2, 3 * U)
    x = rand(rng, B, T, F, scale=1.0)
    g = Graph(opset)
    scope = "model/gru/PartitionedCall"
    xt = g.node("Transpose", ["input_1"], scope + "/transpose", perm=[1, 0, 2])
    h0 = g.unsqueeze(g.zero_state("input_1", U, "model/gru"), [0])  # gru_tf2_rewriter.py: make_unsqueeze(initial_state, [0])
    w, r, b = keras_gru_onnx_weights(kernel, recurrent, bias)
    # gru_rewriter.py GRUUnitRewriter.create_rnn_node: X, W, R, B, "" (no sequence_lens), initial_h.
    y, yh = g.node("GRU", [xt, g.const("W", w), g.const("R", r), g.const("B", b), "", h0], scope + "/GRU", outputs=2,
                   activations=["Sigmoid", "Tanh"], direction="forward", hidden_size=U, linear_before_reset=1)
    seq = g.node("Transpose", [g.squeeze(y, [1])], scope + "/transpose_1", perm=[1, 0, 2])
    g.nodes.append(helper.make_node("Identity", [seq], ["output"], name="output"))
    g.nodes.append(helper.make_node("Identity", [g.squeeze(yh, [0])], ["output1"], name="output1"))
    ys, h = keras_gru(x, kernel, recurrent, bias)
    g.save(folder, [tensor_in("input_1", ["unk__50", "unk__51", F])],
           [tensor_in("output", ["unk__52", "unk__53", U]), tensor_in("output1", ["unk__54", U])], [f32(x)], [ys, h])


def keras_bilstm_sequences(opset, folder, rng):
    """tests/test_lstm.py test_keras_bilstm_*: Bidirectional(LSTM(5, return_sequences)), concat."""
    B, T, F, U = 2, 6, 3, 5
    fw = (rand(rng, F, 4 * U), rand(rng, U, 4 * U), rand(rng, 4 * U))
    bw = (rand(rng, F, 4 * U), rand(rng, U, 4 * U), rand(rng, 4 * U))
    x = rand(rng, B, T, F, scale=1.0)
    g = Graph(opset)
    scope = "model/bidirectional"
    xt = g.node("Transpose", ["input"], scope + "/forward_lstm/PartitionedCall/transpose", perm=[1, 0, 2])
    zf = g.zero_state("input", U, scope + "/forward_lstm")
    zb = g.zero_state("input", U, scope + "/backward_lstm")
    (wf, rf, bf), (wb, rb, bb) = keras_lstm_onnx_weights(*fw), keras_lstm_onnx_weights(*bw)
    # bilstm_rewriter.py process_bilstm: W/R/B of both directions concatenated on axis 0; initial
    # states of the two directions joined by Concat(axis 0) (rnn_utils.process_single_init_node, not const).
    h0 = g.node("Concat", [g.unsqueeze(zf, [0]), g.unsqueeze(zb, [0])], axis=0)
    c0 = g.node("Concat", [g.unsqueeze(zf, [0]), g.unsqueeze(zb, [0])], axis=0)
    y, _, _ = g.node("LSTM", [xt, g.const("W", np.concatenate((wf, wb))), g.const("R", np.concatenate((rf, rb))),
                              g.const("B", np.concatenate((bf, bb))), "", h0, c0], "LSTM", outputs=3,
                     activations=["Sigmoid", "Tanh", "Tanh"] * 2, direction="bidirectional", hidden_size=U)
    # rnn_utils.slice_birnn_for_original_rnn_consumers: each direction's former Y is Slice(axes 1)
    # of the joint Y, then the old Squeeze(1) and Keras's transpose back; the backward output's
    # Reverse is removed (ONNX keeps time positions).
    seqs = []
    for d, name in ((0, "forward_lstm"), (1, "backward_lstm")):
        part = g.squeeze(g.slice(y, [d], [d + 1], [1]), [1])
        seqs.append(g.node("Transpose", [part], f"{scope}/{name}/PartitionedCall/transpose_1", perm=[1, 0, 2]))
    joined = g.node("Concat", seqs, scope + "/concat", axis=-1)
    g.nodes.append(helper.make_node("Identity", [joined], ["output"], name="output"))
    yf, _, _ = keras_lstm(x, *fw)
    yb, _, _ = keras_lstm(x, *bw, backwards=True)
    g.save(folder, [tensor_in("input", ["unk__60", "unk__61", F])], [tensor_in("output", ["unk__62", "unk__63", 2 * U])],
           [f32(x)], [np.concatenate((yf, yb), axis=2)])


def keras_embedding_bigru_last(opset, folder, rng):
    """Embedding(20, 4) → Bidirectional(GRU(4)) (last outputs, concat) → Dense(1, sigmoid)."""
    B, T, V, E, U = 3, 5, 20, 4, 4
    table = rand(rng, V, E)
    fw = (rand(rng, E, 3 * U), rand(rng, U, 3 * U), rand(rng, 2, 3 * U))
    bw = (rand(rng, E, 3 * U), rand(rng, U, 3 * U), rand(rng, 2, 3 * U))
    dk, db = rand(rng, 2 * U, 1), rand(rng, 1)
    ids = f32(rng.integers(1, V, size=(B, T)))
    g = Graph(opset)
    scope = "sequential/bidirectional"
    # Keras Embedding casts float ids to int32, then ResourceGather → Gather(axis 0).
    idx = g.node("Cast", ["embedding_input"], "sequential/embedding/Cast", to=TensorProto.INT32)
    emb = g.node("Gather", [g.const("sequential/embedding/embedding_lookup", table), idx], "sequential/embedding/embedding_lookup", axis=0)
    xt = g.node("Transpose", [emb], scope + "/forward_gru/PartitionedCall/transpose", perm=[1, 0, 2])
    zf = g.zero_state(emb, U, scope + "/forward_gru")
    zb = g.zero_state(emb, U, scope + "/backward_gru")
    (wf, rf, bf), (wb, rb, bb) = keras_gru_onnx_weights(*fw), keras_gru_onnx_weights(*bw)
    # bigru_rewriter.py process_bigru / process_init_nodes: Concat of the two initial states.
    h0 = g.node("Concat", [g.unsqueeze(zf, [0]), g.unsqueeze(zb, [0])], axis=0)
    y, _ = g.node("GRU", [xt, g.const("W", np.concatenate((wf, wb))), g.const("R", np.concatenate((rf, rb))),
                          g.const("B", np.concatenate((bf, bb))), "", h0], "GRU", outputs=2,
                  activations=["Sigmoid", "Tanh"] * 2, direction="bidirectional", hidden_size=U, linear_before_reset=1)
    # Forward last output: Keras's outputs[-1]; backward: rnn_utils.slice_birnn_for_original_rnn_consumers
    # replaces its tail slice by Slice(axes 0, 0:1) + Squeeze(0), the first time position.
    fseq = g.squeeze(g.slice(y, [0], [1], [1]), [1])
    bseq = g.squeeze(g.slice(y, [1], [2], [1]), [1])
    flast = g.squeeze(g.slice(fseq, [-1], [INT32_MAX], [0], scope + "/forward_gru/PartitionedCall/strided_slice_2"), [0])
    blast = g.squeeze(g.slice(bseq, [0], [1], [0]), [0])
    joined = g.node("Concat", [flast, blast], scope + "/concat", axis=-1)
    logits = g.node("Add", [g.node("MatMul", [joined, g.const("sequential/dense/MatMul/ReadVariableOp", dk)], "sequential/dense/MatMul"),
                            g.const("sequential/dense/BiasAdd/ReadVariableOp", db)], "sequential/dense/BiasAdd")
    g.nodes.append(helper.make_node("Sigmoid", [logits], ["dense"], name="sequential/dense/Sigmoid"))
    xe = table[ids.astype(np.int64)]
    _, hf = keras_gru(xe, *fw)
    _, hb = keras_gru(xe, *bw, backwards=True)
    expected = sigmoid(np.concatenate((hf, hb), axis=1) @ dk + db)
    g.save(folder, [tensor_in("embedding_input", ["unk__70", "unk__71"])], [tensor_in("dense", ["unk__72", 1])], [ids], [expected])


def tf_dynamic_lstm_lengths_states(opset, folder, rng):
    """tests/test_lstm.py test_single_dynamic_lstm_seq_length_is_not_const with given initial
    states: tf.nn.dynamic_rnn(LSTMCell(5), x, sequence_length=lengths, initial_state=(c0, h0))."""
    B, T, F, U = 3, 6, 3, 5
    forget_bias = 1.0
    kernel, bias = rand(rng, F + U, 4 * U), rand(rng, 4 * U)
    x = rand(rng, B, T, F, scale=1.0)
    lengths = np.array([6, 4, 1], dtype=np.int32)
    h0, c0 = rand(rng, B, U), rand(rng, B, U)
    g = Graph(opset)
    scope = "rnn"
    xt = g.node("Transpose", ["input_1"], scope + "/transpose", perm=[1, 0, 2])
    # The loop's sequence length (rewriter_lstm_tf2: seq_len_idx) is dynamic_rnn's int32 cast of it.
    seq = g.node("Cast", ["input_2"], scope + "/sequence_length", to=TensorProto.INT32)
    w, r, b = tf_lstm_onnx_weights(kernel, bias, forget_bias, U)
    y, yh, yc = lstm_node(g, xt, g.const("W", w), g.const("R", r), g.const("B", b), seq,
                          g.unsqueeze("input_3", [0]), g.unsqueeze("input_4", [0]), ["Sigmoid", "Tanh", "Tanh"], U, scope)
    out = g.node("Transpose", [g.squeeze(y, [1])], scope + "/transpose_1", perm=[1, 0, 2])
    g.nodes.append(helper.make_node("Identity", [out], ["output"], name="output"))
    g.nodes.append(helper.make_node("Identity", [g.squeeze(yc, [0])], ["cell_state"], name="cell_state"))
    g.nodes.append(helper.make_node("Identity", [g.squeeze(yh, [0])], ["hidden_state"], name="hidden_state"))
    ys, h, c = tf_lstm_cell_dynamic_rnn(x, kernel, bias, forget_bias, lengths, h0, c0)
    inputs = [tensor_in("input_1", ["unk__80", T, F]), tensor_in("input_2", ["unk__81"], TensorProto.INT32),
              tensor_in("input_3", ["unk__82", U]), tensor_in("input_4", ["unk__83", U])]
    outputs = [tensor_in("output", ["unk__84", T, U]), tensor_in("cell_state", ["unk__85", U]), tensor_in("hidden_state", ["unk__86", U])]
    g.save(folder, inputs, outputs, [f32(x), lengths, f32(h0), f32(c0)], [ys, c, h])


def main():
    rng = np.random.default_rng(12)
    keras_lstm_last_dense(13, "keras_lstm_last_dense_op13", rng)
    keras_lstm_last_dense(9, "keras_lstm_last_dense_op9", rng)
    keras_lstm_sequences_states(11, "keras_lstm_hardsigmoid_states_op11", rng)
    keras_gru_sequences_state(15, "keras_gru_states_op15", rng)
    keras_bilstm_sequences(13, "keras_bilstm_sequences_op13", rng)
    keras_embedding_bigru_last(15, "keras_embedding_bigru_last_op15", rng)
    tf_dynamic_lstm_lengths_states(13, "tf_dynamic_lstm_lengths_states_op13", rng)


if __name__ == "__main__":
    main()
