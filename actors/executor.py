"""executor: the trader's trades as real orders on Binance Spot (the Testnet, or live when asked).

Consumes `trade.open`, `trade.closed` and `decision` (the end of each chunk's trades) from the
trader, `exec.command` (`supervisor halt`), and the account's user data stream (`executionReport`s,
matched to the orders it placed: counted; reconnected after a drop); produces `order.report`
(`OrderReport`: one per trade — Binance's order id, status, fill, commission, or the refusal and
why), `exec.state` (halted or not) and `ack.executor`. Config: `[execution]` (mode, URLs, keys,
order type, timeouts, limits), `[test] symbols`. Off by default (`[actors.executor] enabled = false`).

Each trade becomes one LIMIT IOC order at the paper broker's price (rounded to the symbol's tick), or
a MARKET order (`order_type = "market"`), for its quantity (rounded down to the lot step), with a
client order id made from the run and the trade (`exchange.client_ids`), so the same trade is always
the same order. A close sells no more than this run's fills left held (the last close of a position
sells all of it); coins the account held before the run are never sold. Refused before sending: a
short (spot has none), a close of nothing held (its opening order was refused), a filter the order
breaks (named), `max_order_notional`, `max_total_notional`, `max_orders_per_minute`, and everything
after `supervisor halt` (which first cancels every open order; the feed and the paper book go on) —
each counted and reported with its name.

Never twice, never lost: in replay the executor acknowledges a chunk only after every order of it
was answered and checkpointed (holdings, marks, counters), so the trader keeps the chunk's trades
until then. The account's balances at the run's first start and a halt are kept in the store's meta
for the run. Restarted, it takes back its checkpoint, reads the exchange's balances (what they gained
since the run's start is what it holds: the exchange wins, a difference is reported), asks the trader
for the trades after the checkpoint, and looks each of them up by client order id before sending it
— an order accepted just before a kill is found, not placed again. Mode "live" also needs the
supervisor's `--i-mean-live` (the environment variable `PEPER_I_MEAN_LIVE=1` it sets).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from decimal import Decimal
from typing import Any

import msgspec

from actors.base import Actor
from actors.runtime.entry import main
from exchange.client_ids import client_order_id
from exchange.keys import LIVE_ENV, load_keys
from exchange.user_stream import STREAM_URLS, follow_user_stream
from exchange.venue import OrderRequest, Venue
from messages import topics
from messages.counters import ExecutorCounters, bump
from messages.errors import ConfigError, OrderRefused
from messages.execution import HALTED, NOTHING_HELD, ExecutionCommand, ExecutionState, OrderReport
from messages.trading import DecisionBatch, TradeClosed, TradeOpen


class _State(msgspec.Struct):
    holdings: dict[str, str]  # symbol -> base asset held, from the exchange's fills (Decimal text)
    marks: dict[str, str]  # symbol -> the last fill's price
    counters: ExecutorCounters


class _RunStart(msgspec.Struct):
    """Kept in the store's meta for the run: what the account held before this run's first order, and
    whether it was halted — both outlive any restart, live or replay."""

    baseline: dict[str, str]  # asset -> free balance at the run's first start (Decimal text)
    halted: bool = False


class Executor(Actor):
    subscriptions = (topics.TRADE_OPEN, topics.TRADE_CLOSED, topics.DECISION, topics.EXECUTION_COMMAND)
    Counters = ExecutorCounters
    keeps_outbox = True

    async def on_start(self) -> None:
        execution = self.config.execution
        if execution.mode == "live" and os.environ.get(LIVE_ENV) != "1":
            raise ConfigError('[execution] mode = "live" places real orders: start the supervisor with --i-mean-live')
        self.execution = execution
        self.venue = Venue(execution, load_keys(execution), lambda cause: bump(self.counters.retries, cause))
        self.symbols = list(self.config.test.symbols)
        self.rules = await asyncio.to_thread(self.venue.rules, self.symbols)
        self.holdings = {symbol: Decimal(0) for symbol in self.symbols}
        self.marks: dict[str, Decimal] = {}
        self.known_orders: set[str] = set()  # client order ids this process placed or found
        self.recent: deque[float] = deque()  # wall clock of the orders sent in the last minute
        self.position = -1
        self.halted = False  # `supervisor halt`: nothing more is placed
        self.balances_time = 0  # ms: the account's update time at start: fills up to it are in its balances
        self.in_doubt = self.restarts > 0  # until the first checkpoint after a restart: look up before sending
        self.sources = {self.topology.trader} if self.topology.trader else set()
        found = self.recovery.resume(self.sources)
        if found is not None:
            saved = msgspec.msgpack.decode(found.state, type=_State)
            self.holdings.update({symbol: Decimal(held) for symbol, held in saved.holdings.items()})
            self.marks = {symbol: Decimal(price) for symbol, price in saved.marks.items()}
            self.position, self.counters = found.upto, saved.counters
            self.log.info("restarted: resumed from the checkpoint at %d", found.upto)
        balances, self.balances_time = await asyncio.to_thread(self.venue.balances)
        self.run_start = self._run_start(balances)
        self.halted = self.counters.halted = self.run_start.halted
        self._reconcile(balances)

    async def on_running(self) -> None:
        self.recovery.catch_up(self.position, self.sources)
        if self.execution.user_stream:
            url = self.execution.stream_url or STREAM_URLS[self.execution.mode]
            self.spawn(
                follow_user_stream(
                    self.venue,
                    url,
                    self.execution.stream_keepalive_s,
                    self._on_stream_report,
                    self._on_stream_reconnect,
                    self._on_stream_malformed,
                ),
                "user-stream",
            )

    def _on_stream_report(self, event: dict[str, Any]) -> None:
        """An `executionReport`: the exchange's word on an order, matched to the one this process sent."""
        self.counters.stream_reports += 1
        if event.get("c") not in self.known_orders:
            self.counters.stream_unmatched += 1

    def _on_stream_malformed(self, frame: str) -> None:
        self.counters.stream_malformed += 1
        if self.counters.stream_malformed <= 10:
            self.log.warning("dropped a user stream frame that is not a JSON event: %r", frame)

    def _on_stream_reconnect(self) -> None:
        self.counters.stream_reconnects += 1
        self.log.warning("the user data stream dropped; reconnecting with a new listen key")

    async def on_stop(self) -> None:
        self.venue.close()

    # ----- inputs ---------------------------------------------------------------------------
    async def on_trade_open(self, topic: str, trade: TradeOpen) -> None:
        """`TradeOpen(trade_id="BTCUSDT-1617321600000", side="LONG", quantity=0.0123, entry_price=58011.2, ...)`."""
        if trade.side != "LONG":
            return self._report_refused(trade, "BUY", "SHORT: spot has no shorts; set [trader] allow_short = false")
        if await self._placed_before(trade):
            return
        rules = self.rules[trade.symbol]
        await self._execute(trade, "BUY", rules.quantity(trade.quantity), rules.price(trade.entry_price))

    async def on_trade_closed(self, topic: str, trade: TradeClosed) -> None:
        """`TradeClosed(trade_id=..., exit_price=58600.0, quantity=0.0123, remaining=0.0, ...)`."""
        if trade.side != "LONG":
            return self._report_refused(trade, "SELL", "SHORT: spot has no shorts; set [trader] allow_short = false")
        if await self._placed_before(trade):
            return
        rules, held = self.rules[trade.symbol], self.holdings[trade.symbol]
        wanted = held if trade.remaining == 0 else min(rules.quantity(trade.quantity), held)
        if not wanted and not self.halted:  # halted, the halt is the reason, whatever is held
            return self._report_refused(trade, "SELL", f"{NOTHING_HELD}: no {rules.base_asset} on the exchange to sell")
        await self._execute(trade, "SELL", rules.quantity(float(wanted)), rules.price(trade.exit_price))

    def on_decision_batch(self, topic: str, batch: DecisionBatch) -> None:
        """The trader's decisions of a chunk: every trade of it came before, so the chunk is done."""
        self.position = int(batch.ts_event)
        if self.replay:
            self.counters.checkpoints += 1
            holdings = {symbol: str(held) for symbol, held in self.holdings.items()}
            marks = {symbol: str(price) for symbol, price in self.marks.items()}
            state = _State(holdings, marks, self.counters)
            self.recovery.checkpoint(self.position, msgspec.msgpack.encode(state))
        else:
            self.recovery.acknowledge(self.position)
        self.in_doubt = False  # what comes after this was never sent before

    async def on_execution_command(self, topic: str, command: ExecutionCommand) -> None:
        """`ExecutionCommand(request_id="halt:...")` from `supervisor halt`: cancel what is open, place no more."""
        cancelled = 0
        if command.halt and not self.halted:
            self.halted = self.counters.halted = True
            self.run_start = msgspec.structs.replace(self.run_start, halted=True)
            self._save_run_start()  # before anything else: a crash from here on stays halted
            cancelled = await asyncio.to_thread(self.venue.cancel_open_orders, self.symbols)
            self.log.warning(
                "halted by %s: %d open orders cancelled; no order is placed any more", command.src, cancelled
            )
        state = ExecutionState(request_id=command.request_id, halted=self.halted, cancelled_orders=cancelled)
        self.publish(topics.EXECUTION_STATE, state)

    # ----- placing --------------------------------------------------------------------------
    async def _execute(self, trade: TradeOpen | TradeClosed, side: str, quantity: Decimal, price: Decimal) -> None:
        order = OrderRequest(client_order_id(self.run_id, trade), trade.symbol, side, quantity, price)
        refusal = (
            f"{HALTED}: by supervisor halt"
            if self.halted
            else self.rules[trade.symbol].refusal(quantity, price) or self._limit_refusal(order)
        )
        if refusal is not None:
            return self._report_refused(trade, side, refusal, order)
        self.known_orders.add(order.client_order_id)  # its executionReport may come before the REST answer
        try:
            answer, was_found = await asyncio.to_thread(self.venue.place, order)
        except OrderRefused as refused:
            return self._report_refused(trade, side, str(refused), order, key=f"code {refused.code}")
        self.recent.append(time.monotonic())
        self.counters.found_after_doubt += was_found
        self._report_answer(trade, answer)

    async def _placed_before(self, trade: TradeOpen | TradeClosed) -> bool:
        """After a restart, until the first checkpoint: whether the exchange has the trade's order
        already (placed before the kill, its answer lost); then it is reported, not sent again."""
        if not self.in_doubt:
            return False
        self.known_orders.add(client_order_id(self.run_id, trade))
        found = await asyncio.to_thread(self.venue.lookup, trade.symbol, client_order_id(self.run_id, trade))
        if found is None:
            return False
        self.counters.found_after_doubt += 1
        self._report_answer(trade, found, in_balances=int(found.get("transactTime", 0)) <= self.balances_time)
        return True

    def _limit_refusal(self, order: OrderRequest) -> str | None:
        execution, notional = self.execution, order.quantity * order.price
        if execution.max_order_notional and notional > Decimal(repr(execution.max_order_notional)):
            return f"max_order_notional: {notional:.2f} > {execution.max_order_notional:.2f} (quote currency)"
        if order.side == "BUY" and execution.max_total_notional:
            held = sum(self.holdings[s] * self.marks.get(s, Decimal(0)) for s in self.symbols)
            if held + notional > Decimal(repr(execution.max_total_notional)):
                return (
                    f"max_total_notional: {held + notional:.2f} > {execution.max_total_notional:.2f} (quote currency)"
                )
        now = time.monotonic()
        while self.recent and now - self.recent[0] > 60.0:
            self.recent.popleft()
        if execution.max_orders_per_minute and len(self.recent) >= execution.max_orders_per_minute:
            return f"max_orders_per_minute: {len(self.recent)} orders in the last 60 s"
        return None

    # ----- reporting ------------------------------------------------------------------------
    def _report_answer(self, trade: TradeOpen | TradeClosed, answer: dict[str, Any], in_balances: bool = False) -> None:
        """`in_balances`: an order found after a restart that the balances reconciled at start already hold."""
        symbol, side = answer["symbol"], answer["side"]
        fills = answer.get("fills", [])
        executed = Decimal(answer["executedQty"])
        commission = sum((Decimal(fill["commission"]) for fill in fills), Decimal(0))
        asset = fills[0]["commissionAsset"] if fills else ""
        if not in_balances:
            held = self.holdings[symbol] + (executed if side == "BUY" else -executed)
            if asset == self.rules[symbol].base_asset:
                held -= commission  # Binance took its fee from what was bought
            self.holdings[symbol] = held
            self.counters.holdings[symbol] = float(held)
        if executed:
            self.marks[symbol] = Decimal(answer["cummulativeQuoteQty"]) / executed
        self.counters.orders += 1
        self.counters.filled += answer["status"] == "FILLED"
        report = OrderReport(
            client_order_id=answer["clientOrderId"],
            trade_id=trade.trade_id,
            symbol=symbol,
            side=side,
            quantity=float(answer["origQty"]),
            price=float(answer["price"]),
            status=answer["status"],
            executed_qty=float(executed),
            quote_qty=float(answer["cummulativeQuoteQty"]),
            commission=float(commission),
            commission_asset=asset,
            base_asset=self.rules[symbol].base_asset,
            exchange_order_id=int(answer["orderId"]),
            transact_time=int(answer.get("transactTime", 0)),
            ts_event=trade.ts_event,
        )
        self.publish(topics.ORDER_REPORT, report, self.position_of(trade))

    def _report_refused(
        self,
        trade: TradeOpen | TradeClosed,
        side: str,
        reason: str,
        order: OrderRequest | None = None,
        key: str | None = None,
    ) -> None:
        name = key or reason.split(":")[0]
        if bump(self.counters.refused, name) <= 10:
            self.log.warning("refused %s %s of trade %s: %s", side, trade.symbol, trade.trade_id, reason)
        report = OrderReport(
            client_order_id=order.client_order_id if order else client_order_id(self.run_id, trade),
            trade_id=trade.trade_id,
            symbol=trade.symbol,
            side=side,  # type: ignore[arg-type]
            quantity=float(order.quantity) if order else trade.quantity,
            price=float(order.price) if order else 0.0,
            status="REFUSED",
            base_asset=self.rules[trade.symbol].base_asset,
            reason=reason,
            ts_event=trade.ts_event,
        )
        self.publish(topics.ORDER_REPORT, report, self.position_of(trade))

    def position_of(self, trade: TradeOpen | TradeClosed) -> int:
        """The chunk the trade came in (what the trader published it with): kept until it is acknowledged."""
        return max(self.position + 1, trade.ts_event)

    # ----- reconciling ----------------------------------------------------------------------
    def _run_start(self, balances: dict[str, Decimal]) -> _RunStart:
        """This run's start, from the store; at the run's first start, the balances now (before any order)."""
        saved = self.stores.own().get_meta(self._run_key())
        if saved is not None:
            return msgspec.msgpack.decode(saved, type=_RunStart)
        self.run_start = _RunStart({asset: str(free) for asset, free in balances.items()})
        self._save_run_start()
        return self.run_start

    def _save_run_start(self) -> None:
        self.stores.own().put_meta(self._run_key(), msgspec.msgpack.encode(self.run_start))

    def _run_key(self) -> str:
        return f"executor.{self.name}.run.{self.run_id}"

    def _reconcile(self, balances: dict[str, Decimal]) -> None:
        """What this run holds on the exchange (the balance beyond the run's starting one) against the
        holdings: where they differ, say so, and the exchange wins. Coins the account held before the
        run are never sold."""
        for symbol in self.symbols:
            asset = self.rules[symbol].base_asset
            exchange = balances.get(asset, Decimal(0)) - Decimal(self.run_start.baseline.get(asset, "0"))
            if exchange != self.holdings[symbol]:
                self.counters.reconciled_drift += 1
                self.log.warning(
                    "%s: this run holds %s by the executor's book, %s by the exchange's balance; taking the exchange's",
                    symbol,
                    self.holdings[symbol],
                    exchange,
                )
                self.holdings[symbol] = exchange
        self.counters.holdings = {symbol: float(held) for symbol, held in self.holdings.items()}
        self.log.info(
            "reconciled with %s: this run holds %s",
            self.venue.where(),
            ", ".join(f"{s} {self.holdings[s]}" for s in self.symbols),
        )


if __name__ == "__main__":
    main(Executor)
