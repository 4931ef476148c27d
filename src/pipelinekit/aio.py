"""Using storage from ``async def`` code (FastAPI, Starlette, aiohttp) without blocking the loop.

The adapters talk to their databases through blocking drivers (``sqlite3``,
psycopg through SQLAlchemy), so calling them from a coroutine would stop the
event loop for every query, and a unit of work held across ``await`` would
keep its connection (and, on SQLite, the write lock) while other requests
wait.  This module runs the blocking work on threads, with the standard
library's :mod:`asyncio` only (no extra dependency):

* :meth:`AsyncStorage.run` (the recommended way) runs a whole unit of work
  (``fn(uow)``, commit, retries as :meth:`pipelinekit.storage.Storage.run`)
  on a worker thread, so no lock is held while the coroutine awaits anything
  else;
* ``async with astorage.unit_of_work() as uow`` gives a unit of work whose
  every call runs on one thread of its own (opened, used and closed there)
  and is awaited: ``await uow.leads.get(lead_id)``, ``await uow.commit()``.
  Keep other awaits out of the block: the unit of work stays open across them.

::

    from pipelinekit.aio import AsyncStorage

    astorage = AsyncStorage(storage)

    async def rename(lead_id: str, owner: str) -> None:
        def change(uow):
            lead = uow.leads.get(lead_id)
            uow.leads.save(lead.evolve(owner=owner, updated_at=clock.now()))

        await astorage.run(change)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast, overload

from .storage import Storage, UnitOfWork

if TYPE_CHECKING:  # only for the types: importing it needs SQLAlchemy
    from .storage.sql import SqlStorage, SqlUnitOfWork

__all__ = ["AsyncStorage", "AsyncUnitOfWork"]

T = TypeVar("T")
U = TypeVar("U", bound=UnitOfWork)


class AsyncStorage(Generic[U]):
    """An awaitable face of a :class:`~pipelinekit.storage.Storage` (one per process, shared).

    Use it as ``async with AsyncStorage(storage) as astorage`` at startup, or
    call :meth:`aclose` at shutdown (it closes the storage).  Its type
    parameter is the storage's unit of work, which :meth:`run` passes to its
    function: ``AsyncStorage[SqlUnitOfWork]`` for the SQL adapters (whose
    units of work have ``connection``), ``AsyncStorage[UnitOfWork]`` for others.
    """

    @overload
    def __init__(self: AsyncStorage[SqlUnitOfWork], storage: SqlStorage) -> None: ...
    @overload
    def __init__(self: AsyncStorage[UnitOfWork], storage: Storage) -> None: ...
    def __init__(self, storage: Storage) -> None:
        if not isinstance(storage, Storage):
            from .errors import Problem, ValidationError

            raise ValidationError(
                "AsyncStorage()",
                [Problem("$.storage", f"must be a Storage, got {type(storage).__name__}")],
            )
        #: The storage every unit of work is made from.
        self.storage = storage

    def __repr__(self) -> str:
        return f"<AsyncStorage of {self.storage!r}>"

    async def run(
        self,
        fn: Callable[[U], T],
        *,
        retries: int = 5,
        backoff: float = 0.01,
        read_only: bool = False,
    ) -> T:
        """:meth:`Storage.run <pipelinekit.storage.Storage.run>` on a worker thread, awaited.

        ``fn`` is an ordinary (blocking) function of the unit of work; the
        event loop keeps serving other requests while it runs and while a
        writer waits for a lock.
        """
        typed = cast(Callable[[UnitOfWork], T], fn)  # the storage makes U's
        call = functools.partial(
            self.storage.run, typed, retries=retries, backoff=backoff, read_only=read_only
        )
        return await asyncio.to_thread(call)

    def unit_of_work(self, *, read_only: bool = False) -> AsyncUnitOfWork:
        """A unit of work whose calls run (and are awaited) on a thread of its own."""
        return AsyncUnitOfWork(self.storage, read_only=read_only)

    async def aclose(self) -> None:
        """Close the storage's pooled connections (on a worker thread)."""
        await asyncio.to_thread(self.storage.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncUnitOfWork:
    """A unit of work used with ``async with``; every call is awaited and runs on its own thread.

    ``uow.leads``, ``uow.prospects``, ``uow.opportunities``, ``uow.events``,
    ``uow.results`` and ``uow.frequencies`` offer the same methods as their synchronous
    counterparts, as coroutines (``await uow.leads.save(lead)``);
    :meth:`call` runs any function of the synchronous unit of work there.
    Methods that return lazy iterators (``iterate``) are not offered: use
    ``find`` pages, or :meth:`call` with ``lambda uow: list(uow.leads.iterate())``.
    """

    def __init__(self, storage: Storage, *, read_only: bool = False) -> None:
        self._uow = storage.unit_of_work(read_only=read_only)
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        self.leads: Any = _Proxy(self, "leads")
        self.prospects: Any = _Proxy(self, "prospects")
        self.opportunities: Any = _Proxy(self, "opportunities")
        self.events: Any = _Proxy(self, "events")
        self.results: Any = _Proxy(self, "results")
        self.frequencies: Any = _Proxy(self, "frequencies")

    def __repr__(self) -> str:
        return f"<async {self._uow!r}>"

    async def _on_thread(self, fn: Callable[..., T], *args: Any) -> T:
        if self._thread is None:
            from .storage import UnitOfWorkClosed

            raise UnitOfWorkClosed("this unit of work is used outside its `async with` block")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(fn, *args))

    async def __aenter__(self) -> Self:
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="pipelinekit-uow"
        )
        try:
            await self._on_thread(self._uow.__enter__)
        except BaseException:
            self._thread.shutdown(wait=False)
            self._thread = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        thread = self._thread
        try:
            await self._on_thread(self._uow.__exit__, exc_type, exc, tb)
        finally:
            self._thread = None
            if thread is not None:
                thread.shutdown(wait=False)

    async def call(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run ``fn(uow)`` with the synchronous unit of work, on its thread."""
        return await self._on_thread(fn, self._uow)

    async def commit(self) -> None:
        """:meth:`UnitOfWork.commit <pipelinekit.storage.UnitOfWork.commit>`, awaited."""
        await self._on_thread(self._uow.commit)

    async def rollback(self) -> None:
        """:meth:`UnitOfWork.rollback <pipelinekit.storage.UnitOfWork.rollback>`, awaited."""
        await self._on_thread(self._uow.rollback)


class _Proxy:
    """A repository or store of an :class:`AsyncUnitOfWork`: its methods as coroutines."""

    def __init__(self, owner: AsyncUnitOfWork, name: str) -> None:
        self._owner = owner
        self._name = name

    def __repr__(self) -> str:
        return f"<async {self._name} of {self._owner!r}>"

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        target = getattr(getattr(self._owner._uow, self._name), method)
        if method.startswith("_") or method == "iterate" or not callable(target):
            raise AttributeError(
                f"the async {self._name} offer no {method!r}: use "
                f"`await uow.call(lambda u: ...u.{self._name}.{method}...)`"
            )

        async def awaited(*args: Any, **kwargs: Any) -> Any:
            return await self._owner._on_thread(functools.partial(target, *args, **kwargs))

        awaited.__name__ = method
        awaited.__doc__ = target.__doc__
        return awaited
