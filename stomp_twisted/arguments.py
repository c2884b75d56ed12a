"""
Checks of what callers pass to L{connect<stomp_twisted.connect>},
L{StompClient<stomp_twisted.client.StompClient>} and its methods.

Every setting is checked at the call, so that a wrong one raises
L{BadArgument} or L{UnrepresentableHeader} there, once, rather than
failing inside the protocol on every connection attempt.  None of these
messages ever quotes a C{CONNECT} header value: they say what is wrong and
where (C{"passcode contains a newline (at the end)"}), so that a passcode
cannot reach an exception, an event or a log line through them.

Not API (C{docs/api.rst}): programs meet these checks through the calls
they guard, and may not import this module.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from typing import Final

from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from zope.interface.interface import InterfaceClass

from ._escape import UNWRITABLE_IN_NAMES, UNWRITABLE_IN_VALUES
from .errors import BadArgument, LocalProtocolError, UnrepresentableHeader
from .failover import default_port
from .frame import CLIENT_COMMANDS, SERVER_COMMANDS, VERSIONS, Frame, FrameLimits, serialize_frame
from .heartbeat import check_heartbeat, check_tolerance, parse_offer
from .outbox import OutboxPolicy
from .reconnect import ReconnectPolicy
from .redelivery import RedeliveryPolicy

#: Header values as callers may give them: text, or integers written in
#: decimal.
HeaderValues = Mapping[str, str | int]

__all__ = [
    "HANDSHAKE_COMMANDS",
    "SENDABLE_COMMANDS",
    "check_bool",
    "check_client_settings",
    "check_connect_header_mapping",
    "check_connect_header_text",
    "check_dataclass_numbers",
    "check_frame_limits",
    "check_header_name",
    "check_header_text",
    "check_host",
    "check_instance",
    "check_int",
    "check_number",
    "check_port",
    "check_provides",
    "check_representable",
    "check_sendable_command",
    "check_text",
    "check_versions",
    "describe_flaw",
    "header_value_text",
    "refuse_receipt_header",
    "send_headers",
    "shown_value",
]

#: Commands of the connection handshake, which the client writes itself.
HANDSHAKE_COMMANDS: Final = frozenset({"CONNECT", "STOMP"})

#: What L{StompClient.send_frame<stomp_twisted.client.StompClient.send_frame>}
#: writes: every client command but the handshake and C{DISCONNECT}
#: (which has L{disconnect<stomp_twisted.client.StompClient.disconnect>}).
#: An upper-case ASCII word STOMP does not define is written as given, for
#: a broker's extensions (and for tests of the broker's C{ERROR}).
SENDABLE_COMMANDS: Final = CLIENT_COMMANDS - HANDSHAKE_COMMANDS - {"DISCONNECT"}

_NAMES: Final = {
    "\0": "a NUL",
    "\n": "a newline",
    "\r": "a carriage return",
    ":": "a colon",
}
# Lone surrogates cannot be encoded as UTF-8: a header or body holding one
# cannot be written at all.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_COMMAND: Final = re.compile("[A-Z]+", re.ASCII)


def _position(index: int, length: int) -> str:
    if length == 1:
        return "(it is the whole value)"
    if index == length - 1:
        return "(at the end)"
    if index == 0:
        return "(at the start)"
    return f"(at position {index} of {length})"


def describe_flaw(text: str, forbidden: str) -> str | None:
    """
    Say what makes C{text} unwritable, without quoting it.

    @param forbidden: the characters C{text} may not hold.  A lone
        surrogate is always refused: it has no UTF-8 encoding.
    @return: for example C{"contains a newline (at the end)"}, or C{None}
        if C{text} holds none of those characters.
    """
    first: tuple[int, str] | None = None
    for char in forbidden:
        index = text.find(char)
        if index >= 0 and (first is None or index < first[0]):
            first = (index, _NAMES.get(char, repr(char)))
    if not text.isascii():
        match = _SURROGATE.search(text)
        if match is not None and (first is None or match.start() < first[0]):
            first = (match.start(), "a lone surrogate (no UTF-8 encoding)")
    if first is None:
        return None
    index, name = first
    return f"contains {name} {_position(index, len(text))}"


def check_text(value: object, what: str, *, allow_none: bool = False, empty: bool = True) -> None:
    """
    Check that C{value} is a C{str} (or C{None} if allowed).  The message
    names its type only, never its value: it may be a secret.

    @raise BadArgument: otherwise.
    """
    if value is None and allow_none:
        return
    if not isinstance(value, str):
        expected = "a str or None" if allow_none else "a str"
        raise BadArgument(f"{what} must be {expected}, not {type(value).__name__}")
    if not empty and not value:
        raise BadArgument(f"{what} must not be empty")


def check_connect_header_text(value: str, what: str) -> None:
    """
    Check a C{CONNECT} header value: the handshake is written without
    escaping, so no version can carry a NUL, a carriage return or a
    newline in it.

    @raise UnrepresentableHeader: if it holds one (or a lone surrogate);
        the message says which and where, never the value.
    """
    flaw = describe_flaw(value, UNWRITABLE_IN_VALUES["1.0"])
    if flaw is not None:
        # The likely cause: a secret read from a file with its newline.
        hint = ""
        if value.endswith(("\n", "\r")):
            hint = " (a value read from a file keeps its final newline: strip it)"
        raise UnrepresentableHeader(
            f"{what} {flaw}: CONNECT headers are written without escaping, so no STOMP "
            f"version can carry it{hint}"
        )


def check_header_text(text: str, kind: str) -> None:
    """
    Check a header name or value (of any frame but the handshake) for
    what no STOMP version can write: a NUL, or a lone surrogate (no UTF-8
    encoding).  What depends on the version (a newline, a colon) is left
    to the codec, which words its refusals the same way.

    @param kind: what C{text} is, for the message: C{"header value"},
        C{"header name"}, C{"destination"}.
    @raise UnrepresentableHeader: if C{text} holds one.  The message
        quotes C{text} (its first 100 characters), as the codec does:
        these are not the handshake's headers, where a passcode goes.
    """
    quoted = repr(text) if len(text) <= 100 else f"{text[:100]!r}..."
    if "\0" in text:
        raise UnrepresentableHeader(
            f"{kind} {quoted} contains '\\x00', which STOMP cannot carry in a header"
        )
    flaw = describe_flaw(text, "")
    if flaw is not None:
        raise UnrepresentableHeader(f"{kind} {quoted} {flaw}, which cannot be written")


def check_header_name(name: str) -> None:
    """
    Check a header name for what no STOMP version can write: emptiness,
    a NUL, a lone surrogate.

    @raise UnrepresentableHeader: if it holds one.
    """
    if not name:
        raise UnrepresentableHeader("a header name cannot be empty")
    check_header_text(name, "header name")


def header_value_text(value: object, what: str) -> str:
    """
    A header value as text: a C{str}, or an C{int} written in decimal.

    @raise BadArgument: for another type, or an C{int} too long to write
        (Python refuses to convert more than 4300 digits).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:
            raise BadArgument(f"{what} is an int too long to write in decimal") from None
    raise BadArgument(f"{what} must be a str or int, not {type(value).__name__}")


