from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StartRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopRequest(_message.Message):
    __slots__ = ("flatten",)
    FLATTEN_FIELD_NUMBER: _ClassVar[int]
    flatten: bool
    def __init__(self, flatten: _Optional[bool] = ...) -> None: ...

class PauseRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResumeRequest(_message.Message):
    __slots__ = ("acknowledge_halt",)
    ACKNOWLEDGE_HALT_FIELD_NUMBER: _ClassVar[int]
    acknowledge_halt: bool
    def __init__(self, acknowledge_halt: _Optional[bool] = ...) -> None: ...

class FlattenRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetConfigRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CommandReply(_message.Message):
    __slots__ = ("state", "changed", "message")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    state: str
    changed: bool
    message: str
    def __init__(self, state: _Optional[str] = ..., changed: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class FlattenReply(_message.Message):
    __slots__ = ("state", "canceled", "closed_quantity", "exchange_position", "flat", "still_open")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CANCELED_FIELD_NUMBER: _ClassVar[int]
    CLOSED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_POSITION_FIELD_NUMBER: _ClassVar[int]
    FLAT_FIELD_NUMBER: _ClassVar[int]
    STILL_OPEN_FIELD_NUMBER: _ClassVar[int]
    state: str
    canceled: int
    closed_quantity: str
    exchange_position: str
    flat: bool
    still_open: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, state: _Optional[str] = ..., canceled: _Optional[int] = ..., closed_quantity: _Optional[str] = ..., exchange_position: _Optional[str] = ..., flat: _Optional[bool] = ..., still_open: _Optional[_Iterable[str]] = ...) -> None: ...

class Position(_message.Message):
    __slots__ = ("symbol", "quantity", "entry_price", "mark_price", "unrealized_pnl", "realized_pnl", "funding")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ENTRY_PRICE_FIELD_NUMBER: _ClassVar[int]
    MARK_PRICE_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    FUNDING_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    quantity: str
    entry_price: str
    mark_price: str
    unrealized_pnl: str
    realized_pnl: str
    funding: str
    def __init__(self, symbol: _Optional[str] = ..., quantity: _Optional[str] = ..., entry_price: _Optional[str] = ..., mark_price: _Optional[str] = ..., unrealized_pnl: _Optional[str] = ..., realized_pnl: _Optional[str] = ..., funding: _Optional[str] = ...) -> None: ...

class OpenOrder(_message.Message):
    __slots__ = ("client_order_id", "side", "type", "status", "price", "stop_price", "quantity", "executed_quantity", "reduce_only", "tag")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REDUCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    side: str
    type: str
    status: str
    price: str
    stop_price: str
    quantity: str
    executed_quantity: str
    reduce_only: bool
    tag: str
    def __init__(self, client_order_id: _Optional[str] = ..., side: _Optional[str] = ..., type: _Optional[str] = ..., status: _Optional[str] = ..., price: _Optional[str] = ..., stop_price: _Optional[str] = ..., quantity: _Optional[str] = ..., executed_quantity: _Optional[str] = ..., reduce_only: _Optional[bool] = ..., tag: _Optional[str] = ...) -> None: ...

