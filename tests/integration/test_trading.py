"""Votes -> decisions -> paper trades -> weights, through real processes: learning that works,
determinism at any speed, rollback while running, a learner killed mid-replay, honest fills."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import numpy as np
import pytest

from analytics.recording import read_recording
from common.times import INTERVAL_MS, MINUTE_MS, parse_time
from config.schema import PeperConfig
from config.topology import topology_of
from learning.offline import simulate
from llm.tiny_model import write_tiny_model
from marketdata.sources import load_source
from storage.sessions import copy_database
from storage.store import Store
from supervisor.harness import DaemonHandle, free_port, running_daemon
from tests.helpers import topologies
from tests.helpers.data import KLINES, REPO_ROOT, requires_shared_data
from tests.helpers.replays import run_replay
from training.search import OfflineInputs

SYMBOLS = ["AAAUSDT", "BBBUSDT"]
DECISION_MS = INTERVAL_MS[topologies.QUICK["decision_interval"]]  # a decision every 15 minutes


def topology(
    db: Path, models: dict[str, dict], *, end: str, speed: str = "max", chunk: int = 64, **sections: dict
) -> PeperConfig:
    actors = {"rl_learner": {}, "trader": {}, **models}
    return topologies.replay(
        db,
        "synthetic:21",
        ("", end),
        actors=actors,
        chunk=chunk,
        credit=chunk * 4,
        symbols=SYMBOLS,
        feed={"speed": speed},
        **sections,
    )


def export(db: Path, what: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", "export", what, "--db", str(db)],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return [msgspec.json.decode(line) for line in result.stdout.splitlines()]


REAL_MODELS = {"trading_ai": {}, "lava_ai": {}}
ORACLE = {"module": "tests.helpers.oracle_model", "role": "model"}


@pytest.mark.parametrize("algorithm", ["seed", "hedge", "adahedge", "thompson", "winners"])
def test_the_learner_moves_weight_to_the_model_that_knows_and_away_from_the_one_that_errs(tmp_path, algorithm):
    db = tmp_path / "learn.lmdb"
    models = {"knows": ORACLE, "errs": {**ORACLE, "args": ["--invert"]}}
    learning = {
        "algorithm": algorithm,
        "learning_rate": 0.2,
        "min_weight": 0.15,
        "max_weight": 0.85,
        "reference_experts": [],
    }
    trader = {"fee_rate": 0.0, "slippage": 0.0, "allow_short": True, "drawdown_limit": 0.0}
    run_replay(tmp_path, "run", topology(db, models, end="2021-01-03", learning=learning, trader=trader))
    history = export(db, "weights")
    assert len(export(db, "trades")) >= 50
    at_bounds = [
        w for w in history if abs(w["weights"]["knows"] - 0.85) < 1e-9 and abs(w["weights"]["errs"] - 0.15) < 1e-9
    ]
    assert at_bounds, f"{algorithm}: final weights {history[-1]['weights']}"
    assert at_bounds[0]["version"] <= 40, f"{algorithm} needed {at_bounds[0]['version']} updates"
    final = history[-1]["weights"]
    assert final["knows"] == pytest.approx(0.85, abs=1e-9) and final["errs"] == pytest.approx(0.15, abs=1e-9)


def test_the_same_replay_gives_identical_trades_weights_and_decisions_at_any_speed(tmp_path):
    outputs = []
    for name, speed in (("fast", "max"), ("paced", "40000")):
        db = tmp_path / f"{name}.lmdb"
        run_replay(tmp_path, name, topology(db, REAL_MODELS, end="2021-01-02", speed=speed))
        outputs.append((export(db, "trades"), export(db, "weights"), export(db, "decisions")))
    trades, weights, decisions = outputs[0]
    periods = 1440 * MINUTE_MS // DECISION_MS  # a day of decision bars, every one completed
    assert len(trades) > 10 and len(weights) == 1 + periods and len(decisions) == periods * len(SYMBOLS)
    assert len({d["weights_version"] for d in decisions}) == periods  # each decision with the version made at it
    assert outputs[1] == outputs[0]


def test_no_fill_uses_a_price_from_the_bar_its_decision_was_made_on(tmp_path):
    db = tmp_path / "fills.lmdb"
    run_replay(tmp_path, "run", topology(db, REAL_MODELS, end="2021-01-02"))
    table = load_source("synthetic:21", interval="1m", symbols=SYMBOLS, end_ms=parse_time("2021-01-02"))
    bars = {
        (table.symbols[i], t): (o, c)
        for i, t, o, c in zip(
            table.symbol_index.tolist(),
            table.open_time.tolist(),
            table.values["open"].tolist(),
            table.values["close"].tolist(),
        )
    }
    decisions = {(d["symbol"], d["bar_time"]): d["action"] for d in export(db, "decisions")}
    trades = export(db, "trades")
    assert trades
    for trade in trades:  # decided on the decision bar that closed just before, filled at the next bar's open
        assert decisions[(trade["symbol"], trade["entry_time"] - DECISION_MS)] == "BUY"
        assert decisions[(trade["symbol"], trade["exit_time"] - DECISION_MS)] == "SELL"
        opened, _ = bars[(trade["symbol"], trade["entry_time"])]
        closed, _ = bars[(trade["symbol"], trade["exit_time"])]
        assert trade["entry_price"] == pytest.approx(opened * 1.0002, rel=1e-12)
        assert trade["exit_price"] == pytest.approx(closed * 0.9998, rel=1e-12)
        assert trade["exit_time"] > trade["entry_time"]


def roll_back_to(daemon: DaemonHandle, db: Path, version: int) -> int:
    """`weights rollback` through the running learner; the new version's number."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "supervisor",
            "weights",
            "rollback",
            str(version),
            "--db",
            str(db),
            "--config",
            str(daemon.config_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split("version ")[1].split(" ")[0])


