#!/usr/bin/python3
"""Minimal, hand-written safetensors reader/writer (the `safetensors` package is not available here).

File layout (https://github.com/huggingface/safetensors, "Format"):
    [8 bytes]  N = header length, unsigned 64-bit little-endian
    [N bytes]  UTF-8 JSON object:
                 "__metadata__": {str: str}              (optional)
                 "<tensor name>": {"dtype": "F32"|"F16"|"BF16",
                                   "shape": [d0, d1, ...],
                                   "data_offsets": [begin, end]}   (relative to the data section)
    [rest]     data section: raw little-endian, C-contiguous tensor bytes.

What this writer produces (the readers in the C++ engine are tested against it):
  * compact JSON (no spaces), "__metadata__" first, then tensors sorted by name;
  * the header is padded with ASCII spaces so that the data section starts at a multiple of 8;
  * tensors are laid out back to back in name order with no gaps: begin of tensor i == end of i-1,
    the last end == size of the data section.

Sharded checkpoints follow the HF convention: `model-0000K-of-0000N.safetensors` files plus
`model.safetensors.index.json` = {"metadata": {"total_size": <sum of tensor bytes>},
"weight_map": {"<tensor name>": "<file name>"}}.
"""

import json
import os
import struct

import numpy as np
import torch

# safetensors dtype tag -> (torch dtype, bytes per element).
_DTYPES = {
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
}
_TAG_OF_DTYPE = {dtype: tag for tag, (dtype, _) in _DTYPES.items()}

INDEX_FILE_NAME = "model.safetensors.index.json"


def dtype_tag(dtype):
    """torch dtype -> safetensors dtype tag ("F32", "F16", "BF16")."""
    if dtype not in _TAG_OF_DTYPE:
        raise ValueError(f"unsupported dtype {dtype}")
    return _TAG_OF_DTYPE[dtype]


def _tensor_bytes(tensor):
    """Raw little-endian bytes of a tensor, C order."""
    tensor = tensor.detach().contiguous().cpu()
    if tensor.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the 16-bit patterns.
        array = tensor.view(torch.int16).numpy().astype("<i2", copy=False)
    else:
        array = tensor.numpy()
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return array.tobytes(order="C")


def _tensor_from_bytes(raw, tag, shape):
    """Inverse of _tensor_bytes."""
    dtype, _ = _DTYPES[tag]
    if tag == "BF16":
        array = np.frombuffer(raw, dtype="<i2").astype(np.int16)
        tensor = torch.from_numpy(array.copy()).view(torch.bfloat16)
    elif tag == "F16":
        tensor = torch.from_numpy(np.frombuffer(raw, dtype="<f2").astype(np.float16))
    else:
        tensor = torch.from_numpy(np.frombuffer(raw, dtype="<f4").astype(np.float32))
    return tensor.reshape(shape).clone()


def save_file(tensors, path, metadata=None):
    """Writes {name: tensor} to `path` as one safetensors file."""
    header = {"__metadata__": dict(metadata or {"format": "pt"})}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        tensor = tensors[name]
        raw = _tensor_bytes(tensor)
        header[name] = {
            "dtype": dtype_tag(tensor.dtype),
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    padding = (8 - (8 + len(header_bytes)) % 8) % 8
    header_bytes += b" " * padding
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(header_bytes)))
        out.write(header_bytes)
        for raw in blobs:
            out.write(raw)


def read_header(path):
    """Returns (header dict, byte offset of the data section, file size); validates the layout."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        if 8 + header_len > size:
            raise ValueError(f"{path}: header length {header_len} exceeds file size {size}")
        header = json.loads(f.read(header_len).decode("utf-8"))
    data_start = 8 + header_len
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        tag = info["dtype"]
        if tag not in _DTYPES:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {tag}")
        begin, end = info["data_offsets"]
        numel = 1
        for dim in info["shape"]:
            numel *= dim
        if end - begin != numel * _DTYPES[tag][1]:
            raise ValueError(f"{path}: tensor {name}: byte span does not match shape/dtype")
        spans.append((begin, end, name))
    spans.sort()
    cursor = 0
    for begin, end, name in spans:
        if begin != cursor:
            raise ValueError(f"{path}: tensor {name}: gap or overlap at data offset {begin}")
        cursor = end
    if data_start + cursor != size:
        raise ValueError(f"{path}: data section is {size - data_start} bytes, tensors cover {cursor}")
    return header, data_start, size


def load_file(path):
    """Reads one safetensors file -> {name: tensor in its stored dtype}."""
    header, data_start, _ = read_header(path)
    with open(path, "rb") as f:
        blob = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = blob[data_start + begin:data_start + end]
        tensors[name] = _tensor_from_bytes(raw, info["dtype"], info["shape"])
    return tensors


def load_metadata(path):
    """The `__metadata__` map of one file ({} when absent)."""
    header, _, _ = read_header(path)
    return header.get("__metadata__", {})


def save_sharded(tensors, directory, shard_names_of, metadata=None):
    """Writes a sharded checkpoint.

    shard_names_of: list of lists of tensor names, one list per shard, covering every tensor once.
    Files are `model-00001-of-0000N.safetensors`, ...; the index maps each tensor to its file.
    """
    count = len(shard_names_of)
    covered = sorted(name for names in shard_names_of for name in names)
    if covered != sorted(tensors):
        raise ValueError("shards must cover every tensor exactly once")
    weight_map = {}
    total_size = 0
    for index, names in enumerate(shard_names_of):
        file_name = f"model-{index + 1:05d}-of-{count:05d}.safetensors"
        save_file({name: tensors[name] for name in names}, os.path.join(directory, file_name), metadata)
        for name in names:
            weight_map[name] = file_name
            total_size += tensors[name].numel() * tensors[name].element_size()
    index_doc = {
        "metadata": {"total_size": total_size},
        "weight_map": {name: weight_map[name] for name in sorted(weight_map)},
    }
    with open(os.path.join(directory, INDEX_FILE_NAME), "w") as out:
        json.dump(index_doc, out, indent=2)
        out.write("\n")


def load_checkpoint(directory):
    """Loads `model.safetensors` or, when present, the sharded checkpoint named by the index file."""
    index_path = os.path.join(directory, INDEX_FILE_NAME)
    if not os.path.exists(index_path):
        return load_file(os.path.join(directory, "model.safetensors"))
    with open(index_path) as f:
        weight_map = json.load(f)["weight_map"]
    tensors = {}
    for file_name in sorted(set(weight_map.values())):
        for name, tensor in load_file(os.path.join(directory, file_name)).items():
            if weight_map.get(name) != file_name:
                raise ValueError(f"{file_name}: tensor {name} is not mapped to this file by the index")
            tensors[name] = tensor
    missing = sorted(set(weight_map) - set(tensors))
    if missing:
        raise ValueError(f"index names tensors that no shard holds: {missing[:5]}")
    return tensors
