"""A plain PyTorch T5 (v1.0 layout: ReLU feed-forward, tied embeddings) with Hugging Face semantics,
so that the saved weights load in Longread's engine like any HF checkpoint.

- RMSNorm (no mean subtraction, no bias), pre-norm residual blocks, final norm per stack
- attention without 1/sqrt(d_kv) scaling; relative position bias (HF bucketing) computed by the first
  layer of each stack and shared by all its layers; cross-attention has no position bias
- tied embeddings: logits = shared(dec_out * d_model**-0.5)
- encoder positions are given explicitly (Longread's VCC `cached` layout puts the document at a
  fixed offset), and the first `local_layers` encoder layers can be restricted to segments
  (the VCC local layers), so training sees what inference will see.
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def relative_position_bucket(rel, bidirectional, num_buckets, max_distance):
    buckets = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (rel > 0).long() * num_buckets
        rel = rel.abs()
    else:
        rel = -torch.clamp(rel, max=0)
    max_exact = num_buckets // 2
    is_small = rel < max_exact
    large = max_exact + (
        torch.log(rel.float().clamp(min=1) / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).long()
    large = torch.clamp(large, max=num_buckets - 1)
    return buckets + torch.where(is_small, rel, large)


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


class Attention(nn.Module):
    def __init__(self, cfg, has_bias, bidirectional):
        super().__init__()
        d, h, dk = cfg["d_model"], cfg["num_heads"], cfg["d_kv"]
        self.h, self.dk = h, dk
        self.q = nn.Linear(d, h * dk, bias=False)
        self.k = nn.Linear(d, h * dk, bias=False)
        self.v = nn.Linear(d, h * dk, bias=False)
        self.o = nn.Linear(h * dk, d, bias=False)
        self.bidirectional = bidirectional
        self.nb = cfg["relative_attention_num_buckets"]
        self.md = cfg["relative_attention_max_distance"]
        if has_bias:
            self.relative_attention_bias = nn.Embedding(self.nb, h)

    def position_bias(self, qpos, kpos):
        """qpos (B, n), kpos (B, m) -> (B, H, n, m)"""
        rel = kpos[:, None, :] - qpos[:, :, None]
        b = relative_position_bucket(rel, self.bidirectional, self.nb, self.md)
        return self.relative_attention_bias(b).permute(0, 3, 1, 2)

    def forward(self, x, kv, bias):
        B, n, _ = x.shape
        m = kv.shape[1]
        q = self.q(x).view(B, n, self.h, self.dk).transpose(1, 2)
        k = self.k(kv).view(B, m, self.h, self.dk).transpose(1, 2)
        v = self.v(kv).view(B, m, self.h, self.dk).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) + bias
        w = F.softmax(scores.float(), dim=-1).type_as(scores)
        out = torch.matmul(w, v).transpose(1, 2).reshape(B, n, self.h * self.dk)
        return self.o(out)


class FF(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wi = nn.Linear(cfg["d_model"], cfg["d_ff"], bias=False)
        self.wo = nn.Linear(cfg["d_ff"], cfg["d_model"], bias=False)

    def forward(self, x):
        return self.wo(F.relu(self.wi(x)))


class EncoderBlock(nn.Module):
    def __init__(self, cfg, first):
        super().__init__()
        self.sa = Attention(cfg, first, True)
        self.ln0 = RMSNorm(cfg["d_model"], cfg["layer_norm_epsilon"])
        self.ff = FF(cfg)
        self.ln1 = RMSNorm(cfg["d_model"], cfg["layer_norm_epsilon"])

    def forward(self, x, bias):
        h = self.ln0(x)
        x = x + self.sa(h, h, bias)
        return x + self.ff(self.ln1(x))


class DecoderBlock(nn.Module):
    def __init__(self, cfg, first):
        super().__init__()
        self.sa = Attention(cfg, first, False)
        self.ln0 = RMSNorm(cfg["d_model"], cfg["layer_norm_epsilon"])
        self.ca = Attention(cfg, False, True)
        self.ln1 = RMSNorm(cfg["d_model"], cfg["layer_norm_epsilon"])
        self.ff = FF(cfg)
        self.ln2 = RMSNorm(cfg["d_model"], cfg["layer_norm_epsilon"])

    def forward(self, y, enc, self_bias, cross_bias):
        h = self.ln0(y)
        y = y + self.sa(h, h, self_bias)
        y = y + self.ca(self.ln1(y), enc, cross_bias)
        return y + self.ff(self.ln2(y))


NEG = -1e9


class T5(nn.Module):
    def __init__(self, cfg, copy_init=False):
        super().__init__()
        self.cfg = cfg
        d = cfg["d_model"]
        self.shared = nn.Embedding(cfg["vocab_size"], d)
        self.enc = nn.ModuleList([EncoderBlock(cfg, i == 0) for i in range(cfg["num_layers"])])
        self.enc_ln = RMSNorm(d, cfg["layer_norm_epsilon"])
        self.dec = nn.ModuleList([DecoderBlock(cfg, i == 0) for i in range(cfg["num_decoder_layers"])])
        self.dec_ln = RMSNorm(d, cfg["layer_norm_epsilon"])
        self.init_weights()
        if copy_init:
            self.init_copy()

    def init_weights(self):
        """Hugging Face's T5 initialization (initializer_factor 1)."""
        c = self.cfg
        d, dk, h, dff = c["d_model"], c["d_kv"], c["num_heads"], c["d_ff"]
        nn.init.normal_(self.shared.weight, std=1.0)
        for mod in self.modules():
            if isinstance(mod, Attention):
                nn.init.normal_(mod.q.weight, std=(d * dk) ** -0.5)
                nn.init.normal_(mod.k.weight, std=d ** -0.5)
                nn.init.normal_(mod.v.weight, std=d ** -0.5)
                nn.init.normal_(mod.o.weight, std=(h * dk) ** -0.5)
                if hasattr(mod, "relative_attention_bias"):
                    nn.init.normal_(mod.relative_attention_bias.weight, std=d ** -0.5)
            elif isinstance(mod, FF):
                nn.init.normal_(mod.wi.weight, std=d ** -0.5)
                nn.init.normal_(mod.wo.weight, std=dff ** -0.5)

    @torch.no_grad()
    def init_copy(self):
        """The last decoder layer's cross-attention starts as a copier: an orthogonal value projection (the
        same entry scale as HF's init when heads * d_kv = d_model) and its transpose as the output projection,
        so o(v(x)) = x. Whatever that layer attends to then lands in the output logits through the tied
        embeddings, and training only has to learn where to look, not also how to copy."""
        ca = self.dec[-1].ca
        nn.init.orthogonal_(ca.v.weight)
        ca.o.weight.copy_(ca.v.weight.t())

    def encode(self, ids, pos, pad_mask, segments=None, local_layers=0, taps=None):
        """ids, pos (B, n) long; pad_mask (B, n) bool (True = real token); segments (B, n) long or None.
        taps: a list that receives the input of every layer from local_layers on (the VCC layers)."""
        x = self.shared(ids)
        bias = self.enc[0].sa.position_bias(pos, pos)
        key_mask = torch.where(pad_mask[:, None, None, :], 0.0, NEG)
        full = bias + key_mask
        local = None
        if segments is not None and local_layers > 0:
            same = segments[:, :, None] == segments[:, None, :]
            local = full + torch.where(same[:, None], 0.0, NEG)
        for i, blk in enumerate(self.enc):
            if taps is not None and i >= local_layers:
                taps.append(x)
            x = blk(x, local if (local is not None and i < local_layers) else full)
        return self.enc_ln(x)

    def select_probs(self, layer, x, pos, pad_mask, vip, block):
        """VCC's choice of fine blocks as the engine makes it (engine/vcc/encoder.ts blockScores): encoder
        layer `layer`'s own attention from the first `vip` tokens (queries) to the masked means of blocks of
        `block` of the other tokens (keys at the rounded mean position, log(count) added), averaged over heads
        and real VIP tokens. x (B, n, d) is the layer's input; returns (B, blocks), each row summing to 1."""
        B, n, d = x.shape
        nb = -(-(n - vip) // block)
        extra = nb * block - (n - vip)
        m = F.pad(pad_mask[:, vip:].float(), (0, extra)).view(B, nb, block)
        count = m.sum(-1)
        denom = count.clamp(min=1)
        coarse = (F.pad(x[:, vip:], (0, 0, 0, extra)).view(B, nb, block, d) * m[..., None]).sum(2) / denom[..., None]
        bpos = torch.round((F.pad(pos[:, vip:].float(), (0, extra)).view(B, nb, block) * m).sum(-1) / denom).long()
        blk = self.enc[layer]
        H, dk = blk.sa.h, blk.sa.dk
        q = blk.sa.q(blk.ln0(x[:, :vip])).view(B, vip, H, dk).transpose(1, 2)
        k = blk.sa.k(blk.ln0(coarse)).view(B, nb, H, dk).transpose(1, 2)
        kbias = torch.where(count > 0, denom.log(), torch.full_like(denom, NEG))
        scores = q @ k.transpose(-1, -2) + self.enc[0].sa.position_bias(pos[:, :vip], bpos) + kbias[:, None, None, :]
        probs = F.softmax(scores.float(), dim=-1).mean(1)  # (B, vip, nb)
        vm = pad_mask[:, :vip].float()
        return (probs * vm[..., None]).sum(1) / vm.sum(1, keepdim=True).clamp(min=1)

    def decode(self, enc, pad_mask, dec_ids):
        B, t = dec_ids.shape
        y = self.shared(dec_ids)
        p = torch.arange(t)[None].expand(B, t)
        sb = self.dec[0].sa.position_bias(p, p)
        causal = torch.triu(torch.full((t, t), NEG), diagonal=1)
        sb = sb + causal
        cb = torch.where(pad_mask[:, None, None, :], 0.0, NEG)
        for blk in self.dec:
            y = blk(y, enc, sb, cb)
        y = self.dec_ln(y) * (self.cfg["d_model"] ** -0.5)
        return y @ self.shared.weight.t()

    # ---- Hugging Face names ----
    def hf_state(self):
        out = {"shared.weight": self.shared.weight}
        for i, b in enumerate(self.enc):
            p = f"encoder.block.{i}.layer"
            for n in "qkvo":
                out[f"{p}.0.SelfAttention.{n}.weight"] = getattr(b.sa, n).weight
            if i == 0:
                out[f"{p}.0.SelfAttention.relative_attention_bias.weight"] = b.sa.relative_attention_bias.weight
            out[f"{p}.0.layer_norm.weight"] = b.ln0.weight
            out[f"{p}.1.DenseReluDense.wi.weight"] = b.ff.wi.weight
            out[f"{p}.1.DenseReluDense.wo.weight"] = b.ff.wo.weight
            out[f"{p}.1.layer_norm.weight"] = b.ln1.weight
        out["encoder.final_layer_norm.weight"] = self.enc_ln.weight
        for i, b in enumerate(self.dec):
            p = f"decoder.block.{i}.layer"
            for n in "qkvo":
                out[f"{p}.0.SelfAttention.{n}.weight"] = getattr(b.sa, n).weight
                out[f"{p}.1.EncDecAttention.{n}.weight"] = getattr(b.ca, n).weight
            if i == 0:
                out[f"{p}.0.SelfAttention.relative_attention_bias.weight"] = b.sa.relative_attention_bias.weight
            out[f"{p}.0.layer_norm.weight"] = b.ln0.weight
            out[f"{p}.1.layer_norm.weight"] = b.ln1.weight
            out[f"{p}.2.DenseReluDense.wi.weight"] = b.ff.wi.weight
            out[f"{p}.2.DenseReluDense.wo.weight"] = b.ff.wo.weight
            out[f"{p}.2.layer_norm.weight"] = b.ln2.weight
        out["decoder.final_layer_norm.weight"] = self.dec_ln.weight
        return out


def hf_config(cfg):
    """config.json with the fields transformers writes for a T5 v1.0 checkpoint."""
    return {
        "architectures": ["T5ForConditionalGeneration"],
        "classifier_dropout": 0.0,
        "d_ff": cfg["d_ff"],
        "d_kv": cfg["d_kv"],
        "d_model": cfg["d_model"],
        "decoder_start_token_id": 0,
        "dense_act_fn": "relu",
        "dropout_rate": 0.1,
        "eos_token_id": 1,
        "feed_forward_proj": "relu",
        "initializer_factor": 1.0,
        "is_encoder_decoder": True,
        "is_gated_act": False,
        "layer_norm_epsilon": cfg["layer_norm_epsilon"],
        "model_type": "t5",
        "num_decoder_layers": cfg["num_decoder_layers"],
        "num_heads": cfg["num_heads"],
        "num_layers": cfg["num_layers"],
        "pad_token_id": 0,
        "relative_attention_max_distance": cfg["relative_attention_max_distance"],
        "relative_attention_num_buckets": cfg["relative_attention_num_buckets"],
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "transformers_version": "4.46.0",
        "use_cache": True,
        "vocab_size": cfg["vocab_size"],
    }


def write_safetensors(path, tensors, metadata=None):
    """The safetensors format by hand: u64 LE header length, JSON header, raw little-endian data."""
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        raw = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt", **(metadata or {})}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Reads what write_safetensors writes (F32 tensors only)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", f"{path}: {name} is {h['dtype']}, expected F32"
        a, b = h["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy()).reshape(h["shape"])
    return out


CONFIG_KEYS = ("vocab_size", "d_model", "d_kv", "d_ff", "num_heads", "num_layers", "num_decoder_layers",
               "relative_attention_num_buckets", "relative_attention_max_distance", "layer_norm_epsilon")


def load_weights(model, model_dir):
    """Copies an exported folder's model.safetensors into `model` (whose config must match config.json)."""
    c = json.load(open(f"{model_dir}/config.json"))
    assert all(c[k] == model.cfg[k] for k in CONFIG_KEYS), f"{model_dir}: config differs from the model's"
    w = read_safetensors(f"{model_dir}/model.safetensors")
    params = model.hf_state()
    assert set(params) == set(w), set(params) ^ set(w)
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(w[k])


def load(model_dir):
    c = json.load(open(f"{model_dir}/config.json"))
    cfg = {k: c[k] for k in CONFIG_KEYS}
    m = T5(cfg)
    load_weights(m, model_dir)
    m.eval()
    return m, cfg
