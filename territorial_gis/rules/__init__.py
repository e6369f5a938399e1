"""Classification rule sets (TOML) shipped with territorial-gis; see ``default.toml``."""
