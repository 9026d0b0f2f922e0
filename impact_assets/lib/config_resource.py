"""Resources: the portfolio config, read and validated when a run needs it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from impact_assets.config import ConfigError, PortfolioConfig, default_config_path, load_config

_CACHE: dict[tuple[str, int, int], PortfolioConfig] = {}


class ImpactConfigResource(dg.ConfigurableResource):
    """The portfolio config at ``path``, or ``$IMPACT_ENGINE_CONFIG``, or ``config.yaml``.

    Read when a run uses it, never when the Definitions load, so an invalid
    config shows as a failed run or tick with its message, not a broken code
    location.
    """

    path: str | None = None

    def config_path(self) -> Path:
        return Path(self.path) if self.path else default_config_path()

    def load(self) -> PortfolioConfig:
        """The validated config; raises :class:`~impact_assets.config.ConfigError`."""
        path = self.config_path()
        try:
            stat = path.stat()
        except OSError:
            return load_config(path)  # raises a ConfigError naming the missing file
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if key not in _CACHE:
            _CACHE.clear()
            _CACHE[key] = load_config(path)
        return _CACHE[key]

    def load_or_fail(self) -> PortfolioConfig:
        """The config, or a Dagster ``Failure`` carrying every problem as its message."""
        try:
            return self.load()
        except ConfigError as error:
            raise dg.Failure(
                description=str(error),
                metadata={
                    "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in error.problems))
                },
                allow_retries=False,
            ) from None
