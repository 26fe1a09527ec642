#!/usr/bin/python3
"""Writes the PyTorch and Keras fixtures of tests/LstmSharp.Tests/Interop/{Torch,Keras}.

Run with Debian's python (python3-torch 1.13, python3-h5py, python3-numpy):
    /usr/bin/python3 tests/LstmSharp.Tests/Fixtures/frameworks/make_fixtures.py

PyTorch: torch.save(model.state_dict()) of LSTM/GRU/RNN stacks (bidirectional, with Embedding
and Linear), inputs and the framework's outputs as .npy. One state dict is also written as
safetensors (the format is a JSON header and raw little-endian bytes; written here by hand, as
the safetensors package is not installed).

Keras: no TensorFlow/Keras here, so the .keras (Keras 3) and legacy .h5 layouts are written with
h5py following Keras's saving code, and the expected outputs are computed with numpy from the
layer equations (independently of LstmSharp).
"""
import json
import os
import struct
import zipfile

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_DIR = os.path.join(HERE, "torch")
KERAS_DIR = os.path.join(HERE, "keras")


def save_npy(folder, name, array):
    np.save(os.path.join(folder, name + ".npy"), np.ascontiguousarray(array))


# ---------------------------------------------------------------- PyTorch

class EmbedBiLstmLinear(nn.Module):
    """Embedding -> bidirectional LSTM (final states of both directions) -> Linear."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 6)
        self.encoder = nn.LSTM(6, 8, batch_first=True, bidirectional=True)
        self.head = nn.Linear(16, 3)

    def forward(self, tokens):
        _, (h, _) = self.encoder(self.embed(tokens))
        return self.head(torch.cat([h[-2], h[-1]], dim=1))


class GruLinearPerStep(nn.Module):
    """2-layer GRU -> Linear applied at every step."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 6, num_layers=2, batch_first=True)
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.out(y)


def write_safetensors(path, state):
    header = {}
    blobs = []
    offset = 0
    for name, t in state.items():
        data = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def torch_fixtures():
    os.makedirs(TORCH_DIR, exist_ok=True)
    torch.manual_seed(1234)
    cases = []

    # name, module, input, how to run it
    lstm2 = nn.LSTM(3, 5, num_layers=2, batch_first=True)
    cases.append(("lstm2", lstm2, torch.randn(2, 7, 3), lambda m, x: m(x)[0]))

    gru_bi = nn.GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    cases.append(("gru2_bi", gru_bi, torch.randn(3, 6, 3), lambda m, x: m(x)[0]))

    rnn_relu = nn.RNN(3, 4, num_layers=2, nonlinearity="relu", batch_first=True)
    cases.append(("rnn2_relu", rnn_relu, torch.randn(2, 5, 3), lambda m, x: m(x)[0]))

    rnn_tanh_bi = nn.RNN(2, 3, batch_first=True, bidirectional=True)
    cases.append(("rnn_tanh_bi", rnn_tanh_bi, torch.randn(2, 4, 2), lambda m, x: m(x)[0]))

    embed = EmbedBiLstmLinear()
    tokens = torch.randint(0, 20, (4, 9))
    cases.append(("embed_bilstm_linear", embed, tokens, lambda m, x: m(x)))

    gru_lin = GruLinearPerStep()
    cases.append(("gru2_linear", gru_lin, torch.randn(2, 5, 4), lambda m, x: m(x)))

    for name, module, x, run in cases:
        module.eval()
        # Small non-zero biases everywhere (PyTorch's default init already draws them; make sure
        # b_ih and b_hh differ so a wrong sum or reset_after layout shows).
        with torch.no_grad():
            y = run(module, x)
        torch.save(module.state_dict(), os.path.join(TORCH_DIR, name + ".pt"))
        xin = x.numpy().astype(np.float32) if x.dtype != torch.int64 else x.numpy().astype(np.float32)
        save_npy(TORCH_DIR, name + "_x", xin)
        save_npy(TORCH_DIR, name + "_y", y.numpy().astype(np.float32))

    write_safetensors(os.path.join(TORCH_DIR, "gru2_linear.safetensors"), gru_lin.state_dict())
    # A float64 state dict: its storages are DoubleStorage.
    lstm_double = nn.LSTM(2, 3, batch_first=True).double()
    x = torch.randn(2, 4, 2, dtype=torch.float64)
    with torch.no_grad():
        y = lstm_double(x)[0]
    torch.save(lstm_double.state_dict(), os.path.join(TORCH_DIR, "lstm_double.pt"))
    save_npy(TORCH_DIR, "lstm_double_x", x.numpy().astype(np.float32))
    save_npy(TORCH_DIR, "lstm_double_y", y.numpy().astype(np.float32))


# ---------------------------------------------------------------- Keras (h5py + numpy)

import h5py  # noqa: E402

