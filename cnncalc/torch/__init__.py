"""The torch bridge: build an nn.Module from a spec, crosscheck it, import a module (torch imported lazily)."""