def check_connect_header_mapping(headers: object, what: str = "connect_headers") -> None:
    """
    Check extra C{CONNECT} headers: a mapping of non-empty names without
    a colon to values (C{str}, or C{int}), all representable unescaped.

    @raise BadArgument: for a wrong type.
    @raise UnrepresentableHeader: for a name or value that cannot be
        written; values are never quoted.
    """
    if headers is None:
        return
    if not isinstance(headers, Mapping):
        raise BadArgument(f"{what} must be a mapping, not {type(headers).__name__}")
    for name, value in headers.items():
        if not isinstance(name, str):
            raise BadArgument(f"{what}: a header name must be a str, not {type(name).__name__}")
        if not name:
            raise UnrepresentableHeader(f"{what}: a header name cannot be empty")
        flaw = describe_flaw(name, UNWRITABLE_IN_NAMES["1.0"])
        if flaw is not None:
            raise UnrepresentableHeader(
                f"{what}: header name {name!r} {flaw}, which cannot be written in CONNECT"
            )
        text = header_value_text(value, f"{what}: header {name!r}")
        check_connect_header_text(text, f"{what} {name!r} value")
    offer = headers.get("heart-beat")
    if isinstance(offer, str):
        parse_offer(offer)


def shown_value(value: object) -> str:
    """
    C{repr(value)} for a message, safe for an C{int} of more than 4300
    digits (whose C{repr} raises C{ValueError}).  Never for a secret.
    """
    if isinstance(value, int) and value.bit_length() > 64:
        return "an int of more than 64 bits"
    return repr(value)