RNG = np.random.default_rng(20261206)
F32 = "float32"


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def act(name, v):
    return {"tanh": np.tanh, "sigmoid": sigmoid, "relu": lambda a: np.maximum(a, 0), "linear": lambda a: a,
            "softmax": lambda a: np.exp(a - a.max(-1, keepdims=True)) / np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True)}[name](v)


# Layer equations in float64 (Keras semantics), x: [batch, time, features].
def lstm_seq(x, w, go_backwards=False):
    kernel, rec, bias = w
    u = rec.shape[0]
    h = np.zeros((x.shape[0], u))
    c = np.zeros((x.shape[0], u))
    out = []
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for t in steps:
        z = x[:, t] @ kernel + h @ rec + bias
        i, f, g, o = sigmoid(z[:, :u]), sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sigmoid(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, 1)


def gru_seq(x, w, reset_after=True, go_backwards=False):
    kernel, rec, bias = w
    u = rec.shape[0]
    h = np.zeros((x.shape[0], u))
    out = []
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for t in steps:
        if reset_after:
            mx = x[:, t] @ kernel + bias[0]
            mh = h @ rec + bias[1]
            z = sigmoid(mx[:, :u] + mh[:, :u])
            r = sigmoid(mx[:, u:2 * u] + mh[:, u:2 * u])
            hh = np.tanh(mx[:, 2 * u:] + r * mh[:, 2 * u:])
        else:
            mx = x[:, t] @ kernel + bias
            z = sigmoid(mx[:, :u] + h @ rec[:, :u])
            r = sigmoid(mx[:, u:2 * u] + h @ rec[:, u:2 * u])
            hh = np.tanh(mx[:, 2 * u:] + (r * h) @ rec[:, 2 * u:])
        h = z * h + (1 - z) * hh
        out.append(h)
    return np.stack(out, 1)


def rnn_seq(x, w, activation="tanh", go_backwards=False):
    kernel, rec, bias = w
    h = np.zeros((x.shape[0], rec.shape[0]))
    out = []
    steps = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    for t in steps:
        h = act(activation, x[:, t] @ kernel + h @ rec + bias)
        out.append(h)
    return np.stack(out, 1)


def finish(seq, return_sequences):
    return seq if return_sequences else seq[:, -1]


def bidi(run, x, wf, wb, return_sequences):
    f = run(x, wf, False)
    b = run(x, wb, True)
    if return_sequences:
        return np.concatenate([f, b[:, ::-1]], -1)
    return np.concatenate([f[:, -1], b[:, -1]], -1)


def rand(*shape):
    return RNG.uniform(-0.6, 0.6, size=shape).astype(F32)


def recurrent_weights(gates, n_in, units, gru_reset_after=None):
    bias = rand(2, gates * units) if gru_reset_after else rand(gates * units)
    return [rand(n_in, gates * units), rand(units, gates * units), bias]


# Keras 3 serialization (keras.saving.serialize_keras_object) of the pieces used here.
def k3_obj(module, class_name, config):
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def k3_policy():
    return k3_obj("keras", "DTypePolicy", {"name": "float32"})


def k3_init(class_name, config=None):
    return k3_obj("keras.initializers", class_name, config or {})


