"""Describe the machine a benchmark ran on, so every number in ``RESULTS.md`` carries its context.

Reused by every ``benchmarks/bench_*.py``::

    from _machine import machine_info, machine_markdown
    print(machine_markdown())

Run it on its own (``python benchmarks/_machine.py``) to print the description.

Everything is read from the standard library, ``/proc`` (Linux) and the installed packages; nothing
here needs a network or root. Missing information is reported as ``"unknown"`` rather than raising.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import os
import platform
import sys
from typing import Any

__all__ = ["machine_info", "machine_markdown", "load_average"]

#: Packages whose versions matter for the numbers (version "-" when not installed).
DEFAULT_PACKAGES: tuple[str, ...] = ("numpy", "scipy", "pandas", "numba", "mpmath")

#: Environment variables that change how numeric libraries use the cores.
THREAD_VARIABLES: tuple[str, ...] = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "OPENBLAS_CORETYPE",
)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.lower().startswith(("model name", "hardware", "cpu model")):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def _memory_gib() -> float | None:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2  # kB -> GiB
    return None


def _usable_cores() -> int | None:
    """Cores this process may run on (affinity / container limits), not the host's count."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count()
    quota = _read("/sys/fs/cgroup/cpu.max").split()  # cgroup v2: "max 100000" or "200000 100000"
    if len(quota) == 2 and quota[0] != "max" and n is not None:
        n = min(n, max(1, int(int(quota[0]) / int(quota[1]))))
    return n


def load_average() -> tuple[float, float, float] | None:
    """1, 5 and 15 minute load averages (runnable processes), or None where unavailable.

    Record it before and after a run: on a shared machine a load above the core count means the
    timings were made while other work competed for the cores.
    """
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def _version(name: str) -> str:
    try:
        module = importlib.import_module(name)
    except Exception:  # noqa: BLE001 - any import failure just means "not available"
        return "-"
    return str(getattr(module, "__version__", "?"))


def machine_info(packages: tuple[str, ...] = DEFAULT_PACKAGES) -> dict[str, Any]:
    """Return the machine and software description as a plain dict (JSON-serialisable).

    Parameters
    ----------
    packages : tuple of str
        Importable package names whose ``__version__`` to record.

    Returns
    -------
    dict
        ``cpu``, ``usable_cores``, ``logical_cpus``, ``memory_gib``, ``os``, ``python``,
        ``load_average`` (1/5/15 min), ``threads_env`` (thread-count variables that are set),
        ``packages`` (name -> version) and ``utc`` (ISO time stamp).
    """
    mem = _memory_gib()
    return {
        "cpu": _cpu_model(),
        "usable_cores": _usable_cores(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": None if mem is None else round(mem, 1),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load_average": load_average(),
        "threads_env": {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ},
        "packages": {name: _version(name) for name in packages},
        "utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_markdown(info: dict[str, Any] | None = None) -> str:
    """Render :func:`machine_info` as a compact markdown bullet list for ``RESULTS.md``."""
    info = machine_info() if info is None else info
    la = info["load_average"]
    load = "unknown" if la is None else " / ".join(f"{x:.2f}" for x in la)
    mem = "unknown" if info["memory_gib"] is None else f"{info['memory_gib']} GiB"
    pkgs = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    env = ", ".join(f"{k}={v}" for k, v in info["threads_env"].items()) or "none set"
    return "\n".join(
        [
            f"- run: {info['utc']}",
            f"- CPU: {info['cpu']}; usable cores: {info['usable_cores']} "
            f"(logical CPUs on host: {info['logical_cpus']}); memory: {mem}",
            f"- OS: {info['os']}; {info['python']}; {pkgs}",
            f"- load average at start (1/5/15 min): {load}; thread variables: {env}",
        ]
    )


if __name__ == "__main__":  # pragma: no cover - manual use
    print(machine_markdown())
    sys.exit(0)
