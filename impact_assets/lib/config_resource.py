"""Resources: the portfolio config, resolved once per run and pinned to it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from impact_assets.config import ConfigError, PortfolioConfig, default_config_path
from impact_assets.config.pinned import ResolvedConfig, read_snapshot, write_snapshot

# Beside the asset values' folder, not in it: a config is not a value of the loop.
CONFIGS_FOLDER = "impact_engine_configs"
# The digest of the config a run resolved, when its run config named none
CONFIG_DIGEST_TAG = "impact/config_digest"
# Configs this process has resolved, by digest (a pinned config never changes).
_PINNED: dict[str, ResolvedConfig] = {}


def snapshot_folder(instance: dg.DagsterInstance) -> Path:
    """Where an instance keeps the configs its runs were pinned to, one file per digest."""
    return Path(instance.storage_directory()) / CONFIGS_FOLDER


def pin_config(instance: dg.DagsterInstance, resolved: ResolvedConfig) -> None:
    """Keep ``resolved`` for the runs that name its digest (before launching them)."""
    write_snapshot(snapshot_folder(instance), resolved)
    _PINNED.setdefault(resolved.digest, resolved)


class ImpactConfigResource(dg.ConfigurableResource):
    """The portfolio config at ``path`` (or ``$IMPACT_ENGINE_CONFIG``, or ``config.yaml``).

    In a run, the config is resolved once and every step and check reads the same
    document, whatever happens to the file meanwhile: the one ``digest`` names (the
    CLI, the API and the schedule set it), or else the file as the run's first step
    read it, whose digest the run then carries as its ``impact/config_digest`` tag (a
    run launched from the UI). The documents are kept in the instance's storage.
    Outside a run (sensors, ticks) it is the file as it is now. The Definitions read
    only the ids and the cron when they load (``impact_assets.lib.partitions``); the
    validated document is read here, when used, so an invalid config shows as a failed
    run or tick with its message.
    """

    path: str | None = None
    digest: str | None = None
    _instance: dg.DagsterInstance | None = PrivateAttr(default=None)
    _run_id: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._instance = context.instance
        self._run_id = context.run.run_id if context.run is not None else None

    def config_path(self) -> Path:
        return Path(self.path) if self.path else default_config_path()

    def current(self) -> ResolvedConfig:
        """The file's config as it is now, read once per version of the file; raises
        :class:`ConfigError`."""
        from impact_assets.lib.partitions import loaded_config

        loaded = loaded_config(self.config_path())
        if loaded.resolved is None:
            raise ConfigError(loaded.path, loaded.problems)
        return loaded.resolved

    def _run_digest(self) -> str | None:
        """The digest this run was pinned to: its run config's, or its tag's."""
        if self.digest is not None or self._instance is None or self._run_id is None:
            return self.digest
        run = self._instance.get_run_by_id(self._run_id)
        return run.tags.get(CONFIG_DIGEST_TAG) if run is not None else None

    def pinned(self) -> ResolvedConfig:
        """The run's config (see the class); outside a run, the file as it is now."""
        digest = self._run_digest()
        if digest is None:
            current = self.current()
            if self._instance is not None and self._run_id is not None:
                pin_config(self._instance, current)
                self._instance.add_run_tags(self._run_id, {CONFIG_DIGEST_TAG: current.digest})
            return current
        if digest in _PINNED:
            return _PINNED[digest]
        folder = snapshot_folder(self._instance) if self._instance is not None else None
        kept = read_snapshot(folder, digest) if folder is not None else None
        if kept is None:
            kept = self.current()
            if kept.digest != digest:
                raise ConfigError(
                    kept.path,
                    [
                        f"the config changed after this run was planned (its document "
                        f"{digest[:12]}, the file now {kept.digest[:12]}): reload the "
                        "definitions to run the config as it is now"
                    ],
                )
            if folder is not None:
                write_snapshot(folder, kept)
        _PINNED[digest] = kept
        return kept

    def load(self) -> PortfolioConfig:
        """The run's validated config (see :meth:`pinned`); raises :class:`ConfigError`."""
        return self.pinned().config

    def load_or_fail(self) -> PortfolioConfig:
        """The run's config, or a Dagster ``Failure`` carrying every problem as its message."""
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
