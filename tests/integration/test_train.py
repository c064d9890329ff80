"""`python -m supervisor train` and `report` on a small window of the shared 1m data, end to end:
real daemons and actors per session, real LMDB catalogs, real PNGs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from analytics.recording import read_recording
from analytics.simulate import with_weights
from config import load_config
from config.topology import topology_of
from storage.catalog import Catalog
from storage.weights import all_weights
from supervisor.harness import short_run_dir
from tests.helpers.data import KLINES, REPO_ROOT, requires_shared_data

pytestmark = requires_shared_data
WINDOWS = ["--train-from", "2021-04-02", "--train-to", "2021-04-04", "--validate-to", "2021-04-05", "--test-to", "2021-04-06"]
SETTINGS = {
    "PEPER_TEST__SYMBOLS": '["BTCUSDT", "ETHUSDT"]',
    "PEPER_TEST__TARGET_WIN_RATE": "0.0",       # the first validation meets it: the rule stops training
    "PEPER_TEST__MIN_TRADES_PER_SYMBOL": "0",
    "PEPER_LGBM_AI__MIN_TRAIN_DAYS": "1.0",     # so a model exists to pin for validation and test
    "PEPER_LGBM_AI__RETRAIN_EVERY_DAYS": "0.5",
}


def train(workdir: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "peper.toml", workdir / "peper.toml")
    env = {**os.environ, **SETTINGS}
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", "train", "--replay", str(KLINES), *WINDOWS, "--iterations", "3",
         "--db", "train.lmdb", "--run-dir", str(short_run_dir()), *extra],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("train")
    train(base / "a")
    train(base / "b")
    return base / "a", base / "b"


def without_wall_clock(document: dict) -> dict:
    document.pop("generated_at")
    for session in document["sessions"]:
        session.pop("started_at"), session.pop("ended_at")
    for plot in document["plots"].values():
        plot.pop("file")
    return document


def test_train_stores_sessions_stops_by_the_rule_and_reports_baselines_and_criteria(two_runs):
    workdir, _ = two_runs
    catalog = Catalog(workdir / "train.lmdb", readonly=True)
    try:
        sessions = catalog.sessions(1)
        # target win rate 0 is met by the first validation: no second iteration
        assert [s.id for s in sessions] == ["1.train-1", "1.validate-1", "1.test"]
        trained, validated, tested = sessions
        assert trained.learning and not validated.learning and not tested.learning
        assert trained.weights_to > trained.weights_from, "the learner made no version"
        assert validated.weights_from == trained.weights_to
        assert catalog.best(1)["session"] == "1.validate-1"
        kept = all_weights(catalog.store)[-1]
        assert kept.cause[0] == f"best:{trained.weights_to}" and tested.weights_from == kept.version
        # a frozen session's trades are exactly what its weights give on its votes
        config = load_config(workdir / "peper.toml", environ=SETTINGS)
        recording = read_recording(workdir / tested.recording)
        assert recording.trades, "the test session made no trades"
        replayed = with_weights(recording, kept.weights, config, topology_of(config).models).trades
        assert [(t.trade_id, t.exit_time, t.pnl) for t in replayed] == [(t.trade_id, t.exit_time, t.pnl) for t in recording.trades]
    finally:
        catalog.close()
    report = msgspec.json.decode((workdir / "reports/run-1/report.json").read_bytes())
    assert (workdir / "reports/run-1/report.md").stat().st_size > 2000
    assert "data:image/png;base64," in (workdir / "reports/run-1/report.html").read_text()
    for section in ("in_sample", "out_of_sample"):
        assert set(report[section]["baselines"]) == {"cash", "buy_and_hold", "equal_weights", "initial_weights",
                                                      "trading_ai", "lava_ai", "lgbm_ai", "mistral_ai"}
        criteria = [row["criterion"] for row in report[section]["criteria"]]
        assert criteria[0].startswith("win rate >=") and "max drawdown <= 15%" in criteria and len(criteria) == 5
    assert report["out_of_sample"]["session"] == "1.test"
    assert any("model file" in note and "missing" in note for note in report["out_of_sample"]["llm"]), report["out_of_sample"]["llm"]
    assert report["out_of_sample"]["per_model"]["mistral_ai"]["votes"] == 0


def test_the_same_training_twice_gives_the_same_report(two_runs):
    first, second = (msgspec.json.decode((w / "reports/run-1/report.json").read_bytes()) for w in two_runs)
    assert without_wall_clock(first) == without_wall_clock(second)


def test_plots_are_pngs_of_the_data_behind_them(two_runs):
    workdir, _ = two_runs
    report = msgspec.json.decode((workdir / "reports/run-1/report.json").read_bytes())
    for name in ("weights", "equity", "models", "sessions"):
        png = Path(report["plots"][name]["file"])
        png = png if png.is_absolute() else workdir / png
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(data) < 2_000_000, (name, len(data))
    series = {name: plot["series"] for name, plot in report["plots"].items()}
    assert series["weights"]["version"] == [w["version"] for w in report["weights"]]
    assert series["weights"]["lava_ai"] == [w["weights"]["lava_ai"] for w in report["weights"]]
    assert series["sessions"]["session"] == ["1.train-1", "1.validate-1", "1.test"]
    test_metrics = report["out_of_sample"]["metrics"]
    learned = series["equity"]["learned"]["equity"]
    assert len(learned) == 1440  # one day, every tick marked to market
    assert learned[-1] == pytest.approx(10_000.0 * (1 + test_metrics["roi"]))
    assert max(series["equity"]["drawdown"]) == pytest.approx(test_metrics["max_drawdown"])
    for model, values in report["out_of_sample"]["per_model"].items():
        assert series["models"][model][-1] == pytest.approx(values["shadow_equity"])


def test_report_compares_two_sessions(two_runs):
    workdir, _ = two_runs
    result = subprocess.run([sys.executable, "-m", "supervisor", "report", "--db", "train.lmdb", "--compare",
                             "1.validate-1", "1.test", "--json"], cwd=workdir, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    document = msgspec.json.decode(result.stdout)
    change = document["metrics"]["trades"]
    assert change["change"] == change["after"] - change["before"]
    assert Path(workdir / document["plot"]).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("flags", "message"), [
    (["--validate-from", "2021-04-03"], "overlap"),
    (["--test-from", "2021-04-06", "--test-to", "2021-04-06"], "is empty"),
    (["--test-to", "2021-07-01"], "lies outside the data"),
])
def test_bad_windows_fail_with_a_clear_error_before_anything_runs(tmp_path, flags, message):
    result = train(tmp_path, *flags, check=False)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "train.lmdb").exists()
