"""Stopping a call's work once nobody waits for it: checked between the stages of a handler.

gRPC Python keeps running a handler after its deadline passed or the client
cancelled; without these checks a burst of abandoned photo queries kept the
decoders busy for seconds.
"""

from __future__ import annotations

import grpc

from fashionrec.errors import Cancelled, DeadlineExceeded

__all__ = ["check_call"]


def check_call(context: grpc.ServicerContext, stage: str) -> None:
    """Raises when the call is over, so the handler skips its remaining stages.

    Args:
        context: the call's context.
        stage: what would run next, for the message.

    Raises:
        Cancelled: the client cancelled (or went away).
        DeadlineExceeded: the call's deadline passed.
    """
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        raise DeadlineExceeded(f"the deadline passed before {stage}")
    if not context.is_active():
        raise Cancelled(f"the call was cancelled before {stage}")
