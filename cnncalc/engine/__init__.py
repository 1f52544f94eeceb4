"""The engine: layer families and their formulas, the graph walk, receptive fields, the report."""
