"""The shape of peper.toml: frozen msgspec Structs with every range stated once.

Consumes nothing; produces the `PeperConfig` type that `config.loader` decodes TOML into.
Each Struct forbids unknown fields, so a misspelled key is an error, never a silent default.
What the `[actors]` table implies (the models, the acknowledgers, the learner, the start order)
is derived and checked in `config.topology`, not written twice here.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from common.times import INTERVAL_MS, Duration, duration_ms
from config.llm import MistralAiConfig, MistralConfig
from config.models import LavaAiConfig, LgbmAiConfig, StrengthAiConfig, TradingAiConfig
from config.section import (
    ActorName,
    Fraction,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Seconds,
    Section,
    Symbol,
)

Expert = Literal["cash", "hold", "hold_vt"]
Algorithm = Literal["winners", "adahedge", "hedge", "seed", "thompson"]


class LearningConfig(Section, frozen=True):
    algorithm: Algorithm = "winners"
    update_every: Duration = "1d"
    learning_rate: Fraction = 0.01
    reward_multiplier: PositiveFloat = 1.5
    punishment_multiplier: PositiveFloat = 0.8
    weight_decay: Fraction = 0.001
    return_scale: PositiveFloat = 0.01
    hedge_eta: PositiveFloat = 100.0
    discount: Fraction = 0.9
    fixed_share: Fraction = 0.0
    winners_power: PositiveFloat = 2.0
    shrinkage: Fraction = 0.0
    max_change: Fraction = 1.0
    min_weight: Fraction = 0.0
    max_weight: Fraction = 1.0
    seed: NonNegativeInt = 7
    reference_experts: list[Expert] = msgspec.field(default_factory=lambda: ["cash"])
    start_version: NonNegativeInt = 0  # the number of the first version (`run` follows the store's history)
    start_weights: dict[str, Fraction] = msgspec.field(
        default_factory=dict
    )  # that version's weights (a policy's, the store's newest); empty: initial
    start_state: str = ""  # a policy's learner state (base64), carried on
    initial_weights: dict[str, Fraction] = msgspec.field(
        default_factory=lambda: {"trading_ai": 0.25, "lava_ai": 0.35, "lgbm_ai": 0.40, "mistral_ai": 0.0}
    )

    def __post_init__(self) -> None:
        if self.min_weight > self.max_weight:
            raise ValueError(f"min_weight {self.min_weight} is above max_weight {self.max_weight}")
        total = math.fsum(self.initial_weights.values())
        if self.initial_weights and not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"initial weights must sum to 1.0, they sum to {total:.6g}")
        if len(set(self.reference_experts)) != len(self.reference_experts):
            raise ValueError(f"reference_experts names one twice: {self.reference_experts}")


class TestConfig(Section, frozen=True):
    symbols: Annotated[list[Symbol], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["SOLUSDT", "ADAUSDT", "BTCUSDT", "ETHUSDT", "BNBUSDT"]
    )
    test_period_days: PositiveFloat = 30.0
    validation_days: PositiveFloat = 30.0
    max_iterations: PositiveInt = 10
    target_win_rate: Fraction = 0.65
    max_drawdown: Fraction = 0.15


GridValue = str | float | int | bool | list[str]


class TrainingConfig(Section, frozen=True):
    folds: PositiveInt = 1
    metric: Literal["sharpe", "roi"] = "sharpe"
    bootstrap_block_days: PositiveInt = 5
    bootstrap_samples: PositiveInt = 2000
    grid: dict[str, list[GridValue]] | list[dict[str, list[GridValue]]] = msgspec.field(  # a product, or a union
        default_factory=dict
    )


class DatabaseConfig(Section, frozen=True):
    path: str = "data/peper.lmdb"
    training_path: str = "data/train.lmdb"
    map_size_mb: PositiveInt = 4096
    backup_interval_s: Seconds = 3600.0
    max_backup_files: NonNegativeInt = 10


class RecorderConfig(Section, frozen=True):
    batch_messages: PositiveInt = 10_000


class AnalyticsConfig(Section, frozen=True):
    reports_dir: str = "reports"
    plots_dir: str = "plots"
    auto_generate_plots: bool = True  # draw the plots with every report (false: tables only)


FeedInterval = Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"]


class FeedConfig(Section, frozen=True):
    mode: Literal["live", "replay"] = "replay"
    source: str = "synthetic:7"
    interval: FeedInterval = "5m"
    decision_interval: FeedInterval = "1d"
    speed: Annotated[str, Meta(pattern=r"^(max|[0-9]+(\.[0-9]+)?)$")] = "max"
    start: str = ""
    end: str = ""
    chunk_ticks: PositiveInt = 1024
    credit_window: PositiveInt = 4096
    ws_url: str = "wss://stream.binance.com:9443/stream"
    rest_url: str = "https://api.binance.com"
    tick_deadline_s: Seconds = 5.0
    stall_timeout_s: Seconds = 30.0
    rotate_after_s: Seconds = 82_800.0
    reconnect_initial_s: Seconds = 0.5
    reconnect_max_s: Seconds = 30.0

    def __post_init__(self) -> None:
        if self.credit_window < self.chunk_ticks:
            raise ValueError(
                f"credit_window {self.credit_window} is smaller than chunk_ticks {self.chunk_ticks}: "
                "a whole chunk must fit in the window"
            )
        feed, decision = INTERVAL_MS[self.interval], INTERVAL_MS[self.decision_interval]
        if decision < feed or decision % feed:
            raise ValueError(
                f"decision_interval {self.decision_interval} must be a multiple of interval {self.interval}"
            )


class TraderConfig(Section, frozen=True):
    fee_rate: Fraction = 0.001
    slippage: Fraction = 0.0002
    allow_short: bool = False
    borrow_rate_per_day: Fraction = 0.0003
    initial_equity: PositiveFloat = 10_000.0
    volatility_target: PositiveFloat = 0.2
    volatility_window: Duration = "30d"
    max_exposure: Annotated[float, Meta(gt=0.0, le=1.0)] = 1.0
    rebalance_band: Fraction = 0.02
    drawdown_limit: Fraction = 0.1
    drawdown_cooldown: Duration = "7d"
    vote_deadline_ms: PositiveInt = 2000


class BusConfig(Section, frozen=True):
    run_dir: str = ""
    transport: Literal["ipc", "tcp"] = "ipc"
    tcp_host: str = "127.0.0.1"
    tcp_base_port: Annotated[int, Meta(ge=1, le=65533)] = 5750
    hwm: NonNegativeInt = 100_000
    curve_keys: str = ""  # a key bundle folder (`keys new`): every bus socket authenticates and encrypts
    connect_host: str = ""  # clients reach the broker over tcp at this host (an agent's actors, a remote monitor)
    local_control: bool = False  # set by an agent for its actors: report to the agent's control socket


class SupervisorConfig(Section, frozen=True):
    heartbeat_interval_s: Annotated[float, Meta(ge=0.01)] = 0.5
    heartbeat_liveness: Annotated[int, Meta(ge=2)] = 6
    startup_timeout_s: Seconds = 20.0
    stop_grace_s: Seconds = 5.0
    max_restarts: NonNegativeInt = 5
    restart_period_s: Seconds = 60.0
    backoff_initial_s: Annotated[float, Meta(ge=0.0)] = 0.1
    backoff_max_s: Annotated[float, Meta(ge=0.0)] = 5.0
    agent_wait_s: Seconds = 60.0
    agent_silence_s: Seconds = 5.0
    realtime_priority: Annotated[int, Meta(ge=0, le=99)] = 10  # live: the broker's and the frame -> decision
    #   actors' SCHED_FIFO priority (config.topology.realtime_priority); 0 = ordinary scheduling


class ExecutionConfig(Section, frozen=True):
    mode: Literal["paper", "testnet", "live"] = "paper"
    api_url: str = ""  # "" = python-binance's URL for the mode; else e.g. the double's http://127.0.0.1:PORT/api
    api_key_env: str = "PEPER_BINANCE_API_KEY"
    api_secret_env: str = "PEPER_BINANCE_API_SECRET"
    api_key_file: str = ""  # read when the environment has no key; must be 0600
    api_secret_file: str = ""
    order_type: Literal["limit_ioc", "market"] = "limit_ioc"
    request_timeout_s: Seconds = 5.0
    recv_window_ms: Annotated[int, Meta(ge=1, le=60_000)] = 5_000
    max_attempts: PositiveInt = 5
    max_order_notional: Annotated[float, Meta(ge=0.0)] = 0.0  # quote currency; 0 = no limit
    max_total_notional: Annotated[float, Meta(ge=0.0)] = 0.0  # quote currency held over every symbol; 0 = none
    max_orders_per_minute: NonNegativeInt = 0  # 0 = no limit
    user_stream: bool = True  # follow the account's user data stream (executionReports)
    stream_url: str = ""  # "" = Binance's stream for the mode; else e.g. the double's ws://127.0.0.1:PORT
    stream_keepalive_s: Seconds = 1800.0


Role = Literal["", "feed", "recorder", "model", "trader", "learner", "llm", "executor", "other"]


class ActorSpec(Section, frozen=True):
    """One actor of the topology; `module` defaults to actors.<name>, `role` to the name's (config.topology)."""

    enabled: bool = True
    module: str = ""
    role: Role = ""
    restart: Literal["permanent", "transient", "temporary"] = "permanent"
    after: list[ActorName] = msgspec.field(default_factory=list)
    args: list[str] = msgspec.field(default_factory=list)
    nice: Annotated[int, Meta(ge=-20, le=19)] | None = None  # CPU priority; None: the role's (config.topology)
    realtime: Annotated[int, Meta(ge=0, le=99)] | None = None  # SCHED_FIFO priority, 0 = none; None: config.topology
    host: str = ""  # where it runs: "" the daemon's host, else the agent of that name (`supervisor agent`)


