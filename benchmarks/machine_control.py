"""Is a lone busy core slower on this machine? A control for ``benchmarks/neighbours.py``.

``neighbours.py`` found 20 of 22 samplers' runs slowest under ``--cores 1``, when nothing ran
beside them: the opposite of a neighbour effect. This script asks the machine the same question
without essbench: it times fixed pieces of work, alternated over ``--repeats``,

- ``alone``: nothing else of ours runs (the other core idles);
- ``spin``: beside a process that spins on the other core (pure Python, no memory traffic);
- ``stream``: beside a process that streams a 256 MB array through memory (caches and memory
  bandwidth, as a neighbour's sampler or compile would);

and prints each piece's median seconds alone and its median ratio to ``alone`` with the
quartiles of the per-repeat ratios. A ``spin`` ratio below 1 says a busy neighbour makes this
machine *faster* (its virtual CPU is scheduled, or clocked, differently when the other one
idles): a property of the machine that no scheduling in essbench can remove, and the cause to
look for first when ``--cores 1`` runs are the slowest.

The pieces: ``python`` (an interpreted loop, as PyMC's step methods), ``numpy`` (small
vector operations in a loop, as a NUTS leapfrog at d = 50), ``fft`` (an FFT over 1 MB, as
the ESS), each about 0.2 s.

    .venv/bin/python benchmarks/machine_control.py [--repeats 15]
"""

import argparse
import multiprocessing as mp
import statistics
import time

import numpy as np


def _python(n: int = 4_500_000) -> float:
    total = 0.0
    for i in range(n):
        total += i * 0.5
    return total


def _numpy(n: int = 110_000) -> float:
    x = np.ones(50)
    p = np.full(50, 0.1)
    for _ in range(n):
        p = p - 0.01 * x
        x = x + 0.01 * p
    return float(x[0])


def _fft(n: int = 100) -> float:
    x = np.random.default_rng(0).standard_normal(2**17)
    total = 0.0
    for _ in range(n):
        total += float(np.abs(np.fft.rfft(x)).sum())
    return total


PIECES = {"python": _python, "numpy": _numpy, "fft": _fft}


def _spin(stop) -> None:
    while not stop.is_set():
        for _ in range(10_000):
            pass


def _stream(stop) -> None:
    a = np.ones(32 * 2**20)  # 256 MB
    while not stop.is_set():
        a += 1.0


NEIGHBOURS = {"spin": _spin, "stream": _stream}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _under(way: str) -> dict[str, float]:
    stop, proc = None, None
    if way != "alone":
        stop = mp.Event()
        proc = mp.Process(target=NEIGHBOURS[way], args=(stop,))
        proc.start()
        time.sleep(0.3)  # the neighbour is running (and has allocated) before any clock
    try:
        return {name: _timed(fn) for name, fn in PIECES.items()}
    finally:
        if proc is not None:
            stop.set()
            proc.join()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    ways = ("alone", *NEIGHBOURS)
    for fn in PIECES.values():  # first executions (imports, allocations) before any clock
        fn()
    seconds = {way: {name: [] for name in PIECES} for way in ways}
    for repeat in range(args.repeats):
        for way in ways if repeat % 2 == 0 else ways[::-1]:
            for name, value in _under(way).items():
                seconds[way][name].append(value)
    print(
        f"{'piece':8s} {'alone_s':>8s}  "
        + "  ".join(f"{w + '/alone':>13s} {'q25-q75':>9s}" for w in NEIGHBOURS)
    )
    for name in PIECES:
        alone = np.array(seconds["alone"][name])
        cells = []
        for way in NEIGHBOURS:
            ratios = np.array(seconds[way][name]) / alone
            q25, q75 = np.quantile(ratios, [0.25, 0.75])
            cells.append(f"{statistics.median(ratios):13.3f} {q25:4.2f}-{q75:4.2f}")
        print(f"{name:8s} {statistics.median(alone):8.3f}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