def _number_kind(value: object, integer: bool) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if integer else isinstance(value, (int, float))


def check_number(
    value: object,
    what: str,
    *,
    minimum: float = 0.0,
    above: bool = False,
    allow_none: bool = False,
    kind: str = "a number of seconds",
) -> None:
    """
    Check a numeric setting: an C{int} or C{float} (never a C{bool}),
    finite, and at least C{minimum} (above it if C{above}).

    @param kind: what it is, for the message.
    @raise BadArgument: otherwise.
    """
    if value is None and allow_none:
        return
    if not _number_kind(value, integer=False):
        none = " or None" if allow_none else ""
        raise BadArgument(f"{what} must be {kind}{none}, not {shown_value(value)}")
    assert isinstance(value, (int, float))
    try:
        as_float = float(value)
    except OverflowError:
        as_float = math.inf
    if not math.isfinite(as_float):
        raise BadArgument(f"{what} must be finite, not {shown_value(value)}")
    if value < minimum or (above and value == minimum):
        bound = "greater than" if above else "at least"
        raise BadArgument(f"{what} must be {bound} {minimum:g}, not {shown_value(value)}")


def check_int(value: object, what: str, *, minimum: int, maximum: int | None = None) -> None:
    """
    Check an integer setting (never a C{bool}) within bounds.

    @raise BadArgument: otherwise.
    """
    if not _number_kind(value, integer=True):
        raise BadArgument(f"{what} must be an int, not {type(value).__name__}")
    assert isinstance(value, int)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise BadArgument(f"{what} must be {bounds}, not {shown_value(value)}")


def check_bool(value: object, what: str) -> None:
    """
    Check a flag: C{True} or C{False}, not merely something truthy
    (C{reconnect="yes"}-style mistakes are caught this way).

    @raise BadArgument: otherwise.
    """
    if value is not True and value is not False:
        raise BadArgument(f"{what} must be True or False, not {shown_value(value)}")


def check_instance(value: object, kind: type, what: str, *, allow_none: bool = False) -> None:
    """
    Check that C{value} is a C{kind} (or C{None} if allowed).

    @raise BadArgument: otherwise.
    """
    if value is None and allow_none:
        return
    if not isinstance(value, kind):
        none = " or None" if allow_none else ""
        raise BadArgument(f"{what} must be a {kind.__name__}{none}, not {type(value).__name__}")


def check_dataclass_numbers(value: object, what: str) -> None:
    """
    Check that no numeric field of a policy dataclass is infinite or NaN
    (its own checks compare, and NaN passes every comparison), nor a
    string where a number belongs.

    @raise BadArgument: otherwise.
    """
    if not dataclasses.is_dataclass(value):
        return
    for spec in dataclasses.fields(value):
        field_value = getattr(value, spec.name)
        annotation = str(spec.type)
        numeric = "float" in annotation or "int" in annotation
        if isinstance(field_value, bool) or field_value is None:
            continue
        if isinstance(field_value, float) and not math.isfinite(field_value):
            raise BadArgument(f"{what}.{spec.name} must be finite, not {field_value!r}")
        if numeric and not isinstance(field_value, (int, float)):
            raise BadArgument(
                f"{what}.{spec.name} must be a number, not {type(field_value).__name__}"
            )


def check_frame_limits(limits: object) -> None:
    """
    Check the C{limits} setting: C{None} or a L{FrameLimits} whose bounds
    are positive C{int}s.

    @raise BadArgument: otherwise.
    """
    check_instance(limits, FrameLimits, "limits", allow_none=True)
    if limits is None:
        return
    for spec in dataclasses.fields(FrameLimits):
        check_int(getattr(limits, spec.name), f"limits.{spec.name}", minimum=1)


