"""Binance hosts per market and environment, and how an override (the emulator) maps.

Futures testnet hosts are documented inconsistently (see the reference summary §14); we
use the official SDK's REST constant and the documented stream host. A ``base_url``
override (e.g. the local emulator) serves every route itself: its WebSocket base is the
same host with ``ws://`` (or ``wss://``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Market = Literal["spot", "futures"]


@dataclass(frozen=True)
class BinanceUrls:
    """REST base, WebSocket stream base and (spot) WS-API URL for one market."""

    rest: str
    ws: str
    ws_api: str


_HOSTS: dict[tuple[Market, bool], BinanceUrls] = {
    ("spot", False): BinanceUrls(
        "https://api.binance.com",
        "wss://stream.binance.com:9443",
        "wss://ws-api.binance.com:443/ws-api/v3",
    ),
    ("spot", True): BinanceUrls(
        "https://testnet.binance.vision",
        "wss://stream.testnet.binance.vision",
        "wss://ws-api.testnet.binance.vision/ws-api/v3",
    ),
    ("futures", False): BinanceUrls(
        "https://fapi.binance.com",
        "wss://fstream.binance.com",
        "wss://ws-fapi.binance.com/ws-fapi/v1",
    ),
    ("futures", True): BinanceUrls(
        "https://testnet.binancefuture.com",
        "wss://fstream.binancefuture.com",
        "wss://testnet.binancefuture.com/ws-fapi/v1",
    ),
}


def binance_urls(
    market: Market, testnet: bool, base_url: str | None = None, ws_url: str | None = None
) -> BinanceUrls:
    """The URLs to use: Binance's for the market and environment, or the overrides.

    Args:
        market: ``spot`` or ``futures``.
        testnet: Binance's testnet instead of the live exchange.
        base_url: REST override; its WebSocket base is derived (http -> ws) unless
            ``ws_url`` is given too.
        ws_url: WebSocket override.
    """
    hosts = _HOSTS[(market, testnet)]
    rest = base_url.rstrip("/") if base_url else hosts.rest
    if ws_url:
        ws = ws_url.rstrip("/")
    elif base_url:
        ws = "ws" + rest[len("http") :]  # http -> ws, https -> wss
    else:
        ws = hosts.ws
    ws_api = f"{ws}/ws-api/v3" if (base_url or ws_url) else hosts.ws_api
    return BinanceUrls(rest, ws, ws_api)
