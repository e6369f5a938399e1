"""Error classes of territorial-gis.

Every error the toolkit raises on bad input derives from :class:`TerritorialGISError`,
which is also a :class:`ValueError`, so callers can catch either. The CLI turns these
into one clear message and exit code 1 (no traceback unless ``-v``).
"""

from __future__ import annotations


class TerritorialGISError(ValueError):
    """Base class for all input, configuration and data errors of territorial-gis."""

    exit_code = 1


class InputFileError(TerritorialGISError):
    """A file is missing, unreadable, empty, corrupt or of the wrong kind."""


class ColumnError(TerritorialGISError):
    """A required column is missing or holds invalid values."""


class CRSError(TerritorialGISError):
    """A dataset has no coordinate reference system or an unsuitable one."""


class ConfigError(TerritorialGISError):
    """A profile, rule set, schema or study configuration is malformed."""


class NetworkError(TerritorialGISError):
    """A road network cannot be built or used (empty extract, bbox outside the data, ...)."""


class RoutingError(TerritorialGISError):
    """Travel times cannot be computed for the given origins and destinations."""


class RasterError(TerritorialGISError):
    """A raster has no CRS, does not cover the areas, or holds only nodata."""


class OutputError(TerritorialGISError):
    """An output cannot be written: its folder is missing a write permission, it names a folder,
    or its format is not one the command writes."""


class OutputExistsError(OutputError):
    """An output file exists and ``overwrite`` was not requested."""
