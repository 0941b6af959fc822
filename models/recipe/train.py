"""Trains Longread's default model on the data written by make-data.ts (CPU, Debian's python3-torch).

  /usr/bin/python3 models/recipe/train.py --data DIR --tokenizer DIR --work DIR --out DIR [--steps N]

Every batch is run in one of the encoder layouts Longread uses at inference:
  dense  - contiguous positions, full attention in every layer
  cached - (VCC default) question at positions 0.., document from position 512 (ceil(q/512)*512);
           the first `local_layers` layers attend only within the question or within 512-token
           document segments
  paper  - contiguous positions, first `local_layers` layers attend within 512-token segments
Checkpoints (torch state + an exported HF folder) are saved periodically in --work; the final export
goes to --out.
"""
import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from t5 import load_weights, T5, hf_config, write_safetensors

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--tokenizer", required=True)
p.add_argument("--work", required=True)
p.add_argument("--out", required=True)
p.add_argument("--steps", type=int, default=1100)
p.add_argument("--stop-at", type=int, default=0, help="end the run at this step of the --steps schedule (default: at --steps)")
p.add_argument("--tokens-per-batch", type=int, default=3072)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--warmup", type=int, default=100)
p.add_argument("--seed", type=int, default=1234)
p.add_argument("--threads", type=int, default=1, help="torch threads per process")
p.add_argument("--procs", type=int, default=2,
               help="data-parallel processes (each takes its own micro-batch of --tokens-per-batch); on 2 cores two 1-thread "
                    "processes train ~1.5x faster than one 2-thread process")
p.add_argument("--max-minutes", type=float, default=64.0, help="hard wall-clock cap: stop and export early")
p.add_argument("--save-minutes", type=float, default=6.0)
p.add_argument("--eval-every", type=int, default=1000, help="validation loss and greedy EM every N steps (a pass costs minutes)")
p.add_argument("--eval-rows", type=int, default=48)
p.add_argument("--d-model", type=int, default=256)
p.add_argument("--d-ff", type=int, default=1024)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--decoder-layers", type=int, default=2)
p.add_argument("--phases", default="short:0,medium:0.45,long:0.85",
               help="curriculum: data phase (train-<name> in --data) and the fraction of --steps where it starts")
p.add_argument("--mix", type=float, default=0.0,
               help="share of steps drawn from a random earlier phase, so later phases do not undo what earlier ones taught")
p.add_argument("--select-loss", type=float, default=0.0,
               help="weight of a loss that teaches VCC's block choice: in every VCC layer, the VIP tokens' averaged "
                    "attention to blocks of 16 should fall on a block holding the answer (t5.py select_probs)")
p.add_argument("--init-from", default="", help="start from an exported model folder (a second stage) instead of random weights")
p.add_argument("--copy-init", type=int, default=1, help="start the last decoder cross-attention as a copier (t5.py init_copy)")
p.add_argument("--bench", type=int, default=0, help="only time N steps")
args = p.parse_args()

WORLD = args.procs
RANK = int(os.environ.get("LONGREAD_TRAIN_RANK", "-1"))
if WORLD > 1 and RANK < 0:
    # launcher: one process per rank, the same script and arguments; if one fails, stop the others
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "OPENBLAS_NUM_THREADS": str(args.threads),
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": os.environ.get("MASTER_PORT", "29517")}
    children = [subprocess.Popen([sys.executable, *sys.argv], env={**env, "LONGREAD_TRAIN_RANK": str(r)}) for r in range(WORLD)]
    code = 0
    while children:
        time.sleep(1)
        for c in [c for c in children if c.poll() is not None]:
            children.remove(c)
            if c.returncode != 0:
                code = c.returncode
                for other in children:
                    other.terminate()
    sys.exit(code)
RANK = max(RANK, 0)
if WORLD > 1:
    dist.init_process_group("gloo", rank=RANK, world_size=WORLD)

torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
random.seed(args.seed)
np.random.seed(args.seed)
os.makedirs(args.work, exist_ok=True)
LOG = open(os.path.join(args.work, "train.log"), "a") if RANK == 0 else None


def log(msg):
    if RANK != 0:
        return
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    LOG.write(line + "\n")
    LOG.flush()


