"""A config resolved once and pinned by a digest.

A run names its config by path and by a SHA-256 digest of that path and of the
document it was validated from (the parsed YAML as canonical JSON; the path too,
because data paths in the document resolve against the config's folder). Whoever
resolves it first keeps the document in a folder of snapshots, one file per digest,
so every step and check of the run reads the same values even when the file is
edited while the run goes on. Content-addressed: two processes writing the same
digest write the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impact_assets.config.loader import ConfigError, parse_config, read_yaml
from impact_assets.config.models import PortfolioConfig
from impact_assets.files import write_atomically

SNAPSHOT_SUFFIX = ".json"


def canonical_document(raw: Any) -> str:
    """The parsed YAML as canonical JSON: the same document always gives the same text."""
    return json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)


def document_digest(path: Path, document: str) -> str:
    """The digest that names a config: its path and its document."""
    return hashlib.sha256(f"{path}\n{document}".encode()).hexdigest()


@dataclass(frozen=True)
class ResolvedConfig:
    """A validated config, the path it was read from, and the digest of its document."""

    path: Path
    document: str
    digest: str
    config: PortfolioConfig


def resolve_config(path: str | Path) -> ResolvedConfig:
    """Read and validate the config at ``path``; raises :class:`ConfigError`."""
    path = Path(path).resolve()
    raw = read_yaml(path)
    document = canonical_document(raw)
    config = parse_config(json.loads(document), source=path)
    return ResolvedConfig(path, document, document_digest(path, document), config)


def snapshot_path(folder: Path, digest: str) -> Path:
    return folder / f"{digest}{SNAPSHOT_SUFFIX}"


def write_snapshot(folder: Path, resolved: ResolvedConfig) -> Path:
    """Keep ``resolved``'s document under its digest (a no-op when it is already kept)."""
    target = snapshot_path(folder, resolved.digest)
    if not target.exists():
        text = json.dumps({"path": str(resolved.path), "document": resolved.document})
        write_atomically(target, text, sync=False)
    return target


def read_snapshot(folder: Path, digest: str) -> ResolvedConfig | None:
    """The config kept under ``digest``, validated again; None when none is kept."""
    try:
        kept = json.loads(snapshot_path(folder, digest).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    path, document = Path(kept["path"]), kept["document"]
    if document_digest(path, document) != digest:
        raise ConfigError(path, [f"the kept config {digest[:12]} is damaged"])
    config = parse_config(json.loads(document), source=path)
    return ResolvedConfig(path, document, digest, config)
