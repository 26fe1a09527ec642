#!/usr/bin/python3
"""Rewrites the Keras fixtures of make_fixtures.py with other HDF5 storage choices, so the HDF5
pre-check (src/LstmSharp/Interop/Keras/Hdf5Preflight.cs) and PureHDF are tested on every layout
h5py can produce, not only on its defaults. Same groups, datasets, values and attributes; only
the file format differs. The import tests compare each variant's outputs with the original's
reference outputs (keras/<original>_y.npy).

Run with Debian's python (python3-h5py, python3-numpy) after make_fixtures.py:
    /usr/bin/python3 tests/LstmSharp.Tests/Fixtures/frameworks/make_hdf5_variants.py

Variants (in keras/):
- legacy_func_latest.h5: libver="latest" (superblock v3, version 2 object headers, link
  messages), chunked datasets (fixed-array chunk index), 12 extra groups at the root (dense link
  storage: fractal heap + B-tree v2) and 12 extra attributes on model_weights (dense attribute
  storage, where layer_names is then read from).
- legacy_seq_compact.h5: default format, every weight in a compact dataset (data inside the
  object header's layout message), attributes tracked in creation order.
- legacy_seq_gzip.h5: default format, chunked + gzip + shuffle (B-tree v1 chunk index, deflate).
- seq_lstm_gru_latest.keras: the .keras archive with model.weights.h5 rewritten with
  libver="latest" and chunked gzip datasets.
- legacy_seq_many.h5: libver="latest" with 150 extra groups at the root and 150 extra attributes
  on model_weights: their B-tree v2 name indexes are two levels deep (internal node + leaves).

And one hostile file:
- hostile_gzip_bomb.h5: legacy_seq_gzip.h5 with its largest deflated chunk replaced by a deflate
  stream of zeros of at most the same length that inflates to several times the chunk's size.
"""
import zlib
import os
import shutil
import tempfile
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
KERAS_DIR = os.path.join(HERE, "keras")


def copy_attrs(src, dst):
    for k in src.attrs:
        dst.attrs[k] = src.attrs[k]


def compact_dataset(group, name, value):
    value = np.ascontiguousarray(value)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple(value.shape)
    tid = h5py.h5t.py_create(value.dtype, logical=True)
    ds = h5py.h5d.create(group.id, name.encode("utf8"), tid, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, value)


def copy_tree(src, dst, dataset):
    copy_attrs(src, dst)
    for name, obj in src.items():
        if isinstance(obj, h5py.Group):
            copy_tree(obj, dst.create_group(name), dataset)
        else:
            dataset(dst, name, obj[()])
            copy_attrs(obj, dst[name])


def chunked(**extra):
    def make(group, name, value):
        chunks = tuple(max(1, (d + 1) // 2) for d in value.shape) if value.ndim else None
        group.create_dataset(name, data=value, chunks=chunks, **extra)
    return make


def rewrite(src_path, dst_path, dataset, libver=None, track_order=False, extra=None):
    with h5py.File(src_path, "r") as src, h5py.File(dst_path, "w", libver=libver, track_order=track_order) as dst:
        copy_tree(src, dst, dataset)
        if extra:
            extra(dst)


def many_links_and_attributes(f):
    for i in range(12):
        f.create_group(f"extra_{i:02d}").attrs["note"] = f"an extra group ({i})"
    g = f["model_weights"]
    for i in range(12):
        g.attrs[f"note_{i:02d}"] = np.arange(i + 1, dtype=np.int32)


def many(f):
    for i in range(150):
        f.create_group(f"extra_{i:03d}")
    g = f["model_weights"]
    for i in range(150):
        g.attrs[f"note_{i:03d}"] = np.int32(i)


def gzip_bomb(src_path, dst_path):
    """Overwrites the stored bytes of the largest deflated chunk with a deflate stream of zeros
    that fits in them and inflates to as much as it can (several times the chunk's size)."""
    with h5py.File(src_path, "r") as f:
        chunks = []

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.compression == "gzip":
                nbytes = int(np.prod(obj.chunks)) * obj.dtype.itemsize
                for i in range(obj.id.get_num_chunks()):
                    info = obj.id.get_chunk_info(i)
                    if info.filter_mask == 0:
                        chunks.append((info.size, name, info.byte_offset, nbytes))

        f.visititems(visit)
    size, name, offset, nbytes = max(chunks)
    n = 1
    while len(zlib.compress(bytes(n * 2), 9)) <= size:
        n *= 2
    bomb = zlib.compress(bytes(n), 9)
    assert n > nbytes, (n, nbytes)
    data = bytearray(open(src_path, "rb").read())
    data[offset:offset + size] = bomb + bytes(size - len(bomb))
    open(dst_path, "wb").write(data)
    print(f"{os.path.basename(dst_path)}: the {size}-byte chunk of {name} at {offset} ({nbytes} bytes inflated) now inflates to {n}")


def main():
    keras = lambda name: os.path.join(KERAS_DIR, name)
    rewrite(keras("legacy_func.h5"), keras("legacy_func_latest.h5"), chunked(), libver="latest", extra=many_links_and_attributes)
    rewrite(keras("legacy_seq.h5"), keras("legacy_seq_compact.h5"), compact_dataset, track_order=True)
    rewrite(keras("legacy_seq.h5"), keras("legacy_seq_gzip.h5"), chunked(compression="gzip", shuffle=True))

    rewrite(keras("legacy_seq.h5"), keras("legacy_seq_many.h5"), chunked(), libver="latest", extra=many)
    gzip_bomb(keras("legacy_seq_gzip.h5"), keras("hostile_gzip_bomb.h5"))

    tmp = tempfile.mkdtemp()
    try:
        with zipfile.ZipFile(keras("seq_lstm_gru.keras")) as z:
            z.extractall(tmp)
            names = z.namelist()
        weights = os.path.join(tmp, "model.weights.h5")
        os.rename(weights, weights + ".orig")
        rewrite(weights + ".orig", weights, chunked(compression="gzip"), libver="latest")
        with zipfile.ZipFile(keras("seq_lstm_gru_latest.keras"), "w") as z:
            for n in names:
                z.write(os.path.join(tmp, n), n)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
