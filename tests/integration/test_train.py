"""`python -m supervisor train`, `report`, `policy` and `run --policy` on nine days of the shared
5m data, end to end: a real daemon and actors for the span, real LMDB catalogs, real PNGs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import numpy as np
import pytest

from analytics.recording import read_recording
from common.times import INTERVAL_MS
from config import load_config
from config.topology import topology_of
from storage.backup import backup_dir_for
from storage.catalog import Catalog
from storage.policies import all_policies
from supervisor.harness import short_run_dir
from tests.helpers.data import KLINES, REPO_ROOT, requires_shared_data
from tests.helpers.plots import assert_plots_at_the_scale_of_their_window
from training.revote import REVOTABLE, revotable_models

pytestmark = requires_shared_data
WINDOWS = ["--train-from", "2021-01-01", "--test-from", "2021-01-06", "--test-to", "2021-01-10", "--folds", "2"]
SETTINGS = {  # nine days: decisions every hour, every model's periods in hours
    "PEPER_TEST__SYMBOLS": '["BTCUSDT", "ETHUSDT"]',
    "PEPER_TEST__VALIDATION_DAYS": "1.0",
    "PEPER_TRAINING__BOOTSTRAP_SAMPLES": "200",
    "PEPER_FEED__DECISION_INTERVAL": "1h",
    "PEPER_LEARNING__UPDATE_EVERY": "4h",  # versions within a day
    "PEPER_TRADING_AI__LOOKBACKS": '["4h", "8h", "1d"]',
    "PEPER_STRENGTH_AI__LOOKBACKS": '["4h", "1d"]',
    "PEPER_LAVA_AI__WINDOW": "8h",
    "PEPER_LGBM_AI__HORIZON": "4h",
    "PEPER_LGBM_AI__LOOKBACK": "1d",
    "PEPER_LGBM_AI__MIN_TRAIN": "2d",  # so a model exists for the policy
    "PEPER_LGBM_AI__RETRAIN_EVERY": "2d",
    "PEPER_MISTRAL_AI__HISTORY": "12h",
    "PEPER_TRADER__VOLATILITY_WINDOW": "1d",
    "PEPER_MISTRAL__FALLBACK": '""',  # the missing model's path end to end (the fallback: test_llm, the demo)
    "PEPER_TRAINING__GRID": '{ "learning.discount" = [0.9, 1.0], "lava_ai.z_entry" = [1.5, 2.0] }',  # 4 configurations
}
STRATEGIES = [
    "learned",
    "cash",
    "buy_and_hold",
    "equal_weights",
    "initial_weights",
    "seed",
    "lava_ai",
    "lgbm_ai",
    "mistral_ai",
    "strength_ai",
    "trading_ai",
    "buy_and_hold_at_exposure",
]


def supervisor(
    workdir: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", *args, "--run-dir", str(short_run_dir())],
        cwd=workdir,
        env={**os.environ, **SETTINGS, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def train(workdir: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "peper.toml", workdir / "peper.toml")
    return supervisor(
        workdir, "train", "--replay", str(KLINES), *WINDOWS, "--catalog", "train.lmdb", *extra, check=check
    )


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("train")
    train(base / "a")
    train(base / "b")
    return base / "a", base / "b"


def report_of(workdir: Path) -> dict:
    return msgspec.json.decode((workdir / "reports/run-1/report.json").read_bytes())


def without_wall_clock(document: dict) -> dict:
    document.pop("generated_at")
    document["span_session"].pop("started_at"), document["span_session"].pop("ended_at")
    for plot in document["plots"].values():
        plot.pop("file")
    return document


def test_train_judges_every_fold_against_every_baseline_and_stores_a_policy(two_runs):
    workdir, _ = two_runs
    report = report_of(workdir)
    assert report["verdict"]["text"].startswith(("Learning helped", "Learning did not clear the bar"))
    assert report["configurations_tried"] == 4 == len(report["tried"])
    assert [fold["test"]["start"][:10] for fold in report["folds"]] == ["2021-01-06", "2021-01-08"]
    for fold in report["folds"]:
        assert list(fold["strategies"]) == STRATEGIES
        assert fold["validate"]["end"] == fold["test"]["start"] and fold["validate"]["days"] == 1
    assert list(report["aggregate"]) == STRATEGIES and set(report["intervals"]) == set(STRATEGIES[1:])
    criteria = [row["criterion"] for row in report["criteria"]]
    assert criteria[0].startswith("win rate >=") and "max drawdown <= 15%" in criteria
    assert any(c.startswith("win rate earned, not bought") for c in criteria)
    assert (workdir / "reports/run-1/report.md").read_text().count("| learned |") == 3  # two folds and the aggregate
    assert "data:image/png;base64," in (workdir / "reports/run-1/report.html").read_text()
    assert report["span_session"]["per_model"]["mistral_ai"]["votes"] == 0
    assert any("model file" in note and "missing" in note for note in report["span_session"]["llm"])
    catalog = Catalog(workdir / "train.lmdb", readonly=True)
    try:
        (policy,) = all_policies(catalog.store)
        assert report["policy"]["id"] == policy.id and policy.lgbm_version >= 1
        assert policy.changes == report["folds"][-1]["chosen_changes"]
        assert policy.trader == msgspec.to_builtins(load_config(workdir / "peper.toml", environ=SETTINGS).trader)
        span = read_recording(workdir / catalog.sessions(1)[0].recording)
        assert len(span.klines) and span.vote_batches["lgbm_ai"]
        assert_offline_votes_are_the_actors(span, load_config(workdir / "peper.toml", environ=SETTINGS))
    finally:
        catalog.close()
    backups = sorted(backup_dir_for(workdir / "train.lmdb").iterdir())  # the catalog backed up after each run
    backed_up = Catalog(backups[-1], readonly=True)
    try:
        assert [p.id for p in all_policies(backed_up.store)] == [policy.id]
    finally:
        backed_up.close()


def assert_offline_votes_are_the_actors(span, config) -> None:
    """What `train` casts again for a configuration that changes a re-votable model (training.revote) is
    what that actor cast in the span session, vote for vote, with the same settings."""
    models = topology_of(config).models
    chunks = span.chunks(models, list(config.test.symbols), INTERVAL_MS[config.feed.decision_interval])
    for name in revotable_models(config):
        model, row = REVOTABLE[name](config), models.index(name)
        for voted in chunks:
            votes = model.vote(voted.bars)
            assert np.array_equal(votes.action, voted.action[row]) and np.array_equal(
                votes.confidence, voted.confidence[row]
            )
        assert (chunks[-1].action[row] != 2).any(), name  # it voted, not only abstained


def test_the_same_training_twice_gives_the_same_report(two_runs):
    first, second = (report_of(workdir) for workdir in two_runs)
    assert without_wall_clock(first) == without_wall_clock(second)


def test_plots_are_pngs_of_the_data_behind_them(two_runs):
    workdir, _ = two_runs
    report = report_of(workdir)
    for name in ("equity", "folds", "weights", "models"):
        png = Path(report["plots"][name]["file"])
        data = (png if png.is_absolute() else workdir / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(data) < 2_000_000, (name, len(data))
    series = {name: plot["series"] for name, plot in report["plots"].items()}
    learned = series["equity"]["learned"]
    assert len(learned) == 5 == len(series["equity"]["day"])  # the start, then the four test days' closes
    assert learned[0] == 10_000.0 and series["equity"]["day"][0].startswith(report["folds"][0]["test"]["start"])
    assert learned[-1] == pytest.approx(10_000.0 * (1 + report["aggregate"]["learned"]["roi"]))
    assert series["folds"]["learned"] == pytest.approx(
        [f["strategies"]["learned"]["roi"] * 100 for f in report["folds"]]
    )
    for model, values in report["span_session"]["per_model"].items():
        assert series["models"][model][-1] == pytest.approx(values["shadow_equity"])
    assert_plots_at_the_scale_of_their_window(report)


def test_a_run_with_the_policy_trades_with_its_weights_and_model_from_the_first_bar_and_a_rollback_decides_the_next(
    two_runs,
):
    workdir, _ = two_runs
    shown = msgspec.json.decode(
        supervisor(workdir, "policy", "show", "latest", "--catalog", "train.lmdb", "--json").stdout
    )
    assert {"id", "weights_version", "weights", "lgbm_version"} <= set(shown)
    supervisor(
        workdir,
        "run",
        "--replay",
        str(KLINES),
        "--from",
        "2021-01-12",
        "--to",
        "2021-01-13",
        "--policy",
        "latest",
        "--catalog",
        "train.lmdb",
        "--db",
        "policy-run.lmdb",
        "--exit-at-end",
    )
    recording = read_recording(workdir / "policy-run.lmdb")
    first = recording.decisions[0]
    assert first.bar_time[0] == min(b.open_time[0] for b in recording.klines)
    assert first.weights_version[0] == shown["weights_version"]  # the first bar already uses it
    assert recording.weights[0].version == shown["weights_version"] and recording.weights[0].weights == shown["weights"]
    assert {batch.version for batch in recording.vote_batches["lgbm_ai"]} == {f"lgbm-{shown['lgbm_version']}"}
    assert shown["learning"]["algorithm"] in ("winners", "adahedge", "hedge") and any(
        batch.target for batch in recording.decisions
    )
    # offline, a rollback decides what the next run on that store starts from
    newest = recording.weights[-1].version
    assert newest > shown["weights_version"], "the learner made no version in a day"
    supervisor(workdir, "weights", "rollback", str(shown["weights_version"]), "--db", "policy-run.lmdb")
    experts = {
        "PEPER_LEARNING__REFERENCE_EXPERTS": msgspec.json.encode(shown["learning"]["reference_experts"]).decode()
    }
    supervisor(
        workdir,
        "run",
        "--replay",
        str(KLINES),
        "--from",
        "2021-01-13",
        "--to",
        "2021-01-14",
        "--db",
        "policy-run.lmdb",
        "--exit-at-end",
        env=experts,
    )
    later = read_recording(workdir / "policy-run.lmdb")
    resumed = next(batch for batch in later.decisions if batch.bar_time[0] >= first.bar_time[0] + 86_400_000)
    assert resumed.weights_version[0] == newest + 1
    rolled = next(w for w in later.weights if w.version == newest + 1)
    assert rolled.cause == [f"rollback:{shown['weights_version']}"] and rolled.weights == shown["weights"]
    refused = supervisor(
        workdir,
        "run",
        "--replay",
        str(KLINES),
        "--from",
        "2021-01-12",
        "--to",
        "2021-01-13",
        "--policy",
        "7",
        "--catalog",
        "train.lmdb",
        "--db",
        "other.lmdb",
        check=False,
    )
    assert refused.returncode == 1 and "no policy '7'" in refused.stderr


def test_report_compares_two_runs(two_runs):
    workdir, _ = two_runs
    train(workdir)  # run 2 in the same catalog
    result = supervisor(workdir, "report", "--catalog", "train.lmdb", "--compare", "1", "2", "--json")
    document = msgspec.json.decode(result.stdout)
    change = document["metrics"]["trades"]
    assert change["change"] == change["after"] - change["before"] == 0  # the same training: the same trades
    assert Path(workdir / document["plot"]).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--test-from", "2021-01-09", "--test-to", "2021-01-09"], "is empty"),
        (["--test-to", "2021-07-01"], "lies outside the data"),
        (["--validate-from", "2021-01-03"], "with --folds the validation windows follow the test windows"),
    ],
)
def test_bad_windows_fail_with_a_clear_error_before_anything_runs(tmp_path, flags, message):
    result = train(tmp_path, *flags, check=False)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "train.lmdb").exists()


def test_a_report_without_plots_when_auto_generate_plots_is_off(two_runs):
    workdir, _ = two_runs
    off = {
        "PEPER_ANALYTICS__AUTO_GENERATE_PLOTS": "false",
        "PEPER_ANALYTICS__PLOTS_DIR": "plots-off",
        "PEPER_ANALYTICS__REPORTS_DIR": "reports-off",
    }
    result = supervisor(workdir, "report", "--catalog", "train.lmdb", "--run", "1", env=off)
    assert "no plots ([analytics] auto_generate_plots = false)" in result.stdout
    assert not (workdir / "plots-off").exists()
    document = msgspec.json.decode((workdir / "reports-off/run-1/report.json").read_bytes())
    assert document["plots"] == {} and document["verdict"] == report_of(workdir)["verdict"]


def test_export_reads_one_session_of_the_catalog_and_names_the_ones_it_has(two_runs):
    workdir, _ = two_runs
    report = report_of(workdir)
    result = supervisor(workdir, "export", "trades", "--catalog", "train.lmdb", "--session", "1.span")
    trades = [msgspec.json.decode(line) for line in result.stdout.splitlines()]
    assert 0 < len(trades) <= report["span_session"]["metrics"]["trades"]  # those, and the lots open at the end
    for symbol in ("BTCUSDT", "ETHUSDT"):
        drawn = report["plots"][f"trades-{symbol}"]["series"]
        assert drawn["entries"] == [[t["entry_time"], t["entry_price"]] for t in trades if t["symbol"] == symbol]
    missing = supervisor(workdir, "export", "trades", "--catalog", "train.lmdb", "--session", "9.span", check=False)
    assert missing.returncode == 1 and "has no session '9.span'; it has: 1.span" in missing.stderr


def test_train_iterations_runs_consecutive_windows_and_reports_a_criteria_row_and_plot_point_each(tmp_path):
    workdir = tmp_path / "loop"
    workdir.mkdir()
    shutil.copy(REPO_ROOT / "peper.toml", workdir / "peper.toml")
    result = supervisor(
        workdir,
        "train",
        "--replay",
        str(KLINES),
        "--train-from",
        "2021-01-01",
        "--test-from",
        "2021-01-06",
        "--iterations",
        "2",
        "--catalog",
        "train.lmdb",
        env={"PEPER_TEST__TEST_PERIOD_DAYS": "2.0", "PEPER_TEST__TARGET_WIN_RATE": "1.0"},
    )
    assert "iteration 2: " in result.stderr
    document = report_of(workdir)
    rows = document["iterations"]
    windows = [(row["window"]["start"], row["window"]["end"]) for row in rows]
    met = [row["met"] for row in rows]
    assert windows == [("2021-01-06", "2021-01-08"), ("2021-01-08", "2021-01-10")][: len(rows)]
    assert (len(rows) == 1) == met[0] and document["stopped_early"] == (len(rows) == 1)
    assert [row["figures"] for row in rows] == [fold["strategies"]["learned"] for fold in document["folds"]]
    assert document["plots"]["iterations"]["series"]["roi"] == [100 * row["figures"]["roi"] for row in rows]
    assert "The seed's loop" in (workdir / "reports/run-1/report.md").read_text()
