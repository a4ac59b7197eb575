"""Every benchmark task; importing this package registers them (`task.get_task`)."""

from hispatial_assets.evaluation.tasks import (cvbench, embspatial, qspatial, robospatial, self_built,  # noqa: F401
                                               spatialrgpt, threedsr)
