#!/usr/bin/env python3
"""Pyro on the paper's VAE, for comparison with `lobes bench`.

The same network as lobes' Table-2 VAE (10000-4096-2048-1024-512-256-d, softplus after the
first layer, leaky ReLU (slope 0.001) and dropout 0.2 after the others, scale = exp(head),
sigmoid decoder), the same Bernoulli likelihood, Trace_ELBO with one particle, Adam
(lr 1e-3, eps 1e-8), batch 100, on random images with ~98.5% zero pixels like FIRST.

    pip install torch pyro-ppl
    python3 scripts/pyro_vae.py --threads 2            # images/s of SVI.step
    python3 scripts/pyro_vae.py --threads 2 --torch    # plain PyTorch loop, fused Adam
    python3 scripts/pyro_vae.py --threads 2 --torch --fp32-matmul-bf16  # bf16 products (oneDNN)
    python3 scripts/pyro_vae.py --threads 2 --torch --autocast          # torch.autocast bf16

Prints the configuration and the best images/s over the rounds, as `lobes bench` does.
"""
import argparse
import time

import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--hidden", default="4096,2048,1024,512,256")
parser.add_argument("--latent", type=int, default=32)
parser.add_argument("--batch", type=int, default=100)
parser.add_argument("--steps", type=int, default=6)
parser.add_argument("--rounds", type=int, default=2)
parser.add_argument("--warmup", type=int, default=2)
parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
parser.add_argument("--torch", action="store_true", help="hand-written PyTorch loop instead of Pyro")
parser.add_argument(
    "--fp32-matmul-bf16",
    action="store_true",
    help='torch.backends.mkldnn.matmul.fp32_precision = "bf16": oneDNN runs f32 matrix '
    "products with bf16 inputs (AMX or AVX512-BF16 where the CPU has them), as lobes' "
    "--precision bf16",
)
parser.add_argument(
    "--autocast",
    action="store_true",
    help="torch.autocast('cpu', dtype=torch.bfloat16) around the forward pass: bf16 products "
    "and activations, f32 weights and loss",
)
args = parser.parse_args()
if args.fp32_matmul_bf16:
    torch.backends.mkldnn.matmul.fp32_precision = "bf16"
if args.threads:
    torch.set_num_threads(args.threads)
hidden = [int(h) for h in args.hidden.split(",")]
d, B, P = args.latent, args.batch, 10000


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(P, hidden[0])
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(hidden, hidden[1:]))
        self.loc = nn.Linear(hidden[-1], d)
        self.scale = nn.Linear(hidden[-1], d)
        self.drop = nn.Dropout(0.2)
        self.act = nn.LeakyReLU(0.001)

    def forward(self, x):
        h = self.drop(nn.functional.softplus(self.first(x)))
        for l in self.layers:
            h = self.drop(self.act(l(h)))
        return self.loc(h), torch.exp(self.scale(h))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        widths = [d] + hidden[::-1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.out = nn.Linear(hidden[0], P)
        self.drop = nn.Dropout(0.2)
        self.act = nn.LeakyReLU(0.001)

    def forward(self, z):
        h = z
        for l in self.layers:
            h = self.drop(self.act(l(h)))
        return torch.sigmoid(self.out(h))


torch.manual_seed(0)
enc, dec = Encoder(), Decoder()
n_params = sum(p.numel() for p in list(enc.parameters()) + list(dec.parameters()))
x = (torch.rand(B, P) < 0.015).float() * torch.rand(B, P)


def measure(step):
    best = 0.0
    for _ in range(args.rounds):
        for _ in range(args.warmup):
            step()
        t = time.perf_counter()
        for _ in range(args.steps):
            step()
        best = max(best, args.steps * B / (time.perf_counter() - t))
    return best


if args.torch:
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3, eps=1e-8, fused=True)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast):
            loc, scale = enc(x)
            eps = torch.randn_like(loc)
            z = loc + scale * eps
            p = dec(z)
        loc, scale, eps, z = loc.float(), scale.float(), eps.float(), z.float()
        p = p.float().clamp(1.1920929e-07, 1 - 1.1920929e-07)
        log_lik = (x * p.log() + (1 - x) * (1 - p).log()).sum()
        log_prior = (-0.5 * z * z).sum()
        log_q = (-0.5 * eps * eps - scale.log()).sum()
        loss = -(log_lik + log_prior - log_q)
        opt.zero_grad()
        loss.backward()
        opt.step()

    name = "PyTorch loop, fused Adam"
else:
    import pyro
    import pyro.distributions as dist
    from pyro.infer import SVI, Trace_ELBO
    from pyro.optim import Adam

    def model(x):
        pyro.module("decoder", dec)
        with pyro.plate("data", x.shape[0]):
            z = pyro.sample("latent", dist.Normal(torch.zeros(x.shape[0], d), 1.0).to_event(1))
            pyro.sample("obs", dist.Bernoulli(dec(z), validate_args=False).to_event(1), obs=x)

    def guide(x):
        pyro.module("encoder", enc)
        with pyro.plate("data", x.shape[0]):
            loc, scale = enc(x)
            pyro.sample("latent", dist.Normal(loc, scale).to_event(1))

    pyro.enable_validation(False)
    svi = SVI(model, guide, Adam({"lr": 1e-3, "eps": 1e-8}), Trace_ELBO())

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast):
            svi.step(x)

    name = f"Pyro {pyro.__version__} SVI.step"

print(
    f"VAE 10000-{'-'.join(map(str, hidden))}-{d}, {n_params} parameters, batch {B}, "
    f"Adam(lr 1e-3, eps 1e-8), dropout 0.2; torch {torch.__version__}, {torch.get_num_threads()} threads"
)
mode = " (autocast bf16)" if args.autocast else " (fp32_precision bf16)" if args.fp32_matmul_bf16 else ""
print(f"{name + mode:28} {measure(step):8.1f} images/s")
