"""The Dagster Definitions of the impact loop: everything in the ``defs/`` folder.

``dagster dev``, ``dg`` and the CLI load this module; a file added to ``defs/``
is picked up without an edit here.
"""

from pathlib import Path

import dagster as dg

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
