"""
Observer registries: named events, callbacks in a stable order, and no
callback able to stop the others.

Not API (C{docs/api.rst}): programs register their callbacks with
L{StompClient.reg_cb<stomp_twisted.client.StompClient.reg_cb>}, and the
handle it returns is only for C{unreg_cb}.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterable, KeysView
from dataclasses import dataclass, field
from typing import Any, Final

from twisted.logger import Logger
from twisted.python.failure import Failure

from .errors import BadArgument
from .frame import SERVER_COMMANDS

__all__ = ["CLIENT_EVENTS", "CallbackHandle", "Observers", "check_event"]

#: The events a L{StompClient<stomp_twisted.client.StompClient>} fires:
#: each frame command a broker sends, C{"frame"} (every frame), and the
#: connection's and messages' events.
CLIENT_EVENTS: Final = frozenset(
    SERVER_COMMANDS
    | {
        "frame",
        "prepare",
        "connect",
        "connect_error",
        "io_error",
        "disconnect",
        "heartbeat",
        "poison",
    }
)


def check_event(event: object, known: Iterable[str]) -> str:
    """
    Check that C{event} is one of C{known}, so that a misspelt name is
    refused rather than registered and never fired.

    @return: C{event}.
    @raise BadArgument: if it is not a str, or not known; the message
        lists the known events and the closest match.
    """
    if not isinstance(event, str):
        raise BadArgument(f"event must be a str, not {type(event).__name__}")
    names = sorted(known)
    if event in names:
        return event
    close = difflib.get_close_matches(event, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise BadArgument(f"unknown event {event!r}{hint}; known events: {', '.join(names)}")


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

    @ivar events: the events callbacks may be registered for, or C{None}
        for any name.
    @ivar observed: the events that have a callback now (a live view): the
        receive path tests it for every message and heart-beat, where a
        lookup costs less than a call to L{has}.
    """

    _log = Logger()

    def __init__(self, events: Iterable[str] | None = None) -> None:
        """
        @param events: the events that exist; registering for another
            raises L{BadArgument}.  C{None} (the default) accepts any name.
        """
        self.events: frozenset[str] | None = None if events is None else frozenset(events)
        # Only events with a callback have a list here (an emptied one is
        # removed), so that its keys are the events observed.
        self._by_event: dict[str, list[CallbackHandle]] = {}
        self.observed: KeysView[str] = self._by_event.keys()
        self._serials = itertools.count()

    def register(
        self, event: str, callback: Callable[..., Any], priority: int = 0
    ) -> CallbackHandle:
        """
        Call C{callback} whenever C{event} fires, after every callback of a
        lower C{priority} and every earlier one of the same priority.

        @raise BadArgument: (a L{TypeError}) if C{callback} is not
            callable, C{event} not a string or not one of L{events}, or
            C{priority} not an int.
        """
        if self.events is not None:
            check_event(event, self.events)
        elif not isinstance(event, str):
            raise BadArgument(f"event must be a str, not {type(event).__name__}")
        if not callable(callback):
            raise BadArgument(f"callback must be callable, not {type(callback).__name__}")
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise BadArgument(f"priority must be an int, not {type(priority).__name__}")
        handle = CallbackHandle(priority, next(self._serials), event, callback)
        handles = self._by_event.setdefault(event, [])
        handles.append(handle)
        handles.sort()
        return handle

    def unregister(self, handle: CallbackHandle) -> None:
        """
        Stop calling the callback that C{handle} registered.  Unregistering
        twice does nothing.

        @raise BadArgument: if C{handle} is not a L{CallbackHandle}.
        """
        if not isinstance(handle, CallbackHandle):
            raise BadArgument(
                "a callback is removed with the CallbackHandle its registration returned, "
                f"not a {type(handle).__name__}"
            )
        handles = self._by_event.get(handle.event, [])
        # By identity: handles compare equal by (priority, serial) only, and
        # every registry numbers from 0, so a handle from another registry
        # would otherwise remove an unrelated callback here.
        for index, registered in enumerate(handles):
            if registered is handle:
                del handles[index]
                if not handles:
                    del self._by_event[handle.event]
                return

    def has(self, event: str) -> bool:
        """
        Whether any callback is registered for C{event}.
        """
        return event in self.observed

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
