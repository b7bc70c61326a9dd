"""Reference numbers for ppl/tests/mcmc.rs: ArviZ's diagnostics on deterministic chains, and
NumPyro's NUTS posterior of eight schools (non-centred) from a long run.

    python3 -m venv v && v/bin/pip install numpy arviz numpyro jax
    v/bin/python scripts/mcmc_reference.py            # prints both
    v/bin/python scripts/mcmc_reference.py timing     # NumPyro's time for the example's run
"""
import sys

import numpy as np


def chains(n_chains=4, n_draws=200):
    """AR(1) chains with deterministic noise; ppl/tests/mcmc.rs builds the same in f64."""
    out = np.zeros((n_chains, n_draws))
    for c in range(n_chains):
        x = 0.0
        for i in range(n_draws):
            u = ((i * 7919 + c * 104729) % 1000) / 1000.0 - 0.5
            x = 0.7 * x + u
            out[c, i] = x + 0.05 * c
    return out


def diagnostics():
    import arviz as az
    x = chains()
    print("arviz", az.__version__)
    print("rhat", repr(float(az.rhat(x, method="rank"))))
    print("ess_bulk", repr(float(az.ess(x, method="bulk"))))
    print("ess_tail", repr(float(az.ess(x, method="tail"))))


def eight_schools(num_samples=50_000, num_chains=4, timing=False):
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS
    from numpyro.infer.reparam import TransformReparam

    numpyro.set_host_device_count(num_chains)
    y = jnp.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
    sigma = jnp.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])

    # NumPyro's getting-started model, non-centred by hand as ppl/tests/mcmc.rs writes it.
    def model():
        mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
        tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
        with numpyro.plate("J", 8):
            theta_base = numpyro.sample("theta_base", dist.Normal(0.0, 1.0))
            theta = mu + tau * theta_base
            numpyro.sample("obs", dist.Normal(theta, sigma), obs=y)

    if timing:
        # As `cargo run --release --example eight_schools nuts 1000` runs: 4 chains of 1000
        # after 1000 warm-up steps, on threads (devices); the first run compiles, the second
        # is timed.
        import time
        import arviz as az
        for run in ("compile", "timed"):
            mcmc = MCMC(NUTS(model), num_warmup=1000, num_samples=1000, num_chains=4,
                        chain_method="parallel", progress_bar=False)
            t = time.perf_counter()
            mcmc.run(jax.random.PRNGKey(1 if run == "timed" else 0))
            jax.block_until_ready(mcmc.get_samples())
            wall = time.perf_counter() - t
        ess = az.ess(az.from_numpyro(mcmc), method="bulk")
        low = min(float(ess[v].min()) for v in ess.data_vars)
        div = int(mcmc.get_extra_fields()["diverging"].sum())
        print(f"numpyro timing: wall {wall:.2f} s (warm-up + sampling, 4 chains in parallel), "
              f"lowest bulk ESS {low:.0f}, {low / wall:.0f} per second, divergences {div}")
        return
    mcmc = MCMC(NUTS(model), num_warmup=2000, num_samples=num_samples, num_chains=num_chains,
                chain_method="sequential", progress_bar=False)
    mcmc.run(jax.random.PRNGKey(0))
    s = mcmc.get_samples()
    print("numpyro", numpyro.__version__, "draws", num_samples * num_chains)
    for name, v in [("mu", s["mu"]), ("tau", s["tau"])] + [
            (f"theta[{j}]", s["mu"] + s["tau"] * s["theta_base"][:, j]) for j in range(8)]:
        v = np.asarray(v, dtype=np.float64)
        print(f"{name} mean {v.mean():.4f} sd {v.std():.4f}")


if __name__ == "__main__":
    what = sys.argv[1:] or ["diagnostics", "eight_schools"]
    if "diagnostics" in what:
        diagnostics()
    if "eight_schools" in what:
        eight_schools()
    if "timing" in what:
        eight_schools(timing=True)
