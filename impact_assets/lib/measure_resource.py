"""The ``measure_pool`` resource: where MEASURE runs when the config names no pool."""

from __future__ import annotations

import dagster as dg

from impact_assets.loop.measure_pool import DEFAULT_POOL, MeasurePool


class MeasurePoolResource(dg.ConfigurableResource):
    """The profile's MEASURE pool: ``threads``, ``processes`` or ``dask`` (with its scheduler).

    The config's ``measure.pool`` and ``measure.scheduler_address`` win when given.
    """

    pool: str = DEFAULT_POOL
    scheduler_address: str | None = None

    def for_step(self) -> MeasurePool:
        """A fresh pool for one step: it records the pool used and the workers that measured."""
        return MeasurePool(name=self.pool, scheduler_address=self.scheduler_address)
