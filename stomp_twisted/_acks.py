"""
Acknowledgements: which id a message is acknowledged by, and the ACK and
NACK frames, the caller's and the automatic ones.  Not API.
"""

from __future__ import annotations

from collections.abc import Mapping

from twisted.internet.defer import Deferred, fail
from twisted.python.failure import Failure

from ._core import Core, log
from ._escape import UNWRITABLE_IN_VALUES
from ._flow import ReadHolds
from ._sending import Sender
from ._session import Delivery, Session, ack_key
from ._subscriptions import Subscription
from ._transactions import Transaction, Transactions
from .errors import AckError, BadArgument, ConnectionLost, NotConnected
from .frame import Frame

__all__ = ["Acknowledger"]


class Acknowledger:
    """
    Settles received messages: L{acknowledge} for the caller's C{ack()}
    and C{nack()}, L{settle_automatically} for the client's own.
    """

    def __init__(
        self, core: Core, sender: Sender, holds: ReadHolds, transactions: Transactions
    ) -> None:
        self._core = core
        self._sender = sender
        self._holds = holds
        self._transactions = transactions

    def delivery_key(
        self, session: Session, subscription: Subscription, headers: Mapping[str, str]
    ) -> str | None:
        """
        The ack id of a message to acknowledge, or C{None} if it has none
        or one that this version cannot write back (reported, once per
        subscription).
        """
        version = session.version or "1.0"
        key = ack_key(version, headers)
        if key is None:
            needed = "an 'ack' or 'message-id' header" if version == "1.2" else "a 'message-id'"
            problem = f"carries no ack id ({needed})"
        else:
            # An ack id the version cannot write cannot be sent back in ACK.
            # (A plain loop: this runs for every message to acknowledge.)
            for bad in UNWRITABLE_IN_VALUES[version]:
                if bad in key:
                    break
            else:
                return key
            problem = f"has an ack id {key!r} that STOMP {version} cannot write back ({bad!r})"
        self._report_unackable(subscription, version, problem)
        return None

    def _report_unackable(self, subscription: Subscription, version: str, problem: str) -> None:
        if subscription._unackable_reported:
            return
        subscription._unackable_reported = True
        hint = ""
        if version == "1.0" and "no ack id" in problem and subscription.headers.get("ack") is None:
            hint = (
                "; some STOMP 1.0 servers give messages an id only under ack:client: "
                "subscribe with headers={'ack': 'client'}"
            )
        message = (
            f"subscription {subscription.id} to {subscription.destination}: a MESSAGE {problem}, "
            f"so it cannot be acknowledged (the broker may deliver it again){hint}; "
            "said once for this subscription"
        )
        log.error("{report}", report=message)
        self._core.observers.fire("io_error", self._core.client, message)

    def acknowledge(
        self,
        command: str,
        id: Mapping[str, str] | str,
        transaction: Transaction | str | None,
        receipt: bool,
    ) -> Deferred[Frame | None]:
        """
        The caller's C{ack()} or C{nack()}.

        @raise AckError: for a message that does not await acknowledgement
            on the current connection, or a NACK under STOMP 1.0.
        @raise BadArgument: for an C{id} of the wrong type.
        """
        operation = "acknowledge" if command == "ACK" else "refuse (NACK)"
        try:
            protocol = self._sender.connected_protocol(operation)
        except NotConnected as error:
            raise AckError(
                f"{error}: a message is acknowledged on the connection it came through, "
                "and the broker redelivers those of a lost one"
            ) from None
        if isinstance(id, Mapping):
            key = ack_key(protocol.version, id)
            if key is None:
                raise AckError(f"message headers carry no ack id: {dict(id)!r}")
        elif isinstance(id, str):
            key = id
        else:
            raise BadArgument(f"id must be a message's headers or its ack id, not {id!r}")
        session = self._core.session
        delivery = session.unacked.get(key) if session is not None else None
        if delivery is None:
            raise AckError(
                f"no message {key!r} awaits acknowledgement: it was already settled, came "
                "through an earlier connection (the broker redelivers it), or its subscription "
                "does not take acknowledgements"
            )
        if command == "NACK" and protocol.version == "1.0":
            raise AckError("STOMP 1.0 has no NACK")
        try:
            transaction_id = (
                None if transaction is None else self._transactions.transaction_id(transaction)
            )
        except ConnectionLost as error:
            return fail(error)
        return self.settle(command, delivery, key, transaction_id, receipt)

    def settle_automatically(
        self, command: str, delivery: Delivery, key: str, extra: Mapping[str, str] | None = None
    ) -> None:
        """
        The client's own ACK or NACK (C{ack="auto"}, the redelivery
        policy): no receipt, never held back by C{max_send_buffer}, and a
        failure logged rather than raised.
        """
        settled = self.settle(
            command, delivery, key, None, receipt=False, bounded=False, extra=extra
        )
        if not settled.called or isinstance(settled.result, Failure):
            # (Usually it has fired already, with None: nothing to log.)
            settled.addErrback(_automatic_settle_failed, command, key)

    def settle(
        self,
        command: str,
        delivery: Delivery,
        key: str,
        transaction: str | None,
        receipt: bool,
        *,
        bounded: bool = True,
        extra: Mapping[str, str] | None = None,
    ) -> Deferred[Frame | None]:
        """
        Write the ACK or NACK of C{delivery} and forget it.
        """
        session = delivery.session
        version = session.version
        headers: dict[str, str]
        if version == "1.2":
            headers = {"id": key}
            if "ack" not in delivery.headers:
                # The message-id stands in for a missing ack header; the
                # brokers that leave it out (coilmq) want it named as such.
                headers["message-id"] = key
        elif version == "1.1":
            headers = {"message-id": key, "subscription": delivery.subscription.id}
        else:
            headers = {"message-id": key}
        if transaction is not None:
            headers["transaction"] = transaction
        if extra:
            headers.update(extra)
        # Written first: if it cannot be (SendBufferFull), the message
        # still awaits its acknowledgement.
        # (Every header is a str already: no need for Frame's checks.)
        frame = Frame._received(command, headers, b"")
        written = self._sender.request(frame, receipt, session.protocol, bounded=bounded)
        if transaction is not None:
            session.settled_in.setdefault(transaction, {})[key] = delivery
        del session.unacked[key]
        if session.delayed and session.cancel_delayed(key):
            # Settled by the caller while its automatic NACK waited.
            self._holds.message_done(None, session.protocol)
        if self._holds.for_unacked:
            self._holds.unacked_went_down(session)
        return written


# The connection loss whose lost automatic ACKs were last reported: the
# ACKs written while its send buffer was full all fail with it, and one
# line says so for all of them.
_reported_loss: list[BaseException] = []


def _automatic_settle_failed(failure: Failure, command: str, key: str) -> None:
    if isinstance(failure.value, ConnectionLost):
        # Written while the send buffer was full, and the connection went
        # first: the broker redelivers the message.  Not a bug: no traceback.
        if _reported_loss and _reported_loss[0] is failure.value:
            return
        _reported_loss[:] = [failure.value]
        log.warn(
            "automatic {command} of message {key} was lost with its connection, and so "
            "was any written after it; the broker redelivers them",
            command=command,
            key=key,
        )
        return
    log.failure("automatic {command} failed", failure, command=command)
