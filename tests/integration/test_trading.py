"""Votes -> decisions -> paper trades -> weights, through real processes: learning that works,
determinism at any speed, rollback while running, a learner killed mid-replay, honest fills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from marketdata.sources import load_source, parse_time
from tests.helpers.daemon import REPO_ROOT, running_daemon

SYMBOLS = ["AAAUSDT", "BBBUSDT"]


def topology(db: Path, models: dict[str, str], *, end: str, speed: str = "max", extra: str = "",
             slow_ms: float | None = None) -> str:
    ackers = ["recorder", *models, "trader"] + (["slow"] if slow_ms else [])
    model_tables = "".join(f'[actors.{name}]\n{module}\n' for name, module in models.items())
    slow = f'[actors.slow]\nmodule = "tests.helpers.slow_consumer"\nargs = ["--delay-ms", "{slow_ms}"]\n' if slow_ms else ""
    return f"""
    [test]
    symbols = {SYMBOLS!r}
    [database]
    path = "{db}"
    [feed]
    source = "synthetic:21"
    end = "{end}"
    speed = "{speed}"
    chunk_ticks = 64
    credit_window = 256
    ackers = {ackers!r}
    {extra}
    [actors.recorder]
    [actors.rl_learner]
    [actors.trader]
    after = ["rl_learner"]
    {model_tables}
    {slow}
    [actors.market_feed]
    restart = "transient"
    after = {ackers!r}
    """


def run_replay(tmp_path: Path, name: str, text: str, during=None) -> tuple[Path, str]:
    workdir = tmp_path / name
    workdir.mkdir()
    with running_daemon(workdir, text) as daemon:
        if during is not None:
            during(daemon)
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "the replay finished")
        log = daemon.log()
    return workdir, log


def export(db: Path, what: str) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "supervisor", "export", what, "--db", str(db)],
                            cwd=REPO_ROOT, capture_output=True, check=True, timeout=60)
    return [msgspec.json.decode(line) for line in result.stdout.splitlines()]


REAL_MODELS = {"trading_ai": "", "lava_ai": ""}


@pytest.mark.parametrize("algorithm", ["seed", "hedge", "thompson"])
def test_the_learner_moves_weight_to_the_model_that_knows_and_away_from_the_one_that_errs(tmp_path, algorithm):
    db = tmp_path / "learn.lmdb"
    models = {"trading_ai": 'module = "tests.helpers.oracle_model"',
              "lava_ai": 'module = "tests.helpers.oracle_model"\nargs = ["--invert"]'}
    learning = f"""
    [learning]
    algorithm = "{algorithm}"
    learning_rate = 0.2
    max_weight = 0.85
    [trader]
    fee_rate = 0.0
    slippage = 0.0
    allow_short = true
    entry_threshold = 0.0  # the two models always disagree: any threshold leaves a dead zone with no trades
    stop_loss = 0.5
    take_profit = 0.5
    max_holding_bars = 10000
    """
    run_replay(tmp_path, "run", topology(db, models, end="2021-01-02", extra=learning))
    history = export(db, "weights")
    trades = export(db, "trades")
    assert len(trades) >= 50
    at_bounds = [w for w in history if abs(w["weights"]["trading_ai"] - 0.85) < 1e-9
                 and abs(w["weights"]["lava_ai"] - 0.05) < 1e-9]
    assert at_bounds, f"{algorithm}: final weights {history[-1]['weights']}"
    assert at_bounds[0]["version"] <= 400, f"{algorithm} needed {at_bounds[0]['version']} trades"
    final = history[-1]["weights"]
    assert final["trading_ai"] == pytest.approx(0.85, abs=1e-9) and final["lava_ai"] == pytest.approx(0.05, abs=1e-9)


def test_the_same_replay_gives_identical_trades_and_weights_at_any_speed(tmp_path):
    outputs = []
    for name, speed in (("first", "max"), ("second", "max"), ("paced", "40000")):
        db = tmp_path / f"{name}.lmdb"
        run_replay(tmp_path, name, topology(db, REAL_MODELS, end="2021-01-02", speed=speed))
        outputs.append((export(db, "trades"), export(db, "weights")))
    trades, weights = outputs[0]
    assert len(trades) > 10 and len(weights) == len(trades) + 1
    assert outputs[1] == outputs[0]
    assert outputs[2] == outputs[0]


def test_no_fill_uses_a_price_from_the_bar_its_decision_was_made_on(tmp_path):
    db = tmp_path / "fills.lmdb"
    run_replay(tmp_path, "run", topology(db, REAL_MODELS, end="2021-01-02"))
    table = load_source("synthetic:21", interval="1m", symbols=SYMBOLS, end_ms=parse_time("2021-01-02"))
    bars = {(table.symbols[i], t): (o, c) for i, t, o, c in zip(table.symbol_index.tolist(), table.open_time.tolist(),
                                                                  table.values["open"].tolist(), table.values["close"].tolist())}
    decisions = {(d["symbol"], d["bar_time"]): d["action"] for d in export(db, "decisions")}
    trades = export(db, "trades")
    assert trades
    for trade in trades:
        decided_at = trade["entry_time"] - 60_000
        assert decisions[(trade["symbol"], decided_at)] == "BUY"
        open_, _ = bars[(trade["symbol"], trade["entry_time"])]
        assert trade["entry_price"] == pytest.approx(open_ * 1.0002, rel=1e-12)
        assert trade["exit_time"] > trade["entry_time"]


def test_a_rollback_while_running_is_used_by_the_traders_next_decisions(tmp_path):
    db = tmp_path / "rollback.lmdb"
    state = {}

    def roll_back(daemon):
        daemon.wait_for(lambda: daemon.actor("rl_learner").counters.get("version", 0) >= 3, 120, "three versions")
        result = subprocess.run(
            [sys.executable, "-m", "supervisor", "weights", "rollback", "0", "--db", str(db), "--config", str(daemon.config_path)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stderr
        state["version"] = int(result.stdout.split("version ")[1].split(" ")[0])

    run_replay(tmp_path, "run", topology(db, REAL_MODELS, end="2021-01-02", speed="4000"), during=roll_back)
    history = {w["version"]: w for w in export(db, "weights")}
    rolled = history[state["version"]]
    assert rolled["cause"][0] == "rollback:0" and rolled["weights"] == history[0]["weights"]
    used = [d for d in export(db, "decisions") if d["weights_version"] == state["version"]]
    assert used, "no decision used the rolled-back version"


def test_a_learner_killed_mid_replay_applies_every_trade_exactly_once(tmp_path):
    db = tmp_path / "kill.lmdb"

    def kill_learner(daemon):
        daemon.wait_for(lambda: daemon.actor("rl_learner").counters.get("version", 0) >= 3, 120, "three versions")
        old = daemon.actor("rl_learner").pid
        os.kill(old, signal.SIGKILL)
        daemon.wait_for(lambda: (a := daemon.actor("rl_learner")).state == "running" and a.pid not in (None, old), 30,
                        "the learner restarted")

    _, log = run_replay(tmp_path, "run", topology(db, REAL_MODELS, end="2021-01-02", speed="4000"), during=kill_learner)
    assert "rl_learner: restarted from stored version" in log
    history = export(db, "weights")
    applied = [cause for w in history[1:] for cause in w["cause"]]
    assert len(applied) == len(set(applied)), "a trade was applied twice"
    assert set(applied) == {t["trade_id"] for t in export(db, "trades")}, "a trade was skipped"
    assert [w["version"] for w in history] == list(range(len(history)))


def test_models_killed_during_a_paced_replay_leave_no_bar_undecided(tmp_path):
    """Paced, one tick per chunk: new frames reach a restarted model before the re-sent older ones.
    Before the feed's Resync marker the model drops them (they are re-sent after it); without that it
    took the newer frame first, dropped the re-sent ones as duplicates and the trader waited forever."""
    db = tmp_path / "run" / "paced.lmdb"
    text = topology(db, REAL_MODELS, end="2021-01-01T06:00", speed="1200").replace("chunk_ticks = 64", "chunk_ticks = 1")

    def kill_each_model(daemon) -> None:
        for model in REAL_MODELS:
            daemon.wait_for(lambda m=model: daemon.actor(m).msgs_out > 20, 60, f"{model} voting")
            old_pid = daemon.actor(model).pid
            os.kill(old_pid, signal.SIGKILL)
            daemon.wait_for(lambda m=model: (a := daemon.actor(m)).state == "running" and a.pid not in (None, old_pid),
                            30, f"{model} restarted")
        daemon.wait_for(lambda: daemon.actor("trader").counters.get("ticks", 0) >= 360, 120, "the trader deciding every tick")

    run_replay(tmp_path, "run", text, during=kill_each_model)
    decisions = export(db, "decisions")
    assert len(decisions) == 360 * len(SYMBOLS)
    assert {(d["bar_time"], d["symbol"]) for d in decisions} == {(t, s) for t in {d["bar_time"] for d in decisions} for s in SYMBOLS}
