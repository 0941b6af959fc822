"""Checks that Longread's engine computes what the PyTorch model computes: loads an exported folder
(model.safetensors read by hand), runs a few inputs through torch (dense and the VCC `cached` layout
with every block kept fine, which must equal the local-layer-0 training mode exactly) and through
`node bin/longread.mjs generate --json`, and compares the first decoding step's logits; and compares the
first VCC layer's block scores (the selection that train.py --select-loss trains) with the engine's.

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


def cached_layout(n, q, segment=512):
    """Positions and local segments of the engine's `cached` layout (the document at a whole segment)."""
    ar = torch.arange(n)
    off = math.ceil(q / segment) * segment
    pos = torch.where(ar < q, ar, ar - q + off)[None]
    seg = torch.where(ar < q, ar // segment - 100000, (ar - q) // segment)[None]
    return pos, seg


def torch_logits(m, ids, q, mode, local_layers):
    n = len(ids)
    t = torch.tensor([ids])
    ar = torch.arange(n)
    mask = torch.ones(1, n, dtype=torch.bool)
    if mode == "cached":
        pos, seg = cached_layout(n, q)
        enc = m.encode(t, pos, mask, seg, local_layers)
    else:
        enc = m.encode(t, ar[None], mask, None, 0)
    return m.decode(enc, mask, torch.zeros(1, 1, dtype=torch.long))[0, -1]


def run_engine(model_dir, ids, q, mode, local_layers, fine_blocks=100000):
    cmd = ["node", os.path.join(REPO, "bin", "longread.mjs"), "generate", "--model", model_dir, "--input-ids", ",".join(map(str, ids)),
           "--max-new-tokens", "1", "--json", "--threads", "2"]
    if mode == "cached":
        cmd += ["--attention", "vcc", "--layout", "cached", "--vip-tokens", str(q), "--block-size", "16",
                "--fine-blocks", str(fine_blocks), "--local-layers", str(local_layers), "--segment", "512"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


def engine_logits(model_dir, ids, q, mode, local_layers):
    return torch.tensor(run_engine(model_dir, ids, q, mode, local_layers)["firstStepLogits"])


def check_selection(m, model_dir, ids, local_layers, q=48, fine=8):
    """The first VCC layer's block scores: t5.py select_probs (what --select-loss trains) against the scores
    of the blocks the engine kept (the CLI takes the first --vip-tokens ids as the question, so q = n_p).
    Returns the largest difference relative to the top score."""
    n = len(ids)
    pos, seg = cached_layout(n, q)
    mask = torch.ones(1, n, dtype=torch.bool)
    taps = []
    with torch.no_grad():
        m.encode(torch.tensor([ids]), pos, mask, seg, local_layers, taps)
        p = m.select_probs(local_layers, taps[0], pos, mask, q, 16)[0]
    kept = run_engine(model_dir, ids, q, "cached", local_layers, fine)["evidence"][0]["blocks"]
    engine = sorted((b["score"] for b in kept), reverse=True)
    ours = p.sort(descending=True).values[: len(engine)].tolist()
    d = max(abs(a - b) for a, b in zip(ours, engine))
    print(f"n={n} q={q} selection: {len(engine)} blocks kept of {len(p)}, max |torch - engine| score = {d:.2e} (top score {ours[0]:.4f})")
    return d / max(ours[0], 1e-9)


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
    ids = [r.randrange(3, cfg["vocab_size"] - 64) for _ in range(1299)] + [1]
    worst = max(worst, check_selection(m, model_dir, ids, local))
    ok = worst < 1e-3
    print("OK" if ok else "MISMATCH", f"(worst relative difference {worst:.2e})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
