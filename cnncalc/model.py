"""The types every stage shares: a shape, a node of the expanded network, a block instance, the network.

The spec stage builds them, the engine walks them, the proof and torch stages read them. Nothing here computes.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from cnncalc.engine.layers.base import Layer
    from cnncalc.spec.format import Expect

#: Channels first, batch excluded: ``(3, 224, 224)``.
Shape = tuple[int, ...]
#: The largest size any dimension of a shape may have (input or any layer's output): 10^12 is far beyond every real
#: network (VGG's widest is 25,088), and it keeps every count a finite float for renderers and JSON.
MAX_DIM = 10**12
#: Reserved name of the network's input in ``inputs:`` lists.
INPUT = "input"


def fmt_shape(shape: Shape) -> str:
    """``3x224x224``: the notation shapes are written in everywhere."""
    return "x".join(map(str, shape)) if shape else "scalar"


def magnitude(value: int) -> str:
    """``1,000`` or, for a number too long to echo (or to convert to text at all past 4,300 digits), ``~10^400``."""
    if abs(value) < 10**15:
        return f"{value:,}"
    return f"~10^{int(abs(value).bit_length() * 0.30103)}"


def clip(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: how messages echo what a user typed (a 10,000-character
    name is not repeated whole)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


T = TypeVar("T")


def direct_init(cls: type[T]) -> type[T]:
    """Give a frozen, slotted dataclass an ``__init__`` that sets each slot through its own descriptor.

    A frozen dataclass's own ``__init__`` calls ``object.__setattr__`` per field (its ``__setattr__`` refuses), and
    looking the attribute up each time makes that about twice the cost of setting the slot directly; the types made
    once per layer (nodes, rows, field states) are built 100,000 times for a 100,000-layer spec. Same signature
    (fields in order, plain defaults), same instances: only the ``__init__`` is replaced. Generated as dataclasses
    generates its own, so it follows the fields.
    """
    if "__slots__" not in cls.__dict__:
        raise TypeError(f"direct_init: {cls.__name__} has no slots (make it a dataclass with slots=True)")
    args, body, env = [], [], {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.default_factory is not MISSING or not f.init:
            raise TypeError(f"direct_init: {cls.__name__}.{f.name} needs dataclasses' own __init__")
        if f.default is not MISSING:
            env[f"_d_{f.name}"] = f.default
        args.append(f.name if f.default is MISSING else f"{f.name}=_d_{f.name}")
        env[f"_s_{f.name}"] = cls.__dict__[f.name].__set__
        body.append(f"    _s_{f.name}(self, {f.name})\n")
    namespace: dict[str, Any] = {}
    exec(f"def __init__(self, {', '.join(args)}):\n{''.join(body)}", env, namespace)
    namespace["__init__"].__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = namespace["__init__"]  # type: ignore[method-assign]
    return cls


@direct_init
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
