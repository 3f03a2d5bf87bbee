"""Immutable message records that are cheap to create.

Commands, events, fills and requests are created several times per order — hundreds of
thousands of times in a long backtest. A frozen dataclass pays one ``object.__setattr__``
per field (about 1.2 µs for nine fields); a NamedTuple is immutable and costs a quarter of
that. Plain tuples compare equal across types, so :func:`typed_equality` makes two records
equal only when they are of the same type.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def typed_equality(cls: type[T]) -> type[T]:
    """Give a NamedTuple class equality that also compares the type."""

    def __eq__(self: tuple[Any, ...], other: object) -> bool:
        return type(self) is type(other) and tuple.__eq__(self, other)

    def __ne__(self: tuple[Any, ...], other: object) -> bool:
        return not __eq__(self, other)

    cls.__eq__ = __eq__  # type: ignore[method-assign,assignment]
    cls.__ne__ = __ne__  # type: ignore[method-assign,assignment]
    cls.__hash__ = tuple.__hash__  # type: ignore[method-assign,assignment]
    return cls
