"""Checks that Longread's engine computes what the PyTorch model computes: loads an exported folder
(model.safetensors read by hand), runs a few inputs through torch (dense and the VCC `cached` layout
with every block kept fine, which must equal the local-layer-0 training mode exactly) and through
`node bin/longread.mjs generate --json`, and compares the first decoding step's logits.

  /usr/bin/python3 models/recipe/check_engine.py MODEL_DIR
"""
import json
import math
import os
import random
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from t5 import load  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def torch_logits(m, ids, q, mode, local_layers, segment=512):
    n = len(ids)
    t = torch.tensor([ids])
    ar = torch.arange(n)
    mask = torch.ones(1, n, dtype=torch.bool)
    if mode == "cached":
        off = math.ceil(q / segment) * segment
        pos = torch.where(ar < q, ar, ar - q + off)[None]
        seg = torch.where(ar < q, ar // segment - 100000, (ar - q) // segment)[None]
        enc = m.encode(t, pos, mask, seg, local_layers)
    else:
        enc = m.encode(t, ar[None], mask, None, 0)
    return m.decode(enc, mask, torch.zeros(1, 1, dtype=torch.long))[0, -1]


def engine_logits(model_dir, ids, q, mode, local_layers):
    cmd = ["node", os.path.join(REPO, "bin", "longread.mjs"), "generate", "--model", model_dir, "--input-ids", ",".join(map(str, ids)),
           "--max-new-tokens", "1", "--json", "--threads", "2"]
    if mode == "cached":
        cmd += ["--attention", "vcc", "--layout", "cached", "--vip-tokens", str(q), "--block-size", "16", "--fine-blocks", "100000",
                "--local-layers", str(local_layers), "--segment", "512"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO).stdout
    return torch.tensor(json.loads(out.strip().splitlines()[-1])["firstStepLogits"])


def main():
    model_dir = os.path.abspath(sys.argv[1])
    m, cfg = load(model_dir)
    local = max(1, round(cfg["num_layers"] / 3))
    r = random.Random(5)
    worst = 0.0
    for n, q in ((30, 12), (700, 20), (1300, 33)):
        ids = [r.randrange(3, cfg["vocab_size"] - 64) for _ in range(n - 1)] + [1]
        for mode in ("dense", "cached"):
            with torch.no_grad():
                a = torch_logits(m, ids, q, mode, local)
            b = engine_logits(model_dir, ids, q, mode, local)
            d = (a - b).abs().max().item()
            scale = a.abs().max().item()
            worst = max(worst, d / max(scale, 1e-6))
            print(f"n={n} q={q} {mode:6s}: max |torch - engine| = {d:.2e} (max |logit| {scale:.2f}), argmax {int(a.argmax())} vs {int(b.argmax())}")
    ok = worst < 1e-3
    print("OK" if ok else "MISMATCH", f"(worst relative difference {worst:.2e})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
