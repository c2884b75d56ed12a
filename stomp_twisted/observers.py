"""
Observer registries: named events, callbacks in a stable order, and no
callback able to stop the others.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.logger import Logger
from twisted.python.failure import Failure

__all__ = ["CallbackHandle", "Observers"]


@dataclass(frozen=True, order=True)
class CallbackHandle:
    """
    What L{Observers.register} returns, for L{Observers.unregister}.

    Handles order callbacks: by C{priority} (lower first), then by
    registration.
    """

    priority: int
    serial: int
    event: str = field(compare=False)
    callback: Callable[..., Any] = field(compare=False)


class Observers:
    """
    Callbacks registered by event name.
    """

    _log = Logger()

    def __init__(self) -> None:
        self._by_event: dict[str, list[CallbackHandle]] = {}
        self._serials = itertools.count()

    def register(
        self, event: str, callback: Callable[..., Any], priority: int = 0
    ) -> CallbackHandle:
        """
        Call C{callback} whenever C{event} fires, after every callback of a
        lower C{priority} and every earlier one of the same priority.

        @raise TypeError: if C{callback} is not callable or C{event} not a
            string.
        """
        if not isinstance(event, str):
            raise TypeError(f"event must be a str, not {type(event).__name__}")
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {callback!r}")
        handle = CallbackHandle(priority, next(self._serials), event, callback)
        handles = self._by_event.setdefault(event, [])
        handles.append(handle)
        handles.sort()
        return handle

    def unregister(self, handle: CallbackHandle) -> None:
        """
        Stop calling the callback that C{handle} registered.  Unregistering
        twice does nothing.
        """
        handles = self._by_event.get(handle.event, [])
        # By identity: handles compare equal by (priority, serial) only, and
        # every registry numbers from 0, so a handle from another registry
        # would otherwise remove an unrelated callback here.
        for index, registered in enumerate(handles):
            if registered is handle:
                del handles[index]
                return

    def has(self, event: str) -> bool:
        """
        Whether any callback is registered for C{event}.
        """
        return bool(self._by_event.get(event))

    def fire(self, event: str, *args: object) -> list[object]:
        """
        Call every callback registered for C{event} with C{args}.

        A callback that raises is logged and skipped: it never stops the
        others.  A callback registered or removed while C{event} fires
        takes effect from the next time.

        @return: what each callback returned, in order, with a L{Failure}
            in place of the result of each that raised.
        """
        results: list[object] = []
        for handle in tuple(self._by_event.get(event, ())):
            try:
                results.append(handle.callback(*args))
            except Exception:
                failure = Failure()  # type: ignore[no-untyped-call]
                self._log.failure(
                    "{event} callback {callback!r} raised",
                    failure,
                    event=event,
                    callback=handle.callback,
                )
                results.append(failure)
        return results
