"""What every SQL module shares at the driver boundary: error translation and stored times."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import exc as sa_exc

from ..errors import StorageBusy, StorageError

__all__ = ["translate", "when"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# PostgreSQL SQLSTATEs worth retrying: serialization failure, deadlock, lock timeout,
# connection failures.
_RETRYABLE_PG: Final = ("40001", "40P01", "55P03", "57P01", "08000", "08003", "08006")


def when(us: int) -> datetime:
    """The aware UTC datetime stored as ``us`` microseconds since 1970-01-01."""
    return _EPOCH + timedelta(microseconds=us)


@contextmanager
def translate(operation: str) -> Iterator[None]:
    """Turn SQLAlchemy / driver errors into pipelinekit storage errors (keeping the cause)."""
    try:
        yield
    except StorageError:
        raise
    except sa_exc.DBAPIError as error:
        raise _translated(operation, error) from error
    except sa_exc.TimeoutError as error:
        # the engine's connection pool had no free connection in time
        raise StorageBusy(
            f"{operation} failed: every pooled connection stayed in use ({error}); retry, "
            "or give the pool as many connections as the threads that use the storage"
        ) from error
    except sa_exc.SQLAlchemyError as error:
        raise StorageError(f"{operation} failed: {error}") from error


def _translated(operation: str, error: sa_exc.DBAPIError) -> StorageError:
    original = error.orig
    detail = str(original).strip().splitlines()[0] if original is not None else str(error)
    state = getattr(original, "sqlstate", None)
    message = f"{operation} failed: {detail}"
    if "database is locked" in detail or "database table is locked" in detail:
        return StorageBusy(
            message + " (another connection, of this process or another, held the lock; retry)"
        )
    if state in _RETRYABLE_PG or error.connection_invalidated:
        return StorageBusy(message)
    if isinstance(error, sa_exc.OperationalError):
        return StorageError(message, retryable=True)
    return StorageError(message)
