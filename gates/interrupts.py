"""SIGINT and SIGTERM end a run the same way: gates stop, reports say so, one line, exit 128 + signal.

Left to Python, SIGINT is a KeyboardInterrupt that click turns into "Abort" (plus a stray blank line)
and that the typer-free fast path prints as a traceback, and SIGTERM kills the process outright, so
nothing cleans up (the manifest gate's workers were orphaned). One exception for both, raised in the
main thread, lets every command unwind through the same code. Exit codes are the shell's for a death
by that signal: 130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from gates.typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")
    R = TypeVar("R")


SIGNALS = (signal.SIGINT, signal.SIGTERM)
_trapping: list[bool] = []
"""Holds one item while a `trapped` block runs in the main thread (nested blocks leave the handlers be)."""
_received: list[int] = []
"""Signals received while trapped: an `Interrupted` raised inside a finaliser or callback is printed and
dropped by Python, so `check` asks this list again where a verdict is about to be given."""


class Interrupted(BaseException):
    """A signal asked the run to stop. A BaseException, so that no `except Exception` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    for number in SIGNALS:  # a second signal during the clean-up ends the process at once
        signal.signal(number, signal.SIG_DFL)
    _received.append(signum)
    raise Interrupted(signum)


def check() -> None:
    """Raise `Interrupted` if a signal arrived, even one whose exception Python swallowed on the way."""
    if _received:
        raise Interrupted(_received[0])


@contextmanager
def trapped() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into `Interrupted` while the block runs; restore the handlers after.

    A signal the process inherited as ignored (a background job's SIGINT) stays ignored, as POSIX asks.
    Handlers can only be set from the main thread; elsewhere, and nested, this does nothing.
    """
    if not _in_main_thread() or _trapping:
        yield
        return
    _trapping.append(True)
    _received.clear()  # one run per trap (tests run many in one process)
    previous = {number: signal.getsignal(number) for number in SIGNALS}
    for number, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(number, _raise_interrupted)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        _trapping.clear()


def _in_main_thread() -> bool:
    """Whether this is the main thread; without `threading` imported no other thread of gates can exist,
    and a one-file scan never imports it (a tenth of its start-up, with `typing`)."""
    threading = sys.modules.get("threading")
    return threading is None or bool(threading.current_thread() is threading.main_thread())


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs (in this thread and threads it starts); they
    arrive, and raise, when it ends.

    For forking: a signal landing in an at-fork hook (logging has one) raises there, and Python prints
    and drops an exception raised in such a hook. A child inherits the mask and must unblock it.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no fork there either
        yield
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def report(exc: Interrupted) -> int:
    """The one stderr line of an interrupted run, and its exit code."""
    print(f"gates: interrupted by {exc.name}: no verdict", file=sys.stderr)
    return exc.exit_code


def map_in_threads(function: Callable[[T], R], items: Iterable[T], workers: int, name: str) -> list[R]:
    """`function` over `items` in a thread pool, in order; an interrupt neither waits nor starts more.

    A `with ThreadPoolExecutor` block would finish every queued call before the interrupt got through,
    and a registry that never answers holds each running call for its whole timeout.
    """
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        results = list(pool.map(function, items))
    except Interrupted:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def exit_process(code: int) -> None:
    """End the process with `code`; after an interrupt, without joining threads still stuck in a read."""
    if not _received:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe: nothing more can be said on it
            stream.flush()
    os._exit(code)
