"""Stable seeds: the same config and seed give the same numbers in every process.

Python's ``hash()`` of a string is salted per process (PYTHONHASHSEED), so it
cannot seed anything that must be reproducible; a cryptographic digest can.
"""

from __future__ import annotations

import hashlib


def stable_seed(*parts: object) -> int:
    """A 64-bit seed derived from ``parts`` (e.g. the root seed, an initiative id, a stream)."""
    text = "\x1f".join(str(part) for part in parts)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")
