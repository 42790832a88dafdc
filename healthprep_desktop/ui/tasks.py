"""The one background-operation primitive of the UI (after Anki's QueryOp).

``start(coro, on_done=..., on_error=...)`` runs a coroutine on the qasync loop and calls back on
the GUI thread. Blocking work inside the coroutine goes through ``asyncio.to_thread`` (or the
workers' process pool), so the event loop never stalls. Tasks are kept referenced until they
finish (asyncio only holds weak references) and can be cancelled together when a window closes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject

T = TypeVar("T")
log = logging.getLogger(__name__)

_RUNNING: set[asyncio.Task[Any]] = set()
BLOCKING_WORKERS = 4  # store reads, page rendering, PDF combining: short jobs, few at a time


def configure_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Plain Python threads for ``asyncio.to_thread``: qasync's default QThread pool can tear
    down a QThread that is still finishing a job when the loop closes."""
    loop.set_default_executor(
        concurrent.futures.ThreadPoolExecutor(BLOCKING_WORKERS, thread_name_prefix="ui-blocking")
    )


def start(
    coro: Coroutine[Any, Any, T],
    *,
    on_done: Callable[[T], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    name: str | None = None,
    owner: QObject | None = None,
) -> asyncio.Task[T]:
    """Schedule ``coro``; ``on_done`` gets its result, ``on_error`` any exception (not a
    cancellation). Without ``on_error`` an exception is logged (type only: messages may hold
    data we do not log). With ``owner``, the callbacks are skipped once the owner's C++ object
    is gone (a window closed while its work ran)."""
    task = asyncio.get_event_loop().create_task(coro, name=name)
    _RUNNING.add(task)

    def finished(done: asyncio.Task[T]) -> None:
        _RUNNING.discard(done)
        if done.cancelled():
            return
        if owner is not None and not shiboken6.isValid(owner):
            done.exception()  # retrieved: no "exception never retrieved" noise
            return
        exc = done.exception()
        if exc is not None:
            if on_error is not None:
                on_error(exc)
            else:
                log.error("background task %s failed: %s", name or "?", type(exc).__name__)
            return
        if on_done is not None:
            on_done(done.result())

    task.add_done_callback(finished)
    return task


def running() -> list[asyncio.Task[Any]]:
    return list(_RUNNING)


async def cancel_all() -> None:
    """Cancel every task started here on this loop and wait for them (window close)."""
    loop = asyncio.get_running_loop()
    for stale in [t for t in _RUNNING if t.get_loop() is not loop]:
        _RUNNING.discard(stale)  # a closed loop's (tests create one per test)
    tasks = list(_RUNNING)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
