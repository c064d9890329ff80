"""The report document as tables, Markdown and HTML with its plots embedded.

Consumes the document of `analytics.report` and the plots of `analytics.plots`; produces text.
All three say the same, in the same order: the verdict first, then the folds, the aggregate with
its bootstrap intervals, the seed's criteria, every configuration tried, the policy, each model's
shadow book over the span and the gap ledger. Every figure carries its unit.
"""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from pathlib import Path

FIGURES = (
    ("roi", "ROI", "pct"),
    ("sharpe", "Sharpe (annualised)", "{:.2f}"),
    ("max_drawdown", "max DD", "pct"),
    ("win_rate", "win rate", "pct"),
    ("trades", "trades", "{}"),
    ("turnover", "turnover", "{:.1f}x"),
    ("exposure", "exposure", "pct"),
)


def fmt(value: object, style: str = "{}") -> str:
    if value is None:
        return "-"
    if style == "pct":
        return f"{float(value) * 100:.1f} %"
    return style.format(value)


def strategy_rows(strategies: dict[str, dict]) -> list[list[str]]:
    return [
        [name, *(fmt(metrics.get(key), style) for key, _, style in FIGURES)] for name, metrics in strategies.items()
    ]


def report_title(document: dict) -> str:
    if document.get("kind") == "recording":
        return f"Peper report of the recording {Path(document['db']).name}"
    return f"Peper training report, run {document['run']}"