def check_versions(versions: object) -> tuple[str, ...]:
    """
    Check the C{versions} setting: an iterable of known STOMP versions,
    at least one.

    @return: them, as a tuple (C{versions} may be an iterator, read once).
    @raise BadArgument: otherwise.
    """
    if isinstance(versions, str):
        raise BadArgument(
            f"versions must be an iterable of versions such as ('1.2',), not the str {versions!r}"
        )
    if not isinstance(versions, Iterable):
        raise BadArgument(f"versions must be an iterable of str, not {type(versions).__name__}")
    offered = tuple(versions)
    for version in offered:
        if version not in VERSIONS:
            raise BadArgument(f"unknown STOMP version {version!r}; expected some of {VERSIONS}")
    if not offered:
        raise BadArgument("versions must offer at least one STOMP version")
    return offered


def check_provides(value: object, what: str, *interfaces: InterfaceClass) -> None:
    """
    Check that C{value} provides each of C{interfaces}.

    @raise BadArgument: otherwise.
    """
    for interface in interfaces:
        if not interface.providedBy(value):
            raise BadArgument(
                f"{what} must provide {interface.__name__}, and {type(value).__name__} does not"
            )


def check_host(host: object, what: str = "host") -> None:
    """
    Check a broker host name or address: a non-empty C{str} without
    spaces or control characters.

    @raise BadArgument: otherwise.
    """
    check_text(host, what, empty=False)
    assert isinstance(host, str)
    if not host.isprintable() or any(char.isspace() for char in host):
        raise BadArgument(f"{what} {host!r} holds spaces or control characters")


def check_port(port: object, ssl: bool, what: str = "port") -> int:
    """
    Check a broker port; C{None} and C{0} mean the default
    (L{default_port<stomp_twisted.failover.default_port>}), as in
    AnyEvent::STOMP.

    @return: the port to connect to.
    @raise BadArgument: for anything but an C{int} from 0 to 65535.
    """
    if port is None:
        return default_port(ssl)
    check_int(port, what, minimum=0, maximum=65535)
    assert isinstance(port, int)
    return port or default_port(ssl)


def check_representable(
    command: str, headers: Mapping[str, str], versions: Iterable[str], what: str
) -> None:
    """
    Check that a frame's headers can be written in every version of
    C{versions}: its frame may be written under any of them, as the
    broker chooses.

    @raise UnrepresentableHeader: if some version cannot write them.
    """
    frame = Frame(command, headers)
    for version in versions:
        try:
            serialize_frame(frame, version)
        except LocalProtocolError as error:
            raise UnrepresentableHeader(
                f"{what} cannot be written under STOMP {version}, which the client offers: {error}"
            ) from None


def check_sendable_command(command: object) -> str:
    """
    Check a command given to C{send_frame}.

    @raise BadArgument: for anything but an upper-case ASCII word, for the
        broker's commands, and for those the client writes itself.
    """
    if type(command) is str and command in SENDABLE_COMMANDS:
        return command
    if not isinstance(command, str) or _COMMAND.fullmatch(command) is None:
        raise BadArgument(
            "command must be an upper-case ASCII STOMP command such as 'SEND', "
            f"not {shown_value(command)}"
        )
    if command in SERVER_COMMANDS:
        raise BadArgument(f"{command} is a command the broker sends, not the client")
    if command in HANDSHAKE_COMMANDS:
        raise BadArgument(f"{command} opens a session: the client sends it itself on connecting")
    if command == "DISCONNECT":
        raise BadArgument("use disconnect() to leave: it waits for the broker's receipt")
    return command


def refuse_receipt_header(headers: object, what: str = "headers") -> None:
    """
    Refuse a C{receipt} header: the client numbers receipts itself, and
    one of the caller's could answer another request.

    @raise BadArgument: if C{headers} holds one.
    """
    if isinstance(headers, Mapping) and "receipt" in headers:
        raise BadArgument(
            f"{what} must not hold a 'receipt' header: the client numbers receipts itself, "
            "and one of yours could answer another request; pass receipt=True and wait on "
            "the Deferred, which fires with the RECEIPT frame"
        )


def send_headers(headers: HeaderValues | None, destination: str) -> dict[str, str]:
    """
    A C{SEND} frame's headers: the caller's (L{request_headers}, without
    a C{receipt} header: L{refuse_receipt_header}) and C{destination}.

    @raise BadArgument: as those two.
    @raise UnrepresentableHeader: as L{request_headers}.
    """
    frame_headers = request_headers(headers)
    if "receipt" in frame_headers:
        refuse_receipt_header(frame_headers)
    frame_headers["destination"] = destination
    return frame_headers


