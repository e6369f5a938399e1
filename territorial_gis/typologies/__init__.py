"""Typology presets (TOML), read by :func:`territorial_gis.typology.load_typology`."""
