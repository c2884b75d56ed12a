"""
Transactions: BEGIN, COMMIT, ABORT, and what an ABORT undoes.
L{Transaction} is API (re-exported by L{stomp_twisted.client});
L{Transactions} is not.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from twisted.internet.defer import CancelledError, Deferred, fail
from twisted.python.failure import Failure

from ._core import Core
from ._sending import Sender
from ._session import Session
from .errors import BadArgument, ConnectionLost, NotConnected, TransactionAborted
from .frame import Frame

__all__ = ["Transaction", "Transactions"]


@dataclass(eq=False)
class Transaction:
    """
    A transaction begun with L{StompClient.begin
    <stomp_twisted.client.StompClient.begin>}.  It belongs to the
    connection it began on: if that connection is lost the broker rolls it
    back, and using it afterwards fails with L{ConnectionLost}.

    @ivar id: its C{transaction} header.
    @ivar state: C{"open"}, C{"committed"} or C{"aborted"}.
    """

    id: str
    session: Session = field(repr=False)
    state: str = "open"


class Transactions:
    """
    Numbers transactions, checks that they are used on their connection,
    and ends them.
    """

    def __init__(self, core: Core, sender: Sender) -> None:
        self._core = core
        self._sender = sender
        self._ids = itertools.count(1)
        # Receipts of SENDs in a transaction that are still awaited.
        self._receipts: dict[str, set[Deferred[Frame | None]]] = {}
        self._aborting: set[str] = set()

    def transaction_id(self, transaction: Transaction | str) -> str:
        """
        The id to write for C{transaction}.

        @raise BadArgument: for a transaction that is not one, or ended.
        @raise ConnectionLost: for one whose connection is gone.
        """
        if isinstance(transaction, str):
            return transaction
        if not isinstance(transaction, Transaction):
            raise BadArgument(f"transaction must be a Transaction or its id, not {transaction!r}")
        if transaction.session is not self._core.session or not transaction.session.established:
            raise ConnectionLost(
                f"transaction {transaction.id} began on a connection that is gone; "
                "the broker rolled it back"
            )
        if transaction.state != "open":
            raise BadArgument(f"transaction {transaction.id} is already {transaction.state}")
        return transaction.id

    def begin(self, receipt: bool) -> Deferred[Transaction]:
        """
        Begin a transaction on the current connection.
        """
        try:
            protocol = self._sender.connected_protocol("begin a transaction")
        except NotConnected as error:
            return fail(error)
        session = self._core.session
        assert session is not None
        transaction = Transaction(f"tx-{next(self._ids)}", session)
        frame = Frame("BEGIN", {"transaction": transaction.id})
        begun = self._sender.request(frame, receipt, protocol)
        return begun.addCallback(lambda _: transaction)

    def track_send(self, transaction_id: str, sent: Deferred[Frame | None]) -> None:
        """
        RabbitMQ holds the receipt of a SEND in a transaction until
        COMMIT, and never sends it after ABORT: an abort must end the
        wait, with L{TransactionAborted}.
        """
        pending = self._receipts.setdefault(transaction_id, set())
        pending.add(sent)

        def answered(result: object) -> object:
            pending.discard(sent)
            if (
                isinstance(result, Failure)
                and isinstance(result.value, CancelledError)
                and transaction_id in self._aborting
            ):
                return Failure(  # type: ignore[no-untyped-call]
                    TransactionAborted(f"transaction {transaction_id} was aborted")
                )
            return result

        sent.addBoth(answered)

    def end(
        self, command: str, transaction: Transaction | str, receipt: bool
    ) -> Deferred[Frame | None]:
        """
        COMMIT or ABORT C{transaction}.
        """
        try:
            transaction_id = self.transaction_id(transaction)
        except ConnectionLost as error:
            return fail(error)
        if isinstance(transaction, Transaction):
            transaction.state = "committed" if command == "COMMIT" else "aborted"
        session = self._core.session
        settled = session.settled_in.pop(transaction_id, {}) if session is not None else {}
        waiting = self._receipts.pop(transaction_id, set())
        if command == "ABORT":
            self._aborting.add(transaction_id)
            for sent in list(waiting):
                sent.cancel()
            self._aborting.discard(transaction_id)
            # The broker rolls back the transaction's ACKs and NACKs: their
            # messages may be acknowledged again on this connection.
            for key, delivery in settled.items():
                if delivery.session.established:
                    delivery.session.unacked.setdefault(key, delivery)
        return self._sender.request(Frame(command, {"transaction": transaction_id}), receipt)
