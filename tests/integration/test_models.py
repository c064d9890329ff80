"""The signal models in real replays, voting on decision bars: no look-ahead, walk-forward training,
recovery from kill -9 with rebuilt state, and abstentions (not crashes) on unusable bars."""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import msgspec
import numpy as np
import zmq

from bus.endpoints import endpoints_for
from common.times import INTERVAL_MS, MINUTE_MS, parse_time
from config.build import configured, topology
from marketdata.chunks import TickChunker
from marketdata.sources import load_source
from messages import topics
from messages.codec import Codec
from messages.market import KlineBatch
from signals.stored_model import StoredModel
from storage.models import get_model, model_versions
from storage.store import Store
from supervisor.harness import running_daemon
from tests.helpers import topologies
from tests.helpers.data import KLINES, SYMBOLS, requires_shared_data
from tests.helpers.recording import recorded_messages
from tests.helpers.topologies import SLOW

MODELS = ("trading_ai", "strength_ai", "lava_ai", "lgbm_ai")
WINDOW = ("2021-04-26", "2021-04-29")
CUT = parse_time("2021-04-27T12:00")
DECISION_MS = INTERVAL_MS[topologies.QUICK["decision_interval"]]


def decision_bars(table) -> int:
    return len(TickChunker(table, DECISION_MS).decision)