tok = json.load(open(os.path.join(args.tokenizer, "tokenizer.json")))
n_pieces = len(tok["model"]["vocab"])
vocab = (n_pieces + 63) // 64 * 64
cfg = {
    "vocab_size": vocab,
    "d_model": args.d_model,
    "d_kv": args.d_model // args.heads,
    "d_ff": args.d_ff,
    "num_heads": args.heads,
    "num_layers": args.layers,
    "num_decoder_layers": args.decoder_layers,
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
    "layer_norm_epsilon": 1e-6,
}
LOCAL_LAYERS = max(1, round(args.layers / 3))  # engine/vcc/settings.ts presetFor
SEGMENT = 512
VIP, BLOCK = 48, 16  # engine/vcc/settings.ts presetFor: n_p = 3k, k = 16


def load(split):
    toks = np.fromfile(os.path.join(args.data, f"{split}.tokens"), dtype="<u2")
    idx = np.fromfile(os.path.join(args.data, f"{split}.index"), dtype="<i4").reshape(-1, 5)
    return toks, idx


# Curriculum: short documents first (the matching is learned fast there), then longer ones.
PHASES = [(name, float(start)) for name, start in (ph.split(":") for ph in args.phases.split(","))]
train_sets = {name: load(f"train-{name}") for name, _ in PHASES}
valid_toks, valid_idx = load("valid")
log(f"train examples {({k: len(v[1]) for k, v in train_sets.items()})}, valid {len(valid_idx)}, vocab {vocab} ({n_pieces} pieces), local layers {LOCAL_LAYERS}")


def phase_at(s):
    name = PHASES[0][0]
    for n, start in PHASES:
        if s >= start * args.steps:
            name = n
    return name


def step_phase(s, rng):
    """The phase a step trains on: the current one, or with probability --mix an earlier one (one draw per step)."""
    name = phase_at(s)
    names = [n for n, _ in PHASES]
    earlier = names[: names.index(name)]
    u, k = rng.random(), rng.randrange(1 << 30)
    return earlier[k % len(earlier)] if earlier and u < args.mix else name


