"""Run freqtrade's backtesting on the shared klines, offline, and print one JSON line of figures.

Runs inside freqtrade's own virtual environment (`bench.peers.freqtrade_env`), as a script: it
imports freqtrade, pandas and the standard library only. Consumes the klines folder, the symbols,
the window, the interval and the fee; writes, in the work folder, the bars in freqtrade's data
format (feather), the peer strategy (`freqtrade_strategy.py` beside this file) and the exchange's
markets for those symbols (made here from the bars: freqtrade needs markets, and the machine has no
internet); then runs backtesting as a user would (`freqtrade backtesting --export none`, its
configuration path and its `Backtesting` class) and prints {bars, seconds (the backtest phase:
indicators, signals and the trade loop), load_seconds, trades, peak_rss_mb, network_refused}.
Every network connection is refused and counted: a peer that needed one would fail, not cheat.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import socket
import sys
import time
from pathlib import Path

LOOPBACK = {"localhost", "127.0.0.1", "::1", None}
refused: list[str] = []


def refuse_the_network() -> None:
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK:
            refused.append(str(host))
            raise OSError(f"network refused by the peer benchmark: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def write_bars(data: Path, symbols: list[str], interval: str, start_ms: int, end_ms: int, datadir: Path) -> int:
    import pandas as pd

    datadir.mkdir(parents=True, exist_ok=True)
    bars = 0
    for symbol in symbols:
        source = next(data.glob(f"{symbol}-{interval}*.csv*"))
        frame = pd.read_csv(source, usecols=["open_time", "open", "high", "low", "close", "volume"])
        frame = frame[(frame.open_time >= start_ms) & (frame.open_time < end_ms)]
        frame = frame.rename(columns={"open_time": "date"})
        frame["date"] = pd.to_datetime(frame["date"], unit="ms", utc=True)
        frame.reset_index(drop=True).to_feather(datadir / f"{pair(symbol).replace('/', '_')}-{interval}.feather")
        bars += len(frame)
    return bars


def pair(symbol: str) -> str:
    return f"{symbol.removesuffix('USDT')}/USDT"


def markets(symbols: list[str], fee: float) -> list[dict]:
    """ccxt's unified market structure for each symbol: spot, active, the fee, loose limits."""
    found = []
    for symbol in symbols:
        base = symbol.removesuffix("USDT")
        found.append(
            {
                "id": symbol,
                "symbol": f"{base}/USDT",
                "base": base,
                "quote": "USDT",
                "settle": None,
                "baseId": base,
                "quoteId": "USDT",
                "settleId": None,
                "type": "spot",
                "spot": True,
                "margin": False,
                "swap": False,
                "future": False,
                "option": False,
                "index": None,
                "active": True,
                "contract": False,
                "linear": None,
                "inverse": None,
                "subType": None,
                "taker": fee,
                "maker": fee,
                "contractSize": None,
                "expiry": None,
                "expiryDatetime": None,
                "strike": None,
                "optionType": None,
                "created": None,
                "precision": {"amount": 1e-08, "price": 1e-08, "cost": None, "base": 1e-08, "quote": 1e-08},
                "limits": {
                    "leverage": {"min": None, "max": None},
                    "amount": {"min": 1e-08, "max": 1e9},
                    "price": {"min": 1e-08, "max": 1e9},
                    "cost": {"min": 1.0, "max": None},
                    "market": {"min": 1e-08, "max": 1e9},
                },
                "marginModes": {"cross": False, "isolated": False},
                "percentage": True,
                "tierBased": False,
                "feeSide": "get",
                "info": {},
            }
        )
    return found


def serve_markets_locally(symbols: list[str], fee: float) -> None:
    """ccxt asks the exchange for its markets and currencies: answer from here instead."""
    import ccxt
    import ccxt.async_support as ccxt_async

    async def fetch_markets(self, params=None):
        return markets(symbols, fee)

    async def fetch_currencies(self, params=None):
        return {}

    ccxt_async.binance.fetch_markets = fetch_markets
    ccxt_async.binance.fetch_currencies = fetch_currencies
    ccxt.binance.fetch_markets = lambda self, params=None: markets(symbols, fee)
    ccxt.binance.fetch_currencies = lambda self, params=None: {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--symbols", nargs="+", required=True)
    parser.add_argument("--start-ms", type=int, required=True)
    parser.add_argument("--end-ms", type=int, required=True)
    parser.add_argument("--interval", default="1m")
    parser.add_argument("--fee", type=float, default=0.001)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    refuse_the_network()
    serve_markets_locally(args.symbols, args.fee)

    from freqtrade.commands.optimize_commands import setup_optimize_configuration
    from freqtrade.enums import RunMode
    from freqtrade.optimize.backtesting import Backtesting

    workdir = args.workdir
    strategies = workdir / "strategies"
    strategies.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(__file__).with_name("freqtrade_strategy.py"), strategies / "peer_ema_cross.py")
    started = time.perf_counter()
    bars = write_bars(args.data, args.symbols, args.interval, args.start_ms, args.end_ms, workdir / "data")
    config = {
        "max_open_trades": len(args.symbols),
        "stake_currency": "USDT",
        "stake_amount": 1000,
        "dry_run": True,
        "dry_run_wallet": 1_000_000,
        "timeframe": args.interval,
        "trading_mode": "spot",
        "exchange": {
            "name": "binance",
            "key": "",
            "secret": "",
            "pair_whitelist": [pair(s) for s in args.symbols],
            "pair_blacklist": [],
            "enable_ws": False,
        },
        "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "same", "use_order_book": False, "order_book_top": 1},
        "exit_pricing": {"price_side": "same", "use_order_book": False, "order_book_top": 1},
        "dataformat_ohlcv": "feather",
        "internals": {},
        "bot_name": "peer",
    }
    (workdir / "config.json").write_text(json.dumps(config))
    start_day = time.strftime("%Y%m%d", time.gmtime(args.start_ms / 1000))
    end_day = time.strftime("%Y%m%d", time.gmtime(args.end_ms / 1000))
    configuration = setup_optimize_configuration(
        {
            "config": [str(workdir / "config.json")],
            "user_data_dir": str(workdir),
            "datadir": str(workdir / "data"),
            "strategy": "PeerEmaCross",
            "strategy_path": str(strategies),
            "timerange": f"{start_day}-{end_day}",
            "fee": args.fee,
            "export": "none",
            "timeframe": args.interval,
        },
        RunMode.BACKTEST,
    )
    backtesting = Backtesting(configuration)
    data, timerange = backtesting.load_bt_data()
    loaded = time.perf_counter()
    strategy = backtesting.strategylist[0]
    backtesting.backtest_one_strategy(strategy, data, timerange)
    finished = time.perf_counter()
    results = backtesting.all_bt_content[strategy.get_strategy_name()]["results"]
    print(
        json.dumps(
            {
                "bars": bars,
                "seconds": finished - loaded,
                "load_seconds": loaded - started,
                "trades": len(results),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "network_refused": refused,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
