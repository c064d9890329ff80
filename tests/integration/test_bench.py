"""Each benchmark's harness on a tiny window: it runs, measures what it says, and fills the JSON
contract (`replay.bars_per_s`, `peer.ratio`, `latency.p50_us`, ... `learning.aggregate.<strategy>`).
Correctness of the harness only: no figure here is judged for speed."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from bench import execution, latency, learning, peer, recorder, recovery, replay
from bench.__main__ import main as bench_main
from common.times import parse_time
from marketdata.sources import load_source
from tests.helpers.data import KLINES, requires_shared_data
from tests.helpers.topologies import shipped_grid_size

pytestmark = requires_shared_data
ACTORS = {
    "market_feed",
    "trading_ai",
    "strength_ai",
    "lava_ai",
    "lgbm_ai",
    "mistral_ai",
    "trader",
    "rl_learner",
    "recorder",
}


def test_replay_against_the_raw_bus_and_the_peer_on_one_day():
    section = replay.run(1, True, window=("2021-04-02", "2021-04-03"))
    assert section["bars"] == 1440 * 5
    assert section["bars_per_s"] > 0 and section["raw_ceiling_bars_per_s"] > 0 and len(section["bars_per_s_runs"]) == 1
    assert section["full_over_raw"] == pytest.approx(
        section["bars_per_s"] / section["raw_ceiling_bars_per_s"], rel=1e-2
    )
    cpu = section["cpu_s_per_1000_bars"]  # CPU time comes in 10 ms ticks: one actor may show 0 over one day
    assert set(cpu) == ACTORS and all(v >= 0 for v in cpu.values()) and sum(cpu.values()) > 0
    # mistral_ai answered from the cache the warm-up filled, and never asked a server
    assert section["mistral_cache_hits"] > 0 and section["mistral_llm_requests"] == 0
    assert section["lgbm_pinned_version"] == 0  # one day: lgbm never reaches its first training point

    compared = peer.run(1, True, window=("2021-04-02", "2021-04-03"))
    assert compared["bars"] == compared["nautilus_bars"] == compared["freqtrade_bars"] == 1440 * 5
    for name in ("nautilus", "freqtrade", "ours", "ours_training"):
        assert compared[f"{name}_bars_per_s"] > 0 and compared[f"{name}_peak_rss_mb"] > 0
    # the peers trade the same strategy on the same bars: their round trips agree to within a few
    assert compared["nautilus_trades"] > 50 and abs(compared["nautilus_trades"] - compared["freqtrade_trades"]) <= 5
    assert compared["ratio"] == round(
        compared["ours_bars_per_s"] / max(compared["nautilus_bars_per_s"], compared["freqtrade_bars_per_s"]), 3
    )

    memory = replay.memory(section, True, window=("2021-01-01", "2021-01-03"))
    assert memory["bars_long"] == 2 * 288 * 5 and set(memory["peak_rss_mb_long"]) == ACTORS
    assert set(memory["long_over_short"]) == ACTORS


def test_live_latency_with_and_without_the_llm():
    section = latency.run(1, True, bars=20)
    for prefix in ("", "llm_"):
        assert section[prefix + "decisions_measured"] >= 15 * 5
        assert 0 < section[prefix + "p50_us"] <= section[prefix + "p99_us"] <= section[prefix + "p99_9_us"]
    for path in ("broker", "direct"):  # the transport floor: one bare hop, and the three of a decision
        assert 0 < section["transport_hop_p50_us"][path] <= section["transport_hop_p99_us"][path]
        assert section["transport_hop_p50_us"][path] < section["transport_path_p50_us"][path]
        assert section["transport_path_p50_us"][path] <= section["transport_path_p99_us"][path]


def test_recovery_and_recorder():
    section = recovery.run(1, True, victims=("lava_ai",))
    assert section["ms"]["lava_ai"] > 0 and section["llm_server_kill9_ms"] > 0 and section["llm_server_sigstop_ms"] > 0
    written = recorder.run(1, True, count=5_000)
    assert written["messages"] == 5_000 and written["msgs_per_s"] > 0 and written["batches"] >= 1
    assert written["lmdb_bytes_per_message"] > written["payload_bytes"]


def test_execution_through_the_double_and_its_chaos_run():
    section = execution.run(1, True, seed=7)
    assert section["orders"] > 50 and section["executor_orders_per_s"] > 0 and section["venue_orders_per_s"] > 0
    assert 0 < section["trade_to_ack_p50_ms"] <= section["trade_to_ack_p99_ms"]
    assert section["chaos_kills"] == {"executor": 2, "trader": 2}
    assert section["chaos_orders"] == section["chaos_fills"] > 50 and section["chaos_ledger_equal"]
    assert section["chaos_duplicates"] == section["chaos_lost"] == section["chaos_mismatched"] == 0


def write_3m_klines(folder: Path, symbols: list[str], start: str, end: str) -> None:
    """Real 1m bars of the shared data aggregated to 3m, in the shared format (a 3m folder for the test)."""
    table = load_source(str(KLINES), interval="1m", symbols=symbols, start_ms=parse_time(start), end_ms=parse_time(end))
    folder.mkdir()
    for index, symbol in enumerate(table.symbols):
        rows = table.symbol_index == index
        times, values = (
            table.open_time[rows],
            {c: table.values[c][rows] for c in ("open", "high", "low", "close", "volume")},
        )
        lines = ["open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base,taker_buy_quote"]
        for group in np.unique(times // 180_000):
            members = np.nonzero(times // 180_000 == group)[0]
            first, last = members[0], members[-1]
            bar = (
                values["open"][first],
                values["high"][members].max(),
                values["low"][members].min(),
                values["close"][last],
                values["volume"][members].sum(),
            )
            lines.append(f"{group * 180_000},{','.join(repr(float(v)) for v in bar)},{group * 180_000 + 179_999},,,,")
        with gzip.open(folder / f"{symbol}-3m.csv.gz", "wt") as handle:
            handle.write("\n".join(lines) + "\n")


def test_learning_on_a_folder_of_3m_klines(tmp_path):
    folder = tmp_path / "klines-3m"
    write_3m_klines(folder, ["BTCUSDT", "ETHUSDT"], "2021-04-02", "2021-04-06")
    section = learning.run(1, True, data=folder, folds=2)
    assert section["interval"] == "3m" and section["span"]["start"] == "2021-04-02"
    strategies = [
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
    assert list(section["aggregate"]) == strategies and len(section["folds"]) == 2
    assert section["folds"][0]["test_window"]["start"] == "2021-04-03"  # a quarter into the data
    for metrics in [section["aggregate"], *section["folds"]]:
        for strategy in strategies:
            assert set(metrics[strategy]) == {
                "roi",
                "sharpe",
                "max_drawdown",
                "win_rate",
                "trades",
                "turnover",
                "exposure",
            }
            assert metrics[strategy]["max_drawdown"] >= 0 and 0 <= metrics[strategy]["exposure"] <= 1
    assert section["aggregate"]["buy_and_hold"]["trades"] == 2 * 2  # both symbols, bought again in each fold
    assert all(fold["reality_check"] is None or 0.0 <= fold["reality_check"] <= 1.0 for fold in section["folds"])
    assert section["trials"] == section["configurations_tried"] and section["decision_interval"] == "1d"
    assert section["configurations_tried"] == len(section["tried"]) == shipped_grid_size()


def test_bench_writes_one_json_document_with_the_machine(tmp_path):
    out = tmp_path / "out.json"
    assert bench_main(["recorder", "--quick", "--json", str(out)]) == 0
    import msgspec

    document = msgspec.json.decode(out.read_bytes())
    assert document["machine"]["cores"] >= 1 and document["recorder"]["msgs_per_s_runs"]