class Balance(_message.Message):
    __slots__ = ("asset", "amount")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    asset: str
    amount: str
    def __init__(self, asset: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class Pnl(_message.Message):
    __slots__ = ("realized", "unrealized", "fees", "funding", "equity", "peak_equity", "drawdown")
    REALIZED_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    FUNDING_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    PEAK_EQUITY_FIELD_NUMBER: _ClassVar[int]
    DRAWDOWN_FIELD_NUMBER: _ClassVar[int]
    realized: str
    unrealized: str
    fees: str
    funding: str
    equity: str
    peak_equity: str
    drawdown: str
    def __init__(self, realized: _Optional[str] = ..., unrealized: _Optional[str] = ..., fees: _Optional[str] = ..., funding: _Optional[str] = ..., equity: _Optional[str] = ..., peak_equity: _Optional[str] = ..., drawdown: _Optional[str] = ...) -> None: ...

class Risk(_message.Message):
    __slots__ = ("level", "kill_switch", "leverage", "max_leverage", "blocked_orders")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    KILL_SWITCH_FIELD_NUMBER: _ClassVar[int]
    LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    MAX_LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_ORDERS_FIELD_NUMBER: _ClassVar[int]
    level: str
    kill_switch: bool
    leverage: str
    max_leverage: str
    blocked_orders: int
    def __init__(self, level: _Optional[str] = ..., kill_switch: _Optional[bool] = ..., leverage: _Optional[str] = ..., max_leverage: _Optional[str] = ..., blocked_orders: _Optional[int] = ...) -> None: ...

class Conviction(_message.Message):
    __slots__ = ("available", "open_time", "long", "short", "regime")
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    OPEN_TIME_FIELD_NUMBER: _ClassVar[int]
    LONG_FIELD_NUMBER: _ClassVar[int]
    SHORT_FIELD_NUMBER: _ClassVar[int]
    REGIME_FIELD_NUMBER: _ClassVar[int]
    available: bool
    open_time: int
    long: float
    short: float
    regime: str
    def __init__(self, available: _Optional[bool] = ..., open_time: _Optional[int] = ..., long: _Optional[float] = ..., short: _Optional[float] = ..., regime: _Optional[str] = ...) -> None: ...

class Brake(_message.Message):
    __slots__ = ("level", "peak_equity", "equity", "drawdown", "next_level", "next_level_equity", "distance_to_next", "leverage_over_cap", "transitions")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    PEAK_EQUITY_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    DRAWDOWN_FIELD_NUMBER: _ClassVar[int]
    NEXT_LEVEL_FIELD_NUMBER: _ClassVar[int]
    NEXT_LEVEL_EQUITY_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_TO_NEXT_FIELD_NUMBER: _ClassVar[int]
    LEVERAGE_OVER_CAP_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    level: str
    peak_equity: str
    equity: str
    drawdown: str
    next_level: str
    next_level_equity: str
    distance_to_next: str
    leverage_over_cap: bool
    transitions: int
    def __init__(self, level: _Optional[str] = ..., peak_equity: _Optional[str] = ..., equity: _Optional[str] = ..., drawdown: _Optional[str] = ..., next_level: _Optional[str] = ..., next_level_equity: _Optional[str] = ..., distance_to_next: _Optional[str] = ..., leverage_over_cap: _Optional[bool] = ..., transitions: _Optional[int] = ...) -> None: ...

class SignalWeights(_message.Message):
    __slots__ = ("source", "since_ms", "age_ms", "learning", "last_update_ms", "last_update_source", "validation_score", "next_update_ms")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    AGE_MS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_UPDATE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_SCORE_FIELD_NUMBER: _ClassVar[int]
    NEXT_UPDATE_MS_FIELD_NUMBER: _ClassVar[int]
    source: str
    since_ms: int
    age_ms: int
    learning: bool
    last_update_ms: int
    last_update_source: str
    validation_score: float
    next_update_ms: int
    def __init__(self, source: _Optional[str] = ..., since_ms: _Optional[int] = ..., age_ms: _Optional[int] = ..., learning: _Optional[bool] = ..., last_update_ms: _Optional[int] = ..., last_update_source: _Optional[str] = ..., validation_score: _Optional[float] = ..., next_update_ms: _Optional[int] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ("state", "run_id", "exchange", "market", "symbol", "last_candle_open_time", "last_price", "candles_processed", "positions", "open_orders", "balances", "pnl", "risk", "conviction", "telemetry_seq", "started_at_ms", "brake", "weights")
    STATE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    LAST_CANDLE_OPEN_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_FIELD_NUMBER: _ClassVar[int]
    CANDLES_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    OPEN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    PNL_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    CONVICTION_FIELD_NUMBER: _ClassVar[int]
    TELEMETRY_SEQ_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    BRAKE_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    state: str
    run_id: str
    exchange: str
    market: str
    symbol: str
    last_candle_open_time: int
    last_price: str
    candles_processed: int
    positions: _containers.RepeatedCompositeFieldContainer[Position]
    open_orders: _containers.RepeatedCompositeFieldContainer[OpenOrder]
    balances: _containers.RepeatedCompositeFieldContainer[Balance]
    pnl: Pnl
    risk: Risk
    conviction: Conviction
    telemetry_seq: int
    started_at_ms: int
    brake: Brake
    weights: SignalWeights
    def __init__(self, state: _Optional[str] = ..., run_id: _Optional[str] = ..., exchange: _Optional[str] = ..., market: _Optional[str] = ..., symbol: _Optional[str] = ..., last_candle_open_time: _Optional[int] = ..., last_price: _Optional[str] = ..., candles_processed: _Optional[int] = ..., positions: _Optional[_Iterable[_Union[Position, _Mapping]]] = ..., open_orders: _Optional[_Iterable[_Union[OpenOrder, _Mapping]]] = ..., balances: _Optional[_Iterable[_Union[Balance, _Mapping]]] = ..., pnl: _Optional[_Union[Pnl, _Mapping]] = ..., risk: _Optional[_Union[Risk, _Mapping]] = ..., conviction: _Optional[_Union[Conviction, _Mapping]] = ..., telemetry_seq: _Optional[int] = ..., started_at_ms: _Optional[int] = ..., brake: _Optional[_Union[Brake, _Mapping]] = ..., weights: _Optional[_Union[SignalWeights, _Mapping]] = ...) -> None: ...

class StreamTelemetryRequest(_message.Message):
    __slots__ = ("after_seq", "kinds")
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    after_seq: int
    kinds: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, after_seq: _Optional[int] = ..., kinds: _Optional[_Iterable[str]] = ...) -> None: ...

class TelemetryEvent(_message.Message):
    __slots__ = ("seq", "time_ms", "kind", "event", "fields_json", "run_id")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    seq: int
    time_ms: int
    kind: str
    event: str
    fields_json: str
    run_id: str
    def __init__(self, seq: _Optional[int] = ..., time_ms: _Optional[int] = ..., kind: _Optional[str] = ..., event: _Optional[str] = ..., fields_json: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class ConfigReply(_message.Message):
    __slots__ = ("config_json",)
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    config_json: str
    def __init__(self, config_json: _Optional[str] = ...) -> None: ...