def kill_learner_and_wait_for_its_restart(daemon: DaemonHandle) -> None:
    old = daemon.actor("rl_learner").pid
    os.kill(old, signal.SIGKILL)
    daemon.wait_for(
        lambda: (a := daemon.actor("rl_learner")).state == "running" and a.pid not in (None, old),
        30,
        "the learner restarted",
    )


def test_a_rollback_while_running_is_used_by_the_traders_next_decisions(tmp_path):
    db = tmp_path / "rollback.lmdb"
    state = {}

    def roll_back(daemon):
        daemon.wait_for(lambda: daemon.actor("rl_learner").counters.version >= 3, 120, "three versions")
        state["version"] = roll_back_to(daemon, db, 0)

    hourly = {"update_every": "1h"}
    run_replay(
        tmp_path, "run", topology(db, REAL_MODELS, end="2021-01-02", speed="8000", learning=hourly), during=roll_back
    )
    history = {w["version"]: w for w in export(db, "weights")}
    rolled, held = history[state["version"]], history[state["version"] + 1]
    assert rolled["cause"][0] == "rollback:0" and rolled["weights"] == history[0]["weights"]
    assert held["cause"] == ["rollback:0", "held"] and held["weights"] == history[0]["weights"]
    used = [d for d in export(db, "decisions") if d["weights_version"] in (rolled["version"], held["version"])]
    assert used, "no decision used the rolled-back weights"


def test_a_rollback_is_in_the_learners_checkpoint_before_the_next_bar(tmp_path):
    """Killed after a rollback and before any further bar, the learner resumes with the rollback's
    version: from the checkpoint before it, its next update would reuse that number."""
    db = tmp_path / "rollback.lmdb"
    state = {}

    def caught_up(daemon) -> bool:
        learner, trader = daemon.actor("rl_learner").counters, daemon.actor("trader").counters
        return daemon.actor("market_feed").state == "done" and 0 < learner.ticks == trader.ticks

    def roll_back_then_kill(daemon):
        daemon.wait_for(lambda: caught_up(daemon), 120, "the replay decided and learned to its end")
        state["version"] = roll_back_to(daemon, db, 0)
        kill_learner_and_wait_for_its_restart(daemon)

    hourly = {"update_every": "1h"}
    _, log = run_replay(
        tmp_path, "run", topology(db, REAL_MODELS, end="2021-01-01T06:00", learning=hourly), during=roll_back_then_kill
    )
    resumed = re.findall(r"rl_learner: restarted: resumed from the checkpoint at \d+ \(version (\d+)\)", log)
    assert [int(v) for v in resumed] == [state["version"]]
    rolled = {w["version"]: w for w in export(db, "weights")}[state["version"]]
    assert rolled["cause"][0] == "rollback:0"


