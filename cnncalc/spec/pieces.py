"""Addressable pieces of a split: ``inputs: [halves.0]`` names piece 0 of the split node ``halves`` (issue #9).

A reference ``NAME.K`` that names no layer, where ``NAME`` is a layer whose class has an ``index`` field left unset
(``split``/``chunk``), resolves to a node ``NAME.K``: the same layer with ``index: K``, fed by ``NAME``. The expander
adds that node once, right before its first reader, so the graph stays in definition order.
"""

from __future__ import annotations

from collections.abc import Callable

from cnncalc.model import Node


def piece(ref: str, resolve: Callable[[str], str | None], nodes: dict[str, Node], order: list[Node],
          lines: dict[str, int | None], line: int | None) -> str | None:
    """The node name for reference ``ref`` if it addresses a split's piece, added to ``nodes``, ``order`` and
    ``lines`` the first time; else None."""
    base, dot, k = ref.rpartition(".")
    if not dot or not k.isdigit():
        return None
    found = resolve(base)
    if found is None:
        return None
    node = nodes.get(found)
    if node is None or "index" not in type(node.layer).model_fields or getattr(node.layer, "index", 0) is not None:
        return None
    full = f"{found}.{int(k)}"
    if full not in nodes:
        layer = node.layer.model_copy(update={"index": int(k), "name": None})
        nodes[full] = Node(full, layer, (found,), line, node.groups)
        order.append(nodes[full])
        lines[full] = line
    return full
