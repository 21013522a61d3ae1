"""Where and with what a result was made: packages, CPU, BLAS, threads, git commit."""

import os
import platform
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

# What every run uses whatever its sampler; samplers and targets declare their own PACKAGES.
CORE_PACKAGES = ("pymc", "pytensor", "arviz", "arviz-stats", "numpy", "scipy", "numba")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
REPO = Path(__file__).resolve().parents[2]


@cache
def package_versions() -> dict[str, str]:
    """Installed versions: read once per process (a batch's runs share them; reading the
    distributions' metadata again for every run was part of a run job's overhead)."""
    from essbench import registry

    out = {"python": platform.python_version()}
    names = list(CORE_PACKAGES)
    names += [p for p in registry.sampler_packages() if p not in names]
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    if "httpstan" in names:  # the Stan library httpstan ships is no distribution of its own
        from essbench.stan import stan_version

        out["stan"] = stan_version()
    return out


@cache
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas() -> dict[str, str]:
    from threadpoolctl import threadpool_info

    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not libs:
        return {"blas": "none loaded", "blas_threads": "0"}
    return {
        "blas": ",".join(sorted({f"{i['internal_api']} {i.get('version')}" for i in libs})),
        "blas_threads": ",".join(sorted({str(i["num_threads"]) for i in libs})),
    }


@cache
def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        commit = out.stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def collect(threads: int) -> dict[str, str]:
    """One flat dict, prefixed ``prov_``/``version_``, for a result row."""
    row = {f"version_{k.replace('-', '_')}": v for k, v in package_versions().items()}
    row.update({f"prov_{k}": v for k, v in blas().items()})
    row["prov_cpu"] = cpu_model()
    row["prov_hostname"] = platform.node()
    row["prov_threads"] = str(threads)
    row["prov_thread_env"] = ",".join(f"{v}={os.environ.get(v, '')}" for v in THREAD_VARS)
    row["prov_git_commit"] = git_commit()
    return row
