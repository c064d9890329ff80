"""Every error Peper raises on purpose, as one tree; the command line turns any of them into one line.

```
PeperError                      base: the message is one line a user can act on
├── ConfigError                 peper.toml, an environment override or a flag is wrong (config)
│   └── TopologyError           the [actors] table asks for something impossible (config.topology)
├── SourceError                 a replay source or a time cannot be read (marketdata)
├── StoreError                  an LMDB store cannot be used: missing, corrupt, newer (storage)
├── InputError                  one bad piece of input: counted, logged, dropped; the process goes on
│   ├── MalformedFrame          a bus frame that is not `topic SP msgpack` of the right type (messages)
│   ├── BadFrame                a Binance frame or REST row that does not parse (marketdata.binance)
│   └── BadAnswer               an LLM answer that is not the JSON asked for (llm.prompt)
├── DaemonError                 the daemon cannot start, cannot be reached, or gave up (supervisor)
│   ├── BindError               a bus endpoint cannot be bound (a port in use)
│   ├── RunDirectoryError       the run directory is taken, foreign or open to others
│   ├── DaemonUnreachable       no daemon answers on that run directory
│   └── ActorFailed             an actor cannot go on: it and its last error are named; the daemon stops
│       ├── RestartBudgetExceeded   it kept failing
│       └── ActorGaveUp             it met input that a restart would meet again (a bad row, a full disk)
├── ExchangeError               the exchange cannot be reached, or refused what cannot be retried (exchange)
│   └── OrderRefused            one order refused: by a filter, the balance or a limit; the executor goes on
├── LlmError                    the LLM server cannot be started or does not answer (llm)
├── WindowError                 training windows are empty, overlap or lie outside the data (training)
├── ReportError                 a report cannot be written from that catalog (analytics)
├── WeightsError                a weights or policy command cannot be done (supervisor)
└── BenchError                  a benchmark cannot measure honestly: a peer failed, messages were lost (bench)
```

Imports nothing; every package raises from here, so `except PeperError` is the only catch the
command line needs. A broken invariant is not a PeperError: it crashes the actor, and the
supervisor restarts it.
"""

from __future__ import annotations


class PeperError(Exception):
    """Base of every deliberate error; `str(error)` is one line for the user."""


class ConfigError(PeperError):
    """peper.toml (or an override) is not valid; the message names the file or variable and the key."""


class TopologyError(ConfigError):
    """The [actors] table names an unknown or disabled model, a learner without a trader, ..."""


class SourceError(PeperError):
    """A replay source cannot be used; the message names the source and what is wrong with it."""


class StoreError(PeperError):
    """An LMDB environment cannot be used; the message names the path, the reason and what to do."""


class InputError(PeperError):
    """One bad piece of input, with a short `reason` to count it by."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


class MalformedFrame(InputError):
    """A frame that is not `known-topic SP msgpack-message-of-the-right-type`."""

    def __init__(self, detail: str):
        super().__init__("malformed", detail)


class BadFrame(InputError):
    """A Binance combined-stream frame or REST kline row that is not what the protocol says."""


class BadAnswer(InputError):
    """An LLM answer that is not the JSON object the schema asks for."""


class DaemonError(PeperError):
    """The daemon cannot start or had to give up."""


class BindError(DaemonError):
    """An endpoint cannot be bound (e.g. the port is in use)."""


class RunDirectoryError(DaemonError):
    """The run directory cannot be used; the message says why and what to do."""


class DaemonUnreachable(DaemonError):
    """No daemon answers on that run directory."""


class ActorFailed(DaemonError):
    def __init__(self, actor: str, last_error: str, message: str):
        self.actor = actor
        self.last_error = last_error
        super().__init__(message)


class RestartBudgetExceeded(ActorFailed):
    def __init__(self, actor: str, restarts: int, period_s: float, last_error: str):
        super().__init__(
            actor,
            last_error,
            f"actor {actor!r} exceeded its restart budget ({restarts} restarts in "
            f"{period_s:g} s); last error: {last_error or 'none reported'}",
        )


class ActorGaveUp(ActorFailed):
    def __init__(self, actor: str, last_error: str):
        super().__init__(
            actor,
            last_error,
            f"actor {actor!r} stopped on an error a restart would meet again, "
            f"so it was not restarted: {last_error or 'none reported'}",
        )


class LlmError(PeperError):
    """The LLM server cannot be started, or a check of it failed."""


class WindowError(PeperError):
    """A window is empty, overlaps another, or lies outside the data; the message says which."""


class ReportError(PeperError):
    """A report cannot be made from what is stored."""


class WeightsError(PeperError):
    """A weights or policy command cannot be done; the message says why."""


class BenchError(PeperError):
    """A benchmark cannot give an honest figure (a peer failed to run, a run lost messages)."""


class ExchangeError(PeperError):
    """The exchange cannot be used: its keys were refused, it did not answer after every attempt."""


class OrderRefused(ExchangeError):
    """One order refused (Binance's `code`, or 0 for the executor's own limits); the message says why."""

    def __init__(self, code: int, detail: str):
        self.code = code
        super().__init__(detail)