def check_client_settings(
    *,
    endpoint: object,
    reactor: object,
    connect_headers: object,
    versions: object,
    vhost: object,
    login: object,
    passcode: object,
    reconnect: object,
    connect_timeout: object,
    receipt_timeout: object,
    disconnect_timeout: object,
    limits: object,
    heartbeat: object,
    heartbeat_tolerance: object,
    outbox: object,
    max_in_flight: object,
    max_send_buffer: object,
    max_unacked: object,
    redelivery: object,
) -> tuple[str, ...]:
    """
    Check the settings of a L{StompClient<stomp_twisted.client.StompClient>},
    all of them, before anything is built: a wrong one raises here rather
    than on every connection attempt.

    @return: the versions to offer, as a tuple.
    @raise BadArgument: for a setting of the wrong type or out of range.
    @raise UnrepresentableHeader: for a C{CONNECT} header that cannot be
        written (the messages never quote a header value).
    """
    if endpoint is not None:
        check_provides(endpoint, "endpoint", IStreamClientEndpoint)
    check_provides(reactor, "reactor", IReactorTime)
    offered = check_versions(versions)
    for what, value, optional in (
        ("vhost", vhost, False),
        ("login", login, True),
        ("passcode", passcode, True),
    ):
        check_text(value, what, allow_none=optional)
        if value is not None:
            assert isinstance(value, str)
            check_connect_header_text(value, what)
    check_connect_header_mapping(connect_headers)
    check_instance(reconnect, ReconnectPolicy, "reconnect", allow_none=True)
    check_dataclass_numbers(reconnect, "reconnect")
    check_instance(outbox, OutboxPolicy, "outbox", allow_none=True)
    check_dataclass_numbers(outbox, "outbox")
    check_frame_limits(limits)
    check_number(connect_timeout, "connect_timeout", above=True)
    check_number(receipt_timeout, "receipt_timeout", above=True, allow_none=True)
    check_number(disconnect_timeout, "disconnect_timeout")
    check_heartbeat(heartbeat)
    check_number(
        heartbeat_tolerance, "heartbeat_tolerance", minimum=1.0, kind="a number of intervals"
    )
    check_tolerance(heartbeat_tolerance)
    check_int(max_in_flight, "max_in_flight", minimum=1)
    check_int(max_send_buffer, "max_send_buffer", minimum=0)
    check_int(max_unacked, "max_unacked", minimum=1)
    check_instance(redelivery, RedeliveryPolicy, "redelivery")
    return offered


def request_headers(headers: HeaderValues | None, what: str = "headers") -> dict[str, str]:
    """
    The headers a caller passed to a request, as a new dict of text.
    Names and values are checked here, at the call, for what no version
    can write (NUL, a lone surrogate); what depends on the version is
    checked when the frame is written.  (CONNECT's headers, whose messages
    must not quote a passcode, are checked by L{check_connect_header_mapping}
    first.)

    @raise BadArgument: for a headers object that is not a mapping, or a
        name or value of the wrong type.
    @raise UnrepresentableHeader: for a name or value no version can write.
    """
    if headers is None:
        return {}
    if type(headers) is dict:
        if not headers:
            return {}
        # The usual headers, text and ASCII, checked all at once (half the
        # time of the loop below for two headers): joining them refuses any
        # name or value that is not a str (an int value, a wrong type),
        # which the loop then takes one by one.  What passes here is what
        # the loop would return.
        try:
            text = "".join([*headers, *headers.values()])
        except TypeError:
            pass
        else:
            if text.isascii() and "\0" not in text and "" not in headers:
                return headers.copy()
    # (A dict is checked first: isinstance against an ABC is slow.)
    elif not isinstance(headers, Mapping):
        raise BadArgument(f"{what} must be a mapping, not {type(headers).__name__}")
    result: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str):
            raise BadArgument(f"{what}: a header name must be a str, not {type(name).__name__}")
        if not name or "\0" in name or not name.isascii():
            check_header_name(name)
        text = value if type(value) is str else header_value_text(value, f"{what}: header {name!r}")
        if "\0" in text or not text.isascii():
            check_header_text(text, "header value")
        result[name] = text
    return result