def test_a_learner_killed_mid_replay_resumes_and_every_version_is_as_if_it_had_not_been(tmp_path):
    undisturbed = tmp_path / "calm.lmdb"
    run_replay(tmp_path, "calm", topology(undisturbed, REAL_MODELS, end="2021-01-02"))
    assert len(export(undisturbed, "weights")) > 50
    db = tmp_path / "kill.lmdb"

    def kill_learner(daemon):
        daemon.wait_for(lambda: daemon.actor("rl_learner").counters.version >= 3, 120, "three versions")
        kill_learner_and_wait_for_its_restart(daemon)

    _, log = run_replay(tmp_path, "run", topology(db, REAL_MODELS, end="2021-01-02", speed="8000"), during=kill_learner)
    assert "rl_learner: restarted: resumed from the checkpoint at" in log
    assert export(db, "weights") == export(undisturbed, "weights")
    assert export(db, "trades") == export(undisturbed, "trades")
    assert export(db, "decisions") == export(undisturbed, "decisions")


def test_models_killed_during_a_paced_replay_leave_no_bar_undecided(tmp_path):
    """Paced, one tick per chunk: new frames reach a restarted model before the re-sent older ones.
    Before the feed's Resync marker the model drops them (they are re-sent after it); without that it
    took the newer frame first, dropped the re-sent ones as duplicates and the trader waited forever."""
    db = tmp_path / "run" / "paced.lmdb"
    text = topology(db, REAL_MODELS, end="2021-01-01T06:00", speed="1200", chunk=1)

    def kill_each_model(daemon) -> None:
        for model in REAL_MODELS:
            daemon.wait_for(lambda m=model: daemon.actor(m).msgs_out > 20, 60, f"{model} voting")
            old_pid = daemon.actor(model).pid
            os.kill(old_pid, signal.SIGKILL)
            daemon.wait_for(
                lambda m=model, old=old_pid: (a := daemon.actor(m)).state == "running" and a.pid not in (None, old),
                30,
                f"{model} restarted",
            )
        daemon.wait_for(lambda: daemon.actor("trader").counters.ticks >= 360, 120, "the trader deciding every tick")

    run_replay(tmp_path, "run", text, during=kill_each_model)
    decisions = export(db, "decisions")
    assert len(decisions) == 360 * MINUTE_MS // DECISION_MS * len(SYMBOLS)
    assert {(d["bar_time"], d["symbol"]) for d in decisions} == {
        (t, s) for t in {d["bar_time"] for d in decisions} for s in SYMBOLS
    }


