"""Input a restart would meet again — a malformed kline row, a truncated store, a full disk — gets
one clear line and an orderly stop, never a SIGBUS, a restart loop or a silent hole."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys

import pytest

from config.build import configured
from messages.codec import Codec
from messages.system import Ack
from storage.backup import make_backup
from storage.store import Store
from storage.stream import StreamWriter
from supervisor.harness import alive, short_run_dir, start_daemon
from tests.helpers import topologies
from tests.helpers.data import KLINES, REPO_ROOT, SYMBOLS, requires_shared_data

WINDOW = ("2021-04-02", "2021-04-03")
GAVE_UP = re.compile(
    r"supervisor: actor '(\w+)' stopped on an error a restart would meet again, so it was not restarted: (.*)"
)


def peper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supervisor", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_to_the_end(tmp_path, config):
    run_dir = short_run_dir()
    config = configured(config, bus={"run_dir": str(run_dir)})
    daemon = start_daemon(tmp_path / "daemon", config, "--exit-at-end")
    returncode = daemon.process.wait(timeout=120)
    log = daemon.log()
    pids = [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", log)]
    assert not [pid for pid in pids if alive(pid)], "a process outlived the daemon"
    assert not run_dir.exists()
    return returncode, log


@requires_shared_data
def test_a_malformed_kline_row_stops_the_replay_once_naming_file_and_line(tmp_path):
    source = tmp_path / "klines"
    source.mkdir()
    for symbol in SYMBOLS:
        (source / f"{symbol}-1m.csv.gz").write_bytes((KLINES / f"{symbol}-1m.csv.gz").read_bytes())
    damaged = source / "ETHUSDT-1m.csv.gz"
    lines = gzip.decompress(damaged.read_bytes()).decode().splitlines(keepends=True)
    lines[1500] = "1617000000000,oops\n"
    damaged.write_bytes(gzip.compress("".join(lines).encode()))

    returncode, log = run_to_the_end(tmp_path, topologies.replay(tmp_path / "rec.lmdb", str(source), WINDOW))
    assert returncode == 1
    failure = GAVE_UP.search(log.strip().splitlines()[-1])
    assert failure and failure.group(1) == "market_feed", log[-2000:]
    assert f"{damaged}: line 1501: 2 fields, expected at least 6" in failure.group(2)
    assert len(re.findall(r"started market_feed", log)) == 1  # not restarted on the same row again
    assert "stopped recorder" in log  # the rest stopped in order


def _recording_with_a_backup(path, records: int) -> None:
    codec = Codec()
    with Store(path) as store:
        writer = StreamWriter(store)
        for i in range(records):
            frame = codec.encode("ack.trader", Ack(upto=i, received=i, src="trader", seq=i + 1, ts_event=i))
            writer.add("ack.trader", i, "trader", i + 1, frame[len("ack.trader") + 1 :])
        writer.commit()
        make_backup(store, keep=3)


def test_a_truncated_store_is_one_line_and_its_newest_backup_restores_it(tmp_path):
    db = tmp_path / "rec.lmdb"
    _recording_with_a_backup(db, 5_000)
    os.truncate(db / "data.mdb", 100_000)

    for args in (("export", "stream", "--db", str(db)), ("db", "check", str(db))):
        failed = peper(*args)
        assert failed.returncode == 1, (args, failed.returncode, failed.stderr[-500:])  # not 135 (SIGBUS)
        assert failed.stderr.strip().splitlines() == [
            (
                f"supervisor: {db / 'data.mdb'}: truncated: 100000 bytes, but its last committed transaction needs "
                f"{_needed(failed.stderr)} bytes; restore the newest hot backup with `python -m supervisor db restore {db}`"
            )
        ]

    restored = peper("db", "restore", str(db))
    assert restored.returncode == 0, restored.stderr
    kept = re.search(r"the damaged file was moved to (\S+)", restored.stdout).group(1)
    assert os.path.getsize(os.path.join(kept, "data.mdb")) == 100_000  # kept, not deleted
    checked = peper("db", "check", str(db))
    assert checked.returncode == 0 and "stream: 5000 entries" in checked.stdout, checked.stdout + checked.stderr
    assert len(peper("export", "stream", "--db", str(db)).stdout.splitlines()) == 5_000


def _needed(stderr: str) -> str:
    return re.search(r"needs (\d+) bytes", stderr).group(1)


def test_no_backup_to_restore_is_said_plainly(tmp_path):
    db = tmp_path / "rec.lmdb"
    with Store(db) as store:
        store.put_meta("note", b"x")
    failed = peper("db", "restore", str(db))
    assert failed.returncode == 1
    assert failed.stderr.strip() == f"supervisor: {db}: no hot backup in {db}.backups reads whole"


@requires_shared_data
@pytest.mark.skipif(os.geteuid() != 0, reason="a full disk is a tmpfs of 1 MiB, which only root can mount (CI is root)")
def test_a_full_disk_stops_the_daemon_in_order_with_one_line(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=True)
    try:
        config = topologies.replay(
            disk / "rec.lmdb", str(KLINES), ("2021-04-02", "2021-04-09"), database={"map_size_mb": 64}
        )
        returncode, log = run_to_the_end(tmp_path, config)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)
    assert returncode == 1
    failure = GAVE_UP.search(log.strip().splitlines()[-1])
    assert failure and failure.group(1) == "recorder", log[-2000:]
    assert re.search(
        r"StoreError: .*rec.lmdb: cannot write batch #\d+ \(\d+ messages\): .* \(0\.\d MiB free on its "
        r"disk\); the recording is whole up to batch #\d+",
        failure.group(2),
    ), failure.group(2)
    assert len(re.findall(r"started recorder", log)) == 1
    assert "stopped market_feed" in log


@requires_shared_data
def test_a_pinned_lgbm_model_the_store_lacks_stops_in_order_naming_the_version_and_store(tmp_path):
    config = topologies.replay(
        tmp_path / "rec.lmdb", str(KLINES), WINDOW, actors={"lgbm_ai": {}}, lgbm_ai={"pinned_version": 5}
    )
    returncode, log = run_to_the_end(tmp_path, config)
    assert returncode == 1
    failure = GAVE_UP.search(log.strip().splitlines()[-1])
    assert failure and failure.group(1) == "lgbm_ai", log[-2000:]
    assert "[lgbm_ai] pinned_version 5 is not stored in " in failure.group(2)
    assert len(re.findall(r"started lgbm_ai", log)) == 1  # not restarted into the same missing model
