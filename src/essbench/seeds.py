"""Deterministic per-run seeds.

Every run's seed is derived from (study seed, sampler, target, dim, replicate) with SHA-256,
so it does not depend on the order in which jobs run, on which other runs a config contains,
or on the Python hash seed.
"""

import hashlib

SEED_BITS = 32


def derive_seed(study_seed: int, sampler: str, target: str, dim: int, replicate: int) -> int:
    """Return a reproducible seed in ``[0, 2**32)`` for one run."""
    key = f"essbench|{int(study_seed)}|{sampler}|{target}|{int(dim)}|{int(replicate)}"
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2**SEED_BITS)
