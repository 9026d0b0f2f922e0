"""Loop ids: one per pass through the loop, sortable by when the loop started."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone


def new_loop_id(started: datetime | None = None, suffix: str | None = None) -> str:
    """``20261126T180501Z-1a2b3c4d``: a UTC start time, then a short unique suffix.

    Sorting loop ids sorts loops by start time, so "the current loop" among
    stored records is simply the greatest id.
    """
    started = started or datetime.now(timezone.utc)
    suffix = suffix or uuid.uuid4().hex[:8]
    return f"{started.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{suffix}"
