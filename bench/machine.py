"""What a benchmark ran on: cores, memory, Python and library versions (recorded in every JSON)."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version

import psutil

PACKAGES = ("pyzmq", "msgspec", "uvloop", "lmdb", "numpy", "lightgbm", "llama_cpp_python")


def describe_machine() -> dict[str, object]:
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }
