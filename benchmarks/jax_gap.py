"""Where does the JAX samplers' fidelity gap come from? (issue 27: fair clocks)

``benchmarks/fidelity.py`` finds the pipeline's BlackJAX and NumPyro runs of 10 ms timed
15-30% longer than the libraries used alone. Two measurements, in one process, alone:

1. ``gap``: the pipeline's sampler (``module.run``: warm-up and draws compiled per run, two
   timed calls) alternated with ``fidelity_standalone``'s (one jitted call per chain, run
   once before the clock), five seeds, at 1x and 10x the clock config's length (1,000 + 1,000
   steps, N(0, I_50), one chain): a gap that does not grow with the length is a fixed cost.
2. ``first``: the pipeline's own warm-up and draw functions, compiled once and called three
   times on the same inputs: what the first execution of a fresh executable costs.

    .venv/bin/python benchmarks/jax_gap.py
"""

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

import fidelity_standalone  # noqa: E402

from essbench import registry  # noqa: E402
from essbench.problem import build_problem  # noqa: E402
from essbench.samplers import _jax, merged_options  # noqa: E402

SAMPLERS = ("blackjax_nuts", "numpyro_nuts")


def gap(problem) -> None:
    for name in SAMPLERS:
        module, alone = registry.sampler(name), getattr(fidelity_standalone, name)
        for scale in (1, 10):
            opts = merged_options(
                module, {"tune": 1000 * scale, "draws": 1000 * scale, "chains": 1}
            )
            module.run(problem, opts, 99)  # imports, caches: a first run of each
            alone(opts, 50, 99)
            pipe, plain = [], []
            for seed in range(5):
                run = module.run(problem, opts, seed)
                pipe.append(run.warmup_seconds + run.draw_seconds)
                plain.append(alone(opts, 50, seed)[0])
            p, a = statistics.median(pipe), statistics.median(plain)
            print(
                f"{name} x{scale}: pipeline {p * 1e3:.2f} ms, standalone {a * 1e3:.2f} ms,"
                f" ratio {p / a:.3f}, difference {1e3 * (p - a):.2f} ms",
                flush=True,
            )


def first(problem) -> None:
    import jax

    for name in SAMPLERS:
        module = registry.sampler(name)
        opts = merged_options(module, {"tune": 1000, "draws": 1000, "chains": 1})
        captured = {}

        def spy(
            problem, options, seed, make_functions, start, _orig=_jax.run_jax_nuts, _c=captured
        ):
            _c["make"] = make_functions
            return _orig(problem, options, seed, make_functions, start)

        sampler_module = sys.modules[module.__name__]
        orig = sampler_module.run_jax_nuts
        sampler_module.run_jax_nuts = spy
        try:
            module.run(problem, opts, 98)
        finally:
            sampler_module.run_jax_nuts = orig
        logdensity = _jax.flat_logdensity(problem)
        for trial in range(3):
            warm, draw = captured["make"](problem, opts, logdensity)
            x0 = _jax.initial_points(problem, 1, trial, logdensity)[0]
            keys = jax.random.split(jax.random.PRNGKey(trial), 2)
            warm_c = jax.jit(warm).lower(keys[0], x0).compile()
            carry = jax.eval_shape(jax.jit(warm), keys[0], x0)[0]
            draw_c = jax.jit(draw).lower(keys[1], carry).compile()
            calls = []
            for _ in range(3):
                t0 = time.perf_counter()
                out, _stats = jax.block_until_ready(warm_c(keys[0], x0))
                t1 = time.perf_counter()
                jax.block_until_ready(draw_c(keys[1], out))
                calls.append(
                    f"warm {(t1 - t0) * 1e3:.2f} draw {(time.perf_counter() - t1) * 1e3:.2f}"
                )
            print(f"{name} executable {trial}: " + " | ".join(calls) + " ms", flush=True)


def main() -> None:
    problem = build_problem("gaussian_iid", 50)
    gap(problem)
    first(problem)


if __name__ == "__main__":
    main()
