"""The LMDB stream: ordered range scans, interned names, durable meta, and clear errors."""

from __future__ import annotations

import pytest

from messages.errors import StoreError
from storage.checkpoints import Checkpoint, read_checkpoint, read_journal, read_outbox, write_checkpoint
from storage.store import Store, entries
from storage.stream import StreamReader, StreamWriter


def test_records_come_back_per_topic_in_market_time_order(tmp_path):
    with Store(tmp_path / "db") as store:
        writer = StreamWriter(store)
        for ts in (300, 100, 200):
            writer.add("clock", ts, "market_feed", ts // 100, f"c{ts}".encode())
        writer.add("md.kline", 150, "market_feed", 1, b"k150")
        writer.add("sys.lifecycle", 0, "recorder", 1, b"l1")
        writer.add("sys.lifecycle", 0, "market_feed", 1, b"l2")  # same topic, time and seq: another source
        assert writer.commit(meta={"note": b"x"}) == 6
    with Store(tmp_path / "db", readonly=True) as store:
        reader = StreamReader(store)
        assert [r[4] for r in reader.records("clock")] == [b"c100", b"c200", b"c300"]
        assert {r[4] for r in reader.records("sys.lifecycle")} == {b"l1", b"l2"}
        assert reader.count() == 6 and store.get_meta("note") == b"x"


def test_names_stay_interned_across_reopenings(tmp_path):
    for round_ in range(2):
        with Store(tmp_path / "db") as store:
            writer = StreamWriter(store)
            writer.add("clock", round_, "market_feed", round_ + 1, b"x")
            writer.commit()
    with Store(tmp_path / "db", readonly=True) as store:
        assert [(r[0], r[1], r[2]) for r in StreamReader(store).records()] == [
            ("clock", 0, "market_feed"),
            ("clock", 1, "market_feed"),
        ]


def test_a_corrupt_or_missing_environment_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no LMDB recording there"):
        Store(tmp_path / "absent", readonly=True)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "data.mdb").write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(
        StoreError, match=r"corrupt/data.mdb: not an LMDB file \(no LMDB meta page at its start; 8000 bytes\)"
    ):
        Store(corrupt)


def test_a_newer_schema_is_refused(tmp_path):
    with Store(tmp_path / "db") as store:
        store.put_meta("schema_version", b"99")
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        Store(tmp_path / "db")


def test_a_named_database_first_opened_inside_a_write_transaction_does_not_wait_for_itself(tmp_path):
    with Store(tmp_path / "db") as store:
        with store.write() as txn:  # opening "fresh" needs a write transaction: it must be this one
            txn.put(b"k", b"v", db=store.db("fresh"))
        assert entries(store, "fresh") == [(b"k", b"v")]
    with Store(tmp_path / "db", readonly=True) as store:
        assert not store.has("never") and entries(store, "never") == []


def test_a_checkpoint_keeps_its_journal_from_a_horizon_and_only_for_its_run(tmp_path):
    with Store(tmp_path / "db") as store:
        for upto in (100, 200, 300):
            write_checkpoint(
                store,
                "lgbm_ai",
                Checkpoint(run_id=7, upto=upto, epoch=1, seqs={"sig.lgbm_ai": upto // 100}, state=b"s%d" % upto),
                journal=(upto, b"j%d" % upto),
                keep_journal_from=200,
            )
        found = read_checkpoint(store, "lgbm_ai", run_id=7)
        assert (found.upto, found.state, found.seqs) == (300, b"s300", {"sig.lgbm_ai": 3})
        assert read_journal(store, "lgbm_ai", upto=300) == [b"j200", b"j300"]
        assert read_journal(store, "lgbm_ai", upto=250) == [b"j200"]
        assert read_checkpoint(store, "lgbm_ai", run_id=8) is None  # another run never resumes this one
        assert read_checkpoint(store, "trader", run_id=7) is None


def test_an_older_schema_is_read_but_not_written_until_migrated(tmp_path):
    with Store(tmp_path / "db") as store:
        store.put_meta("schema_version", b"1")
    with Store(tmp_path / "db", readonly=True) as store:
        assert store.schema_version == 1
    with pytest.raises(StoreError, match=r"schema version 1 is older .* run `python -m supervisor db migrate"):
        Store(tmp_path / "db")


def test_saved_outbox_frames_come_back_until_every_acknowledger_has_them(tmp_path):
    with Store(tmp_path / "cp", durable=False) as store:
        checkpoint = Checkpoint(run_id=1, upto=20, epoch=0, seqs={}, state=b"")
        write_checkpoint(store, "lava_ai", checkpoint, outbox=([(10, b"a"), (20, b"b")], -1))
        write_checkpoint(store, "lava_ai", checkpoint, outbox=([(30, b"c")], 10))
        assert read_outbox(store, "lava_ai", 30) == [(20, b"b"), (30, b"c")]
        assert read_outbox(store, "lava_ai", 20) == [(20, b"b")]
        write_checkpoint(store, "lava_ai", checkpoint, outbox=([], 30))  # every frame is had: none is left
        write_checkpoint(store, "lava_ai", checkpoint, outbox=([(40, b"d")], 30))
        assert read_outbox(store, "lava_ai", 99) == [(40, b"d")]
