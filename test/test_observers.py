"""
Tests for L{stomp_twisted.observers.Observers}.
"""

from __future__ import annotations

from typing import Any

from twisted.logger import ILogObserver, LogLevel, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import provider

from stomp_twisted.errors import BadArgument, StompError
from stomp_twisted.frame import SERVER_COMMANDS
from stomp_twisted.observers import CLIENT_EVENTS, CallbackHandle, Observers, check_event


class Recorder:
    """
    Makes callbacks that record their name and arguments in a shared list.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def __call__(self, name: str, result: object = None) -> Any:
        def callback(*args: object) -> object:
            self.calls.append((name, args))
            return result if result is not None else name

        return callback

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class OrderTests(SynchronousTestCase):
    """
    Callbacks run by priority, lower first, then in registration order.
    """

    def test_priority_order(self) -> None:
        """
        Callbacks run in ascending priority, whatever order they were
        registered in, and fire() returns their results in that order.
        """
        observers = Observers()
        record = Recorder()
        observers.register("e", record("p5"), priority=5)
        observers.register("e", record("p-1"), priority=-1)
        observers.register("e", record("p0"))
        observers.register("e", record("p2"), priority=2)
        self.assertEqual(observers.fire("e", 1, "two"), ["p-1", "p0", "p2", "p5"])
        self.assertEqual(record.names, ["p-1", "p0", "p2", "p5"])
        self.assertEqual({args for _, args in record.calls}, {(1, "two")})

    def test_registration_order_within_priority(self) -> None:
        """
        Callbacks of the same priority run in the order they were
        registered, including when other priorities are registered in
        between.
        """
        observers = Observers()
        record = Recorder()
        for name, priority in [("a1", 1), ("b0", 0), ("a2", 1), ("b1", 0), ("a3", 1), ("b2", 0)]:
            observers.register("e", record(name), priority)
        observers.fire("e")
        self.assertEqual(record.names, ["b0", "b1", "b2", "a1", "a2", "a3"])

    def test_events_are_separate(self) -> None:
        """
        Firing one event calls only that event's callbacks; an event with
        none returns an empty list.
        """
        observers = Observers()
        record = Recorder()
        observers.register("a", record("a"))
        observers.register("b", record("b"))
        self.assertEqual(observers.fire("b", 1), ["b"])
        self.assertEqual(record.calls, [("b", (1,))])
        self.assertEqual(observers.fire("nothing"), [])
        self.assertTrue(observers.has("a"))
        self.assertFalse(observers.has("nothing"))

    def test_same_callback_twice(self) -> None:
        """
        One callback registered twice is called twice, and each
        registration is removed separately by its own handle.
        """
        observers = Observers()
        record = Recorder()
        callback = record("cb")
        first = observers.register("e", callback)
        second = observers.register("e", callback)
        self.assertNotEqual(first, second)
        observers.fire("e")
        self.assertEqual(record.names, ["cb", "cb"])
        observers.unregister(first)
        observers.fire("e")
        self.assertEqual(record.names, ["cb", "cb", "cb"])
        observers.unregister(second)
        self.assertFalse(observers.has("e"))


class UnregisterTests(SynchronousTestCase):
    """
    L{Observers.unregister} removes exactly the registration its handle
    names.
    """

    def test_unregister(self) -> None:
        """
        An unregistered callback is no longer called; the others still
        are, in their order.
        """
        observers = Observers()
        record = Recorder()
        observers.register("e", record("a"))
        handle = observers.register("e", record("b"))
        observers.register("e", record("c"))
        self.assertIsInstance(handle, CallbackHandle)
        observers.unregister(handle)
        self.assertEqual(observers.fire("e"), ["a", "c"])
        self.assertEqual(record.names, ["a", "c"])

    def test_unregister_twice(self) -> None:
        """
        Unregistering the same handle twice is harmless and removes
        nothing else.
        """
        observers = Observers()
        record = Recorder()
        handle = observers.register("e", record("a"))
        observers.register("e", record("b"))
        observers.unregister(handle)
        observers.unregister(handle)
        self.assertEqual(observers.fire("e"), ["b"])

    def test_unregister_last(self) -> None:
        """
        Once its last callback is unregistered, an event has none.
        """
        observers = Observers()
        handle = observers.register("e", Recorder()("a"))
        self.assertTrue(observers.has("e"))
        observers.unregister(handle)
        self.assertFalse(observers.has("e"))
        self.assertEqual(observers.fire("e"), [])

    def test_unregister_foreign_handle(self) -> None:
        """
        A handle from another registry, even one with the same priority and
        position, does not remove anything from this one.
        """
        mine, theirs = Observers(), Observers()
        record = Recorder()
        observers_handle = mine.register("e", record("mine"))
        their_handle = theirs.register("e", record("theirs"))
        mine.unregister(their_handle)
        theirs.unregister(observers_handle)
        self.assertEqual(mine.fire("e"), ["mine"])
        self.assertEqual(theirs.fire("e"), ["theirs"])

    def test_unregister_during_fire(self) -> None:
        """
        A callback unregistered by another while the event fires is still
        called this time (removal takes effect from the next firing).
        """
        observers = Observers()
        record = Recorder()
        handles: list[CallbackHandle] = []

        def remover() -> str:
            observers.unregister(handles[0])
            return "remover"

        observers.register("e", remover)
        handles.append(observers.register("e", record("victim")))
        self.assertEqual(observers.fire("e"), ["remover", "victim"])
        self.assertEqual(observers.fire("e"), ["remover"])


class FailureTests(SynchronousTestCase):
    """
    A callback that raises is logged; it stops neither the others nor
    fire().
    """

    def test_raising_callback(self) -> None:
        """
        A raising callback is logged as an error, the callbacks after it
        still run, and fire() returns a L{Failure} in its place.
        """
        observers = Observers()
        record = Recorder()

        def bad(*args: object) -> None:
            record.calls.append(("bad", args))
            raise ZeroDivisionError("bad callback")

        observers.register("e", record("first"))
        observers.register("e", bad)
        observers.register("e", record("last"), priority=1)
        results = observers.fire("e", "arg")
        self.assertEqual(record.names, ["first", "bad", "last"])
        self.assertEqual(len(results), 3)
        self.assertEqual(results[0], "first")
        self.assertEqual(results[2], "last")
        failure = results[1]
        assert isinstance(failure, Failure)
        self.assertTrue(failure.check(ZeroDivisionError))
        self.assertEqual(str(failure.value), "bad callback")
        logged = self.flushLoggedErrors(ZeroDivisionError)
        self.assertEqual(len(logged), 1)
        self.assertIs(logged[0].value, failure.value)

    def test_log_event(self) -> None:
        """
        The log event names the event and the callback and carries the
        failure, at a level of error or above.
        """
        events: list[dict[str, Any]] = []

        @provider(ILogObserver)
        def observer(event: dict[str, Any]) -> None:
            if "log_failure" in event:
                events.append(event)

        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        observers = Observers()

        def bad() -> None:
            raise ValueError("nope")

        observers.register("frame", bad)
        [result] = observers.fire("frame")
        self.flushLoggedErrors(ValueError)
        self.assertEqual(len(events), 1)
        [event] = events
        self.assertIs(event["log_failure"], result)
        self.assertEqual(event["event"], "frame")
        self.assertIs(event["callback"], bad)
        self.assertIn(event["log_level"], (LogLevel.error, LogLevel.critical))

    def test_every_callback_raises(self) -> None:
        """
        When every callback raises, each is called and logged, and fire()
        returns one failure per callback.
        """
        observers = Observers()
        for exception in [KeyError, IndexError, RuntimeError]:

            def raiser(error: type[Exception] = exception) -> None:
                raise error()

            observers.register("e", raiser)
        results = observers.fire("e")
        self.assertEqual(
            [type(f.value) for f in results],  # type: ignore[attr-defined]
            [KeyError, IndexError, RuntimeError],
        )
        self.assertEqual(len(self.flushLoggedErrors(KeyError, IndexError, RuntimeError)), 3)


class RegistrationTests(SynchronousTestCase):
    """
    Registering while firing, and what register() refuses.
    """

    def test_register_during_fire(self) -> None:
        """
        A callback registered while the event fires, even at a priority
        that would run later, is not called this time but is the next.
        """
        observers = Observers()
        record = Recorder()
        added: list[CallbackHandle] = []

        def adder() -> str:
            if not added:
                added.append(observers.register("e", record("new"), priority=10))
                added.append(observers.register("e", record("new-first"), priority=-10))
            return "adder"

        observers.register("e", adder)
        self.assertEqual(observers.fire("e"), ["adder"])
        self.assertEqual(record.names, [])
        self.assertEqual(observers.fire("e"), ["new-first", "adder", "new"])

    def test_register_non_callable(self) -> None:
        """
        Registering something that is not callable raises L{TypeError}
        and registers nothing.
        """
        observers = Observers()
        for not_callable in [None, "callback", 42]:
            with self.assertRaises(TypeError):
                observers.register("e", not_callable)  # type: ignore[arg-type]
        self.assertFalse(observers.has("e"))
        self.assertEqual(observers.fire("e"), [])

    def test_register_non_str_event(self) -> None:
        """
        An event name that is not a string raises L{TypeError}.
        """
        observers = Observers()
        with self.assertRaises(TypeError):
            observers.register(b"e", lambda: None)  # type: ignore[arg-type]
        self.assertFalse(observers.has(b"e"))  # type: ignore[arg-type]

    def test_bad_arguments_are_bad_argument(self) -> None:
        """
        What register() and unregister() refuse raises L{BadArgument}, a
        L{StompError} that is still a L{TypeError}.
        """
        observers = Observers()
        for call in (
            lambda: observers.register("e", "not callable"),  # type: ignore[arg-type]
            lambda: observers.register(1, print),  # type: ignore[arg-type]
            lambda: observers.register("e", print, priority="1"),  # type: ignore[arg-type]
            lambda: observers.register("e", print, priority=True),
            lambda: observers.unregister("handle"),  # type: ignore[arg-type]
        ):
            error = self.assertRaises(BadArgument, call)
            self.assertIsInstance(error, TypeError)
            self.assertIsInstance(error, StompError)
        self.assertFalse(observers.has("e"))


class EventSetTests(SynchronousTestCase):
    """
    An L{Observers} made with an explicit set of events refuses others.
    """

    def test_any_event_by_default(self) -> None:
        """
        Without C{events}, any name is accepted.
        """
        observers = Observers()
        self.assertIsNone(observers.events)
        observers.register("anything", lambda: "ok")
        self.assertEqual(observers.fire("anything"), ["ok"])

    def test_unknown_event_refused(self) -> None:
        """
        With C{events}, an unknown name raises L{BadArgument} listing the
        known ones and the closest, and registers nothing.
        """
        observers = Observers(events=["MESSAGE", "RECEIPT"])
        error = self.assertRaises(BadArgument, observers.register, "MESAGE", print)
        self.assertIn("did you mean 'MESSAGE'", str(error))
        self.assertIn("known events: MESSAGE, RECEIPT", str(error))
        self.assertFalse(observers.has("MESAGE"))
        observers.register("RECEIPT", lambda: "ok")
        self.assertEqual(observers.fire("RECEIPT"), ["ok"])

    def test_no_close_match(self) -> None:
        """
        A name close to none says so without a guess.
        """
        error = self.assertRaises(BadArgument, check_event, "zzz", CLIENT_EVENTS)
        self.assertNotIn("did you mean", str(error))

    def test_client_events(self) -> None:
        """
        L{CLIENT_EVENTS} holds every server frame command and the
        client's connection and message events.
        """
        self.assertEqual(
            CLIENT_EVENTS,
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
            },
        )
        for event in CLIENT_EVENTS:
            self.assertEqual(check_event(event, CLIENT_EVENTS), event)
