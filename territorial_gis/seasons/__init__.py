"""Built-in seasons (TOML): how a season changes the roads and the walk to them."""
