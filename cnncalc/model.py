"""The types every stage shares: a shape, a node of the expanded network, a block instance, the network.

The spec stage builds them, the engine walks them, the proof and torch stages read them. Nothing here computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnncalc.engine.layers.base import Layer
    from cnncalc.spec.format import Expect

#: Channels first, batch excluded: ``(3, 224, 224)``.
Shape = tuple[int, ...]
#: Reserved name of the network's input in ``inputs:`` lists.
INPUT = "input"


def fmt_shape(shape: Shape) -> str:
    """``3x224x224``: the notation shapes are written in everywhere."""
    return "x".join(map(str, shape)) if shape else "scalar"


@dataclass(frozen=True, slots=True)
class Node:
    """One layer of the expanded network: its unique (path) name, the layer, its inputs and where it was written."""

    name: str
    layer: Layer
    inputs: tuple[str, ...]
    line: int | None = None
    #: Enclosing block instances, outermost first (for the table's hierarchy).
    groups: tuple[str, ...] = ()
    #: Resolved names for the layer's ``links`` fields (max-unpool ``indices``, crop ``to``).
    links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Group:
    """A block instance: its path name, block type and nesting depth (1 = top level)."""

    name: str
    block: str
    depth: int
    line: int | None = None


@dataclass(frozen=True)
class Network:
    """A validated spec: header fields, the layers as a DAG in definition order, block instances, source file."""

    name: str
    input: Shape
    nodes: tuple[Node, ...]
    description: str = ""
    source: str | None = None
    notes: str | None = None
    expect: tuple[Expect, ...] = ()
    file: str | None = None
    groups: tuple[Group, ...] = field(default=())
