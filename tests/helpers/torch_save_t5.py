#!/usr/bin/python3
"""Writes a tiny T5 folder's weights as PyTorch checkpoints with the real torch.save (test reference).

usage: torch_save_t5.py SRC_DIR OUT_DIR DTYPE [--shards N] [--protocol P] [--legacy | --repack | --big-endian | --short-storage]
       torch_save_t5.py --hostile | --hostile-legacy OUT_FILE MARKER_FILE
       torch_save_t5.py --jobs JOBS.json   (a JSON list of argument lists: one torch import for all)

SRC_DIR holds model.safetensors (float32, read here by hand). OUT_DIR receives pytorch_model.bin
(or shards + pytorch_model.bin.index.json) laid out as transformers' T5ForConditionalGeneration
state dict: encoder/decoder embed_tokens and lm_head share shared.weight's storage, plus a
transposed (non-contiguous) view and a view at a storage offset. OUT_DIR.reference.json + .f32
(beside OUT_DIR)
hold every tensor as torch itself converts it to float32, the independent reference.
"""
import json
import os
import struct
import sys
from collections import OrderedDict

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    out = OrderedDict()
    for name, meta in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        assert meta["dtype"] == "F32", meta["dtype"]
        b, e = meta["data_offsets"]
        raw = bytearray(data[8 + n + b : 8 + n + e])
        out[name] = torch.frombuffer(raw, dtype=torch.float32).reshape(meta["shape"]).clone()
    return out


def repack(path, byteorder=b"little", shorten=False):
    """Rewrites a torch zip as torch 2.x lays it out: a byteorder record, and each storage's data
    64-byte aligned by padding in the local header's extra field; every entry zip64 (as miniz
    writes for large files)."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    prefix = entries[0][0].split("/")[0]
    if shorten:  # one storage loses half its bytes: the pickle's sizes no longer match the records
        i = max(range(len(entries)), key=lambda k: len(entries[k][1]) if "/data/" in entries[k][0] else -1)
        entries[i] = (entries[i][0], entries[i][1][: len(entries[i][1]) // 2])
    entries.append((prefix + "/byteorder", byteorder))
    with open(path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            # local header: 30 bytes + name + extra (+ 20 bytes of zip64 extra that force_zip64 adds)
            start = f.tell() + 30 + len(name.encode()) + 20
            pad = (-(start + 4)) % 64
            info.extra = struct.pack("<2sH", b"FB", pad) + b"Z" * pad  # torch's own padding record, id "FB"
            with z.open(info, "w", force_zip64=True) as w:
                w.write(data)


def hostile(out_file, marker, legacy=False):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + marker,))

    torch.save(OrderedDict([("shared.weight", Evil())]), out_file, _use_new_zipfile_serialization=not legacy)


def main(argv):
    if argv[0] == "--jobs":
        with open(argv[1]) as f:
            for job in json.load(f):
                main(job)
        return
    if argv[0] in ("--hostile", "--hostile-legacy"):
        hostile(argv[1], argv[2], argv[0] == "--hostile-legacy")
        return
    src, out, dtype_name = argv[0], argv[1], argv[2]
    opts = dict(zip(argv[3::2], argv[4::2])) if "--legacy" not in argv else {}
    legacy = "--legacy" in argv
    flags = ("--repack", "--big-endian", "--short-storage")
    repacked = any(f in argv for f in flags)
    byteorder = b"big" if "--big-endian" in argv else b"little"
    shorten = "--short-storage" in argv
    if repacked:
        argv = [a for a in argv if a not in flags]
        opts = dict(zip(argv[3::2], argv[4::2]))
    shards = int(opts.get("--shards", "1"))
    protocol = int(opts.get("--protocol", "2"))
    dtype = DTYPES[dtype_name]
    weights = read_safetensors(os.path.join(src, "model.safetensors"))

    sd = OrderedDict()
    for name, t in weights.items():
        t = t.to(dtype)
        if name.endswith("SelfAttention.o.weight") and name.startswith("encoder.block.0."):
            # stored transposed: a non-contiguous view (stride (1, rows))
            t = t.t().contiguous().t()
        elif name.endswith("relative_attention_bias.weight"):
            # a view into a larger storage, at a non-zero offset
            big = torch.zeros(t.numel() + 7, dtype=dtype)
            big[7:] = t.reshape(-1)
            t = big[7:].view(t.shape)
        sd[name] = t
        if name == "shared.weight":
            sd["encoder.embed_tokens.weight"] = t
            sd["decoder.embed_tokens.weight"] = t
    if "lm_head.weight" not in sd:
        sd["lm_head.weight"] = sd["shared.weight"]

    def save(obj, path):
        if legacy:
            torch.save(obj, path, _use_new_zipfile_serialization=False)
        else:
            torch.save(obj, path, pickle_protocol=protocol)

    names = list(sd.keys())
    if shards <= 1:
        save(sd, os.path.join(out, "pytorch_model.bin"))
        if repacked:
            repack(os.path.join(out, "pytorch_model.bin"), byteorder, shorten)
    else:
        weight_map = {}
        per = (len(names) + shards - 1) // shards
        for i in range(shards):
            part = OrderedDict((k, sd[k]) for k in names[i * per : (i + 1) * per])
            fname = "pytorch_model-%05d-of-%05d.bin" % (i + 1, shards)
            save(part, os.path.join(out, fname))
            for k in part:
                weight_map[k] = fname
        with open(os.path.join(out, "pytorch_model.bin.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)

    # The reference: what torch itself reads back, converted to float32 by torch.
    reread = OrderedDict()
    if shards <= 1:
        reread.update(torch.load(os.path.join(out, "pytorch_model.bin")))
    else:
        for fname in sorted(set(weight_map.values())):
            reread.update(torch.load(os.path.join(out, fname)))
    manifest = {}
    offset = 0
    with open(out.rstrip("/") + ".reference.f32", "wb") as f:
        for name, t in reread.items():
            raw = t.float().contiguous().numpy().tobytes()
            manifest[name] = {"shape": list(t.shape), "offset": offset, "dtype": str(t.dtype), "contiguous": t.is_contiguous()}
            f.write(raw)
            offset += len(raw)
    with open(out.rstrip("/") + ".reference.json", "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main(sys.argv[1:])
