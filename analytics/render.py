"""The report document as Markdown and as HTML with its plots embedded.

Consumes the document of `analytics.report` and the plots of `analytics.plots`; produces text.
Both say the same: the run, the stop reason, iterations, then in-sample and out-of-sample each
with the criteria table, the baselines, per model, per symbol and the flagged gaps.
"""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from pathlib import Path

STRATEGY_COLUMNS = (("trades", "trades", "{}"), ("win_rate", "win rate", "pct"), ("roi", "ROI", "pct"),
                    ("total_pnl", "PnL (USDT)", "{:.2f}"), ("max_drawdown", "max DD", "pct"),
                    ("sharpe", "Sharpe", "{:.2f}"), ("profit_factor", "profit factor", "{:.2f}"),
                    ("exposure", "exposure", "pct"))


def fmt(value: object, style: str = "{}") -> str:
    if value is None:
        return "-"
    if style == "pct":
        return f"{float(value) * 100:.1f} %"
    return style.format(value)


def tables(document: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for every table of the report, in order."""
    found = [("Iterations (train: learning on; validate: weights frozen)",
              ["iteration", "train trades", "train win rate", "train ROI", "validate trades", "validate win rate",
               "validate ROI", "fewest trades on a symbol (validate)", "weights version"],
              [[str(row["iteration"]), *_iteration_cells(row.get("train")), *_iteration_cells(row.get("validate")),
                fmt((row.get("validate") or {}).get("min_trades_per_symbol")), fmt(row.get("weights_version"))]
               for row in document["iterations"]])]
    for key, title in (("in_sample", "In-sample (training window)"), ("out_of_sample", "Out-of-sample (test window)")):
        section = document.get(key)
        if not section:
            found.append((f"{title}: not run", ["note"], [["the run was interrupted before this session"]]))
            continue
        window = section["window"]
        label = f"{title}, session {section['session']}, {window['start']} .. {window['end']}"
        found.append((f"{label}: the seed's production criteria", ["criterion", "value", "met"],
                      [[c["criterion"], c["value"], {True: "yes", False: "no", None: "n/a"}[c["met"]]] for c in section["criteria"]]))
        rows = [["learned (as traded)", *_strategy_cells(section["metrics"])]]
        rows += [[name, *_strategy_cells(metrics)] for name, metrics in section["baselines"].items()]
        found.append((f"{label}: strategy and baselines", ["strategy", *[c[1] for c in STRATEGY_COLUMNS]], rows))
        found.append((f"{label}: per model (its shadow book: its votes alone, traded like the trader)",
                      ["model", "votes", "abstentions", "shadow equity (USDT)", "shadow ROI"],
                      [[m, str(d["votes"]), str(d["abstentions"]), fmt(d["shadow_equity"], "{:,.2f}"),
                        fmt(d["shadow_roi"], "pct")] for m, d in section["per_model"].items()]))
        found.append((f"{label}: per symbol", ["symbol", *[c[1] for c in STRATEGY_COLUMNS[:-1]]],
                      [[s, *_strategy_cells(d)[:-1]] for s, d in section["per_symbol"].items()]))
        found.append((f"{label}: gap ledger", ["symbol", "from", "to", "kind", "detail"],
                      [[g["symbol"], _minute(g["start"]), _minute(g["end"]), g["kind"], g["detail"]] for g in section["gaps"]]
                      or [["-", "-", "-", "-", "no gaps in this window"]]))
    return found


def _minute(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iteration_cells(metrics: dict | None) -> list[str]:
    metrics = metrics or {}
    return [fmt(metrics.get("trades")), fmt(metrics.get("win_rate"), "pct"), fmt(metrics.get("roi"), "pct")]


def _strategy_cells(metrics: dict) -> list[str]:
    return [fmt(metrics.get(key), style) for key, _, style in STRATEGY_COLUMNS]


def summary_lines(document: dict) -> list[str]:
    windows = ", ".join(f"{kind} {w['start']} .. {w['end']} ({w['days']:g} days)" for kind, w in document["windows"].items())
    kept = document.get("kept") or {}
    lines = [f"Run {document['run']} on {document['source']} ({document['interval']} bars; "
             f"{', '.join(document['symbols'])}); algorithm {document['algorithm']}, seed {document['seed']}, "
             f"config {document['config_hash']}.",
             f"Windows: {windows}.",
             f"Kept: the weights validated in {kept.get('session', '-')}, stored as weights version {kept.get('version', '-')}."]
    if document["interrupted"]:
        lines.append("The run was interrupted (Ctrl-C); what was recorded is reported.")
    for key in ("in_sample", "out_of_sample"):
        section = document.get(key)
        if section:
            if section.get("synthetic"):
                lines.append(f"{key}: SYNTHETIC market data.")
            lines.extend(f"{key}: {note}" for note in section.get("llm", []))
    return lines


def markdown(document: dict, plots: dict[str, dict]) -> str:
    out = [f"# Peper training report, run {document['run']}", "", *[f"- {line}" for line in summary_lines(document)], ""]
    for title, header, rows in tables(document):
        out += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
        out.append("")
    out.append("## Plots")
    out += [f"![{name}]({plot['file']})" for name, plot in plots.items()]
    return "\n".join(out) + "\n"


def html_page(document: dict, plots: dict[str, dict], plots_dir: Path) -> str:
    escape = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>Peper training report, run {document['run']}</title>",
           "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;margin:8px 0}"
           "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}</style>",
           f"</head><body><h1>Peper training report, run {document['run']}</h1><ul>"]
    out += [f"<li>{escape(line)}</li>" for line in summary_lines(document)]
    out.append("</ul>")
    for title, header, rows in tables(document):
        out.append(f"<h2>{escape(title)}</h2><table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>")
        out += ["<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows]
        out.append("</table>")
    out.append("<h2>Plots</h2>")
    for name, plot in plots.items():
        encoded = base64.b64encode((plots_dir / plot["file"]).read_bytes()).decode()
        out.append(f"<h3>{escape(name)}</h3><img alt='{escape(name)}' src='data:image/png;base64,{encoded}'>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