def make_batch(toks, idx, rows, mode):
    B = len(rows)
    n = int(max(idx[r, 1] for r in rows))
    t = int(max(idx[r, 4] for r in rows))
    ids = torch.zeros(B, n, dtype=torch.long)
    pos = torch.zeros(B, n, dtype=torch.long)
    seg = torch.full((B, n), -2, dtype=torch.long)
    mask = torch.zeros(B, n, dtype=torch.bool)
    tgt = torch.full((B, t), -100, dtype=torch.long)
    dec_in = torch.zeros(B, t, dtype=torch.long)
    for b, r in enumerate(rows):
        eo, el, ql, to, tl = (int(v) for v in idx[r])
        ids[b, :el] = torch.from_numpy(toks[eo : eo + el].astype(np.int64))
        mask[b, :el] = True
        ar = torch.arange(el)
        if mode == "cached":
            off = math.ceil(ql / SEGMENT) * SEGMENT
            pos[b, :el] = torch.where(ar < ql, ar, ar - ql + off)
            seg[b, :el] = torch.where(ar < ql, ar // SEGMENT - 100000, (ar - ql) // SEGMENT)
        else:
            pos[b, :el] = ar
            seg[b, :el] = ar // SEGMENT
        pos[b, el:] = el  # padding: any position (masked)
        y = torch.from_numpy(toks[to : to + tl].astype(np.int64))
        tgt[b, :tl] = y
        dec_in[b, 1:tl] = y[:-1]
    blocks = answer_blocks(ids, idx[rows], tgt) if args.select_loss > 0 else None
    return ids, pos, seg, mask, dec_in, tgt, blocks


def answer_blocks(ids, meta, tgt):
    """(B, blocks) bool: the VCC blocks (of the tokens after the VIP seats) that hold an occurrence of the
    answer (the target without </s>) in the document; all False for a row whose answer is only in the VIP seats."""
    B, n = ids.shape
    out = torch.zeros(B, max(0, -(-(n - VIP) // BLOCK)), dtype=torch.bool)
    for b in range(B):
        _, el, ql, _, tl = (int(v) for v in meta[b])
        ans = tgt[b, : tl - 1]
        for j in range(max(ql, VIP), el - len(ans) + 1) if len(ans) else ():
            if torch.equal(ids[b, j : j + len(ans)], ans):
                out[b, (j - VIP) // BLOCK : (j + len(ans) - 1 - VIP) // BLOCK + 1] = True
    return out


def forward_loss(model, batch, mode):
    """The answer's cross-entropy, and the selection loss (0 when off or when no row has an answer block)."""
    ids, pos, seg, mask, dec_in, tgt, blocks = batch
    taps = [] if blocks is not None else None
    local = LOCAL_LAYERS if mode != "dense" else 0
    enc = model.encode(ids, pos, mask, seg if mode != "dense" else None, local, taps)
    logits = model.decode(enc, mask, dec_in)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
    if blocks is None or not bool(blocks.any()):
        return loss, torch.zeros(())
    has = blocks.any(1)
    sel = []
    for layer, x in zip(range(LOCAL_LAYERS, len(model.enc)), taps[LOCAL_LAYERS - local :]):
        p = model.select_probs(layer, x, pos, mask, VIP, BLOCK)
        sel.append(-torch.log((p * blocks).sum(1)[has] + 1e-9).mean())
    return loss, torch.stack(sel).mean()


def batches_forever(idx, seed):
    rng = random.Random(seed)
    order = list(range(len(idx)))
    epoch = 0
    while True:
        rng.shuffle(order)
        for c in range(0, len(order), 512):
            chunk = sorted(order[c : c + 512], key=lambda r: idx[r, 1])
            bs = []
            cur = []
            for r in chunk:
                if cur and (len(cur) + 1) * idx[r, 1] > args.tokens_per_batch:
                    bs.append(cur)
                    cur = []
                cur.append(r)
            if cur:
                bs.append(cur)
            rng.shuffle(bs)
            for b in bs:
                yield b
        epoch += 1
        log(f"epoch {epoch} done")


def pick_mode(rng):
    u = rng.random()
    return "dense" if u < 0.3 else ("cached" if u < 0.85 else "paper")


@torch.no_grad()
def evaluate(model, n):
    model.eval()
    rows = list(range(min(n, len(valid_idx))))
    tot, cnt, em = 0.0, 0, 0
    for mode in ("cached", "dense"):
        for s in range(0, len(rows), 8):
            rs = rows[s : s + 8]
            batch = make_batch(valid_toks, valid_idx, rs, mode)
            ids, pos, seg, mask, dec_in, tgt, _ = batch
            enc = model.encode(ids, pos, mask, seg if mode != "dense" else None, LOCAL_LAYERS if mode != "dense" else 0)
            logits = model.decode(enc, mask, dec_in)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100, reduction="sum")
            tot += loss.item()
            cnt += int((tgt != -100).sum())
            if mode == "cached":
                # greedy decoding, exact match on ids
                B = len(rs)
                out = torch.zeros(B, 1, dtype=torch.long)
                for _ in range(int(tgt.shape[1]) + 2):
                    lg = model.decode(enc, mask, out)
                    out = torch.cat([out, lg[:, -1].argmax(-1, keepdim=True)], 1)
                for b, r in enumerate(rs):
                    gold = [int(v) for v in valid_toks[valid_idx[r, 3] : valid_idx[r, 3] + valid_idx[r, 4]]]
                    em += int(out[b, 1 : 1 + len(gold)].tolist() == gold)
    model.train()
    return tot / cnt, em / len(rows)


def export(model, out_dir, meta):
    tmp = out_dir + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    write_safetensors(os.path.join(tmp, "model.safetensors"), model.hf_state(), {k: str(v) for k, v in meta.items()})
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)
        f.write("\n")
    with open(os.path.join(tmp, "generation_config.json"), "w") as f:
        json.dump({"decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0, "transformers_version": "4.46.0"}, f, indent=2)
        f.write("\n")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        src = os.path.join(args.tokenizer, name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(tmp, name))
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.rename(tmp, out_dir)


model = T5(cfg, copy_init=bool(args.copy_init))
if args.init_from:
    load_weights(model, args.init_from)
    log(f"initialised from {args.init_from}")
n_params = sum(p.numel() for p in model.parameters())
log(f"config {json.dumps(cfg)}; parameters {n_params/1e6:.2f}M")
opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
step = 0
ckpt = os.path.join(args.work, "ckpt.pt")
if os.path.exists(ckpt) and not args.bench:
    st = torch.load(ckpt)
    model.load_state_dict(st["model"])
    opt.load_state_dict(st["opt"])
    step = st["step"]
    log(f"resumed at step {step}")


def lr_at(s):
    if s < args.warmup:
        return args.lr * (s + 1) / args.warmup
    frac = (s - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


gens = {name: batches_forever(idx, args.seed + k) for k, (name, (_, idx)) in enumerate(train_sets.items())}
mode_rng = random.Random(args.seed + 1)
mix_rng = random.Random(args.seed + 2)
for s in range(step):  # resume: replay the deterministic batch order
    ph = step_phase(s, mix_rng)
    for _ in range(WORLD):
        next(gens[ph])
        pick_mode(mode_rng)


def next_micro_batch(phase):
    """Every rank draws all WORLD micro-batches of the step (same order everywhere) and keeps its own."""
    mine = None
    for r in range(WORLD):
        rows, mode = next(gens[phase]), pick_mode(mode_rng)
        if r == RANK:
            mine = (rows, mode)
    return mine


def all_reduce_mean(*losses):
    """Average the gradients (and the losses, for the log) over the ranks."""
    if WORLD == 1:
        return tuple(l.item() for l in losses)
    grads = [p.grad for p in model.parameters()]
    flat = torch.cat([g.reshape(-1) for g in grads] + [l.detach().reshape(1) for l in losses])
    dist.all_reduce(flat)
    flat /= WORLD
    off = 0
    for g in grads:
        g.copy_(flat[off : off + g.numel()].view_as(g))
        off += g.numel()
    return tuple(flat[off:].tolist())


def agree(*flags):
    """Rank 0 decides (wall-clock stops and saves), so every rank takes the same branch: one broadcast."""
    if WORLD == 1:
        return flags
    t = torch.tensor([1.0 if f else 0.0 for f in flags])
    dist.broadcast(t, 0)
    return tuple(bool(v) for v in t.tolist())

t0 = time.time()
last_save = t0
ema = sel_ema = None
seen_tokens = 0
model.train()
END = args.stop_at or args.steps
while step < END:
    phase = step_phase(step, mix_rng)
    rows, mode = next_micro_batch(phase)
    batch = make_batch(*train_sets[phase], rows, mode)
    for g in opt.param_groups:
        g["lr"] = lr_at(step)
    loss, sel = forward_loss(model, batch, mode)
    opt.zero_grad(set_to_none=True)
    (loss + args.select_loss * sel).backward()
    loss_value, sel_value = all_reduce_mean(loss, sel)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    step += 1
    seen_tokens += batch[0].numel() * WORLD
    ema = loss_value if ema is None else 0.98 * ema + 0.02 * loss_value
    sel_ema = sel_value if sel_ema is None else 0.98 * sel_ema + 0.02 * sel_value
    el = time.time() - t0
    if args.bench and step >= args.bench:
        log(f"bench: {step} steps in {el:.1f}s, {seen_tokens/el:.0f} padded tokens/s, {el/step:.2f}s/step")
        raise SystemExit(0)
    if step % 25 == 0:
        sel_log = f" selection {sel_ema:.3f}" if args.select_loss > 0 else ""
        log(f"step {step} [{phase}] loss {loss_value:.4f} ema {ema:.4f}{sel_log} lr {lr_at(step):.2e} {el/60:.1f} min {seen_tokens/el:.0f} tok/s")
    if step % args.eval_every == 0 and RANK == 0:
        vl, vem = evaluate(model, args.eval_rows)
        log(f"valid step {step}: loss {vl:.4f} greedy EM (cached layout) {vem:.3f}")
    stop, save = agree(el > args.max_minutes * 60, time.time() - last_save > args.save_minutes * 60 or step == END)
    save = save or stop
    if save and RANK == 0:
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)
        export(model, os.path.join(args.work, "export"), {"step": step, "ema_loss": f"{ema:.4f}"})
        log(f"saved step {step}")
    if save:
        last_save = time.time()
    if stop:
        log(f"wall-clock cap reached at step {step}")
        break
if RANK == 0:
    export(model, args.out, {"step": step, "ema_loss": f"{ema:.4f}"})
log(f"done: step {step}, ema loss {ema:.4f}, {(time.time()-t0)/60:.1f} min -> {args.out}")
