"""Run nautilus_trader's BacktestEngine on the shared klines and print one JSON line of figures.

`python -m bench.peers.nautilus_run --start T --end T [--data DIR] [--interval 1m]`: the bars of the
five symbols as nautilus `Bar`s (wrangled from our loaded table; timed apart as `load_seconds`),
one `EmaCrossLongOnly` per symbol — EMA 10/20 on closes, buy a fixed 1,000 USDT at market when the
fast crosses above the slow while flat, close when it crosses below; nothing logged, no historical
requests, no tick subscriptions — on a spot cash account with a 0.1 % taker fee; logging bypassed
and no post-run analysis inside the timed `engine.run()`. Prints {bars, seconds, load_seconds,
trades (closed positions), orders_filled, peak_rss_mb}.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from decimal import Decimal
from pathlib import Path

from nautilus_trader.config import StrategyConfig
from nautilus_trader.indicators import ExponentialMovingAverage
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from bench.data import KLINES, SYMBOLS
from common.times import parse_time
from marketdata.sources import load_source

NOTIONAL = 1_000  # USDT per entry


class EmaCrossConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal


class EmaCrossLongOnly(Strategy):
    def __init__(self, config: EmaCrossConfig) -> None:
        super().__init__(config)
        self.fast = ExponentialMovingAverage(10)
        self.slow = ExponentialMovingAverage(20)
        self.size: Quantity | None = None
        self.long = False

    def on_start(self) -> None:
        instrument = self.cache.instrument(self.config.instrument_id)
        self.size = instrument.make_qty(self.config.trade_size)
        self.register_indicator_for_bars(self.config.bar_type, self.fast)
        self.register_indicator_for_bars(self.config.bar_type, self.slow)
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        if not self.slow.initialized:
            return
        if not self.long and self.fast.value > self.slow.value:
            self.submit_order(self.order_factory.market(self.config.instrument_id, OrderSide.BUY, self.size))
            self.long = True
        elif self.long and self.fast.value < self.slow.value:
            self.close_all_positions(self.config.instrument_id)
            self.long = False

    def on_stop(self) -> None:
        self.close_all_positions(self.config.instrument_id)


def instrument_for(symbol: str):
    from nautilus_trader.model import currencies
    from nautilus_trader.model.identifiers import Symbol, Venue
    from nautilus_trader.model.instruments import CurrencyPair
    from nautilus_trader.model.objects import Price

    base = getattr(currencies, symbol.removesuffix("USDT"))
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol(symbol), Venue("BINANCE")),
        raw_symbol=Symbol(symbol),
        base_currency=base,
        quote_currency=currencies.USDT,
        price_precision=5,
        size_precision=4,
        price_increment=Price(1e-05, precision=5),
        size_increment=Quantity(1e-04, precision=4),
        lot_size=None,
        max_quantity=None,
        min_quantity=None,
        max_notional=None,
        min_notional=None,
        max_price=None,
        min_price=None,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
        ts_event=0,
        ts_init=0,
    )


def run(data: Path, start: str, end: str, interval: str) -> dict[str, object]:
    import pandas as pd
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.persistence.wranglers import BarDataWrangler

    started = time.perf_counter()
    table = load_source(
        str(data), interval=interval, symbols=SYMBOLS, start_ms=parse_time(start), end_ms=parse_time(end)
    )
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True), run_analysis=False))
    engine.add_venue(Venue("BINANCE"), OmsType.NETTING, AccountType.CASH, [Money(10_000_000, USDT)])
    bars = 0
    for index, symbol in enumerate(table.symbols):
        rows = table.symbol_index == index
        frame = pd.DataFrame(
            {column: table.values[column][rows] for column in ("open", "high", "low", "close", "volume")},
            index=pd.to_datetime(table.open_time[rows] + table.interval_ms, unit="ms", utc=True),
        )
        instrument = instrument_for(symbol)
        bar_type = BarType.from_str(f"{symbol}.BINANCE-{table.interval_ms // 60_000}-MINUTE-LAST-EXTERNAL")
        engine.add_instrument(instrument)
        wrangled = BarDataWrangler(bar_type, instrument).process(frame)
        engine.add_data(wrangled)
        bars += len(wrangled)
        size = Decimal(str(round(NOTIONAL / float(frame["close"].iloc[0]), 4)))
        engine.add_strategy(
            EmaCrossLongOnly(
                EmaCrossConfig(
                    instrument_id=instrument.id,
                    bar_type=bar_type,
                    trade_size=size,
                    strategy_id=f"EmaCross-{index:03d}",
                    order_id_tag=f"{index:03d}",
                )
            )
        )
    loaded = time.perf_counter()
    engine.run()
    ran = time.perf_counter()
    positions = engine.trader.generate_positions_report()
    fills = engine.trader.generate_order_fills_report()
    engine.dispose()
    return {
        "bars": bars,
        "seconds": ran - loaded,
        "load_seconds": loaded - started,
        "trades": len(positions),
        "orders_filled": len(fills),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=KLINES)
    parser.add_argument("--start", required=True)
    parser.add_argument("--end", required=True)
    parser.add_argument("--interval", default="1m")
    args = parser.parse_args()
    print(json.dumps(run(args.data, args.start, args.end, args.interval)))


if __name__ == "__main__":
    main()
