"""`report --db` on a plain `run` recording: the verdict first, every baseline beside the session as
traded, the price charts' entries and exits equal to the recorded trades, an HTML page that parses
and embeds every plot, and a new folder for every report (or `--out`)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import msgspec
import pytest

from tests.integration.test_trading import REAL_MODELS, SYMBOLS, export, run_replay, topology


def report(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supervisor", "report", "--config", str(workdir / "peper.toml"), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("report")
    db = base / "session" / "recording.lmdb"
    workdir, _ = run_replay(base, "session", topology(db, REAL_MODELS, end="2021-01-02"))
    return workdir, db


def test_a_plain_recording_reports_its_verdict_baselines_and_trades_on_the_price(recorded):
    workdir, db = recorded
    result = report(workdir, "--db", str(db))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("As traded: ROI ")
    document = msgspec.json.decode((workdir / "reports/recording/report.json").read_bytes())
    assert document["kind"] == "recording" and document["bars"] == 1440 * len(SYMBOLS)
    assert set(document["strategies"]) >= {
        "as_traded",
        "cash",
        "buy_and_hold",
        "equal_weights",
        "initial_weights",
        "trading_ai",
        "lava_ai",
    }
    trades = export(db, "trades")
    assert document["strategies"]["as_traded"]["trades"] >= len(trades) > 0  # and the lots still open at the end
    assert document["plots"]["equity"]["series"]["as_traded"]["final"] == pytest.approx(
        10_000 * (1 + document["strategies"]["as_traded"]["roi"])
    )
    for symbol in SYMBOLS:
        drawn = document["plots"][f"trades-{symbol}"]["series"]
        mine = [t for t in trades if t["symbol"] == symbol]
        assert drawn["bars"] == 1440
        assert drawn["entries"] == [[t["entry_time"], t["entry_price"]] for t in mine]
        assert drawn["winning_exits"] == [[t["exit_time"], t["exit_price"]] for t in mine if t["pnl"] > 0]
        assert drawn["losing_exits"] == [[t["exit_time"], t["exit_price"]] for t in mine if t["pnl"] <= 0]
    page = (workdir / "reports/recording/report.html").read_text()
    parser = Images()
    parser.feed(page)
    assert len(parser.images) == len(document["plots"]) == 2 + len(SYMBOLS)
    assert all(src.startswith("data:image/png;base64,iVBORw0KGgo") for src in parser.images)
    assert page.index("As traded: ROI") < page.index("<table>")  # the verdict opens the report


def test_every_report_gets_a_new_folder_or_the_one_given(recorded, tmp_path):
    workdir, db = recorded
    folders = [set((workdir / "reports").glob("recording*"))]
    for _ in range(2):
        assert report(workdir, "--db", str(db)).returncode == 0
        folders.append(set((workdir / "reports").glob("recording*")))
    new = [after - before for before, after in itertools.pairwise(folders)]
    assert all(len(found) == 1 for found in new) and new[0] != new[1]
    (second,) = new[1]
    assert (second / "report.md").read_text().startswith("# Peper report of the recording recording.lmdb")
    assert report(workdir, "--db", str(db), "--out", str(tmp_path / "mine")).returncode == 0
    assert (tmp_path / "mine/report.json").is_file() and (tmp_path / "mine/plots/equity.png").is_file()
    refused = report(workdir, "--db", str(db), "--run", "1")
    assert refused.returncode != 0 and "--run and --compare read a training catalog (--catalog)" in refused.stderr
    mistaken = report(workdir, "--catalog", str(db))
    assert mistaken.returncode != 0 and "holds no training run: for a plain run's recording, give it as --db" in (
        mistaken.stderr
    )


def test_the_commands_help_works_from_a_folder_without_peper_toml_and_lists_defaults(tmp_path):
    peper = Path(sys.executable).with_name("peper")  # the console script
    for command in ("demo", "report", "export", "download", "run"):
        result = subprocess.run(
            [str(peper), command, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0 and result.stdout.startswith("usage: "), (command, result.stderr)
        assert "(default:" in result.stdout, command
    assert not (tmp_path / "peper.toml").exists()