def tables(document: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for every table of the report, in order."""
    if document.get("kind") == "recording":
        return recording_tables(document)
    figures = [label for _, label, _ in FIGURES]
    metric = document["metric"]
    found = [
        (
            "Folds: each chose on its validation window, then traded its test window",
            ["fold", "validate", "test", f"chosen (validation {metric})", "learned test ROI", "learned test Sharpe"],
            [
                [
                    str(f["number"]),
                    _window(f["validate"]),
                    _window(f["test"]),
                    f"#{f['chosen']} {_changes(f['chosen_changes'])} ({_validated(f['validation'], metric)})",
                    fmt(f["strategies"]["learned"]["roi"], "pct"),
                    fmt(f["strategies"]["learned"]["sharpe"], "{:.2f}"),
                ]
                for f in document["folds"]
            ],
        )
    ]
    for fold in document["folds"]:
        found.append(
            (
                f"Fold {fold['number']}, test window {_window(fold['test'])}",
                ["strategy", *figures],
                strategy_rows(fold["strategies"]),
            )
        )
    intervals = document["intervals"]
    rows = [[*row, _interval(intervals.get(row[0]))] for row in strategy_rows(document["aggregate"])]
    found.append(
        (
            "Aggregate over the test windows, one after another",
            ["strategy", *figures, "learned Sharpe minus this, 95 % CI"],
            rows,
        )
    )
    found.append(
        (
            "The seed's production criteria (aggregate)",
            ["criterion", "value", "met"],
            [
                [c["criterion"], c["value"], {True: "yes", False: "no", None: "n/a"}[c["met"]]]
                for c in document["criteria"]
            ],
        )
    )
    if document.get("iterations"):
        found.append(
            (
                "The seed's loop: each iteration a window after the last, the learner carried on",
                ["iteration", "window", "win rate", "ROI", "trades (vs first)", "max DD", "improved", "criterion met"],
                [
                    [
                        str(i["number"]),
                        _window(i["window"]),
                        fmt(i["figures"]["win_rate"], "pct"),
                        fmt(i["figures"]["roi"], "pct"),
                        f"{i['figures']['trades']} ({fmt(i['trades_vs_first'], '{:.2f}')}x)",
                        fmt(i["figures"]["max_drawdown"], "pct"),
                        {True: "yes", False: "no", None: "-"}[i["improved"]],
                        "yes" if i["met"] else "no",
                    ]
                    for i in document["iterations"]
                ],
            )
        )
    chosen_in = {}
    for fold in document["folds"]:
        chosen_in.setdefault(fold["chosen"], []).append(str(fold["number"]))
    found.append(
        (
            f"Configurations tried: {document['configurations_tried']} (chosen on validation only)",
            [
                "#",
                "configuration",
                *(f"validate {f['number']}: {metric}" for f in document["folds"]),
                "chosen in folds",
            ],
            [
                [
                    str(t["number"]),
                    _changes(t["changes"]),
                    *(_validated(v, metric) for v in t["validation"]),
                    ", ".join(chosen_in.get(t["number"], [])) or "-",
                ]
                for t in document["tried"]
            ],
        )
    )
    policy = document["policy"]
    if policy:
        found.append(
            (
                f"Policy {policy['id']} (what `run --policy {policy['id']}` starts from)",
                ["item", "value"],
                [
                    ["weights version", str(policy["weights_version"])],
                    ["weights", ", ".join(f"{k} {v:.3f}" for k, v in policy["weights"].items())],
                    [
                        "lgbm_ai model version",
                        str(policy["lgbm_version"]) if policy["lgbm_version"] else "none trained",
                    ],
                    ["configuration", _changes(policy["changes"])],
                    ["learned up to", policy["learned_upto"]],
                ],
            )
        )
    span = document["span_session"]
    return found + session_tables(span["per_model"], span["gaps"], f"the span {_window(span['window'])}")


def _validated(figures: dict, metric: str) -> str:
    """A validation window's metric."""
    return fmt(figures[metric], _style(metric))


def recording_tables(document: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    figures = [label for _, label, _ in FIGURES]
    return [
        (
            f"As traded and every baseline on the same bars, {_window(document['window'])}",
            ["strategy", *figures],
            strategy_rows(document["strategies"]),
        ),
        (
            "Each symbol's closed trades (as traded)",
            ["symbol", "trades", "win rate", "PnL (quote)"],
            [
                [symbol, str(m["trades"]), fmt(m["win_rate"], "pct"), fmt(m["total_pnl"], "{:,.2f}")]
                for symbol, m in document["per_symbol"].items()
            ],
        ),
        *session_tables(document["per_model"], document["gaps"], "the recording"),
    ]


def session_tables(per_model: dict, gaps: list[dict], where: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """Each model's shadow book and voting, and the gap ledger, of a recorded session."""
    return [
        (
            f"Each expert over {where} (its shadow book: its portfolio alone, traded like the trader)",
            ["expert", "votes", "abstentions", "shadow equity (USDT)", "shadow ROI"],
            [
                [
                    m,
                    str(d["votes"]),
                    str(d["abstentions"]),
                    fmt(d["shadow_equity"], "{:,.2f}"),
                    fmt(d["shadow_roi"], "pct"),
                ]
                for m, d in per_model.items()
            ],
        ),
        (
            f"Gap ledger of {where}",
            ["symbol", "from", "to", "kind", "detail"],
            [[g["symbol"], _minute(g["start"]), _minute(g["end"]), g["kind"], g["detail"]] for g in gaps]
            or [["-", "-", "-", "-", "no gaps"]],
        ),
    ]


def summary_lines(document: dict) -> list[str]:
    if document.get("kind") == "recording":
        window = document["window"]
        return [
            document["verdict"]["text"],
            f"Recording {document['db']}: {document['bars']:,} bars of {', '.join(document['symbols'])}, "
            f"{_window(window)}; {document['weights_versions']} weights version(s) published."
            + (" SYNTHETIC market data." if document["synthetic"] else ""),
        ]
    span = document["span"]
    lines = [
        document["verdict"]["text"],
        (
            f"Run {document['run']} on {document['source']} ({document['interval']} bars; {', '.join(document['symbols'])}), "
            f"span {span['start']} .. {span['end']} ({span['days']:g} days), {len(document['folds'])} fold(s), "
            f"{document['configurations_tried']} configuration(s) tried, chosen on validation {document['metric']}; "
            f"decisions on {document['decision_interval']} bars; config {document['config_hash']}."
        ),
        f"Deflated Sharpe ratio of the learned policy for the {document['trials']} configurations this catalog "
        f"has tried: {fmt(document['deflated_sharpe'], 'pct')} sure its Sharpe is real."
        + (" The seed's loop met its criterion early." if document.get("stopped_early") else ""),
    ]
    checks = [
        f"fold {f['number']} {fmt(f['reality_check'], '{:.3f}')}"
        for f in document["folds"]
        if f.get("reality_check") is not None
    ]
    if checks:
        lines.append(
            "Reality check on validation (Hansen's SPA p-value that no configuration beat cash): " + ", ".join(checks)
        )
    sure = document["verdict"]["sharpe_better_at_95"]
    lines.append(
        "Learned Sharpe above a baseline's with 95 % confidence (block bootstrap): "
        + (", ".join(sure) if sure else "none")
    )
    span_session = document["span_session"]
    if span_session["synthetic"]:
        lines.append("SYNTHETIC market data.")
    lines.extend(span_session["llm"])
    return lines


def markdown(document: dict, plots: dict[str, dict]) -> str:
    out = [f"# {report_title(document)}", "", *[f"- {line}" for line in summary_lines(document)], ""]
    for title, header, rows in tables(document):
        out += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
        out.append("")
    out.append("## Plots")
    out += [f"![{name}]({plot['file']})" for name, plot in plots.items()]
    return "\n".join(out) + "\n"


def html_page(document: dict, plots: dict[str, dict], plots_dir: Path) -> str:
    escape = html.escape
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{escape(report_title(document))}</title>",
        (
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;margin:8px 0}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}</style>"
        ),
        f"</head><body><h1>{escape(report_title(document))}</h1><ul>",
    ]
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


def _window(window: dict) -> str:
    return f"{window['start'][:16]} .. {window['end'][:16]} ({window['days']:g} days)"


def _changes(changes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "the run's own configuration"


def _style(metric: str) -> str:
    return "{:.2f}" if metric == "sharpe" else "pct"


def _interval(found: dict | None) -> str:
    if not found or found["difference"] is None:
        return "-"
    return f"{found['difference']:+.2f} [{found['low']:+.2f}, {found['high']:+.2f}]"


def _minute(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
