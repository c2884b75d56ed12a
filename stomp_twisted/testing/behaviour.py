"""
Where real brokers legitimately differ, as a L{BrokerBehaviour} that a
L{MemoryBroker<stomp_twisted.testing.MemoryBroker>} follows, and two
presets observed on real brokers: L{LIKE_RABBITMQ} (RabbitMQ 3.10) and
L{LIKE_ACTIVEMQ} (ActiveMQ Classic 5.17).

The contract tests (C{test/test_contract.py}) run the same behaviour tests
against the double with each preset and against the real broker it is
named after, so a preset that stops matching its broker fails a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import BadArgument

__all__ = ["LIKE_ACTIVEMQ", "LIKE_RABBITMQ", "BrokerBehaviour", "NackPolicy", "ReceiptTiming"]

#: What the broker does with a NACKed message: C{"requeue"} puts it back
#: in its queue, marked redelivered, to be delivered again at once;
#: C{"dead-letter"} moves it to the dead-letter queue.
NackPolicy = Literal["requeue", "dead-letter"]

#: When the broker answers the receipt of a C{SEND} inside a transaction:
#: C{"at-once"} as for any frame, or C{"on-commit"} (never, if the
#: transaction is aborted).
ReceiptTiming = Literal["at-once", "on-commit"]


@dataclass(frozen=True)
class BrokerBehaviour:
    """
    The points on which brokers differ while each following the STOMP
    specification.  Use a preset, or derive one with
    C{dataclasses.replace(LIKE_RABBITMQ, nack="dead-letter")}.

    @ivar name: a label, for the C{server} header and messages.
    @ivar nack: what C{NACK} does, a L{NackPolicy}.
    @ivar dead_letter_queue: where C{nack="dead-letter"} moves messages.
    @ivar dead_letter_persistent_only: dead-letter only messages sent with
        C{persistent:true}; a NACKed non-persistent message is discarded
        (ActiveMQ's default).
    @ivar client_nack_cumulative: under C{ack:client} a C{NACK} refuses
        the message and every earlier unacknowledged one of its
        subscription, as an C{ACK} acknowledges them (RabbitMQ); if
        false, it refuses that message only (ActiveMQ).
    @ivar nack_in_transaction: C{NACK} may be part of a transaction; if
        false, it is refused with C{ERROR} (ActiveMQ: "Poison ack cannot
        be transacted").
    @ivar transactional_send_receipts: a L{ReceiptTiming}.
    @ivar error_names_receipt: an C{ERROR} caused by a frame that asked
        for a receipt carries that C{receipt-id} (ActiveMQ).
    @ivar unsubscribe_requeues: C{UNSUBSCRIBE} returns the subscription's
        unacknowledged messages to their queue at once (ActiveMQ); if
        false they stay with the connection, which may still acknowledge
        them, until it closes (RabbitMQ).
    @ivar marks_first_delivery: a first delivery carries
        C{redelivered:false} (RabbitMQ); if false, only redeliveries carry
        the header (C{redelivered:true}), as on ActiveMQ.
    @ivar escapes_1_0_headers: headers are escaped as in STOMP 1.1 even in
        a STOMP 1.0 session, which has no escaping, both ways: a colon in
        a value is written C{\\c}, and C{\\c} is read as a colon
        (RabbitMQ).  A 1.0 client sees such values escaped, and what it
        sends back (an ACK's C{message-id}) is unescaped again.
    @ivar heartbeat_grace: how many of its heart-beat receive intervals
        the broker waits, hearing nothing from a client, before it drops
        the connection.
    """

    name: str = "memory"
    nack: NackPolicy = "requeue"
    dead_letter_queue: str = "/queue/DLQ"
    dead_letter_persistent_only: bool = False
    client_nack_cumulative: bool = True
    nack_in_transaction: bool = True
    transactional_send_receipts: ReceiptTiming = "at-once"
    error_names_receipt: bool = True
    unsubscribe_requeues: bool = True
    marks_first_delivery: bool = False
    escapes_1_0_headers: bool = False
    heartbeat_grace: float = 2.0

    def __post_init__(self) -> None:
        if self.nack not in ("requeue", "dead-letter"):
            raise BadArgument(f"nack must be 'requeue' or 'dead-letter', not {self.nack!r}")
        if self.transactional_send_receipts not in ("at-once", "on-commit"):
            raise BadArgument(
                "transactional_send_receipts must be 'at-once' or 'on-commit', "
                f"not {self.transactional_send_receipts!r}"
            )
        if not self.heartbeat_grace >= 1.0:
            raise BadArgument(f"heartbeat_grace must be at least 1, not {self.heartbeat_grace!r}")


#: RabbitMQ 3.10's STOMP plugin: NACK requeues and redelivers at once
#: (cumulatively under C{ack:client}, and within transactions too); a
#: transactional SEND's receipt waits for COMMIT; ERROR frames name no
#: receipt; first deliveries say C{redelivered:false}; unacknowledged
#: messages stay with their connection after UNSUBSCRIBE; header values
#: are escaped even in STOMP 1.0 sessions; a silent client is dropped
#: after about three heart-beat intervals.
LIKE_RABBITMQ = BrokerBehaviour(
    name="rabbitmq-like",
    nack="requeue",
    client_nack_cumulative=True,
    nack_in_transaction=True,
    transactional_send_receipts="on-commit",
    error_names_receipt=False,
    unsubscribe_requeues=False,
    marks_first_delivery=True,
    escapes_1_0_headers=True,
    heartbeat_grace=3.0,
)

#: ActiveMQ Classic 5.17: NACK moves a persistent message to
#: C{/queue/ActiveMQ.DLQ} (a non-persistent one is discarded), only that
#: message even under C{ack:client}, and is refused inside a transaction;
#: receipts come at once; ERROR frames name the failed frame's receipt;
#: UNSUBSCRIBE requeues unacknowledged messages; only redeliveries carry
#: C{redelivered}; a silent client is dropped after about two heart-beat
#: intervals.
LIKE_ACTIVEMQ = BrokerBehaviour(
    name="activemq-like",
    nack="dead-letter",
    dead_letter_queue="/queue/ActiveMQ.DLQ",
    dead_letter_persistent_only=True,
    client_nack_cumulative=False,
    nack_in_transaction=False,
    transactional_send_receipts="at-once",
    error_names_receipt=True,
    unsubscribe_requeues=True,
    marks_first_delivery=False,
    escapes_1_0_headers=False,
    heartbeat_grace=2.0,
)