def k3_rnn(class_name, name, units, return_sequences, go_backwards=False, **extra):
    config = {
        "name": name, "trainable": True, "dtype": k3_policy(), "return_sequences": return_sequences,
        "return_state": False, "go_backwards": go_backwards, "stateful": False, "unroll": False,
        "zero_output_for_mask": False, "units": units, "activation": extra.pop("activation", "tanh"),
    }
    if class_name != "SimpleRNN":
        config["recurrent_activation"] = "sigmoid"
    config.update({
        "use_bias": True, "kernel_initializer": k3_init("GlorotUniform", {"seed": None}),
        "recurrent_initializer": k3_init("Orthogonal", {"gain": 1.0, "seed": None}), "bias_initializer": k3_init("Zeros"),
    })
    if class_name == "LSTM":
        config["unit_forget_bias"] = True
    for key in ["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                "kernel_constraint", "recurrent_constraint", "bias_constraint"]:
        config[key] = None
    config.update({"dropout": 0.0, "recurrent_dropout": 0.0, "seed": None})
    if class_name == "GRU":
        config["reset_after"] = extra.pop("reset_after", True)
    config.update(extra)
    return k3_obj("keras.layers", class_name, config)


def k3_dense(name, units, activation):
    return k3_obj("keras.layers", "Dense", {
        "name": name, "trainable": True, "dtype": k3_policy(), "units": units, "activation": activation, "use_bias": True,
        "kernel_initializer": k3_init("GlorotUniform", {"seed": None}), "bias_initializer": k3_init("Zeros"),
        "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None})


def k3_embedding(name, input_dim, output_dim):
    return k3_obj("keras.layers", "Embedding", {
        "name": name, "trainable": True, "dtype": k3_policy(), "input_dim": input_dim, "output_dim": output_dim,
        "embeddings_initializer": k3_init("RandomUniform", {"minval": -0.05, "maxval": 0.05, "seed": None}),
        "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None, "mask_zero": False})


def k3_bidirectional(name, inner_class, inner_name, units, return_sequences):
    return k3_obj("keras.layers", "Bidirectional", {
        "name": name, "trainable": True, "dtype": k3_policy(), "merge_mode": "concat",
        "layer": k3_rnn(inner_class, inner_name, units, return_sequences),
        "backward_layer": k3_rnn(inner_class, "backward_" + inner_name, units, return_sequences, go_backwards=True)})


def k3_input(name, batch_shape, dtype="float32"):
    return k3_obj("keras.layers", "InputLayer", {"batch_shape": batch_shape, "dtype": dtype, "sparse": False, "name": name})


def k3_tensor(layer, shape, dtype="float32"):
    return {"class_name": "__keras_tensor__", "config": {"shape": shape, "dtype": dtype, "keras_history": [layer, 0, 0]}}


def write_keras3(path, config, layer_vars):
    """layer_vars: [(h5 path of the layer, {sub path: [arrays]})] — the saving_lib walk:
    every layer gets <path>/vars (empty when it owns no variables), an RNN its cell under
    <path>/cell/vars, Bidirectional <path>/forward_layer and <path>/backward_layer."""
    weights = os.path.join(KERAS_DIR, "tmp.weights.h5")
    with h5py.File(weights, "w") as f:
        f.create_group("vars")
        for layer_path, groups in layer_vars:
            for sub, arrays in groups.items():
                g = f.create_group(layer_path + sub + "/vars")
                for i, a in enumerate(arrays):
                    g[str(i)] = a
        f.create_group("optimizer/vars")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2026-12-06@05:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.write(weights, "model.weights.h5")
    os.remove(weights)


def rnn_groups(arrays):
    return {"": [], "/cell": arrays}


def keras3_fixtures():
    # 1. Sequential: LSTM(4, seq) -> GRU(3, reset_after) -> Dense(2, softmax) on [batch, 5, 3].
    x = rand(4, 5, 3)
    w_lstm = recurrent_weights(4, 3, 4)
    w_gru = recurrent_weights(3, 4, 3, gru_reset_after=True)
    w_dense = [rand(3, 2), rand(2)]
    h = lstm_seq(x.astype(np.float64), w_lstm)
    h = finish(gru_seq(h, w_gru), False)
    y = act("softmax", h @ w_dense[0] + w_dense[1])
    config = k3_obj("keras", "Sequential", {
        "name": "sequential", "trainable": True, "dtype": k3_policy(),
        "layers": [k3_input("input_layer", [None, 5, 3]),
                   k3_rnn("LSTM", "lstm", 4, True) | {"build_config": {"input_shape": [None, 5, 3]}},
                   k3_rnn("GRU", "gru", 3, False) | {"build_config": {"input_shape": [None, 5, 4]}},
                   k3_dense("dense", 2, "softmax") | {"build_config": {"input_shape": [None, 3]}}]})
    config["build_config"] = {"input_shape": [None, 5, 3]}
    write_keras3(os.path.join(KERAS_DIR, "seq_lstm_gru.keras"), config,
                 [("layers/lstm", rnn_groups(w_lstm)), ("layers/gru", rnn_groups(w_gru)), ("layers/dense", {"": w_dense})])
    save_npy(KERAS_DIR, "seq_lstm_gru_x", x)
    save_npy(KERAS_DIR, "seq_lstm_gru_y", y.astype(F32))

    # 2. Functional: tokens -> Embedding(15, 4) -> Bidirectional(SimpleRNN(3, seq)) -> Bidirectional(LSTM(2)) -> Dense(1, sigmoid).
    tokens = RNG.integers(0, 15, size=(3, 6))
    w_emb = [rand(15, 4)]
    w_rf, w_rb = recurrent_weights(1, 4, 3), recurrent_weights(1, 4, 3)
    w_lf, w_lb = recurrent_weights(4, 6, 2), recurrent_weights(4, 6, 2)
    w_out = [rand(4, 1), rand(1)]
    e = w_emb[0][tokens].astype(np.float64)
    s = bidi(lambda a, w, back: rnn_seq(a, w, "tanh", back), e, w_rf, w_rb, True)
    s = bidi(lambda a, w, back: lstm_seq(a, w, back), s, w_lf, w_lb, False)
    y = sigmoid(s @ w_out[0] + w_out[1])
    layers = [
        k3_input("tokens", [None, 6], "int32") | {"name": "tokens", "inbound_nodes": []},
        k3_embedding("embedding", 15, 4) | {"build_config": {"input_shape": [None, 6]}, "name": "embedding",
                                            "inbound_nodes": [{"args": [k3_tensor("tokens", [None, 6], "int32")], "kwargs": {}}]},
        k3_bidirectional("bidirectional", "SimpleRNN", "simple_rnn", 3, True) | {
            "build_config": {"input_shape": [None, 6, 4]}, "name": "bidirectional",
            "inbound_nodes": [{"args": [k3_tensor("embedding", [None, 6, 4])], "kwargs": {"mask": None}}]},
        k3_bidirectional("bidirectional_1", "LSTM", "lstm", 2, False) | {
            "build_config": {"input_shape": [None, 6, 6]}, "name": "bidirectional_1",
            "inbound_nodes": [{"args": [k3_tensor("bidirectional", [None, 6, 6])], "kwargs": {"mask": None}}]},
        k3_dense("dense", 1, "sigmoid") | {"build_config": {"input_shape": [None, 4]}, "name": "dense",
                                           "inbound_nodes": [{"args": [k3_tensor("bidirectional_1", [None, 4])], "kwargs": {}}]},
    ]
    config = {"module": "keras.src.models.functional", "class_name": "Functional",
              "config": {"name": "functional", "trainable": True, "layers": layers,
                         "input_layers": [["tokens", 0, 0]], "output_layers": [["dense", 0, 0]]},
              "registered_name": "Functional", "build_config": {"input_shape": None}}
    # Functional.layers includes the InputLayer; container names are snake_case class names, numbered per class.
    write_keras3(os.path.join(KERAS_DIR, "func_embed_bidi.keras"), config, [
        ("layers/input_layer", {"": []}),
        ("layers/embedding", {"": w_emb}),
        ("layers/bidirectional", {"": [], "/forward_layer": [], "/forward_layer/cell": w_rf, "/backward_layer": [], "/backward_layer/cell": w_rb}),
        ("layers/bidirectional_1", {"": [], "/forward_layer": [], "/forward_layer/cell": w_lf, "/backward_layer": [], "/backward_layer/cell": w_lb}),
        ("layers/dense", {"": w_out})])
    save_npy(KERAS_DIR, "func_embed_bidi_x", tokens.astype(F32))
    save_npy(KERAS_DIR, "func_embed_bidi_y", y.astype(F32))


# Legacy HDF5 (tf.keras 2.x save_model_to_hdf5): model_config as a root attribute, weights under
# model_weights/<layer>/<weight name> with layer_names / weight_names attributes.
def k2_rnn(class_name, name, units, return_sequences, go_backwards=False, **extra):
    config = {"name": name, "trainable": True, "dtype": "float32", "return_sequences": return_sequences,
              "return_state": False, "go_backwards": go_backwards, "stateful": False, "unroll": False,
              "time_major": False, "units": units, "activation": "tanh"}
    if class_name != "SimpleRNN":
        config["recurrent_activation"] = "sigmoid"
    config.update({"use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                   "recurrent_initializer": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
                   "bias_initializer": {"class_name": "Zeros", "config": {}}})
    if class_name == "LSTM":
        config["unit_forget_bias"] = True
    for key in ["kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                "kernel_constraint", "recurrent_constraint", "bias_constraint"]:
        config[key] = None
    config.update({"dropout": 0.0, "recurrent_dropout": 0.0})
    if class_name != "SimpleRNN":
        config["implementation"] = 2
    if class_name == "GRU":
        config["reset_after"] = extra.pop("reset_after", True)
    config.update(extra)
    return {"class_name": class_name, "config": config}


def k2_dense(name, units, activation):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation, "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def write_legacy_h5(path, config, layers):
    """layers: [(layer name, [(weight name, array)])] in model.layers order."""
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.13.1"
        f.attrs["model_config"] = json.dumps(config)
        g = f.create_group("model_weights")
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = b"2.13.1"
        g.attrs["layer_names"] = np.array([n.encode("utf8") for n, _ in layers])
        for name, weights in layers:
            lg = g.create_group(name)
            lg.attrs["weight_names"] = np.array([w.encode("utf8") for w, _ in weights]) if weights else np.array([])
            for wname, value in weights:
                lg.create_dataset(wname, data=value)


def legacy_fixtures():
    # 3. Sequential: Embedding(12, 5) -> LSTM(4) -> Dense(3, softmax), Keras 2 config.
    tokens = RNG.integers(0, 12, size=(3, 7))
    w_emb = rand(12, 5)
    w_lstm = recurrent_weights(4, 5, 4)
    w_dense = [rand(4, 3), rand(3)]
    h = finish(lstm_seq(w_emb[tokens].astype(np.float64), w_lstm), False)
    y = act("softmax", h @ w_dense[0] + w_dense[1])
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 7], "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "embedding_input"}},
        {"class_name": "Embedding", "config": {
            "name": "embedding", "trainable": True, "batch_input_shape": [None, 7], "dtype": "float32", "input_dim": 12,
            "output_dim": 5, "embeddings_initializer": {"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": None}},
            "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None,
            "mask_zero": False, "input_length": 7}},
        k2_rnn("LSTM", "lstm", 4, False),
        k2_dense("dense", 3, "softmax")]}}
    write_legacy_h5(os.path.join(KERAS_DIR, "legacy_seq.h5"), config, [
        ("embedding", [("embedding/embeddings:0", w_emb)]),
        ("lstm", [("lstm/lstm_cell/kernel:0", w_lstm[0]), ("lstm/lstm_cell/recurrent_kernel:0", w_lstm[1]), ("lstm/lstm_cell/bias:0", w_lstm[2])]),
        ("dense", [("dense/kernel:0", w_dense[0]), ("dense/bias:0", w_dense[1])])])
    save_npy(KERAS_DIR, "legacy_seq_x", tokens.astype(F32))
    save_npy(KERAS_DIR, "legacy_seq_y", y.astype(F32))

    # 4. Functional: Input [None, 6, 3] -> Bidirectional(GRU(3, reset_after=False, seq)) -> SimpleRNN(2, relu) -> Dense(1).
    x = rand(2, 6, 3)
    w_gf, w_gb = recurrent_weights(3, 3, 3), recurrent_weights(3, 3, 3)
    w_rnn = recurrent_weights(1, 6, 2)
    w_out = [rand(2, 1), rand(1)]
    s = bidi(lambda a, w, back: gru_seq(a, w, False, back), x.astype(np.float64), w_gf, w_gb, True)
    s = finish(rnn_seq(s, w_rnn, "relu"), False)
    y = s @ w_out[0] + w_out[1]
    gru = k2_rnn("GRU", "gru", 3, True, reset_after=False)
    config = {"class_name": "Functional", "config": {"name": "model", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 6, 3], "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "input_1"}, "name": "input_1", "inbound_nodes": []},
        {"class_name": "Bidirectional", "config": {"name": "bidirectional", "trainable": True, "dtype": "float32", "layer": gru,
                                                   "merge_mode": "concat"},
         "name": "bidirectional", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        k2_rnn("SimpleRNN", "simple_rnn", 2, False, activation="relu") | {"name": "simple_rnn", "inbound_nodes": [[["bidirectional", 0, 0, {}]]]},
        k2_dense("dense", 1, "linear") | {"name": "dense", "inbound_nodes": [[["simple_rnn", 0, 0, {}]]]}],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["dense", 0, 0]]}}
    cell = lambda d: [(f"bidirectional/{d}_gru/gru_cell/kernel:0", None), (f"bidirectional/{d}_gru/gru_cell/recurrent_kernel:0", None),
                      (f"bidirectional/{d}_gru/gru_cell/bias:0", None)]
    bidi_weights = [(n, v) for (n, _), v in zip(cell("forward") + cell("backward"), w_gf + w_gb)]
    write_legacy_h5(os.path.join(KERAS_DIR, "legacy_func.h5"), config, [
        ("input_1", []),
        ("bidirectional", bidi_weights),
        ("simple_rnn", [("simple_rnn/simple_rnn_cell/kernel:0", w_rnn[0]), ("simple_rnn/simple_rnn_cell/recurrent_kernel:0", w_rnn[1]),
                        ("simple_rnn/simple_rnn_cell/bias:0", w_rnn[2])]),
        ("dense", [("dense/kernel:0", w_out[0]), ("dense/bias:0", w_out[1])])])
    save_npy(KERAS_DIR, "legacy_func_x", x)
    save_npy(KERAS_DIR, "legacy_func_y", y.astype(F32))


