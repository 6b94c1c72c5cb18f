"""PyTorch peer for `deno task bench train`: the identical course architecture (pre-norm, RMSNorm,
RoPE rotate_half, causal attention, SiLU-gated MLP, tied one-hot/embedding head, AdamW, global-norm
clipping), timed on the CPU. A benchmark peer only, never a course dependency.

Attention formulations (PyTorch 1.13 has no fused scaled_dot_product_attention):
  full     one N x N score matrix per head, masked (the textbook form)
  chunked  query blocks of --chunk rows, each against only the keys it may see (causal half only)

--procs N > 1 trains data-parallel the way PyTorch's users do on CPU: N processes (--threads each)
under DistributedDataParallel with the gloo backend, each on --batch / N rows; gradients are
all-reduced every step; the time is the slowest rank's; rank 0 prints. Every rank trains on the same
random batch (seed 0): a speed measurement, not a training run.

usage: python3 train_peer.py --d 128 --layers 4 --heads 4 --head-dim 32 --mlp 352 --seq 256
         --batch 16 --steps 10 --warmup 2 --threads 2 --attn chunked --chunk 256 [--procs 2]
prints one JSON line: tokens_per_s, step_s (each timed step), blas (the BLAS library loaded),
threads, procs, torch version, the ATen CPU capability in use and OpenBLAS's core type.
"""
import argparse, json, math, os, time
import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
for name, default in [("d", 128), ("layers", 4), ("heads", 4), ("head-dim", 32), ("mlp", 352),
                      ("seq", 256), ("batch", 16), ("steps", 10), ("warmup", 2), ("threads", 2),
                      ("chunk", 256), ("procs", 1), ("port", 0)]:
    ap.add_argument(f"--{name}", type=int, default=default)
ap.add_argument("--attn", choices=["full", "chunked"], default="full")
a = ap.parse_args()
if a.procs < 1 or a.batch % a.procs:
    raise SystemExit(f"--procs must be >= 1 and divide --batch ({a.batch}); got {a.procs}")
d, L, H, hd, f, T, B = a.d, a.layers, a.heads, a.head_dim, a.mlp, a.seq, a.batch // a.procs


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


def attend_full(q, k, v):
    p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1)
    return p @ v


def attend_chunked(q, k, v):
    outs = []
    for c0 in range(0, T, a.chunk):
        c1 = min(T, c0 + a.chunk)
        s = q[:, :, c0:c1] @ k[:, :, :c1].transpose(-1, -2) / math.sqrt(hd) + mask[c0:c1, :c1]
        outs.append(torch.softmax(s, -1) @ v[:, :, :c1])
    return torch.cat(outs, 2)


attend = attend_full if a.attn == "full" else attend_chunked


class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.n1, s.n2 = RMS(d), RMS(d)
        s.q, s.k, s.v = (nn.Linear(d, H * hd, bias=False) for _ in range(3))
        s.o = nn.Linear(H * hd, d, bias=False)
        s.g, s.u = nn.Linear(d, f, bias=False), nn.Linear(d, f, bias=False)
        s.dn = nn.Linear(f, d, bias=False)
    def forward(s, x):
        a_ = s.n1(x)
        sh = lambda m: m.view(B, T, H, hd).transpose(1, 2)
        q, k, v = rope(sh(s.q(a_))), rope(sh(s.k(a_))), sh(s.v(a_))
        x = x + s.o(attend(q, k, v).transpose(1, 2).reshape(B, T, H * hd))
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


def blas_loaded():
    """Paths of the BLAS/LAPACK libraries mapped into this process (after a matmul ran)."""
    libs = set()
    with open("/proc/self/maps") as fh:
        for line in fh:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if "blas" in path or "lapack" in path or "mkl" in path:
                libs.add(os.path.realpath(path))
    return " ".join(sorted(libs)) or "none found"


def blas_threads():
    """Threads of the loaded OpenBLAS pool (openblas_get_num_threads), or None."""
    import ctypes
    for lib in blas_loaded().split():
        try:
            return ctypes.CDLL(lib).openblas_get_num_threads()
        except (OSError, AttributeError):
            continue
    return None




def blas_core():
    """OpenBLAS's kernel core type (openblas_get_corename, e.g. SkylakeX), or None."""
    import ctypes
    for lib in blas_loaded().split():
        try:
            f = ctypes.CDLL(lib).openblas_get_corename
            f.restype = ctypes.c_char_p
            return f().decode()
        except (OSError, AttributeError):
            continue
    return None


def cpu_capability():
    """The ATen CPU kernels in use (e.g. AVX2), from torch's build report."""
    for line in torch.__config__.show().split("\n"):
        if "CPU capability usage" in line:
            return line.split(":", 1)[1].strip()
    return None


def run(rank, port=0):
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Model()
    if a.procs > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=a.procs)
        model = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    data = torch.randint(0, 256, (B, T + 1))

    def step():
        logits = model(data[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 256), data[:, 1:].reshape(-1))
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()

    for _ in range(a.warmup): step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
    total = sum(times)
    if a.procs > 1:
        # The slowest rank's time: every rank must finish its steps for the batch to be done.
        t = torch.tensor([total], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        total = float(t.item())
    if rank == 0:
        print(json.dumps({
            "tokens_per_s": a.steps * a.batch * T / total,
            "step_s": times,
            "blas": blas_loaded(),
            "threads": torch.get_num_threads(),
            "procs": a.procs,
            "blas_threads": blas_threads(),
            "blas_core": blas_core(),
            "cpu_capability": cpu_capability(),
            "torch": torch.__version__,
            "openblas_env": {k: v for k, v in os.environ.items()
                             if k.startswith("OPENBLAS") or k.startswith("OMP_")},
        }), flush=True)
    if a.procs > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    if a.procs > 1 and a.port == 0:
        # A free port for gloo's rendezvous: a fixed one can still be held by an earlier run.
        import socket
        with socket.socket() as s_:
            s_.bind(("127.0.0.1", 0))
            a.port = s_.getsockname()[1]
    if a.procs > 1:
        # The children re-read the command line: the port reaches them as an argument.
        torch.multiprocessing.spawn(run, args=(a.port,), nprocs=a.procs)
    else:
        run(0)
