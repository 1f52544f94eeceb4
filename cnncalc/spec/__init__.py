"""Reading networks: the spec format, the YAML loader, expansion, the notation, the schema, the zoo."""