class PeperConfig(Section, frozen=True):
    learning: LearningConfig = msgspec.field(default_factory=LearningConfig)
    test: TestConfig = msgspec.field(default_factory=TestConfig)
    training: TrainingConfig = msgspec.field(default_factory=TrainingConfig)
    mistral: MistralConfig = msgspec.field(default_factory=MistralConfig)
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    recorder: RecorderConfig = msgspec.field(default_factory=RecorderConfig)
    trading_ai: TradingAiConfig = msgspec.field(default_factory=TradingAiConfig)
    strength_ai: StrengthAiConfig = msgspec.field(default_factory=StrengthAiConfig)
    lava_ai: LavaAiConfig = msgspec.field(default_factory=LavaAiConfig)
    lgbm_ai: LgbmAiConfig = msgspec.field(default_factory=LgbmAiConfig)
    mistral_ai: MistralAiConfig = msgspec.field(default_factory=MistralAiConfig)
    analytics: AnalyticsConfig = msgspec.field(default_factory=AnalyticsConfig)
    feed: FeedConfig = msgspec.field(default_factory=FeedConfig)
    trader: TraderConfig = msgspec.field(default_factory=TraderConfig)
    bus: BusConfig = msgspec.field(default_factory=BusConfig)
    supervisor: SupervisorConfig = msgspec.field(default_factory=SupervisorConfig)
    execution: ExecutionConfig = msgspec.field(default_factory=ExecutionConfig)
    actors: dict[ActorName, ActorSpec] = msgspec.field(
        default_factory=lambda: {  # the shipped topology
            "recorder": ActorSpec(),
            "rl_learner": ActorSpec(),
            "trader": ActorSpec(),
            "llm_supervisor": ActorSpec(),
            "mistral_ai": ActorSpec(),
            "trading_ai": ActorSpec(),
            "lava_ai": ActorSpec(),
            "lgbm_ai": ActorSpec(),
            "strength_ai": ActorSpec(),
            "market_feed": ActorSpec(restart="transient"),
            "executor": ActorSpec(enabled=False),
        }
    )

    def __post_init__(self) -> None:
        decision, update = INTERVAL_MS[self.feed.decision_interval], duration_ms(self.learning.update_every)
        if update % decision:
            raise ValueError(
                f"learning.update_every {self.learning.update_every} must be a multiple of "
                f"feed.decision_interval {self.feed.decision_interval}"
            )
