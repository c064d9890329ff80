"""A recording made by the code before the redesign (schema version 1: one `Decision` per symbol
and bar, kline and vote batches of lists as version 2 kept them) still exports and replays, and
`db migrate` upgrades it in place after a backup.

The fixture holds that recording's raw LMDB entries and what the old code exported from them; it
was made on the synthetic market by `python -m supervisor run` before the redesign (its
`made_by` says how). The test builds the LMDB environment from it — no binary store is committed.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import subprocess
import sys
from pathlib import Path

import lmdb
import msgspec
import pytest

from messages.errors import StoreError
from storage.backup import backup_dir_for
from storage.store import Store
from supervisor.harness import running_daemon
from tests.helpers.data import REPO_ROOT
from tests.helpers.recording import recorded_bars
from tests.helpers.topologies import replay

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "recording-v1.json.gz"


@pytest.fixture
def old_recording(tmp_path) -> tuple[Path, dict]:
    document = msgspec.json.decode(gzip.decompress(FIXTURE.read_bytes()))
    path = tmp_path / "v1.lmdb"
    path.mkdir()
    env = lmdb.open(str(path), max_dbs=16, map_size=2**28)
    with env.begin(write=True) as txn:
        for entry in document["entries"]:
            db = env.open_db(entry["db"].encode(), txn=txn)
            txn.put(base64.b64decode(entry["key"]), base64.b64decode(entry["value"]), db=db)
    env.close()
    return path, document


def export(db: Path, what: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "supervisor", "export", what, "--db", str(db)],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return [msgspec.json.decode(line) for line in result.stdout.splitlines()]


def test_an_old_recording_exports_as_the_old_code_exported_it(old_recording):
    path, document = old_recording
    with Store(path, readonly=True) as store:
        assert store.schema_version == 1
    for what in ("decisions", "trades", "weights"):
        assert export(path, what) == document["exports"][what], what
    assert len(document["exports"]["decisions"]) == 960 and len(document["exports"]["trades"]) > 10


def test_an_old_recording_replays_and_is_written_to_only_after_a_migration(tmp_path, old_recording):
    path, document = old_recording
    copy = tmp_path / "replayed.lmdb"
    config = replay(copy, f"lmdb:{path}", symbols=["BTCUSDT", "ETHUSDT"])
    with running_daemon(tmp_path / "run", config) as daemon:
        daemon.wait_for(lambda: daemon.actor("market_feed").state == "done", 120, "the replay of the old recording")
    assert recorded_bars(copy) == recorded_bars(path) and len(recorded_bars(path)) == 2 * 480
    with pytest.raises(StoreError, match="run `python -m supervisor db migrate"):
        Store(path)
    migrated = subprocess.run(
        [sys.executable, "-m", "supervisor", "db", "migrate", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "migrated from schema version 1 to 3" in migrated.stdout
    [backup] = list(backup_dir_for(path).iterdir())
    with Store(backup, readonly=True) as store:
        assert store.schema_version == 1  # the backup is the store as it was
    with Store(path) as store:  # writable now
        assert store.schema_version == 3 and not store.has("trades")
    for what in ("decisions", "trades", "weights"):
        assert export(path, what) == document["exports"][what], what
    again = subprocess.run(
        [sys.executable, "-m", "supervisor", "db", "migrate", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0 and "already at schema version 3; nothing to do" in again.stdout


def test_csv_export_holds_the_same_rows_as_json_lines_flattened(old_recording):
    path, document = old_recording
    for what in ("decisions", "trades", "weights"):
        result = subprocess.run(
            [sys.executable, "-m", "supervisor", "export", what, "--db", str(path), "--format", "csv"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        expected = document["exports"][what]
        assert len(rows) == len(expected), what
        first, row = expected[0], rows[0]
        if what == "weights":
            assert {
                f"weights.{model}": str(weight) for model, weight in first["weights"].items()
            }.items() <= row.items()
        if what == "decisions":
            vote = first["votes"][0]
            assert row[f"{vote['model']}.confidence"] == str(vote["confidence"]) and row["symbol"] == first["symbol"]
        if what == "trades":
            assert row["trade_id"] == first["trade_id"] and float(row["pnl"]) == first["pnl"]
