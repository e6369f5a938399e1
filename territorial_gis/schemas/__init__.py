"""Built-in schemas of road line layers (TOML): which column holds the road class, surface,
season, direction, bridge/tunnel/layer, speed and source id, and how their values map to the
speed model. See :func:`territorial_gis._layer_schema.load_schema`."""
