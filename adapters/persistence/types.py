"""Column types that keep money exact on every backend.

SQLite has no exact decimal type (its NUMERIC affinity silently converts to a float), and a
PostgreSQL ``NUMERIC`` drops the trailing zeros that record an instrument's precision. Storing
``str(Decimal)`` as TEXT keeps the very value the domain computed — ``Decimal("0.00100000")``
reads back as ``Decimal("0.00100000")`` — and makes both backends store identical text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import Text, TypeDecorator


class ExactDecimal(TypeDecorator[Decimal]):
    """A :class:`~decimal.Decimal` stored as its exact string form in a TEXT column.

    Only ``Decimal`` (and ``int``, which is exact) is accepted on the way in: a float would
    already have lost the value, so it is refused instead of being stored approximately.
    The column is not meant for numeric ordering or arithmetic in SQL; the journal never
    does either.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Decimal -> its exact text (``None`` stays NULL).

        Raises:
            TypeError: The value is a float or another non-exact type.
        """
        if value is None:
            return None
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(Decimal(value))
        raise TypeError(f"ExactDecimal needs a Decimal, got {type(value).__name__}: {value!r}")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Stored text -> the Decimal it was written from (NULL -> ``None``)."""
        if value is None:
            return None
        return Decimal(value)
