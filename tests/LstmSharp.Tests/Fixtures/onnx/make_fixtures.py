#!/usr/bin/python3
"""Makes the torch.onnx fixtures of LstmSharp's ONNX importer tests.

Run with Debian 12's python (torch 1.13, onnx 1.12):  /usr/bin/python3 make_fixtures.py
Each fixture is a folder NAME/ with model.onnx (torch.onnx.export, dynamic batch and time
axes, the opset named in CASES), input_K.npy (the graph inputs, in order) and output_K.npy
(what PyTorch itself computed, in the graph's output order). CI never runs this script; it
documents how the committed files were made. Seeds are fixed, so a re-run gives the same
weights and data (the .onnx bytes may differ with the torch version).
"""
import os
import shutil

import numpy as np
import onnx
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH, TIME, FEATURES = 3, 5, 4


class Recurrent(nn.Module):
    """A recurrent layer alone; returns its output sequence and final states as torch does."""

    def __init__(self, cell, **kw):
        super().__init__()
        self.rnn = getattr(nn, cell)(**kw)

    def forward(self, x):
        out, state = self.rnn(x)
        if isinstance(state, tuple):
            return out, state[0], state[1]
        return out, state


class WithInitialState(nn.Module):
    """LSTM with h0 and c0 as graph inputs."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(FEATURES, 6, batch_first=True)

    def forward(self, x, h0, c0):
        out, (h, c) = self.rnn(x, (h0, c0))
        return out, h, c


class Classifier(nn.Module):
    """Recurrent layers, the last step's output, a Linear head and an output activation."""

    def __init__(self, cell, head="none", **kw):
        super().__init__()
        self.rnn = getattr(nn, cell)(**kw)
        hidden = kw["hidden_size"] * (2 if kw.get("bidirectional") else 1)
        self.fc = nn.Linear(hidden, 3)
        self.head = head
        self.batch_first = kw.get("batch_first", False)

    def forward(self, x):
        out, _ = self.rnn(x)
        last = out[:, -1, :] if self.batch_first else out[-1]
        y = self.fc(last)
        if self.head == "softmax":
            return torch.softmax(y, dim=-1)
        if self.head == "log_softmax":
            return torch.log_softmax(y, dim=-1)
        if self.head == "sigmoid":
            return torch.sigmoid(y)
        return y


