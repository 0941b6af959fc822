"""Plain fp32 PyTorch baseline for tests/bench/generate-vs-torch.ts: greedy generation with a T5
v1.0 checkpoint folder, the way a PyTorch user would run it (dense attention, decoder with a
key/value cache, cross keys/values computed once). Prints one JSON line: outputIds and seconds.

  /usr/bin/python3 tests/bench/torch_generate.py MODEL_DIR IDS_FILE MAX_NEW_TOKENS THREADS
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "models", "recipe"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import t5  # noqa: E402


def load(model_dir):
    c = json.load(open(f"{model_dir}/config.json"))
    c.setdefault("num_decoder_layers", c["num_layers"])
    cfg = {k: c[k] for k in t5.CONFIG_KEYS}
    model = t5.T5(cfg)
    weights = t5.read_safetensors(f"{model_dir}/model.safetensors")
    params = model.hf_state()
    missing = set(params) - set(weights)
    assert not missing, f"missing weights: {sorted(missing)[:5]}"
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(weights[k])
    model.eval()
    return model, cfg, c.get("decoder_start_token_id", 0), c.get("eos_token_id", 1)


def heads(att, x):
    B, n, _ = x.shape
    return x.view(B, n, att.h, att.dk).transpose(1, 2)


def attend(q, k, v, bias):
    w = F.softmax(torch.matmul(q, k.transpose(-1, -2)) + bias, dim=-1)
    out = torch.matmul(w, v)
    B, H, n, dk = out.shape
    return out.transpose(1, 2).reshape(B, n, H * dk)


@torch.no_grad()
def generate(model, cfg, ids, start, eos, max_new):
    x = torch.tensor([ids], dtype=torch.long)
    n = x.shape[1]
    pos = torch.arange(n)[None]
    enc = model.encode(x, pos, torch.ones(1, n, dtype=torch.bool))
    cross = [(heads(b.ca, b.ca.k(enc)), heads(b.ca, b.ca.v(enc))) for b in model.dec]
    cache = [None] * len(model.dec)
    out = []
    token = start
    for t in range(max_new):
        y = model.shared(torch.tensor([[token]]))
        sb = model.dec[0].sa.position_bias(torch.tensor([[t]]), torch.arange(t + 1)[None])
        for i, b in enumerate(model.dec):
            h = b.ln0(y)
            k, v = heads(b.sa, b.sa.k(h)), heads(b.sa, b.sa.v(h))
            if cache[i] is not None:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
            cache[i] = (k, v)
            y = y + b.sa.o(attend(heads(b.sa, b.sa.q(h)), k, v, sb))
            h = b.ln1(y)
            y = y + b.ca.o(attend(heads(b.ca, b.ca.q(h)), cross[i][0], cross[i][1], 0.0))
            y = y + b.ff(b.ln2(y))
        logits = (model.dec_ln(y) * (cfg["d_model"] ** -0.5)) @ model.shared.weight.t()
        token = int(logits[0, -1].argmax())
        out.append(token)
        if token == eos:
            break
    return out


def main():
    model_dir, ids_file, max_new, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    ids = [int(s) for s in open(ids_file).read().split(",")]
    t0 = time.perf_counter()
    model, cfg, start, eos = load(model_dir)
    t1 = time.perf_counter()
    out = generate(model, cfg, ids, start, eos, max_new)
    t2 = time.perf_counter()
    print(json.dumps({"outputIds": out, "loadSeconds": t1 - t0, "generateSeconds": t2 - t1}))


main()
