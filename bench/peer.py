"""Peer benchmark: nautilus_trader's BacktestEngine on the same bars, as the yardstick for replay speed.

Consumes the shared 1m klines (the replay window's 5 symbols) and nautilus_trader (the `bench`
extra, never a runtime dependency); produces the section `peer`: `nautilus_bars_per_s` (bars
through `engine.run()` with its example EMA 10/20 crossover strategy on every symbol; loading and
wrangling the bars is timed apart as `nautilus_load_s`), and, when the replay benchmark ran in the
same invocation, `ratio` = our full-topology replay bars/s / nautilus bars/s.
"""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

from bench.data import KLINES, SYMBOLS
from config.times import parse_time
from marketdata.sources import load_source
from marketdata.table import KlineTable


def _instrument(symbol: str, first_price: float):
    from nautilus_trader.model import currencies
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CurrencyPair
    from nautilus_trader.model.objects import Price, Quantity

    base = getattr(currencies, symbol.removesuffix("USDT"))
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol(symbol), Venue("BINANCE")), raw_symbol=Symbol(symbol),
        base_currency=base, quote_currency=currencies.USDT, price_precision=5, size_precision=4,
        price_increment=Price(1e-05, precision=5), size_increment=Quantity(1e-04, precision=4),
        lot_size=None, max_quantity=None, min_quantity=None, max_notional=None, min_notional=None,
        max_price=None, min_price=None, margin_init=Decimal(0), margin_maint=Decimal(0),
        maker_fee=Decimal("0.001"), taker_fee=Decimal("0.001"), ts_event=0, ts_init=0,
    )


def run_nautilus(table: KlineTable) -> tuple[float, float, int, int]:
    """(seconds in engine.run(), seconds loading, bars, orders filled) for an EMA 10/20 cross on every symbol."""
    import pandas as pd
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.examples.strategies.ema_cross import EMACross, EMACrossConfig
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.persistence.wranglers import BarDataWrangler

    started = time.perf_counter()
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(Venue("BINANCE"), OmsType.NETTING, AccountType.MARGIN, [Money(10_000_000, USDT)], base_currency=USDT)
    bars = 0
    for index, symbol in enumerate(table.symbols):
        rows = table.symbol_index == index
        frame = pd.DataFrame({column: table.values[column][rows] for column in ("open", "high", "low", "close", "volume")},
                             index=pd.to_datetime(table.open_time[rows] + table.interval_ms, unit="ms", utc=True))
        instrument = _instrument(symbol, float(frame["close"].iloc[0]))
        bar_type = BarType.from_str(f"{symbol}.BINANCE-{table.interval_ms // 60_000}-MINUTE-LAST-EXTERNAL")
        engine.add_instrument(instrument)
        data = BarDataWrangler(bar_type, instrument).process(frame)
        engine.add_data(data)
        bars += len(data)
        size = Decimal(str(round(1_000 / float(frame["close"].iloc[0]), 4) or 0.0001))
        engine.add_strategy(EMACross(EMACrossConfig(
            instrument_id=instrument.id, bar_type=bar_type, trade_size=size, fast_ema_period=10, slow_ema_period=20,
            subscribe_trade_ticks=False, subscribe_quote_ticks=False, request_bars=False, strategy_id=f"EMACross-{index:03d}",
            order_id_tag=f"{index:03d}")))
    loaded = time.perf_counter()
    engine.run()
    ran = time.perf_counter()
    fills = len(engine.trader.generate_order_fills_report())
    engine.dispose()
    return ran - loaded, loaded - started, bars, fills


def run(runs: int, quick: bool, window: tuple[str, str] | None = None) -> dict[str, object]:
    start, end = window or (("2021-04-02", "2021-04-05") if quick else ("2021-04-02", "2021-05-02"))
    table = load_source(str(KLINES), interval="1m", symbols=SYMBOLS, start_ms=parse_time(start), end_ms=parse_time(end))
    rates, loads = [], []
    for _ in range(runs):
        run_s, load_s, bars, fills = run_nautilus(table)
        rates.append(round(bars / run_s, 1))
        loads.append(round(load_s, 2))
    return {"window": f"{start} .. {end}", "bars": bars, "nautilus_bars_per_s": statistics.median(rates),
            "nautilus_bars_per_s_runs": rates, "nautilus_load_s": statistics.median(loads), "nautilus_load_s_runs": loads, "nautilus_orders_filled": fills,
            "strategy": "nautilus_trader examples EMACross, EMA 10/20, one per symbol"}
