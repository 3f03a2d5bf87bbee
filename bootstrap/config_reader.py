"""Type-checked reading of one JSON object of the configuration, key by key.

:class:`ConfigReader` knows nothing about the sections of the gridbot config (those are in
:mod:`bootstrap.config_sections`): it checks the type and range of each value it is asked
for, fills in defaults for absent keys, remembers which keys were read so that
:meth:`ConfigReader.finish` can reject the unknown ones, and turns every problem into one
:class:`ConfigError` naming the source and the JSON path.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, get_args

#: The largest number any setting takes (unless it names a tighter bound): a quadrillion.
#: Balances, budgets and prices beyond it are typing mistakes, and Decimal arithmetic on
#: them (28 significant digits) would fail deep inside the run instead of here.
LARGEST = Decimal(10**15)
#: The most decimal places a number may have (Binance uses at most 8; fees and rates fewer).
MOST_DECIMAL_PLACES = 18


class ConfigError(ValueError):
    """The configuration is invalid; the message names the file and the JSON path."""


class ConfigReader:
    """Walks one JSON object, type-checking values and remembering which keys were read."""

    def __init__(self, source: str, path: str, data: Any) -> None:
        self.source = source
        self.path = path
        if not isinstance(data, dict):
            self.fail(path, "must be an object")
        self.data: dict[str, Any] = data
        self.seen: set[str] = set()

    def fail(self, path: str, message: str) -> None:
        """Raise the :class:`ConfigError` for ``path`` (always raises)."""
        raise ConfigError(f"{self.source}: {path}: {message}")

    def _get(self, key: str) -> tuple[bool, Any, str]:
        self.seen.add(key)
        return key in self.data, self.data.get(key), f"{self.path}.{key}"

    def section(self, key: str) -> ConfigReader:
        """A reader for the nested object ``key`` (an empty object when absent)."""
        present, value, path = self._get(key)
        return ConfigReader(self.source, path, value if present else {})

    def string(self, key: str, default: str, choices: tuple[str, ...] = ()) -> str:
        """A non-empty string, optionally one of ``choices``."""
        present, value, path = self._get(key)
        if not present:
            return default
        if not isinstance(value, str) or not value:
            self.fail(path, "must be a non-empty string")
        if choices and value not in choices:
            self.fail(path, f"must be one of {', '.join(choices)}, got {value!r}")
        return str(value)

    def string_list(
        self, key: str, default: tuple[str, ...], choices: tuple[str, ...]
    ) -> tuple[str, ...]:
        """A list of distinct strings, each one of ``choices``."""
        present, value, path = self._get(key)
        if not present:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(path, "must be a list of strings")
        for item in value:
            if item not in choices:
                self.fail(path, f"each must be one of {', '.join(choices)}, got {item!r}")
        if len(set(value)) != len(value):
            self.fail(path, "must not name a strategy twice")
        return tuple(value)

    def optional_string(self, key: str) -> str | None:
        """A non-empty string, or None when absent or null."""
        present, value, path = self._get(key)
        if not present or value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail(path, "must be a non-empty string or null")
        return str(value)

    def boolean(self, key: str, default: bool) -> bool:
        """``true`` or ``false``."""
        present, value, path = self._get(key)
        if not present:
            return default
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
        return bool(value)

    def integer(
        self,
        key: str,
        default: int,
        minimum: int,
        maximum: int | None = None,
        nullable: bool = False,
    ) -> int:
        """An integer in ``[minimum, maximum]`` (``nullable`` only changes the message).

        Without a ``maximum``, :data:`LARGEST` bounds it.
        """
        present, value, path = self._get(key)
        if not present:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be an integer" + (" or null" if nullable else ""))
        if value < minimum or (maximum is not None and value > maximum):
            bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            self.fail(path, f"must be {bound}, got {value}")
        if value > LARGEST:
            self.fail(path, f"must be <= {LARGEST}, got {value}")
        return int(value)

    def integer_list(
        self, key: str, default: tuple[int, ...], minimum: int, maximum: int
    ) -> tuple[int, ...]:
        """A non-empty list of distinct integers, each in ``[minimum, maximum]``."""
        present, value, path = self._get(key)
        if not present:
            return default
        if not isinstance(value, list) or not value:
            self.fail(path, "must be a non-empty list of integers")
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, int):
                self.fail(f"{path}[{index}]", f"must be an integer, got {item!r}")
            if not minimum <= item <= maximum:
                self.fail(
                    f"{path}[{index}]", f"must be between {minimum} and {maximum}, got {item}"
                )
        if len(set(value)) != len(value):
            self.fail(path, "must not repeat a value")
        return tuple(int(v) for v in value)

    def optional_integer(
        self, key: str, default: int | None, minimum: int, maximum: int | None = None
    ) -> int | None:
        """An integer in ``[minimum, maximum]``, or None when null."""
        if key not in self.data:
            self.seen.add(key)
            return default
        if self.data[key] is None:
            self.seen.add(key)
            return None
        return self.integer(key, minimum, minimum, maximum, nullable=True)

    def url(self, key: str) -> str | None:
        """An optional ``http://`` or ``https://`` URL."""
        value = self.optional_string(key)
        if value is not None and not value.startswith(("http://", "https://")):
            self.fail(f"{self.path}.{key}", "must start with http:// or https://")
        return value

    def decimal(
        self,
        key: str,
        default: Decimal | None,
        minimum: Decimal | None = None,
        maximum: Decimal | None = None,
        exclusive_min: bool = False,
        nullable: bool = False,
    ) -> Decimal | None:
        """A finite number (JSON number or numeric string) within the bounds, as Decimal.

        Without a ``maximum``, :data:`LARGEST` bounds it; at most
        :data:`MOST_DECIMAL_PLACES` decimal places are accepted.
        """
        present, value, path = self._get(key)
        if not present:
            return default
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
            self.fail(path, "must be a number" + (" or null" if nullable else ""))
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.fail(path, f"must be a number, got {value!r}")
        if not number.is_finite():
            self.fail(path, f"must be a finite number, got {value!r}")
        if minimum is not None and (number <= minimum if exclusive_min else number < minimum):
            self.fail(path, f"must be {'>' if exclusive_min else '>='} {minimum}, got {number}")
        largest = LARGEST if maximum is None else maximum
        if number > largest:
            self.fail(path, f"must be <= {largest:f}, got {number}")
        if number and number.as_tuple().exponent < -MOST_DECIMAL_PLACES:  # type: ignore[operator]
            self.fail(path, f"must have at most {MOST_DECIMAL_PLACES} decimal places, got {number}")
        return number

    def required_decimal(self, key: str, default: Decimal, **bounds: Any) -> Decimal:
        """:meth:`decimal` for a value that cannot be null."""
        value = self.decimal(key, default, **bounds)
        assert value is not None
        return value

    def choice(self, key: str, default: str, choices: Any) -> Any:
        """A string restricted to the members of a ``Literal`` type (returned as that type)."""
        return self.string(key, default, get_args(choices))

    def finish(self) -> None:
        """Fail on the first key (sorted) that was never read, ``_comment`` excepted."""
        unknown = sorted(set(self.data) - self.seen - {"_comment"})
        if unknown:
            self.fail(f"{self.path}.{unknown[0]}", "unknown key")
