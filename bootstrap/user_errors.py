"""User errors: one line naming the file and the field or line, never a traceback.

Shared by every command (``backtest``, ``run``, ``emulator``, ``research``): 2 for
configuration and usage errors, 1 for data errors.
"""

from __future__ import annotations

from typing import TextIO

from adapters.market_data.kline_csv import KlineFormatError
from adapters.simulated.funding import FundingFileError
from bootstrap.containers import EmptyAccount
from bootstrap.instruments import UnknownInstrument
from bootstrap.secrets import CredentialsError
from bootstrap.simulation import DataMismatch

EXIT_DATA_ERROR = 1
EXIT_CONFIG_ERROR = 2
CONFIG_ERRORS: tuple[type[Exception], ...] = (
    UnknownInstrument,
    DataMismatch,
    EmptyAccount,
    CredentialsError,
)
DATA_ERRORS: tuple[type[Exception], ...] = (KlineFormatError, FundingFileError, FileNotFoundError)


def user_error(exc: Exception, config_source: str, err: TextIO) -> int:
    """One line for a user error, no traceback: configuration (exit 2) or data (exit 1)."""
    if isinstance(exc, UnknownInstrument):
        err.write(f"gridbot: config error: {config_source}: $.market.symbol: {exc}\n")
        return EXIT_CONFIG_ERROR
    if isinstance(exc, CONFIG_ERRORS):
        err.write(f"gridbot: config error: {exc}\n")
        return EXIT_CONFIG_ERROR
    err.write(f"gridbot: data error: {exc}\n")
    return EXIT_DATA_ERROR
