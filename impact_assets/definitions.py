"""The Dagster Definitions of the impact loop: everything in the ``defs/`` folder.

``dagster dev`` and ``dg`` load this module; a file added to ``defs/`` is picked up
without an edit here. The definitions are built for the config
``$IMPACT_ENGINE_CONFIG`` names (``config.yaml`` by default): its initiatives are the
``initiatives`` partitions; a run pins the document it reads. For
another config: ``impact_assets.lib.loading.definitions_for(path)``.
"""

from impact_assets.lib.loading import load_definitions

defs = load_definitions()
