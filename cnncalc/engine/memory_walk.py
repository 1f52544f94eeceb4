"""The memory walk's parts: layers as storages, a heap of live bytes, and who reads what last.

:mod:`cnncalc.engine.memory` (inference) and :mod:`cnncalc.engine.memory_train` (a training step) walk with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Activated, Keeps, Layer
from cnncalc.engine.report import Analysis
from cnncalc.errors import SpecError
from cnncalc.model import INPUT, direct_init

#: Bytes of the extra tensors a layer may keep: per output value (indices, mask) or per channel (stats, fp32 × 2).
INDEX_BYTES, MASK_BYTES, STAT_BYTES = 8, 1, 8


@direct_init
@dataclass(frozen=True, slots=True)
class Point:
    """Live bytes while one layer runs (its inputs, output and workspace all alive), in one phase."""

    layer: str
    live_bytes: int
    phase: str = "forward"

    def to_dict(self) -> dict[str, Any]:
        """Timeline entry of the JSON contract."""
        return {"layer": self.layer, "phase": self.phase, "live_bytes": self.live_bytes}


@dataclass(slots=True)
class Node:
    """What the walk needs of one node, in bytes for the whole batch."""

    name: str
    inputs: tuple[str, ...]
    #: Nodes read through links: a crop's target (its output), a max-unpool's pool (only its indices).
    links: tuple[tuple[str, str], ...]
    out_values: int
    channels: int
    stores: bool
    keeps: Keeps
    #: What a fused activation keeps (it runs in place on the output), or None without one.
    fused: Keeps | None
    params: int
    trainable: int
    largest_param: int
    groups: tuple[str, ...]


class Heap:
    """Live storages by key, with the running total and its peak (where, and which storages)."""

    def __init__(self, base: int) -> None:
        self.live: dict[str, int] = {}
        self.base = base
        self.current = base
        self.peak = base
        self.peak_at = ("", "")
        self.timeline: list[Point] = []
        #: (key, +1 alloc / −1 free) in order, and its length at the peak: what was alive is replayed at the end.
        self.log: list[tuple[str, int]] = []
        self.peak_log = 0

    def alloc(self, key: str, size: int) -> None:
        if key not in self.live:
            self.live[key] = size
            self.current += size
            self.log.append((key, 1))

    def free(self, key: str) -> None:
        if key in self.live:
            self.current -= self.live.pop(key)
            self.log.append((key, -1))

    def mark(self, layer: str, phase: str) -> None:
        """Record the moment ``layer`` runs (all its tensors alive) on the timeline and against the peak."""
        self.timeline.append(Point(layer, self.current, phase))
        if self.current > self.peak:
            self.peak, self.peak_at, self.peak_log = self.current, (layer, phase), len(self.log)

    def alive_at_peak(self) -> tuple[str, ...]:
        """The layer outputs alive at the peak (extras such as indices and gradients left out)."""
        alive: dict[str, None] = {}
        for key, sign in self.log[: self.peak_log]:
            if sign > 0:
                alive[key] = None
            else:
                alive.pop(key, None)
        return (INPUT, *(k for k in alive if "#" not in k))


def plan(report: Analysis, size: int) -> list[Node]:
    net = report.network
    if net is None:
        raise SpecError("memory needs an analysis that keeps its network (analyze())")
    nodes = []
    #: id(layer) → its rules: a long chain shares a few layer objects (the nodes keep them alive meanwhile).
    rules: dict[int, tuple[Keeps, Keeps | None]] = {}
    batch = report.batch
    for node, row in zip(net.nodes, report.layers, strict=True):
        layer = node.layer
        rule = rules.get(id(layer))
        if rule is None:
            rule = rules[id(layer)] = (layer.keeps(), fused_keeps(layer))
        largest = max(row.params - row.biases, row.biases)
        nodes.append(Node(
            node.name, node.inputs, node.links, prod(row.output_shape) * batch,
            row.output_shape[0] if row.output_shape else 1, row.stores, rule[0], rule[1], row.params * size,
            row.trainable_params * size, largest * size if row.trainable_params else 0, node.groups,
        ))
    return nodes


def fused_keeps(layer: Layer) -> Keeps | None:
    """The rule of a fused activation (``activation: relu``), as the in-place layer torch runs."""
    if not isinstance(layer, Activated) or layer.activation is None:
        return None
    cls = REGISTRY[layer.activation]
    fields = {"type": layer.activation, **({"inplace": True} if "inplace" in cls.model_fields else {})}
    return cls.model_validate(fields).keeps()


def extra(node: Node, what: str, act: int) -> int:
    """Bytes of one extra tensor a layer keeps or allocates (see :class:`Keeps`)."""
    return {"indices": node.out_values * INDEX_BYTES, "mask": node.out_values * MASK_BYTES,
            "stats": node.channels * STAT_BYTES, "copy": node.out_values * act}.get(what, 0)


def roots(nodes: list[Node], train: bool) -> dict[str, str]:
    """Each node's storage: its own, or (views, in-place ops) the storage of its first input."""
    root = {INPUT: INPUT}
    for n in nodes:
        own = n.stores or (train and n.keeps.train_output)
        root[n.name] = n.name if own else root[n.inputs[0]]
    return root


def last_reads(nodes: list[Node], root: dict[str, str], *, keep_output: bool) -> dict[str, int]:
    """Storage → index of the last node reading it (through any alias).

    Inference returns the last node's output (kept); in training only ``out.sum()`` reads it.
    """
    last: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for name in n.inputs:
            last[root[name]] = i
        for f, name in n.links:
            if f != "indices":
                last[root[name]] = i
        last[root[n.name]] = i
    if keep_output:
        last[root[nodes[-1].name]] = len(nodes)
    return last


def by_index(last: dict[str, int]) -> dict[int, list[str]]:
    """Invert storage → index into index → storages (the walks stay linear in the number of layers)."""
    out: dict[int, list[str]] = {}
    for storage, i in last.items():
        if storage != INPUT:
            out.setdefault(i, []).append(storage)
    return out
