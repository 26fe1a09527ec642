#!/usr/bin/python3
"""Makes the ONNX fixtures for the recurrent operators' attributes (clip, activations with
alpha/beta, sequence_lens as a graph input) of LstmSharp's importer tests.

Run with Debian 12's python (onnx 1.12, numpy):  /usr/bin/python3 make_attribute_fixtures.py
Each fixture is a folder NAME/ with model.onnx (written by onnx.helper), input_K.npy (the graph
inputs, in order; sequence_lens as int32) and output_K.npy: the outputs computed here by a plain
float64 numpy reference written from the ONNX operator specification (below), independent of both
ONNX Runtime and LstmSharp. The tests hold the imported model to these outputs and to ONNX
Runtime. CI never runs this script; seeds are fixed, so a re-run gives the same files.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (function, takes alpha, takes beta, default alpha, default beta): the ONNX operators' defaults.
ACTS = {
    "Relu": (lambda x, a, b: np.maximum(x, 0), False, False, 0, 0),
    "Tanh": (lambda x, a, b: np.tanh(x), False, False, 0, 0),
    "Sigmoid": (lambda x, a, b: 1 / (1 + np.exp(-x)), False, False, 0, 0),
    "Affine": (lambda x, a, b: a * x + b, True, True, 1.0, 0.0),
    "LeakyRelu": (lambda x, a, b: np.where(x >= 0, x, a * x), True, False, 0.01, 0),
    "ThresholdedRelu": (lambda x, a, b: np.where(x > a, x, 0), True, False, 1.0, 0),
    "ScaledTanh": (lambda x, a, b: a * np.tanh(b * x), True, True, 1.0, 1.0),
    "HardSigmoid": (lambda x, a, b: np.clip(a * x + b, 0, 1), True, True, 0.2, 0.5),
    "Elu": (lambda x, a, b: np.where(x >= 0, x, a * (np.exp(x) - 1)), True, False, 1.0, 0),
    "Softsign": (lambda x, a, b: x / (1 + np.abs(x)), False, False, 0, 0),
    "Softplus": (lambda x, a, b: np.log1p(np.exp(x)), False, False, 0, 0),
}


def functions(names, alphas, betas):
    """The activations with their alpha/beta, consumed in order by those that take them."""
    alphas, betas, out = list(alphas), list(betas), []
    for n in names:
        f, ta, tb, da, db = ACTS[n]
        a = alphas.pop(0) if ta and alphas else da
        b = betas.pop(0) if tb and betas else db
        out.append(lambda x, f=f, a=a, b=b: f(x, a, b))
    return out


def reference(op, direction, x, w, r, bias, lens, acts, clip, linear_before_reset=0):
    """Y [T, dirs, B, H], Y_h [dirs, B, H] (and Y_c for LSTM) per the ONNX operator spec."""
    t_steps, batch, _ = x.shape
    dirs, gh, _ = w.shape
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    h = gh // gates
    per = {"LSTM": 3, "GRU": 2, "RNN": 1}[op]
    cl = (lambda v: np.clip(v, -clip, clip)) if clip is not None else (lambda v: v)
    y = np.zeros((t_steps, dirs, batch, h))
    yh = np.zeros((dirs, batch, h))
    yc = np.zeros((dirs, batch, h))
    for d in range(dirs):
        f = acts[d * per:(d + 1) * per]
        wb, rb = bias[d, :gh], bias[d, gh:]
        for n in range(batch):
            hs, cs = np.zeros(h), np.zeros(h)
            backwards = direction == "reverse" or d == 1
            steps = reversed(range(lens[n])) if backwards else range(lens[n])
            for t in steps:
                xt = x[t, n]
                if op == "LSTM":
                    z = w[d] @ xt + r[d] @ hs + wb + rb
                    i, o, fg, c = (z[k * h:(k + 1) * h] for k in range(4))
                    i, fg, c = f[0](cl(i)), f[0](cl(fg)), f[1](cl(c))
                    cs = fg * cs + i * c
                    o = f[0](cl(o))
                    hs = o * f[2](cs)
                elif op == "GRU":
                    zx = w[d] @ xt + wb
                    zz = f[0](cl(zx[:h] + r[d][:h] @ hs + rb[:h]))
                    rr = f[0](cl(zx[h:2 * h] + r[d][h:2 * h] @ hs + rb[h:2 * h]))
                    if linear_before_reset:
                        pre = zx[2 * h:] + rr * (r[d][2 * h:] @ hs + rb[2 * h:])
                    else:
                        pre = zx[2 * h:] + r[d][2 * h:] @ (rr * hs) + rb[2 * h:]
                    hh = f[1](cl(pre))
                    hs = (1 - zz) * hh + zz * hs
                else:
                    hs = f[0](cl(w[d] @ xt + r[d] @ hs + wb + rb))
                y[t, d, n] = hs
            yh[d, n], yc[d, n] = hs, cs
    return (y, yh, yc) if op == "LSTM" else (y, yh)


def make(name, op, direction, acts, alphas, betas, clip, lens_input, lens, linear_before_reset=0, seed=0, layout=0):
    rng = np.random.default_rng(seed)
    t_steps, batch, feat, hid = 5, len(lens), 3, 4
    dirs = 2 if direction == "bidirectional" else 1
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    w = rng.uniform(-0.8, 0.8, (dirs, gates * hid, feat)).astype(np.float32)
    r = rng.uniform(-0.8, 0.8, (dirs, gates * hid, hid)).astype(np.float32)
    b = rng.uniform(-0.8, 0.8, (dirs, 2 * gates * hid)).astype(np.float32)
    x = rng.uniform(-2, 2, (t_steps, batch, feat)).astype(np.float32)
    lens = np.array(lens, dtype=np.int32)

    attrs = dict(hidden_size=hid, direction=direction, activations=acts)
    if layout:
        attrs["layout"] = 1
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    if clip is not None:
        attrs["clip"] = clip
    if op == "GRU":
        attrs["linear_before_reset"] = linear_before_reset
    outputs = ["Y", "Y_h", "Y_c"] if op == "LSTM" else ["Y", "Y_h"]
    node = helper.make_node(op, ["X", "W", "R", "B", "sequence_lens" if lens_input else ""], outputs, name=op.lower() + "_node", **attrs)
    # layout=1 (batchwise): X [batch, time, F], Y [batch, time, dirs, H], Y_h / Y_c [batch, dirs, H].
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", "time", feat] if layout else ["time", "batch", feat])]
    if lens_input:
        inputs.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["batch"]))
    y_dims = ["batch", "time", dirs, hid] if layout else ["time", dirs, "batch", hid]
    s_dims = ["batch", dirs, hid] if layout else [dirs, "batch", hid]
    outs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, y_dims), helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, s_dims)]
    if op == "LSTM":
        outs.append(helper.make_tensor_value_info("Y_c", TensorProto.FLOAT, s_dims))
    graph = helper.make_graph([node], name, inputs, outs,
                              initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R"), numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, producer_name="make_attribute_fixtures.py", opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)

    full = lens if lens_input else np.full(batch, t_steps, dtype=np.int32)
    results = reference(op, direction, x.astype(np.float64), w.astype(np.float64), r.astype(np.float64), b.astype(np.float64),
                        full, functions(acts, alphas or [], betas or []), clip, linear_before_reset)
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    if layout:
        results = [results[0].transpose(2, 0, 1, 3)] + [r.transpose(1, 0, 2) for r in results[1:]]
    np.save(os.path.join(folder, "input_0.npy"), x.transpose(1, 0, 2) if layout else x)
    if lens_input:
        np.save(os.path.join(folder, "input_1.npy"), lens)
    for k, res in enumerate(results):
        np.save(os.path.join(folder, f"output_{k}.npy"), res.astype(np.float32))
    print(name, [res.shape for res in results])


make("attr_lstm_bidir_clip_activations", "LSTM", "bidirectional",
     ["HardSigmoid", "LeakyRelu", "Softsign", "Sigmoid", "ScaledTanh", "Elu"], [0.3, 0.1, 1.5, 0.8], [0.4, 0.7], 1.5, False, [5, 5, 5], seed=1)
make("attr_gru_reverse_lengths_softplus", "GRU", "reverse", ["Sigmoid", "Softplus"], [], [], 2.0, True, [5, 3, 1, 4], linear_before_reset=1, seed=2)
make("attr_rnn_lengths_thresholdedrelu_clip", "RNN", "forward", ["ThresholdedRelu"], [0.1], [], 0.7, True, [2, 5, 4], seed=3)
# layout=1, which ONNX Runtime's CPU kernels reject: checked against the numpy reference only.
make("attr_lstm_batchwise_clip_softplus", "LSTM", "reverse", ["Sigmoid", "Softplus", "Softsign"], [], [], 1.0, False, [5, 5], seed=4, layout=1)