# Issue 15's layers, from their equations in float64 (Keras semantics, channels_last).
def conv1d(x, kernel, bias, padding="valid", stride=1, dilation=1):
    width = kernel.shape[0]
    span = dilation * (width - 1) + 1
    steps = x.shape[1]
    if padding == "valid":
        out, left = (steps - span) // stride + 1, 0
    elif padding == "same":
        out = -(-steps // stride)
        left = max(0, (out - 1) * stride + span - steps) // 2
    else:  # causal
        out, left = (steps - 1) // stride + 1, span - 1
    xp = np.zeros((x.shape[0], steps + 2 * span, x.shape[2]))
    xp[:, left:left + steps] = x
    y = np.zeros((x.shape[0], out, kernel.shape[2])) + bias
    for t in range(out):
        for k in range(width):
            y[:, t] += xp[:, t * stride + k * dilation] @ kernel[k]
    return y


def max_pool1d(x, pool):
    out = (x.shape[1] - pool) // pool + 1
    return np.stack([x[:, t * pool:t * pool + pool].max(1) for t in range(out)], 1)


def batch_norm_inference(x, gamma, beta, mean, var, eps=1e-3):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def layer_norm(x, gamma, beta, eps=1e-3):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def k3_layer(class_name, name, **config):
    return k3_obj("keras.layers", class_name, {"name": name, "trainable": True, "dtype": k3_policy(), **config})


def keras3_cnn_fixture():
    """Embedding -> Conv1D(same, relu) -> BatchNormalization -> MaxPooling1D -> LayerNormalization ->
    Conv1D(causal, dilation 2) -> LSTM(seq) -> GlobalAveragePooling1D -> Dense(1, sigmoid), Keras 3 layout."""
    rng = np.random.default_rng(15)

    def r(*shape, lo=-0.6, hi=0.6):
        return rng.uniform(lo, hi, size=shape).astype(F32)

    tokens = rng.integers(0, 20, size=(3, 12))
    w_emb = [r(20, 5)]
    w_c1 = [r(3, 5, 6), r(6)]
    w_bn = [r(6, lo=0.5, hi=1.5), r(6), r(6), r(6, lo=0.2, hi=1.0)]  # gamma, beta, moving_mean, moving_variance
    w_ln = [r(6, lo=0.5, hi=1.5), r(6)]
    w_c2 = [r(2, 6, 4), r(4)]
    w_lstm = [r(4, 12), r(3, 12), r(12)]
    w_out = [r(3, 1), r(1)]
    f64 = lambda ws: [w.astype(np.float64) for w in ws]  # noqa: E731
    h = f64(w_emb)[0][tokens]
    h = act("relu", conv1d(h, *f64(w_c1), padding="same"))
    h = batch_norm_inference(h, *f64(w_bn))
    h = max_pool1d(h, 2)
    h = layer_norm(h, *f64(w_ln))
    h = conv1d(h, *f64(w_c2), padding="causal", dilation=2)
    h = lstm_seq(h, f64(w_lstm))
    h = h.mean(1)
    y = sigmoid(h @ f64(w_out)[0] + f64(w_out)[1])

    def conv_cfg(name, filters, size, padding, dilation, activation):
        return k3_layer("Conv1D", name, filters=filters, kernel_size=[size], strides=[1], padding=padding,
                        data_format="channels_last", dilation_rate=[dilation], groups=1, activation=activation, use_bias=True,
                        kernel_initializer=k3_init("GlorotUniform", {"seed": None}), bias_initializer=k3_init("Zeros"),
                        kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                        kernel_constraint=None, bias_constraint=None)

    config = k3_obj("keras", "Sequential", {
        "name": "cnn", "trainable": True, "dtype": k3_policy(),
        "layers": [k3_input("input_layer", [None, 12]),
                   k3_embedding("embedding", 20, 5),
                   conv_cfg("conv1d", 6, 3, "same", 1, "relu"),
                   k3_layer("BatchNormalization", "batch_normalization", axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True,
                            beta_initializer=k3_init("Zeros"), gamma_initializer=k3_init("Ones"),
                            moving_mean_initializer=k3_init("Zeros"), moving_variance_initializer=k3_init("Ones"),
                            beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, synchronized=False),
                   k3_layer("MaxPooling1D", "max_pooling1d", pool_size=[2], padding="valid", strides=[2], data_format="channels_last"),
                   k3_layer("LayerNormalization", "layer_normalization", axis=[-1], epsilon=0.001, center=True, scale=True, rms_scaling=False,
                            beta_initializer=k3_init("Zeros"), gamma_initializer=k3_init("Ones"),
                            beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None),
                   conv_cfg("conv1d_1", 4, 2, "causal", 2, "linear"),
                   k3_rnn("LSTM", "lstm", 3, True),
                   k3_layer("GlobalAveragePooling1D", "global_average_pooling1d", data_format="channels_last", keepdims=False),
                   k3_dense("dense", 1, "sigmoid")]})
    config["build_config"] = {"input_shape": [None, 12]}
    write_keras3(os.path.join(KERAS_DIR, "seq_cnn_norm.keras"), config,
                 [("layers/embedding", {"": w_emb}), ("layers/conv1d", {"": w_c1}), ("layers/batch_normalization", {"": w_bn}),
                  ("layers/max_pooling1d", {"": []}), ("layers/layer_normalization", {"": w_ln}), ("layers/conv1d_1", {"": w_c2}),
                  ("layers/lstm", rnn_groups(w_lstm)), ("layers/global_average_pooling1d", {"": []}), ("layers/dense", {"": w_out})])
    save_npy(KERAS_DIR, "seq_cnn_norm_x", tokens.astype(F32))
    save_npy(KERAS_DIR, "seq_cnn_norm_y", y.astype(F32))


def softmax_last(v):
    e = np.exp(v - v.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def keras3_attention_fixture():
    """Functional, Keras 3 layout: query [None, 4, 3], value [None, 6, 3];
    Attention(use_scale)([q, v], use_causal_mask=True, return_attention_scores=True) ->
    AdditiveAttention([att, v, k]) with key = Dense(3)(value) -> GlobalAveragePooling1D -> Dense(1).
    Outputs: dense and the attention weights. Keras's call options live in the node kwargs."""
    rng = np.random.default_rng(150)

    def r(*shape):
        return rng.uniform(-0.8, 0.8, size=shape).astype(F32)

    q, v = r(2, 4, 3), r(2, 6, 3)
    w_scale = [np.array(1.7, dtype=F32)]
    w_key = [r(3, 3), r(3)]
    w_add = [r(3)]
    w_out = [r(3, 1), r(1)]
    f64 = lambda ws: [w.astype(np.float64) for w in ws]  # noqa: E731
    q64, v64 = q.astype(np.float64), v.astype(np.float64)
    # Keras: scores = scale * q.k; causal keeps j <= i (row_index >= col_index); scores -= 1e9 * (1 - mask).
    scores = f64(w_scale)[0] * np.einsum("bid,bjd->bij", q64, v64)
    keep = np.tril(np.ones((4, 6)))
    scores = scores - 1e9 * (1 - keep)
    weights = softmax_last(scores)
    att = weights @ v64
    k64 = v64 @ f64(w_key)[0] + f64(w_key)[1]
    add_scores = (f64(w_add)[0] * np.tanh(att[:, :, None, :] + k64[:, None, :, :])).sum(-1)
    add = softmax_last(add_scores) @ v64
    y = add.mean(1) @ f64(w_out)[0] + f64(w_out)[1]

    layers = [
        k3_input("query", [None, 4, 3]) | {"name": "query", "inbound_nodes": []},
        k3_input("value", [None, 6, 3]) | {"name": "value", "inbound_nodes": []},
        k3_layer("Attention", "attention", use_scale=True, score_mode="dot", dropout=0.0, seed=None) | {
            "name": "attention",
            "inbound_nodes": [{"args": [[k3_tensor("query", [None, 4, 3]), k3_tensor("value", [None, 6, 3])]],
                               "kwargs": {"use_causal_mask": True, "return_attention_scores": True}}]},
        k3_dense("key_dense", 3, "linear") | {"name": "key_dense",
                                              "inbound_nodes": [{"args": [k3_tensor("value", [None, 6, 3])], "kwargs": {}}]},
        k3_layer("AdditiveAttention", "additive_attention", use_scale=True, dropout=0.0) | {
            "name": "additive_attention",
            "inbound_nodes": [{"args": [[k3_tensor("attention", [None, 4, 3]), k3_tensor("value", [None, 6, 3]),
                                         k3_tensor("key_dense", [None, 6, 3])]], "kwargs": {}}]},
        k3_layer("GlobalAveragePooling1D", "global_average_pooling1d", data_format="channels_last", keepdims=False) | {
            "name": "global_average_pooling1d",
            "inbound_nodes": [{"args": [k3_tensor("additive_attention", [None, 4, 3])], "kwargs": {}}]},
        k3_dense("dense", 1, "linear") | {"name": "dense",
                                          "inbound_nodes": [{"args": [k3_tensor("global_average_pooling1d", [None, 3])], "kwargs": {}}]},
    ]
    config = {"module": "keras.src.models.functional", "class_name": "Functional",
              "config": {"name": "attention_model", "trainable": True, "layers": layers,
                         "input_layers": [["query", 0, 0], ["value", 0, 0]], "output_layers": [["dense", 0, 0], ["attention", 0, 1]]},
              "registered_name": "Functional", "build_config": {"input_shape": None}}
    write_keras3(os.path.join(KERAS_DIR, "func_attention.keras"), config, [
        ("layers/input_layer", {"": []}), ("layers/input_layer_1", {"": []}),
        ("layers/attention", {"": w_scale}), ("layers/dense", {"": w_key}),
        ("layers/additive_attention", {"": w_add}), ("layers/global_average_pooling1d", {"": []}), ("layers/dense_1", {"": w_out})])
    save_npy(KERAS_DIR, "func_attention_q", q)
    save_npy(KERAS_DIR, "func_attention_v", v)
    save_npy(KERAS_DIR, "func_attention_y", y.astype(F32))
    save_npy(KERAS_DIR, "func_attention_scores", weights.astype(F32))


def keras3_mha_fixture():
    """Functional, Keras 3 layout: query [None, 4, 6], value [None, 5, 3], key [None, 5, 2];
    MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2)(query=q, value=v, key=k,
    use_causal_mask=True, return_attention_scores=True) -> outputs [output, weights]. The weights
    sit where saving_lib puts them: layers/multi_head_attention/{query,key,value,output}_dense/vars."""
    rng = np.random.default_rng(151)

    def r(*shape):
        return rng.uniform(-0.8, 0.8, size=shape).astype(F32)

    q, v, k = r(2, 4, 6), r(2, 5, 3), r(2, 5, 2)
    heads, key_dim, value_dim = 2, 3, 2
    wq, bq = r(6, heads, key_dim), r(heads, key_dim)
    wk, bk = r(2, heads, key_dim), r(heads, key_dim)
    wv, bv = r(3, heads, value_dim), r(heads, value_dim)
    wo, bo = r(heads, value_dim, 6), r(6)
    f = lambda a: a.astype(np.float64)  # noqa: E731
    pq = np.einsum("btd,dhk->bthk", f(q), f(wq)) + f(bq)
    pk = np.einsum("btd,dhk->bthk", f(k), f(wk)) + f(bk)
    pv = np.einsum("btd,dhk->bthk", f(v), f(wv)) + f(bv)
    pq = pq * (1.0 / np.sqrt(key_dim))
    scores = np.einsum("bshk,bthk->bhts", pk, pq)  # [b, h, Tq, Tv]
    keep = np.tril(np.ones((4, 5)))  # causal: row index >= column index
    scores = scores + (1.0 - keep) * -1e9
    weights = softmax_last(scores)
    context = np.einsum("bhts,bshv->bthv", weights, pv)
    y = np.einsum("bthv,hvo->bto", context, f(wo)) + f(bo)

    mha = k3_layer("MultiHeadAttention", "multi_head_attention", num_heads=heads, key_dim=key_dim, value_dim=value_dim,
                   dropout=0.0, use_bias=True, use_gate=False, output_shape=None, attention_axes=None, sliding_window=None,
                   kernel_initializer=k3_init("GlorotUniform", {"seed": None}), bias_initializer=k3_init("Zeros"),
                   kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                   kernel_constraint=None, bias_constraint=None, seed=None)
    layers = [
        k3_input("query", [None, 4, 6]) | {"name": "query", "inbound_nodes": []},
        k3_input("value", [None, 5, 3]) | {"name": "value", "inbound_nodes": []},
        k3_input("key", [None, 5, 2]) | {"name": "key", "inbound_nodes": []},
        mha | {"name": "multi_head_attention",
               "inbound_nodes": [{"args": [], "kwargs": {"query": k3_tensor("query", [None, 4, 6]), "value": k3_tensor("value", [None, 5, 3]),
                                                         "key": k3_tensor("key", [None, 5, 2]), "use_causal_mask": True,
                                                         "return_attention_scores": True}}]},
    ]
    config = {"module": "keras.src.models.functional", "class_name": "Functional",
              "config": {"name": "mha_model", "trainable": True, "layers": layers,
                         "input_layers": [["query", 0, 0], ["value", 0, 0], ["key", 0, 0]],
                         "output_layers": [["multi_head_attention", 0, 0], ["multi_head_attention", 0, 1]]},
              "registered_name": "Functional", "build_config": {"input_shape": None}}
    write_keras3(os.path.join(KERAS_DIR, "func_mha.keras"), config, [
        ("layers/input_layer", {"": []}), ("layers/input_layer_1", {"": []}), ("layers/input_layer_2", {"": []}),
        ("layers/multi_head_attention", {"": [], "/query_dense": [wq, bq], "/key_dense": [wk, bk], "/value_dense": [wv, bv],
                                         "/output_dense": [wo, bo]})])
    save_npy(KERAS_DIR, "func_mha_q", q)
    save_npy(KERAS_DIR, "func_mha_v", v)
    save_npy(KERAS_DIR, "func_mha_k", k)
    save_npy(KERAS_DIR, "func_mha_y", y.astype(F32))
    save_npy(KERAS_DIR, "func_mha_scores", weights.astype(F32))


def keras_fixtures():
    os.makedirs(KERAS_DIR, exist_ok=True)
    keras3_fixtures()
    legacy_fixtures()
    keras3_cnn_fixture()
    keras3_attention_fixture()
    keras3_mha_fixture()


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--only-cnn"]:
        # Issue 15's fixture alone (its own generator), leaving the other files untouched.
        os.makedirs(KERAS_DIR, exist_ok=True)
        keras3_cnn_fixture()
    elif sys.argv[1:] == ["--only-attention"]:
        os.makedirs(KERAS_DIR, exist_ok=True)
        keras3_attention_fixture()
    elif sys.argv[1:] == ["--only-mha"]:
        os.makedirs(KERAS_DIR, exist_ok=True)
        keras3_mha_fixture()
    else:
        torch_fixtures()
        keras_fixtures()
