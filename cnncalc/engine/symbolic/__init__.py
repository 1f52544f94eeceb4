"""Symbolic sizes: closed forms in H, W, N (:mod:`.expr`), the symbolic walk (:mod:`.analysis`) and the input sizes
a network accepts (:mod:`.sizes`). Imported only when a size is a symbol; the numeric path never loads it."""
