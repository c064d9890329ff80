"""Draw a `MonitorState` as Rich panels: actors, market, signals, weights, trading (the paper book, and
the exchange's orders and holdings when an executor runs), LLM, recorder.

Consumes the state and the terminal size; produces one renderable. At 80x24 every panel keeps
its essentials (one row per actor, one per symbol); larger terminals get two columns and more rows.
Every number carries its unit.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from analytics.recording import reason_kind
from messages.counters import Counters, ExecutorCounters, NoCounters
from monitor.state import MonitorState

SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 16) -> str:
    values = values[-width:]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int((v - low) / span * (len(SPARK) - 1) + 0.5))] for v in values)


def _table(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False, expand=True, header_style="bold")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right", no_wrap=True)
    return table


def actors_panel(state: MonitorState) -> Panel:
    table = _table("actor", "state", "pid", "up", "rst", "hb", "in/s", "out/s", "drop")
    if state.status:
        for actor in state.status.actors:
            rate_in, rate_out = state.rates.rates.get(actor.name, (0.0, 0.0))
            table.add_row(
                actor.name,
                actor.state,
                str(actor.pid or "-"),
                _duration(actor.uptime_s),
                str(actor.restarts),
                "-" if actor.heartbeat_age_s is None else f"{actor.heartbeat_age_s:.1f}s",
                f"{rate_in:,.0f}",
                f"{rate_out:,.0f}",
                str(actor.malformed + actor.seq_gaps),
            )
    title = "actors"
    if state.status:
        title += f" · supervisor pid {state.status.daemon_pid}, up {_duration(state.status.uptime_s)}"
    subtitle = state.daemon_note or None
    return Panel(table, title=title, subtitle=subtitle, title_align="left", subtitle_align="left")


def market_panel(state: MonitorState) -> Panel:
    table = _table("symbol", "last (USDT)", "change", "bar age")
    for symbol, (first, last) in sorted(state.prices.items()):
        change = (last / first - 1) * 100 if first else 0.0
        age, late = state.bar_age(symbol)
        table.add_row(
            symbol,
            f"{last:,.4f}",
            Text(f"{change:+.2f} %", style="green" if change >= 0 else "red"),
            Text("-" if age is None else f"{age:,.0f} s" + (" LATE" if late else ""), style="bold red" if late else ""),
        )
    clock = (
        "-" if state.bar_time is None else datetime.fromtimestamp(state.bar_time / 1000, UTC).strftime("%Y-%m-%d %H:%M")
    )
    kind = "live" if state.mode == "live" else f"replay x{state.speed:,.0f} real time"
    label = " SYNTHETIC" if state.synthetic else ""
    return Panel(Group(Text(f"bar {clock} UTC · {kind}"), table), title=f"market{label}", title_align="left")


def signals_panel(state: MonitorState, rows: int) -> Panel:
    symbols = sorted(state.prices)[:rows]
    models = sorted(state.votes)
    table = _table("symbol", *models)
    for symbol in symbols:
        cells = []
        for model in models:
            action, confidence, reason = state.votes[model].get(symbol, (None, 0.0, ""))
            cells.append(f"{action} {confidence:.2f}" if action else f"- {reason_kind(reason)[:10]}")
        table.add_row(symbol, *cells)
    return Panel(table, title="signals · latest vote and confidence (- = abstained, why)", title_align="left")


def weights_panel(state: MonitorState) -> Panel:
    table = _table("expert", "weight", "history", "shadow PnL")
    series = state.weight_series()
    for model, values in series.items():
        equity = state.shadow_equity.get(model)
        table.add_row(
            model,
            f"{values[-1]:.3f}",
            sparkline(values),
            "-" if equity is None else f"{equity - state.initial_equity:+,.0f} USDT",
        )
    version = max(state.weights) if state.weights else "-"
    return Panel(table, title=f"weights · version {version}", title_align="left")


def trading_panel(state: MonitorState) -> Panel:
    figures = state.trading_figures()
    win = "-" if figures["win_rate"] is None else f"{figures['win_rate'] * 100:.1f} %"
    lines = [
        f"open positions: {len(state.open_positions)} "
        + " ".join(f"{p.symbol}({p.side[0]})" for p in list(state.open_positions.values())[:4]),
        f"closed trades: {figures['trades']}   win rate: {win}   today's PnL: {state.day_pnl():+,.2f} USDT",
        (
            f"ROI (marked): {figures['roi'] * 100:+.2f} %   realised PnL: {figures['realised_pnl']:+,.2f} USDT   "
            f"max drawdown: {figures['max_drawdown'] * 100:.2f} %"
        ),
    ]
    executor = _counters(state, "executor")
    if not isinstance(executor, ExecutorCounters):
        return Panel(Text("\n".join(lines)), title="trading (paper)", title_align="left")
    refused = sum(executor.refused.values())
    reason = max(executor.refused, key=executor.refused.__getitem__, default="")
    held = " ".join(f"{symbol.removesuffix('USDT')} {units:g}" for symbol, units in executor.holdings.items() if units)
    lines[:0] = [
        (
            f"exchange{' HALTED' if executor.halted else ''}: {executor.orders} orders, {executor.filled} filled, "
            f"{refused} refused{f' (most: {reason})' if reason else ''}"
        ),
        f"held there (base units): {held or 'nothing'}",
    ]
    return Panel(Text("\n".join(lines)), title="trading (paper · exchange)", title_align="left")


def llm_panel(state: MonitorState) -> Panel:
    llm = state.llm
    counters = _counters(state, "mistral_ai")
    requests, hits = getattr(counters, "llm_requests", 0), getattr(counters, "cache_hits", 0)
    asked = requests + hits
    hit_rate = f"{hits / asked * 100:.0f} %" if asked else "-"
    if llm is None:
        text = "no status yet"
    else:
        latency = "-" if llm.latency_p50_ms is None else f"{llm.latency_p50_ms:.0f} ms"
        text = f"{llm.state}, restarts {llm.restarts}, probe p50 {latency}"
        if llm.last_error:
            text += f"\n{llm.last_error[:70]}"
    return Panel(Text(f"{text}\ncache hit rate {hit_rate} of {asked} asks"), title="LLM server", title_align="left")


def recorder_panel(state: MonitorState) -> Panel:
    rate_in, _ = state.rates.rates.get("recorder", (0.0, 0.0))
    backup = "none yet" if state.last_backup is None else f"{_duration(time.time() - state.last_backup)} ago"
    lines = [
        f"writes {rate_in:,.0f} msg/s · LMDB {state.lmdb_bytes / 2**20:,.1f} MiB · last backup {backup}",
        f"monitor: {state.received:,} msgs seen, {state.dropped:,} skipped (never the topology's)",
    ]
    for gap in list(state.gaps)[-3:]:
        lines.append(f"gap {gap.kind} {gap.symbol} {_minute(gap.start)}..{_minute(gap.end)} {gap.detail[:30]}")
    if not state.gaps:
        lines.append("gap ledger: no gaps")
    return Panel(Text("\n".join(lines)), title="recorder", title_align="left")


def render(state: MonitorState, width: int, height: int) -> Layout:
    layout = Layout()
    actors = len(state.status.actors) if state.status else 3
    symbols = max(1, len(state.prices))
    if width >= 140 and height >= 30:
        layout.split_column(Layout(name="top", size=actors + 3), Layout(name="bottom"))
        layout["top"].split_row(Layout(actors_panel(state), ratio=3), Layout(market_panel(state), ratio=2))
        layout["bottom"].split_row(Layout(name="left"), Layout(name="right"))
        layout["bottom"]["left"].split_column(
            Layout(signals_panel(state, symbols), size=symbols + 3),
            Layout(trading_panel(state), size=trading_rows(state)),
            Layout(recorder_panel(state)),
        )
        layout["bottom"]["right"].split_column(
            Layout(weights_panel(state), size=len(state.weight_series()) + 3), Layout(llm_panel(state))
        )
        return layout
    # 80x24 and up: stacked, each panel trimmed to its essentials
    layout.split_column(
        Layout(actors_panel(state), size=min(actors + 3, max(5, height - 17))),
        Layout(name="middle", size=max(symbols, 4) + 3),
        Layout(name="lower", size=trading_rows(state)),
        Layout(name="bottom"),
    )
    layout["middle"].split_row(Layout(market_panel(state)), Layout(weights_panel(state)))
    layout["lower"].split_row(Layout(trading_panel(state)), Layout(llm_panel(state)))
    layout["bottom"].split_row(Layout(signals_panel(state, symbols)), Layout(recorder_panel(state)))
    return layout


def render_text(state: MonitorState, width: int = 120, height: int = 40) -> str:
    """The screen as plain text (tests, `--once`)."""
    console = Console(width=width, height=height, record=True, file=io.StringIO(), color_system=None)
    console.print(render(state, width, height), height=height)
    return console.export_text()


def trading_rows(state: MonitorState) -> int:
    """The trading panel's height: the exchange's two lines first when an executor runs (and a row for a
    paper line that wraps), the paper book's three, the borders."""
    return 8 if isinstance(_counters(state, "executor"), ExecutorCounters) else 5


def _counters(state: MonitorState, actor: str) -> Counters:
    if state.status:
        for status in state.status.actors:
            if status.name == actor:
                return status.counters
    return NoCounters()


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _minute(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%m-%d %H:%M")