class SequenceTagger(nn.Module):
    """A Linear on every step of a recurrent layer's output (MatMul + Add on a 3-D tensor)."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(FEATURES, 5, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return torch.tanh(self.fc(out))


class EmbeddingLstm(nn.Module):
    """Token ids -> Embedding -> LSTM -> Linear on the final hidden state."""

    def __init__(self, batch_first=True, layers=1):
        super().__init__()
        self.emb = nn.Embedding(30, 8)
        self.rnn = nn.LSTM(8, 6, num_layers=layers, batch_first=batch_first)
        self.fc = nn.Linear(6, 2)

    def forward(self, ids):
        out, (h, c) = self.rnn(self.emb(ids))
        return torch.log_softmax(self.fc(h[-1]), dim=-1)


def cases():
    bf = dict(batch_first=True)
    yield "lstm_seqfirst_op9", 9, Recurrent("LSTM", input_size=FEATURES, hidden_size=5), "float"
    yield "lstm_batchfirst_op17", 17, Recurrent("LSTM", input_size=FEATURES, hidden_size=5, **bf), "float_bf"
    yield "lstm_2layer_bidir_seqfirst_op11", 11, Recurrent("LSTM", input_size=FEATURES, hidden_size=5, num_layers=2, bidirectional=True), "float"
    yield "lstm_bidir_batchfirst_op13", 13, Recurrent("LSTM", input_size=FEATURES, hidden_size=4, bidirectional=True, **bf), "float_bf"
    yield "gru_seqfirst_op13", 13, Recurrent("GRU", input_size=FEATURES, hidden_size=5), "float"
    yield "gru_2layer_batchfirst_op17", 17, Recurrent("GRU", input_size=FEATURES, hidden_size=4, num_layers=2, **bf), "float_bf"
    yield "gru_bidir_seqfirst_op9", 9, Recurrent("GRU", input_size=FEATURES, hidden_size=3, bidirectional=True), "float"
    yield "rnn_tanh_batchfirst_op11", 11, Recurrent("RNN", input_size=FEATURES, hidden_size=5, **bf), "float_bf"
    yield "rnn_relu_2layer_bidir_seqfirst_op14", 14, Recurrent("RNN", input_size=FEATURES, hidden_size=3, num_layers=2, bidirectional=True, nonlinearity="relu"), "float"
    yield "lstm_initial_state_op13", 13, WithInitialState(), "float_bf_state"
    yield "lstm_classifier_softmax_op11", 11, Classifier("LSTM", "softmax", input_size=FEATURES, hidden_size=6, num_layers=2, **bf), "float_bf"
    yield "gru_classifier_seqfirst_op9", 9, Classifier("GRU", "sigmoid", input_size=FEATURES, hidden_size=5), "float"
    yield "lstm_bidir_classifier_logsoftmax_op17", 17, Classifier("LSTM", "log_softmax", input_size=FEATURES, hidden_size=4, bidirectional=True, **bf), "float_bf"
    yield "gru_bidir_tagger_op13", 13, SequenceTagger(), "float_bf"
    yield "embedding_lstm_op13", 13, EmbeddingLstm(), "ids_bf"
    yield "embedding_lstm_2layer_seqfirst_op11", 11, EmbeddingLstm(batch_first=False, layers=2), "ids"


def make(name, opset, module, kind, rng):
    module.eval()
    if kind.startswith("ids"):
        shape = (BATCH, TIME) if "bf" in kind else (TIME, BATCH)
        inputs = [torch.from_numpy(rng.integers(0, 30, size=shape).astype(np.int64))]
        names, axes = ["ids"], {"ids": {0: "batch", 1: "time"} if "bf" in kind else {0: "time", 1: "batch"}}
    else:
        shape = (BATCH, TIME, FEATURES) if "bf" in kind else (TIME, BATCH, FEATURES)
        inputs = [torch.from_numpy(rng.standard_normal(shape).astype(np.float32))]
        names, axes = ["x"], {"x": {0: "batch", 1: "time"} if "bf" in kind else {0: "time", 1: "batch"}}
        if kind.endswith("state"):
            for s in ("h0", "c0"):
                inputs.append(torch.from_numpy(rng.standard_normal((1, BATCH, 6)).astype(np.float32) * 0.5))
                names.append(s)
                axes[s] = {1: "batch"}
    with torch.no_grad():
        outputs = module(*inputs)
    if not isinstance(outputs, tuple):
        outputs = (outputs,)
    out_names = [f"y{k}" for k in range(len(outputs))]
    folder = os.path.join(HERE, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    torch.onnx.export(module, tuple(inputs), os.path.join(folder, "model.onnx"), opset_version=opset,
                      input_names=names, output_names=out_names, dynamic_axes=axes, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(os.path.join(folder, "model.onnx")))
    for k, t in enumerate(inputs):
        np.save(os.path.join(folder, f"input_{k}.npy"), t.numpy())
    for k, t in enumerate(outputs):
        np.save(os.path.join(folder, f"output_{k}.npy"), t.numpy())
    ops = sorted({n.op_type for n in onnx.load(os.path.join(folder, "model.onnx")).graph.node})
    print(f"{name}: opset {opset}, ops {' '.join(ops)}")


def main():
    torch.manual_seed(1234)
    rng = np.random.default_rng(1234)
    for name, opset, module, kind in cases():
        make(name, opset, module, kind, rng)


if __name__ == "__main__":
    main()
