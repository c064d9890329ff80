"""`export stream|decisions|trades|weights --db PATH [--format jsonl|csv]`: a recording as JSON lines or CSV (DESIGN.md §8).

Consumes an LMDB recording (opened read-only, so it works while the recorder writes; an older
schema is read as it is, `storage.schema`); produces one JSON object per line on stdout:
- stream: `{"topic", "seq", "src", "ts_event", "type", "data", "ts_sent", "epoch"}` in key order
  (topic, then market time); `ts_sent` and `epoch` are the only wall-clock fields;
- decisions: `symbol, bar_time, weights_version, score, action, votes[{model, action, confidence}]`;
- trades: `trade_id, symbol, side, entry_time, entry_price, exit_time, exit_price, fees, pnl,
  return, votes`;
- weights: `version, effective_from, weights, cause`, from the `weights` database.
Decisions and trades come in market-time order; none of them holds a wall-clock field, so two
replays of the same data export identical decisions, trades and weights. `--format csv` writes the
same rows for a spreadsheet or pandas: a header, nested values flattened (`weights.<model>`,
`<model>.action` and `<model>.confidence` for votes, a list as one ";"-joined cell). `--catalog PATH --session ID` reads one
session of a training catalog instead (ids such as `1.span`, listed when the id is not there).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import TextIO

import msgspec

from analytics.exports import flat, record_rows
from config.schema import PeperConfig
from messages.codec import Codec
from messages.errors import ConfigError, ReportError
from messages.market import KlineBatch
from messages.signals import VoteBatch
from storage.catalog import Catalog
from storage.store import Store
from storage.stream import StreamReader

ENVELOPE = ("seq", "src", "ts_event", "ts_sent", "epoch", "type")


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    export = commands.add_parser("export", parents=[common], help="print recorded data as JSON lines or CSV")
    export.add_argument("what", choices=["stream", "decisions", "trades", "weights"], help="what to export")
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", metavar="PATH", help="a recording (what `run --db` wrote)")
    source.add_argument("--catalog", metavar="PATH", help="a training catalog: with --session, one of its sessions")
    export.add_argument("--session", metavar="ID", help="with --catalog: which session (e.g. 1.span)")
    export.add_argument("--topic", help="stream only: just this topic (e.g. md.kline)")
    export.add_argument(
        "--format",
        choices=["jsonl", "csv"],
        default="jsonl",
        help="decisions, trades, weights: JSON lines (default) or CSV with a header",
    )


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    if args.catalog and not args.session or args.session and not args.catalog:
        raise ConfigError("export: --session ID names a session of the training catalog --catalog PATH; give both")
    db = session_recording(Path(args.catalog), args.session) if args.catalog else Path(args.db)
    try:
        if args.what == "stream":
            export_stream(db, args.topic)
        else:
            export_records(db, args.what, as_csv=args.format == "csv")
    except BrokenPipeError:  # the reader (e.g. `head`) has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def session_recording(catalog_path: Path, session_id: str) -> Path:
    """Where a training catalog keeps the recording of one of its sessions."""
    catalog = Catalog(catalog_path, readonly=True)
    try:
        found = {session.id: session for session in catalog.sessions()}
        if session_id not in found:
            raise ReportError(
                f"{catalog_path} has no session {session_id!r}; it has: "
                + (", ".join(found) or "none (is it a training catalog?)")
            )
        return catalog_path.parent / found[session_id].recording
    finally:
        catalog.close()


def export_stream(db: Path, topic: str | None, out: TextIO = sys.stdout) -> int:
    codec = Codec()
    encoder = msgspec.json.Encoder()
    written = 0
    with Store(db, readonly=True) as store:
        for name, _, _, _, payload in StreamReader(store).records(topic):
            message = codec.decode_payload(payload)
            line = {
                "topic": name,
                "seq": message.seq,
                "src": message.src,
                "ts_event": message.ts_event,
                "type": type(message).__name__,
                "data": _data(message),
                "ts_sent": message.ts_sent,
                "epoch": message.epoch,
            }
            out.write(encoder.encode(line).decode())
            out.write("\n")
            written += 1
    return written


def _data(message) -> dict[str, object]:
    """A message's fields without the envelope; array-bytes columns as lists, one value a row."""
    if isinstance(message, KlineBatch | VoteBatch):
        plain = {
            k: getattr(message, k)
            for k in message.__struct_fields__
            if not k.startswith("raw_") and k not in ("symbols", "reasons", *ENVELOPE)
        }
        return plain | message.columns()
    return {k: v for k, v in msgspec.to_builtins(message).items() if k not in ENVELOPE}


def export_records(db: Path, what: str, out: TextIO = sys.stdout, as_csv: bool = False) -> int:
    """decisions, trades or weights as JSON lines (or CSV); returns how many."""
    rows = record_rows(db, what)
    if as_csv:
        write_csv([flat(row) for row in rows], out)
        return len(rows)
    encoder = msgspec.json.Encoder()
    for row in rows:
        out.write(encoder.encode(row).decode())
        out.write("\n")
    return len(rows)


def write_csv(rows: list[dict], out: TextIO) -> None:
    header = list(dict.fromkeys(column for row in rows for column in row))
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
