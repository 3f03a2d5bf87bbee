"""The ``UnitOfWork`` port over the SQL journal: all of it commits, or none of it."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection, RootTransaction

from application.ports.repository import OrderRepository

if TYPE_CHECKING:
    from adapters.persistence.repository import SqlJournal


class SqlUnitOfWork:
    """One transaction around every call made on ``orders`` (the journal) inside the block.

    While the unit is open the journal routes every call to the unit's connection instead of
    committing each one. :meth:`commit` makes the work so far durable and carries on in a
    new transaction; leaving the block rolls back whatever was not committed, so an
    exception (or a forgotten commit) leaves the journal as it was — the safe default.

    Args:
        journal: The journal to group calls on (one unit at a time per journal).
    """

    def __init__(self, journal: SqlJournal) -> None:
        # Typed as the port: UnitOfWork.orders is a mutable attribute, hence invariant.
        self.orders: OrderRepository = journal
        self._journal = journal
        self.committed = False
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None

    def __enter__(self) -> SqlUnitOfWork:
        """Open the connection and begin the transaction.

        Raises:
            RuntimeError: A unit of work is already open on the journal.
        """
        self._conn = self._journal._attach()
        self._tx = self._conn.begin()
        self.committed = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back anything not committed and give the connection back."""
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            self._tx = None
            self._conn = None
            self._journal._detach()

    def commit(self) -> None:
        """Make the changes durable; later calls in the block start a new transaction."""
        conn, tx = self._active()
        tx.commit()
        self.committed = True
        self._tx = conn.begin()

    def rollback(self) -> None:
        """Discard the changes since the last commit; later calls start a new transaction."""
        conn, tx = self._active()
        tx.rollback()
        self._tx = conn.begin()

    def _active(self) -> tuple[Connection, RootTransaction]:
        if self._conn is None or self._tx is None:
            raise RuntimeError("unit of work is not open (use it as a context manager)")
        return self._conn, self._tx
