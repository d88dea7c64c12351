"""File helpers of the reference fixtures: a hand-written safetensors writer and
reader (the python package is not installed) and a JSON writer."""

import json
import struct

import numpy as np
import torch


def save_safetensors(path, tensors, metadata=None):
    """Write {name: tensor} as a .safetensors file.

    Layout: u64 little-endian header length N, N bytes of JSON header, raw data.
    Floating tensors are stored as F32 (casting from float64), integer ones as
    I64. The header is space-padded so the data starts at a multiple of 8.
    """
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.is_floating_point():
            arr, dtype = t.to(torch.float32).numpy().astype("<f4"), "F32"
        elif t.dtype in (torch.int64, torch.int32, torch.bool):
            arr, dtype = t.to(torch.int64).numpy().astype("<i8"), "I64"
        else:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        raw = arr.tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def load_safetensors(path):
    """Inverse of save_safetensors; used only to self-check the files."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        np_dtype = {"F32": "<f4", "I64": "<i8"}[info["dtype"]]
        arr = np.frombuffer(data[base + begin:base + end], dtype=np_dtype).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
