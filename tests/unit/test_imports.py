"""Imports point one way (DESIGN.md §7): every module's imports, parsed, against the package order.

messages <- common <- config <- bus <- storage, marketdata, signals, trading, learning, llm, exchange
<- actors <- training, analytics, monitor <- supervisor, peper <- bench. A package may import packages of its own
layer, but no two packages may import each other (directly or round a longer cycle), and nothing
but tests imports tests. A failure names the module and the import. And the heavy libraries load
only where they are used, so the CLI and the actors start quickly.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.helpers.data import REPO_ROOT

LAYERS = [
    ["messages"],
    ["common"],
    ["config"],
    ["bus"],
    ["storage", "marketdata", "signals", "trading", "learning", "llm", "exchange"],
    ["actors"],
    ["training", "analytics", "monitor"],
    ["supervisor", "peper"],
    ["bench"],
]
LAYER = {package: i for i, packages in enumerate(LAYERS) for package in packages}


def package_imports() -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> the modules that import it."""
    edges: dict[tuple[str, str], list[str]] = {}
    for package in [*LAYER, "tests"]:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module]
                    if isinstance(node, ast.ImportFrom) and node.module and not node.level
                    else []
                )
                for name in names:
                    target = name.split(".")[0]
                    if target != package and (target in LAYER or target == "tests"):
                        edges.setdefault((package, target), []).append(module)
    return edges


def test_every_import_points_down_the_layers_and_nothing_imports_tests():
    wrong = [
        f"{modules[0]} imports {target} (layer {LAYER.get(target, 'tests')}) from {package} (layer {LAYER[package]})"
        for (package, target), modules in package_imports().items()
        if package != "tests" and (target == "tests" or LAYER[target] > LAYER[package])
    ]
    assert not wrong, "imports against the order:\n" + "\n".join(wrong)


def test_no_two_packages_import_each_other_round_any_cycle():
    edges = package_imports()
    graph: dict[str, set[str]] = {}
    for package, target in edges:
        if package != "tests":
            graph.setdefault(package, set()).add(target)

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    return [*path, start]
                if nxt not in path:
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = {" -> ".join(found) for package in graph if (found := cycle_from(package))}
    details = [
        f"{a} -> {b} in {edges[(a, b)][0]}"
        for cycle in cycles
        for a, b in zip(cycle.split(" -> "), cycle.split(" -> ")[1:])
    ]
    assert not cycles, "package cycles:\n" + "\n".join(sorted(cycles)) + "\n" + "\n".join(details)


def test_no_module_of_the_runtime_is_over_300_lines():
    runtime = [REPO_ROOT / "actors" / "base.py", *(REPO_ROOT / "actors" / "runtime").glob("*.py")]
    long = {
        path.name: len(path.read_text().splitlines()) for path in runtime if len(path.read_text().splitlines()) > 300
    }
    assert not long, long


HEAVY = ("lightgbm", "matplotlib", "binance")  # each costs every process that loads it 0.3-0.5 s of start-up


def test_the_cli_and_a_replays_feed_start_without_lightgbm_matplotlib_or_python_binance():
    """They load only where they are used: training a model, drawing a plot, the live feed, `download`."""
    probe = (
        "import contextlib, io, sys\n"
        "import actors.market_feed, actors.trader, actors.recorder\n"
        "from supervisor.__main__ import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['export', '--help'])\n"
        f"print(' '.join(sorted(name for name in sys.modules if name.split('.')[0] in {HEAVY!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert loaded == []
