"""freqtrade's own virtual environment, made on first use: its pins conflict with ours.

Consumes the version to install (`FREQTRADE_VERSION`) and a cache folder (`$PEPER_PEER_CACHE`, else
`~/.cache/peper`); produces the path of a Python that imports freqtrade, creating
`<cache>/freqtrade-<version>` with `python -m venv` and pip (from the package registry; ~2 minutes
the first time) when it is missing or broken. A failed install is a `BenchError` with pip's last
lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from messages.errors import BenchError

FREQTRADE_VERSION = "2026.9"


def cache_dir() -> Path:
    return Path(os.environ.get("PEPER_PEER_CACHE") or Path.home() / ".cache" / "peper")


def freqtrade_python(status=lambda text: None) -> Path:
    """The venv's python, installing freqtrade into it first when needed; `status(text)` hears progress."""
    venv = cache_dir() / f"freqtrade-{FREQTRADE_VERSION}"
    python = venv / "bin" / "python"
    if python.exists() and _imports_freqtrade(python):
        return python
    status(f"installing freqtrade {FREQTRADE_VERSION} into {venv} (first use only) ...")
    venv.parent.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", "--clear", str(venv)], "creating its virtual environment")
    _run([str(python), "-m", "pip", "install", "--quiet", f"freqtrade=={FREQTRADE_VERSION}"], "pip install freqtrade")
    if not _imports_freqtrade(python):
        raise BenchError(f"{venv}: freqtrade was installed but does not import")
    return python


def _imports_freqtrade(python: Path) -> bool:
    return subprocess.run([str(python), "-c", "import freqtrade"], capture_output=True, check=False).returncode == 0


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        raise BenchError(f"the freqtrade peer: {what} failed (exit {result.returncode}): {tail}")
