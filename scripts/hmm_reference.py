"""Pyro's `examples/hmm.py` model 1 on the synthetic chorales `examples/hmm.rs` builds, from the
same initial values: the per-step losses lobes must reproduce (tests/pyro_tutorials.rs).

    python3 -m venv v && v/bin/pip install torch==2.15.0 pyro-ppl==1.9.2
    v/bin/python scripts/hmm_reference.py [steps]

The JSB chorales pickle Pyro's example downloads is not reachable from our machines, so both
sides generate the same data with one integer generator (a 64-bit LCG, upper 53 bits).
"""
import sys

import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import SVI, TraceEnum_ELBO
from pyro.infer.autoguide import AutoDelta, init_to_value
from pyro.optim import Adam

HIDDEN, TONES, SEQUENCES, MAX_LENGTH = 8, 12, 16, 40
MASK64 = (1 << 64) - 1


class Lcg:
    def __init__(self, seed):
        self.state = seed

    def uniform(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & MASK64
        return (self.state >> 11) / float(1 << 53)


def data():
    """Four true states, each sounding three tones; sticky transitions; lengths 20-40."""
    g = Lcg(2019)
    lengths = [20 + int(g.uniform() * 21) for _ in range(SEQUENCES)]
    seqs = torch.zeros(SEQUENCES, MAX_LENGTH, TONES)
    for s in range(SEQUENCES):
        state = int(g.uniform() * 4)
        for t in range(lengths[s]):
            if g.uniform() < 0.2:
                state = int(g.uniform() * 4)
            for d in range(TONES):
                p = 0.8 if d // 3 == state else 0.05
                seqs[s, t, d] = 1.0 if g.uniform() < p else 0.0
    return seqs, torch.tensor(lengths)


def init_values():
    """Asymmetric starting values (the prior's mean would leave every state alike)."""
    probs_x = 0.9 * torch.eye(HIDDEN) + 0.1 / HIDDEN
    probs_x = probs_x / probs_x.sum(-1, keepdim=True)
    h = torch.arange(HIDDEN).unsqueeze(-1).double()
    d = torch.arange(TONES).double()
    probs_y = (0.1 + 0.8 * ((h * 7 + d * 3) * 0.618034).frac()).float()
    return {"probs_x": probs_x, "probs_y": probs_y}


def model_1(sequences, lengths):
    num_sequences, max_length, data_dim = sequences.shape
    probs_x = pyro.sample("probs_x", dist.Dirichlet(0.9 * torch.eye(HIDDEN) + 0.1).to_event(1))
    probs_y = pyro.sample("probs_y", dist.Beta(0.1, 0.9).expand([HIDDEN, data_dim]).to_event(2))
    tones_plate = pyro.plate("tones", data_dim, dim=-1)
    with pyro.plate("sequences", num_sequences, dim=-2) as batch:
        lengths = lengths[batch]
        x = 0
        for t in pyro.markov(range(int(lengths.max()))):
            with poutine.mask(mask=(t < lengths).unsqueeze(-1)):
                x = pyro.sample("x_{}".format(t), dist.Categorical(probs_x[x]),
                                infer={"enumerate": "parallel"})
                with tones_plate:
                    pyro.sample("y_{}".format(t), dist.Bernoulli(probs_y[x.squeeze(-1)]),
                                obs=sequences[batch, t])


def main(steps):
    sequences, lengths = data()
    num_observations = float(lengths.sum())
    pyro.set_rng_seed(0)
    pyro.clear_param_store()
    guide = AutoDelta(poutine.block(model_1, expose_fn=lambda m: m["name"].startswith("probs_")),
                      init_loc_fn=init_to_value(values=init_values()))
    elbo = TraceEnum_ELBO(max_plate_nesting=2)
    svi = SVI(model_1, guide, Adam({"lr": 0.05}), elbo)
    print("pyro", pyro.__version__, "torch", torch.__version__, "observations", num_observations)
    for step in range(steps):
        loss = svi.step(sequences, lengths)
        print("{: >5d}\t{:.6f}".format(step, loss / num_observations))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
