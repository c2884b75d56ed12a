"""
The public STOMP client, L{StompClient}; L{stomp_twisted.connect} makes
one.

The names follow Perl's AnyEvent::STOMP (C{connect}, C{send},
C{send_frame}, C{ack}, C{reg_cb}); requests return L{Deferred}s tied to the
broker's receipts.  The client is a thin front: its work is done by small
collaborators built by its L{StompClientFactory} (see
C{docs/architecture.rst}).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IStreamClientEndpoint

from . import arguments
from ._lifecycle import State
from ._subscriptions import AckMode, Subscription
from ._transactions import Transaction
from .arguments import HeaderValues
from .errors import BadArgument, ConnectionLost
from .factory import DEFAULT_MAX_UNACKED, DEFAULT_RECEIPT_TIMEOUT, StompClientFactory
from .frame import Frame, FrameLimits
from .heartbeat import HeartbeatIntervals
from .observers import CLIENT_EVENTS, CallbackHandle, check_event
from .redelivery import RedeliveryPolicy
from .stats import ClientStats

__all__ = [
    "DEFAULT_MAX_UNACKED",
    "DEFAULT_RECEIPT_TIMEOUT",
    "AckMode",
    "HeaderValues",
    "State",
    "StompClient",
    "Subscription",
    "Transaction",
]

#: What a message body may be: bytes, or text sent as UTF-8.
Body = bytes | bytearray | memoryview | str


def _body_bytes(body: object) -> bytes:
    """
    A message body as bytes: text is sent as UTF-8.

    @raise BadArgument: for text that cannot be encoded (a lone
        surrogate) or a body of another type.
    """
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:
            flaw = arguments.describe_flaw(body, "")
            raise BadArgument(
                f"body {flaw}: text bodies are sent as UTF-8; pass bytes to send other data"
            ) from None
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise BadArgument(f"body must be bytes or str, not {type(body).__name__}")


class StompClient:
    """
    A STOMP client: it holds the configuration, the observers and the
    subscriptions, and keeps reconnecting (to the next broker of a list)
    until told to stop.

    Make one with L{connect<stomp_twisted.connect>}.  Observers registered
    with L{reg_cb} see every frame and connection event: each frame command
    (C{"MESSAGE"}, C{"RECEIPT"}, C{"ERROR"}, C{"CONNECTED"}, ...) as
    C{callback(client, body, headers)}, then C{"frame"} as
    C{callback(client, command, body, headers)}; C{"prepare"} (a
    connection is up, nothing written on it yet) as
    C{callback(client, protocol)} and C{"connect"} (CONNECT sent) as
    C{callback(client, protocol, host, port, retry)}, in AnyEvent::STOMP's
    order (C{retry()} drops the connection and tries the next broker);
    C{"connect_error"} (an attempt failed) and C{"io_error"} (a malformed
    frame, an unusable ack id, or an established connection lost without
    the client asking) as C{callback(client, message)}; C{"disconnect"}
    (a connection closed, or the client gave up) as
    C{callback(client, reason)}; C{"heartbeat"} (an EOL from the broker)
    as C{callback(client)}; C{"poison"} (a message given up on after its
    redelivery policy's C{max_deliveries}) as
    C{callback(client, body, headers, failure)}.
    """

    _factory: StompClientFactory

    def __init__(self, endpoint: IStreamClientEndpoint | None, **settings: Any) -> None:
        """
        @param endpoint: where to connect: one endpoint, or a
            L{FailoverEndpoint<stomp_twisted.failover.FailoverEndpoint>}
            over several brokers; C{None} for a client whose connections
            come from outside, through L{factory}.
        @param settings: C{reactor} (required) and the client's settings,
            as for L{StompClientFactory} (C{login}, C{passcode},
            C{reconnect}, C{receipt_timeout}, ...), all checked here.
        @raise BadArgument: for any setting of the wrong type or out of
            range, or one that does not exist.
        @raise UnrepresentableHeader: for a C{CONNECT} header that cannot
            be written (the message never quotes the value).
        """
        if "client" in settings:
            raise BadArgument("unknown setting 'client'")
        self._factory = StompClientFactory(endpoint, client=self, **settings)

    # --- state -------------------------------------------------------------

    @property
    def factory(self) -> StompClientFactory:
        """
        The L{StompClientFactory} of this client's connections: give it
        to C{reactor.connectTCP}, C{endpoint.connect} or C{ClientService}
        to connect a client made without an endpoint.
        """
        return self._factory

    @property
    def state(self) -> State:
        """
        Where the client is in its life: a L{State} (C{NOT_STARTED},
        C{CONNECTING}, C{CONNECTED}, C{WAITING} to reconnect, C{GAVE_UP},
        C{DRAINING}, C{LEAVING}, C{CLOSED}).
        """
        return self._factory._core.lifecycle.state

    @property
    def broker(self) -> str | None:
        """
        The name of the broker of the latest connection attempt
        (C{"host:port"}), or C{None} before the first.
        """
        return self._factory._core.broker

    @property
    def limits(self) -> FrameLimits:
        """
        The L{FrameLimits} applied to received frames.
        """
        return self._factory._core.settings.limits

    @property
    def version(self) -> str | None:
        """
        The STOMP version negotiated with the broker, or C{None} while not
        connected.
        """
        session = self._factory._core.established
        return None if session is None else session.version

    @property
    def heartbeat(self) -> HeartbeatIntervals | None:
        """
        The heart-beat intervals negotiated on the current connection, or
        C{None} while not connected.
        """
        session = self._factory._core.established
        return None if session is None else session.protocol.heartbeat

    @property
    def connected_frame(self) -> Frame | None:
        """
        The broker's CONNECTED frame on the current connection (its
        C{server}, C{session}, C{heart-beat} headers), or C{None} while
        not connected.
        """
        session = self._factory._core.established
        return None if session is None else session.protocol.connected_frame

    @property
    def is_connected(self) -> bool:
        """
        Whether the client has a STOMP session (CONNECTED received) that
        it may use: C{False} from the moment L{disconnect} is called.
        """
        core = self._factory._core
        return not core.lifecycle.left and core.established is not None

    @property
    def stats(self) -> ClientStats:
        """
        The client's counters (messages received, acknowledged, refused,
        redelivered; sends and receipts pending; reconnections; bytes in
        and out; messages in flight), for a health check.  Counting is
        always on and costs an addition per message or frame; each read of
        this property builds a new snapshot.
        """
        return self._factory._stats()

    # --- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """
        Start connecting in the background (L{connect<stomp_twisted.connect>}
        calls this for you).  After the client gave up, this starts it
        afresh.

        @raise ClientClosed: after L{disconnect}.
        @raise BadArgument: for a client made without an endpoint, whose
            connections come through L{factory}.
        """
        self._factory._start()

    def when_connected(self) -> Deferred[StompClient]:
        """
        @return: a L{Deferred} that fires with this client once CONNECTED
            has been received (at once if it already has).  It fails with
            L{NotConnected<stomp_twisted.errors.NotConnected>} if the
            client gives up (after the reconnect policy's
            C{max_attempts}, or at the first failure without
            reconnection), and with L{ClientClosed
            <stomp_twisted.errors.ClientClosed>} after L{disconnect}.
        """
        factory = self._factory
        lifecycle = factory._core.lifecycle
        if lifecycle.left:
            return fail(lifecycle.refuse("wait for a connection"))
        if self.is_connected:
            return succeed(self)
        if lifecycle.gave_up_error is not None:
            return fail(lifecycle.gave_up_error)
        return factory._pending.add_waiter()

    def drain(self, timeout: float) -> Deferred[int]:
        """
        Begin leaving gracefully (state C{DRAINING}): take no new message,
        and wait, at most C{timeout} seconds, for the messages whose
        callbacks are still running (those that returned a L{Deferred},
        under any C{ack} policy) to finish, so that their C{ACK} or
        C{NACK} (automatic under C{ack="auto"}, the callback's own under
        C{ack="manual"}) is written before L{disconnect}, which should
        follow.

        Reading from the connection is paused, so no further C{MESSAGE}
        reaches a callback: the messages the broker sent ahead (its
        prefetch) stay unread and unacknowledged, and the broker delivers
        them again once the connection is closed.  Silence from the broker
        is not held against it meanwhile (heart-beat monitoring pauses
        with reading).  The client also stops reconnecting: the messages
        in hand belong to the current connection, and a new one would
        only bring more.  A message acknowledged under C{ack="manual"}
        outside its callback's Deferred is not waited for.

        @param timeout: how many seconds to wait at most.  Callbacks still
            running then are left to finish on their own; their messages,
            unacknowledged, are delivered again by the broker.
        @return: a L{Deferred} that fires with the number of messages
            still in flight when the wait ended: C{0} once every callback
            has finished, more if C{timeout} passed first.  It never
            fails; cancelling it ends the wait.
        @raise BadArgument: for a C{timeout} that is not a finite number of
            seconds, at least 0.
        """
        return self._factory._leaving.drain(timeout)

    def disconnect(self) -> Deferred[None]:
        """
        Leave gracefully (state C{LEAVING}, then C{CLOSED}): send
        C{DISCONNECT} with a receipt, wait for it (at most
        C{disconnect_timeout} seconds), then close the connection.
        Nothing can be sent afterwards.

        @return: a L{Deferred} that fires once the connection is closed.
        """
        return self._factory._leaving.disconnect()

    # --- observers ---------------------------------------------------------

    def reg_cb(
        self, event: str, callback: Callable[..., Any], *, priority: int = 0
    ) -> CallbackHandle:
        """
        Call C{callback} whenever C{event} happens (see the class
        docstring for events and their arguments).  Callbacks of one event
        run by C{priority}, lower first, then in registration order; one
        that raises is logged and never stops the others.

        @return: a handle for L{unreg_cb}.
        @raise BadArgument: for an event the client never fires (a
            misspelt one: the message lists those of
            L{CLIENT_EVENTS<stomp_twisted.observers.CLIENT_EVENTS>}), a
            C{callback} that is not callable, or a C{priority} that is not
            an C{int}.
        """
        check_event(event, CLIENT_EVENTS)
        return self._factory._core.observers.register(event, callback, priority)

    def unreg_cb(self, handle: CallbackHandle) -> None:
        """
        Remove a callback registered with L{reg_cb}; removing it twice
        does nothing.

        @raise BadArgument: if C{handle} is not what L{reg_cb} returned.
        """
        self._factory._core.observers.unregister(handle)

    # --- sending -----------------------------------------------------------

    def send(
        self,
        body: Body,
        destination: str,
        headers: HeaderValues | None = None,
        *,
        receipt: bool = True,
        transaction: Transaction | str | None = None,
    ) -> Deferred[Frame | None]:
        """
        Send a message.

        @param body: bytes, or text to be sent as UTF-8.
        @param destination: where to send it.
        @param headers: extra C{SEND} headers.
        @param receipt: ask for a receipt (the default), so that the
            returned Deferred fires only once the broker has the message.
        @param transaction: the transaction to send it in.
        @return: a L{Deferred} firing with the C{RECEIPT} frame (or
            C{None} without a receipt).
        @raise BadArgument: for arguments of the wrong type, a text body
            that cannot be encoded as UTF-8, or a C{receipt} header (the
            client numbers receipts: pass C{receipt=True}).
        @raise UnrepresentableHeader: for a header that cannot be written.
        @raise ClientClosed: after L{disconnect}.
        """
        if not isinstance(destination, str) or not destination:
            raise BadArgument(
                f"destination must be a non-empty str, not {arguments.shown_value(destination)}"
            )
        if "\0" in destination or not destination.isascii():
            arguments.check_header_text(destination, "destination")
        if receipt is not True and receipt is not False:
            arguments.check_bool(receipt, "receipt")
        factory = self._factory
        sender = factory._sender
        if not receipt and transaction is None and type(body) is bytes and sender.outbox is None:
            return sender.send_plain(destination, headers, body)
        frame_headers = arguments.send_headers(headers, destination)
        if transaction is not None:
            try:
                frame_headers["transaction"] = factory._transactions.transaction_id(transaction)
            except ConnectionLost as error:
                return fail(error)
        data = body if type(body) is bytes else _body_bytes(body)
        if sender.outbox is not None and transaction is None:
            return sender.send_kept(Frame("SEND", frame_headers, data), receipt)
        # As send_frame("SEND", ...), without checking the checked headers again.
        sent = sender.send_message(Frame._received("SEND", frame_headers, data), receipt)
        if transaction is not None and receipt and not sent.called:
            factory._transactions.track_send(frame_headers["transaction"], sent)
        return sent

    def send_frame(
        self,
        command: str,
        body: Body = b"",
        headers: HeaderValues | None = None,
        *,
        receipt: bool = True,
    ) -> Deferred[Frame | None]:
        """
        Send a frame of any command a client may send mid-session
        (C{SEND}, C{SUBSCRIBE}, C{ACK}, C{BEGIN}, ..., or a broker's own
        extension), with the headers as given.

        @return: as for L{send}.
        @raise BadArgument: for a command that is not an upper-case ASCII
            word, one the broker sends (C{MESSAGE}, C{CONNECTED}, ...),
            one the client writes itself (C{CONNECT}, C{STOMP}; and
            C{DISCONNECT}: use L{disconnect}), a C{receipt} header (pass
            C{receipt=True}), or arguments of the wrong type.
        @raise UnrepresentableHeader: for a header that cannot be written.
        """
        arguments.check_sendable_command(command)
        arguments.check_bool(receipt, "receipt")
        arguments.refuse_receipt_header(headers)
        frame = Frame(command, arguments.request_headers(headers), _body_bytes(body))
        return self._factory._sender.send(frame, receipt)

    # --- subscriptions -----------------------------------------------------

    def subscribe(
        self,
        destination: str,
        callback: Callable[[StompClient, bytes, dict[str, str]], object] | None = None,
        ack: AckMode | Literal[0] = None,
        headers: HeaderValues | None = None,
        *,
        receipt: bool = True,
        redelivery: RedeliveryPolicy | None = None,
    ) -> Deferred[Subscription]:
        """
        Subscribe to C{destination}.

        @param callback: called as C{callback(client, body, headers)} for
            each message of this subscription.
        @param ack: the acknowledgement policy: C{None} or C{0} for none
            (the broker considers a message delivered once sent),
            C{"auto"} (the client acknowledges each message once its
            callbacks succeed) or C{"manual"} (the caller does, with
            L{ack}).
        @param headers: extra C{SUBSCRIBE} headers (C{prefetch-count},
            C{selector}, ...).  The client writes C{ack:auto} for C{ack=None}
            and C{ack:client-individual} otherwise, in every version; an
            C{ack} header here replaces that: C{"client"} (with C{"auto"}
            or C{"manual"}) asks for STOMP's cumulative mode, which some
            STOMP 1.0 servers need before they give messages an id to
            acknowledge (stompserver), but where acknowledging a message
            acknowledges every earlier one of the subscription too,
            including one whose callback is still running or failed.  An
            C{id} header names the subscription (else C{sub-1}, C{sub-2}...).
        @param redelivery: under C{ack="auto"}, how to treat a message
            whose callbacks failed (see L{RedeliveryPolicy}); the client's
            C{redelivery} if C{None}.
        @return: a L{Deferred} firing with the L{Subscription} once the
            broker has confirmed it (or once written, without C{receipt}).
            While the client is still connecting, C{SUBSCRIBE} is written
            as soon as CONNECTED arrives, before L{when_connected} fires;
            if the connection attempt fails, so does the Deferred.
        @raise BadArgument: for an C{ack} header that is not C{auto},
            C{client} or C{client-individual}, or that does not go with
            C{ack}, or an C{id} header in use, among others.
        """
        subscriptions = self._factory._subscriptions
        subscription = subscriptions.create(destination, callback, ack, headers, redelivery)
        return subscriptions.subscribe(subscription, receipt)

    def unsubscribe(
        self,
        subscription: Subscription | str,
        headers: HeaderValues | None = None,
        *,
        receipt: bool = True,
    ) -> Deferred[Frame | None]:
        """
        End a subscription (a L{Subscription} or its id).

        @param headers: extra C{UNSUBSCRIBE} headers: RabbitMQ ends a
            durable subscription for good only with C{durable:true} here
            (see the persistence guide).
        @raise BadArgument: for a subscription that is not active.
        """
        return self._factory._subscriptions.unsubscribe(subscription, headers, receipt)

    @property
    def subscriptions(self) -> list[Subscription]:
        """
        The active subscriptions, oldest first.
        """
        return list(self._factory._subscriptions.by_id.values())

    # --- acknowledgement ---------------------------------------------------

    def ack(
        self,
        id: Mapping[str, str] | str,
        transaction: Transaction | str | None = None,
        *,
        receipt: bool = True,
    ) -> Deferred[Frame | None]:
        """
        Acknowledge a message.

        @param id: the received message's headers (recommended), or its
            ack id (the C{ack} header under STOMP 1.2, C{message-id}
            before).
        @param transaction: acknowledge within this transaction.
        @raise AckError: if the message came through an earlier
            connection, or belongs to a subscription without
            acknowledgements.
        """
        return self._factory._acks.acknowledge("ACK", id, transaction, receipt)

    def nack(
        self,
        id: Mapping[str, str] | str,
        transaction: Transaction | str | None = None,
        *,
        receipt: bool = True,
    ) -> Deferred[Frame | None]:
        """
        Refuse a message (STOMP 1.1 and later), as for L{ack}.
        """
        return self._factory._acks.acknowledge("NACK", id, transaction, receipt)

    # --- transactions ------------------------------------------------------

    def begin(self, *, receipt: bool = True) -> Deferred[Transaction]:
        """
        Begin a transaction on the current connection.

        @return: a L{Deferred} firing with the L{Transaction} once the
            broker has confirmed it (or once written, without C{receipt});
            pass it to L{send}, L{ack}, L{nack}, L{commit} and L{abort}.
        """
        return self._factory._transactions.begin(receipt)

    def commit(
        self, transaction: Transaction | str, *, receipt: bool = True
    ) -> Deferred[Frame | None]:
        """
        Commit C{transaction}: the broker acts on its frames now.
        """
        return self._factory._transactions.end("COMMIT", transaction, receipt)

    def abort(
        self, transaction: Transaction | str, *, receipt: bool = True
    ) -> Deferred[Frame | None]:
        """
        Abort C{transaction}: the broker forgets its frames.
        """
        return self._factory._transactions.end("ABORT", transaction, receipt)


def _front_of(factory: StompClientFactory) -> StompClient:
    # The front of a factory made on its own (StompClientFactory(...)).
    client = StompClient.__new__(StompClient)
    client._factory = factory
    return client
