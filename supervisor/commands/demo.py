"""`python -m supervisor demo`: the whole system offline, in under two minutes — and its configuration.

The demo's configuration lives here and nowhere else (`demo_config`): the config's own topology on
the SYNTHETIC market (5m bars, daily decisions; 90 days of training, 30 of validation, 30 of test,
5 symbols; one fold) at full speed with the monitor following the span's replay, mistral_ai on the
configured model, else on the fallback small model (`llm.models`, SmolLM2-135M-Instruct), else on a
tiny random-weight model it writes itself (and says which), ending with a report and its plots.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import threading
from pathlib import Path

import msgspec
from rich.console import Console

from bus.runtime import LOG_LEVEL_ENV
from config.schema import PeperConfig
from llm.models import served_model
from llm.tiny_model import write_tiny_model
from monitor.app import Monitor
from storage.catalog import Catalog
from supervisor.commands.train import DaemonTopology, train_then_report
from training.loop import train
from training.windows import Plan, resolve_plan

DEMO_DIR = Path("data/demo")
DEMO_WINDOWS = {
    "train_from": "2021-01-01",
    "train_to": "2021-04-01",
    "validate_from": None,
    "validate_to": "2021-05-01",
    "test_from": None,
    "test_to": "2021-05-31",
}


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    commands.add_parser(
        "demo", parents=[common], help="offline tour: synthetic market, whole topology, monitor, report"
    )


def main(config: PeperConfig, args: argparse.Namespace) -> int:
    run_dir = args.run_dir if args.explicit_run_dir else args.run_dir.with_name("peper-demo")
    return demo(config, run_dir)


def demo(config: PeperConfig, run_dir: Path) -> int:
    """The whole system offline in under two minutes; returns the exit status."""
    console = Console()
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.WARNING,
        filename=DEMO_DIR / "supervisor.log",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault(LOG_LEVEL_ENV, "ERROR")
    config = demo_config(config, console)
    catalog_path = DEMO_DIR / "train.lmdb"
    for old in (catalog_path, DEMO_DIR / "train.sessions"):
        shutil.rmtree(old, ignore_errors=True)
    plan = resolve_plan(DEMO_WINDOWS, config.test, 1, 0, 2**62)
    fold = plan.folds[0]
    console.print(
        "Peper demo: a SYNTHETIC market (not real prices), "
        + "; ".join(w.describe() for w in (fold.train, fold.validate, fold.test)),
        markup=False,
        soft_wrap=True,
    )
    catalog = Catalog(catalog_path)
    return train_then_report(
        _train_with_monitor(config, catalog, plan, run_dir, console), catalog, config, console, label="demo-run"
    )


async def _train_with_monitor(config: PeperConfig, catalog: Catalog, plan: Plan, run_dir: Path, console: Console):
    current = {"recording": catalog.recording_path("none")}
    viewer = Monitor(config, run_dir, recording=lambda: current["recording"])
    thread = threading.Thread(target=viewer.run, args=(console,), name="monitor", daemon=True)
    thread.start()
    try:
        return await train(
            config,
            catalog,
            plan,
            lambda: DaemonTopology(run_dir),
            console,
            show_progress=False,
            on_session=lambda path: current.update(recording=path),
        )
    finally:
        viewer.stopping.set()
        thread.join(timeout=5)
        viewer.close()
        console.print()  # the monitor's last frame ends mid-line


def demo_config(config: PeperConfig, console: Console) -> PeperConfig:
    """The config's topology on the synthetic market, quick settings; the fallback small model when
    the Mistral GGUF is missing, a tiny random-weight one when that is not installed either."""
    replace = msgspec.structs.replace
    mistral = config.mistral
    served = served_model(mistral)
    if served is not None and served.packaged is not None:
        console.print(
            f"no Mistral model at {mistral.model_path} ([mistral] model_path): mistral_ai asks {served.name} "
            f"from the {served.packaged.distribution} package, a real small instruct model",
            markup=False,
            soft_wrap=True,
        )
    elif served is None:
        tiny = DEMO_DIR / "tiny-llama.gguf"
        if not tiny.is_file():
            write_tiny_model(tiny)
        console.print(
            f"no Mistral model at {mistral.model_path} ([mistral] model_path): mistral_ai asks a tiny "
            f"random-weight model written to {tiny} instead — its votes are noise, the plumbing is real",
            markup=False,
            soft_wrap=True,
        )
        mistral = replace(mistral, model_path=str(tiny), health_check_interval_s=5.0)
    return replace(
        config,
        feed=replace(config.feed, mode="replay", source="synthetic:7"),
        mistral=mistral,
        mistral_ai=replace(config.mistral_ai, every="7d", max_tokens=max(config.mistral_ai.max_tokens, 192)),
        training=replace(config.training, folds=1),
        database=replace(config.database, training_path=str(DEMO_DIR / "train.lmdb")),
    )
