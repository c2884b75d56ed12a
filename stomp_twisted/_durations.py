"""
Checks shared by the policies that wait and back off
(L{stomp_twisted.reconnect.ReconnectPolicy},
L{stomp_twisted.redelivery.RedeliveryPolicy}): a number of seconds and a
growth factor, refused at the call when out of range.
"""

from __future__ import annotations

import math
from typing import Final

from .errors import BadArgument

__all__ = ["MAX_MULTIPLIER", "MAX_SECONDS", "check_multiplier", "check_seconds"]

#: The longest wait a policy takes: a year.  Longer is surely a mistake
#: (minutes for hours, say), and a float then stays far from overflow
#: however the delay grows.
MAX_SECONDS: Final = 365 * 24 * 3600.0

#: The largest growth factor a policy takes.  With it, C{initial_delay *
#: multiplier ** 64} stays a finite float: a back-off's arithmetic never
#: overflows, which inside a reconnect loop would stop it without a word.
MAX_MULTIPLIER: Final = 1000.0


def check_seconds(value: object, name: str, *, positive: bool = False) -> float:
    """
    C{value} as a float of seconds, from 0 (exclusive if C{positive}) to
    L{MAX_SECONDS}.

    @raise BadArgument: for anything else (a bool, a str, NaN, infinity).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadArgument(f"{name} must be a number of seconds, not {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_SECONDS:
        raise BadArgument(f"{name} must be between 0 and {MAX_SECONDS:.0f} seconds, not {value!r}")
    if positive and seconds == 0:
        raise BadArgument(f"{name} must be more than 0 seconds")
    return seconds


def check_multiplier(value: object) -> float:
    """
    C{value} as a back-off's growth factor, from 1 to L{MAX_MULTIPLIER}.

    @raise BadArgument: for anything else.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadArgument(f"multiplier must be a number, not {value!r}")
    if not math.isfinite(value) or not 1 <= value <= MAX_MULTIPLIER:
        raise BadArgument(f"multiplier must be between 1 and {MAX_MULTIPLIER:g}, not {value!r}")
    return float(value)