@requires_shared_data
def test_all_four_models_give_byte_identical_trades_weights_and_decisions_at_two_speeds(tmp_path):
    """lgbm_ai trains walk-forward inside the replay; mistral_ai answers from the cache a first run filled."""
    model = write_tiny_model(tmp_path / "tiny.gguf")
    port = free_port()
    db = tmp_path / "first.lmdb"
    llm = {
        "mistral": {"model_path": str(model), "port": port, "health_check_interval_s": 0.5},
        "mistral_ai": {"every": "1h", "max_tokens": 128, "request_timeout_s": 120.0},
    }
    models = {"trading_ai": {}, "lava_ai": {}, "lgbm_ai": {}, "mistral_ai": {}, "strength_ai": {}}
    lgbm = {"min_train": "12h", "retrain_every": "12h", "train_window": "1d", "n_estimators": 30}

    def config(db: Path, speed: str, server: bool) -> PeperConfig:
        actors = {"rl_learner": {}, "trader": {}, **models, **({"llm_supervisor": {}} if server else {})}
        return topologies.replay(
            db,
            KLINES,
            ("2021-04-05", "2021-04-07"),
            actors=actors,
            chunk=64,
            credit=256,
            symbols=["BTCUSDT", "ETHUSDT"],
            feed={"speed": speed},
            lgbm_ai=lgbm,
            **llm,
        )

    run_replay(tmp_path, "fill", config(db, "max", server=True))  # fills the LLM cache
    outputs = []
    for name, speed in (("fast", "max"), ("paced", "30000")):
        copy = tmp_path / f"{name}.lmdb"
        with Store(db, readonly=True) as source, Store(copy) as target:
            copy_database(source, target, "llm_cache")  # the answers, not the first run's models
        workdir = tmp_path / name
        workdir.mkdir()
        with running_daemon(workdir, config(copy, speed, server=False)) as daemon:
            daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "the replay finished")
            mistral, lgbm_counters = daemon.actor("mistral_ai").counters, daemon.actor("lgbm_ai").counters
        assert mistral.cache_hits > 20 and mistral.llm_requests == 0
        assert lgbm_counters.trainings >= 2
        outputs.append(tuple(export(copy, what) for what in ("trades", "weights", "decisions")))
    trades, weights, decisions = outputs[0]
    assert trades and len(weights) > 10 and len(decisions) == 2 * 2 * 1440 * MINUTE_MS // DECISION_MS
    assert any(vote["model"] == "mistral_ai" and vote["action"] for d in decisions for vote in d["votes"])
    assert len({vote["action"] for d in decisions for vote in d["votes"] if vote["model"] == "lgbm_ai"}) > 2
    assert outputs[1] == outputs[0]


def test_the_offline_run_train_judges_with_is_what_the_topology_traded(tmp_path):
    """`train` judges configurations by `learning.offline` over the recorded votes: it must give the
    very versions and trades the topology's learner and trader made from those votes."""
    db = tmp_path / "topology.lmdb"
    config = topology(db, REAL_MODELS, end="2021-01-02")
    run_replay(tmp_path, "run", config)
    recording = read_recording(db)
    models = topology_of(config).models
    offline = simulate(recording.chunks(models, SYMBOLS, DECISION_MS), config, learn=True)
    weights = export(db, "weights")
    assert len(weights) > 10
    assert [(v.version, v.effective_from, v.weights, v.cause) for v in offline.versions] == [
        (w["version"], w["effective_from"], w["weights"], w["cause"]) for w in weights
    ]
    fields = ("exit_time", "symbol", "side", "entry_time", "entry_price", "exit_price", "fees", "pnl")
    traded = export(db, "trades")
    assert len(traded) > 10
    assert sorted(tuple(getattr(t, f) for f in fields) for t in offline.trades) == sorted(
        tuple(t[f] for f in fields) for t in traded
    )
    # a configuration with other trading_ai and lava_ai settings: train casts their votes again offline,
    # and they are the votes a session run with those settings records
    other_db = tmp_path / "other.lmdb"
    other = topology(
        other_db, REAL_MODELS, end="2021-01-02", trading_ai={"lookbacks": ["30m", "2h"]}, lava_ai={"z_entry": 1.5}
    )
    run_replay(tmp_path, "other", other)
    recorded = read_recording(other_db).chunks(models, SYMBOLS, DECISION_MS)
    first = recording.chunks(models, SYMBOLS, DECISION_MS)
    revoted = OfflineInputs(first, config).chunks(other)
    assert len(revoted) == len(recorded) == len(first)
    assert all(
        any(not np.array_equal(got.action[m], old.action[m]) for got, old in zip(revoted, first))
        for m in range(len(models))
    )  # both models' votes changed with their settings
    for got, want in zip(revoted, recorded):
        assert np.array_equal(got.action, want.action) and np.array_equal(got.confidence, want.confidence)
