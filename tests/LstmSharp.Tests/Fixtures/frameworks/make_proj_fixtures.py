#!/usr/bin/python3
"""Writes the PyTorch fixtures of LSTM with projection (nn.LSTM(proj_size=P), Sak et al. 2014).

Run with Debian's python (python3-torch 1.13, python3-numpy):
    /usr/bin/python3 tests/LstmSharp.Tests/Fixtures/frameworks/make_proj_fixtures.py

For each case: torch.save(lstm.state_dict()) as <name>.pt, the input <name>_x.npy, PyTorch's
output sequence <name>_y.npy, its final states <name>_hn.npy [layers*dirs, batch, P] and
<name>_cn.npy [layers*dirs, batch, hidden], and proj_counts.json with PyTorch's parameter count
of each module (sum of numel over its parameters).
"""
import json
import os

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_DIR = os.path.join(HERE, "torch")


def save_npy(name, array):
    np.save(os.path.join(TORCH_DIR, name + ".npy"), np.ascontiguousarray(array.astype(np.float32)))


def main():
    os.makedirs(TORCH_DIR, exist_ok=True)
    torch.manual_seed(4321)
    cases = [
        ("lstm_proj", nn.LSTM(5, 6, proj_size=3, batch_first=True), (2, 7, 5)),
        ("lstm_proj_nobias", nn.LSTM(4, 7, proj_size=2, bias=False, batch_first=True), (3, 5, 4)),
        ("lstm_proj2_bi", nn.LSTM(4, 5, num_layers=2, proj_size=2, bidirectional=True, batch_first=True), (3, 6, 4)),
    ]
    counts = {}
    for name, module, shape in cases:
        x = torch.randn(*shape)
        with torch.no_grad():
            y, (hn, cn) = module(x)
        torch.save(module.state_dict(), os.path.join(TORCH_DIR, name + ".pt"))
        save_npy(name + "_x", x.numpy())
        save_npy(name + "_y", y.numpy())
        save_npy(name + "_hn", hn.numpy())
        save_npy(name + "_cn", cn.numpy())
        counts[name] = int(sum(p.numel() for p in module.parameters()))
    with open(os.path.join(TORCH_DIR, "proj_counts.json"), "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