def write_klines(folder: Path, table, perturb_after: int | None = None, seed: int = 1) -> Path:
    """The table as Binance kline CSV files; with `perturb_after`, every later bar is changed."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index, symbol in enumerate(table.symbols):
        rows = table.symbol_index == index
        times = table.open_time[rows]
        o, h, l, c, v = (table.values[k][rows].copy() for k in ("open", "high", "low", "close", "volume"))
        if perturb_after is not None:
            later = times > perturb_after
            factor = np.exp(rng.normal(0, 0.01, later.sum()))
            o[later], h[later], l[later], c[later] = (
                o[later] * factor,
                h[later] * factor * 1.001,
                l[later] * factor / 1.001,
                c[later] * factor,
            )
            v[later] = v[later] * rng.uniform(0.5, 2.0, later.sum())
        lines = ["open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base,taker_buy_quote"]
        columns = [column.tolist() for column in (o, h, l, c, v)]
        lines += [
            ",".join(map(repr, (t, *(column[i] for column in columns), t + 59_999))) + ",,,,"
            for i, t in enumerate(times.tolist())
        ]
        (folder / f"{symbol}-1m.csv").write_text("\n".join(lines) + "\n")
    return folder


def models_topology(db: Path, source: Path | str, window=("", ""), slow_ms: float | None = None, chunk: int = 256):
    actors = {model: {} for model in MODELS}
    if slow_ms:
        actors["slow"] = {**SLOW, "args": ["--delay-ms", str(slow_ms)]}
    return topologies.replay(
        db,
        source,
        window,
        actors=actors,
        chunk=chunk,
        credit=chunk * 4,
        lgbm_ai={"min_train": "1d", "retrain_every": "12h", "train_window": "1d", "n_estimators": 30},
    )


def votes_by_bar(db: Path, model: str) -> dict[tuple[str, int], tuple]:
    votes = {}
    for batch in recorded_messages(db, topics.signal(model)):
        for row in zip(batch.symbol, batch.bar_time, batch.action, batch.confidence, batch.reason):
            votes.setdefault(row[:2], (*row[2:], batch.version))
    return votes


def replay(tmp_path: Path, name: str, source, window=("", ""), **options) -> tuple[Path, str]:
    db = tmp_path / f"{name}.lmdb"
    workdir = tmp_path / name
    workdir.mkdir()
    with running_daemon(workdir, models_topology(db, source, window, **options)) as daemon:
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "the replay finished")
        log = daemon.log()
    return db, log


@requires_shared_data
def test_no_vote_or_prediction_up_to_t_changes_when_every_later_bar_changes(tmp_path):
    table = load_source(
        str(KLINES), interval="1m", symbols=SYMBOLS, start_ms=parse_time(WINDOW[0]), end_ms=parse_time(WINDOW[1])
    )
    original = write_klines(tmp_path / "original", table)
    perturbed = write_klines(tmp_path / "perturbed", table, perturb_after=CUT)
    db_a, _ = replay(tmp_path, "a", original)
    db_b, _ = replay(tmp_path, "b", perturbed)
    for model in MODELS:
        a, b = votes_by_bar(db_a, model), votes_by_bar(db_b, model)
        assert set(a) == set(b) and len(a) == decision_bars(table)
        before = [key for key in a if key[1] + DECISION_MS - MINUTE_MS <= CUT]  # decision bars closed by the cut
        after = [key for key in a if key[1] > CUT]
        assert [a[k] for k in before] == [b[k] for k in before], f"{model} looked ahead"
        assert any(a[k] != b[k] for k in after), f"{model}: the perturbation changed nothing (the test could not fail)"
    # Walk-forward: every stored model was trained only on labels that ended before it was used.
    with Store(db_a, readonly=True) as store:
        models = {v: msgspec.msgpack.decode(get_model(store, v), type=StoredModel) for v in model_versions(store)}
    assert len(models) >= 3
    lgbm_votes = votes_by_bar(db_a, "lgbm_ai")
    for version, model in models.items():
        assert model.label_end <= model.trained_at
        used = [bar for (_, bar), vote in lgbm_votes.items() if vote[3] == f"lgbm-{version}"]
        assert used and min(used) >= model.trained_at
        assert model.label_end <= min(used)


@requires_shared_data
def test_each_model_killed_mid_replay_rebuilds_its_state_and_the_replay_completes(tmp_path):
    window = ("2021-05-01", "2021-05-04")
    table = load_source(
        str(KLINES), interval="1m", symbols=SYMBOLS, start_ms=parse_time(window[0]), end_ms=parse_time(window[1])
    )
    db = tmp_path / "kill.lmdb"
    with running_daemon(tmp_path, models_topology(db, KLINES, window, slow_ms=4, chunk=32)) as daemon:
        for model in MODELS:
            ready = lambda m=model: (
                getattr(daemon.actor(m).counters, "model_version", 1) >= 1 and daemon.actor(m).counters.checkpoints > 0
            )
            daemon.wait_for(ready, 120, f"{model} voting")
            old_pid = daemon.actor(model).pid
            os.kill(old_pid, signal.SIGKILL)
            daemon.wait_for(
                lambda m=model, old=old_pid: (a := daemon.actor(m)).state == "running" and a.pid not in (None, old),
                30,
                f"{model} restarted",
            )
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 300, "the replay finished")
        statuses = {model: daemon.actor(model) for model in MODELS}
    for model in MODELS:
        assert statuses[model].restarts == 1
        assert statuses[model].counters.restored_upto > 0, f"{model} did not resume from a checkpoint"
        assert len(votes_by_bar(db, model)) == decision_bars(table), f"{model} left bars without a vote"
    # lgbm_ai resumed with its model and went on training: versions 1..N, each stored once, the last in use
    with Store(db, readonly=True) as store:
        versions = model_versions(store)
    lgbm = statuses["lgbm_ai"].counters
    assert versions == list(range(1, len(versions) + 1)) and len(versions) >= 3
    assert lgbm.model_version == versions[-1]
    used = {vote[3] for vote in votes_by_bar(db, "lgbm_ai").values()}
    assert {f"lgbm-{v}" for v in versions} <= used


def test_unusable_bars_and_unknown_symbols_get_an_abstention_with_the_reason(tmp_path):
    db = tmp_path / "bad.lmdb"
    config = configured(
        test={"symbols": ["BTCUSDT", "ETHUSDT"]},
        database={"path": str(db)},
        learning={"initial_weights": {}},
        actors=topology(*MODELS),
    )
    codec = Codec()
    nan = math.nan
    batch = KlineBatch.of(
        interval_ms=60_000,
        symbol=["BTCUSDT", "ETHUSDT", "DOGEUSDT"],
        open_time=[60_000] * 3,
        open=[nan, 2000.0, 0.1],
        high=[nan, 2001.0, 0.1],
        low=[nan, 1999.0, 0.1],
        close=[nan, 2000.0, 0.1],
        volume=[1.0, 0.0, 5.0],
        quote_volume=[nan] * 3,
        trades=[nan] * 3,
        taker_buy_base=[nan] * 3,
        seq=1,
        src="test",
        epoch=1,
        ts_event=60_000,
    )
    with running_daemon(tmp_path, config) as daemon:
        context = zmq.Context()
        endpoints = endpoints_for(daemon.config.bus, daemon.run_dir)
        listener = context.socket(zmq.SUB)
        listener.connect(endpoints.subscribe)
        listener.setsockopt(zmq.SUBSCRIBE, b"sig.")
        publisher = context.socket(zmq.PUB)
        publisher.connect(endpoints.publish)
        received = {}
        try:

            def publish_and_collect() -> bool:
                publisher.send(codec.encode(topics.BAR, batch))  # re-sent with the same seq: duplicates are dropped
                while listener.poll(100):
                    _, votes = codec.decode(listener.recv())
                    received[votes.model] = votes
                return len(received) == len(MODELS)

            daemon.wait_for(publish_and_collect, 20, "votes from every model")
        finally:
            listener.close(0)
            publisher.close(0)
            context.term()
        for model in MODELS:
            status = daemon.actor(model)
            assert status.state == "running" and status.restarts == 0
            assert status.counters.unusable_bars == 3
    for model, votes in received.items():
        assert votes.action == [None, None, None]
        assert votes.reason == [
            "non-finite or non-positive price or volume",
            "zero volume",
            "symbol not in [test] symbols",
        ], model
    assert "abstaining on DOGEUSDT bar 60000: symbol not in [test] symbols" in daemon.log()
