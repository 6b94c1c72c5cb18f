"""PyTorch peer for `deno task bench train`: the identical course architecture (pre-norm, RMSNorm,
RoPE rotate_half, causal attention, SiLU-gated MLP, tied one-hot/embedding head, AdamW), timed
on the CPU. A benchmark peer only, never a course dependency.

usage: python3 train_peer.py D_MODEL LAYERS HEADS HEAD_DIM MLP SEQ BATCH STEPS THREADS
prints one line: tokens_per_s=<float>
"""
import sys, time, math
import torch
import torch.nn as nn
import torch.nn.functional as F

d, L, H, hd, f, T, B, steps, threads = map(int, sys.argv[1:10])
torch.set_num_threads(threads)
torch.manual_seed(0)


class RMS(nn.Module):
    def __init__(s, n):
        super().__init__(); s.w = nn.Parameter(torch.ones(n))
    def forward(s, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * s.w


inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
ang = torch.arange(T).float()[:, None] * inv[None]
cos = torch.cat([ang.cos(), ang.cos()], -1)
sin = torch.cat([ang.sin(), ang.sin()], -1)
mask = torch.full((T, T), float("-inf")).triu(1)


def rope(x):
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.n1, s.n2 = RMS(d), RMS(d)
        s.q, s.k, s.v, s.o = (nn.Linear(d, H * hd, bias=False) for _ in range(4))
        s.o = nn.Linear(H * hd, d, bias=False)
        s.g, s.u = nn.Linear(d, f, bias=False), nn.Linear(d, f, bias=False)
        s.dn = nn.Linear(f, d, bias=False)
    def forward(s, x):
        a = s.n1(x)
        sh = lambda m: m.view(B, T, H, hd).transpose(1, 2)
        q, k, v = rope(sh(s.q(a))), rope(sh(s.k(a))), sh(s.v(a))
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1)
        x = x + s.o((p @ v).transpose(1, 2).reshape(B, T, H * hd))
        m = s.n2(x)
        return x + s.dn(F.silu(s.g(m)) * s.u(m))


class Model(nn.Module):
    def __init__(s):
        super().__init__()
        s.emb = nn.Embedding(256, d); s.blocks = nn.ModuleList(Block() for _ in range(L)); s.n = RMS(d)
    def forward(s, t):
        x = s.emb(t)
        for b in s.blocks: x = b(x)
        return s.n(x) @ s.emb.weight.t()


model = Model()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
data = torch.randint(0, 256, (B, T + 1))


def step():
    logits = model(data[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, 256), data[:, 1:].reshape(-1))
    opt.zero_grad(); loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()


step()
t0 = time.perf_counter()
for _ in range(steps): step()
print(f"tokens_per_s={steps * B * T / (time.perf_counter() - t0):.1f}")
