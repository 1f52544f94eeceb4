"""Memory as torch allocates it: the inference peak by liveness, one training step, and the largest batch that fits.

The walk replays the network in execution order over *storages*: a node that stores its output allocates one; a
view, an in-place op or inference dropout shares its input's. A storage is freed after its last reader — in
training, not before the backward of the earliest layer that saved it (each layer class declares what torch keeps
for its backward in :meth:`~cnncalc.engine.layers.base.Layer.keeps`). Backward runs the nodes in reverse: each
allocates its input gradients (new tensors, or views of its output gradient) and, on a fresh optimizer's first step,
its parameter gradients, then frees its output gradient and what it saved. The optimizer step adds its state
(SGD with momentum 1×, Adam/AdamW 2× the parameters) and Adam's per-tensor temporaries.

Every peak counts everything alive at that moment — parameters, buffers and the input included — the figure that
must fit in the device's memory. ``tests/test_memory_torch.py`` measures the same figure on the spec's own torch
module (:mod:`cnncalc.torch.measure`) and benchmarks/README.md lists the agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Any, Literal

from cnncalc.engine.graph import Analysis
from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Activated, Keeps, Layer
from cnncalc.engine.report import DTYPE_BYTES
from cnncalc.errors import SpecError
from cnncalc.model import INPUT

Optimizer = Literal["sgd", "adam", "adamw"]
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw")
AMP_DTYPES: tuple[str, ...] = ("bf16", "fp16")
#: Bytes of the extra tensors a layer may keep: per output value (indices, mask) or per channel (stats, fp32 × 2).
_INDEX_BYTES, _MASK_BYTES, _STAT_BYTES = 8, 1, 8


@dataclass(frozen=True, slots=True)
class Point:
    """Live bytes while one layer runs (its inputs, output and workspace all alive), in one phase."""

    layer: str
    live_bytes: int
    phase: str = "forward"

    def to_dict(self) -> dict[str, Any]:
        """Timeline entry of the JSON contract."""
        return {"layer": self.layer, "phase": self.phase, "live_bytes": self.live_bytes}


@dataclass(frozen=True, slots=True)
class Inference:
    """One forward pass under ``torch.no_grad()``: its peak, where it happens, and the timeline."""

    peak_bytes: int
    peak_layer: str
    #: Activations alive at the peak (node names; the input is ``input``).
    alive: tuple[str, ...]
    timeline: tuple[Point, ...]
    workspace_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The ``inference`` object of the JSON contract."""
        return {"peak_bytes": self.peak_bytes, "peak_layer": self.peak_layer, "alive_at_peak": list(self.alive),
                "timeline": [{"layer": p.layer, "live_bytes": p.live_bytes} for p in self.timeline]}


@dataclass(frozen=True, slots=True)
class Training:
    """One training step from a fresh optimizer: forward, ``out.sum()``, backward, ``optimizer.step()``."""

    optimizer: str
    momentum: float
    amp: str | None
    checkpoint: tuple[str, ...]
    peak_bytes: int
    peak_phase: str
    peak_layer: str
    grad_bytes: int
    optimizer_state_bytes: int
    saved_activation_bytes: int
    timeline: tuple[Point, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``training`` object of the JSON contract."""
        return {
            "optimizer": self.optimizer, "momentum": self.momentum if self.optimizer == "sgd" else None,
            "amp": self.amp, "checkpoint": list(self.checkpoint), "peak_bytes": self.peak_bytes,
            "peak_phase": self.peak_phase, "peak_layer": self.peak_layer, "grad_bytes": self.grad_bytes,
            "optimizer_state_bytes": self.optimizer_state_bytes,
            "saved_activation_bytes": self.saved_activation_bytes,
            "timeline": [p.to_dict() for p in self.timeline],
        }


@dataclass(frozen=True)
class MemoryReport:
    """``cnncalc memory``'s figures for one network, batch and dtype."""

    model: str
    input: tuple[int, ...]
    batch: int
    dtype: str
    param_bytes: int
    buffer_bytes: int
    input_bytes: int
    #: cs231n's sum of every stored output and the input (the main table's figure), for comparison.
    naive_bytes: int
    inference: Inference
    training: Training | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract (documented in the README)."""
        out: dict[str, Any] = {
            "model": self.model, "input": list(self.input), "batch": self.batch, "dtype": self.dtype,
            "param_bytes": self.param_bytes, "buffer_bytes": self.buffer_bytes, "input_bytes": self.input_bytes,
            "naive_activation_bytes": self.naive_bytes, "inference": self.inference.to_dict(),
        }
        if self.training is not None:
            out["training"] = self.training.to_dict()
        return out


@dataclass(slots=True)
class _Node:
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


class _Heap:
    """Live storages by key, with the running total and its peak (where, and which storages)."""

    def __init__(self, base: int) -> None:
        self.live: dict[str, int] = {}
        self.base = base
        self.current = base
        self.peak = base
        self.peak_at = ("", "")
        self.peak_alive: tuple[str, ...] = ()
        self.timeline: list[Point] = []

    def alloc(self, key: str, size: int) -> None:
        if key not in self.live:
            self.live[key] = size
            self.current += size

    def free(self, key: str) -> None:
        self.current -= self.live.pop(key, 0)

    def mark(self, layer: str, phase: str) -> None:
        """Record the moment ``layer`` runs (all its tensors alive) on the timeline and against the peak."""
        self.timeline.append(Point(layer, self.current, phase))
        if self.current > self.peak:
            self.peak, self.peak_at = self.current, (layer, phase)
            self.peak_alive = tuple(k for k in self.live if "#" not in k)


def _plan(report: Analysis, size: int) -> list[_Node]:
    net = report.network
    if net is None:
        raise SpecError("memory needs an analysis that keeps its network (analyze())")
    nodes = []
    for node, row in zip(net.nodes, report.layers, strict=True):
        layer = node.layer
        fused = _fused(layer)
        largest = max(row.params - row.biases, row.biases)
        nodes.append(_Node(
            node.name, node.inputs, node.links, prod(row.output_shape) * report.batch,
            row.output_shape[0] if row.output_shape else 1, row.stores, layer.keeps(), fused, row.params * size,
            row.trainable_params * size, largest * size if row.trainable_params else 0, node.groups,
        ))
    return nodes


def _fused(layer: Layer) -> Keeps | None:
    """The rule of a fused activation (``activation: relu``), as the in-place layer torch runs."""
    if not isinstance(layer, Activated) or layer.activation is None:
        return None
    cls = REGISTRY[layer.activation]
    fields = {"type": layer.activation, **({"inplace": True} if "inplace" in cls.model_fields else {})}
    return cls.model_validate(fields).keeps()


def _extra(node: _Node, what: str, act: int) -> int:
    """Bytes of one extra tensor a layer keeps or allocates (see :class:`Keeps`)."""
    return {"indices": node.out_values * _INDEX_BYTES, "mask": node.out_values * _MASK_BYTES,
            "stats": node.channels * _STAT_BYTES, "copy": node.out_values * act}.get(what, 0)


def analyze_memory(report: Analysis, *, train: bool = False, optimizer: Optimizer = "sgd", momentum: float = 0.9,
                   amp: str | None = None, checkpoint: tuple[str, ...] = ()) -> MemoryReport:
    """The inference peak and, with ``train``, one training step, for the report's network, batch and dtype."""
    if optimizer not in OPTIMIZERS:
        raise SpecError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if amp is not None and amp not in AMP_DTYPES:
        raise SpecError(f"amp must be one of {', '.join(AMP_DTYPES)}, got {amp!r}")
    size = DTYPE_BYTES[report.dtype]
    nodes = _plan(report, size)
    param_bytes = sum(n.params for n in nodes)
    buffer_bytes = report.totals.param_bytes - param_bytes
    input_bytes = prod(report.input) * report.batch * size
    base = param_bytes + buffer_bytes + input_bytes
    inference = _inference(nodes, base, size)
    training = None
    if train:
        groups = {g for n in nodes for g in n.groups}
        names = {g.rsplit("/", 1)[-1] for g in groups} | groups
        blocks = {g.name: g.block for g in report.network.groups} if report.network else {}
        unknown = [c for c in checkpoint if c not in names and c not in blocks.values()]
        if unknown:
            raise SpecError(f"--checkpoint {unknown[0]}: no such block instance or block type",
                            hint="block instances: " + ", ".join(sorted(groups)[:8]) if groups else "the spec has "
                            "no blocks")
        chosen = {g for g in groups if g in checkpoint or g.rsplit("/", 1)[-1] in checkpoint
                  or blocks.get(g) in checkpoint}
        training = _training(nodes, base, size, optimizer, momentum, amp, tuple(checkpoint), chosen)
    return MemoryReport(report.model, report.input, report.batch, report.dtype, param_bytes, buffer_bytes,
                        input_bytes, report.totals.activation_bytes, inference, training)


def _roots(nodes: list[_Node], train: bool) -> dict[str, str]:
    """Each node's storage: its own, or (views, in-place ops) the storage of its first input."""
    root = {INPUT: INPUT}
    for n in nodes:
        own = n.stores or (train and n.keeps.train_output)
        root[n.name] = n.name if own else root[n.inputs[0]]
    return root


def _last_reads(nodes: list[_Node], root: dict[str, str], *, keep_output: bool) -> dict[str, int]:
    """Storage → index of the last node reading it (through any alias).

    Inference returns the last node's output (kept); in training only ``out.sum()`` reads it.
    """
    last: dict[str, int] = {}
    for i, n in enumerate(nodes):
        for name in (*n.inputs, *(name for f, name in n.links if f != "indices"), n.name):
            last[root[name]] = i
    if keep_output:
        last[root[nodes[-1].name]] = len(nodes)
    return last


def _inference(nodes: list[_Node], base: int, size: int) -> Inference:
    root = _roots(nodes, train=False)
    last = _last_reads(nodes, root, keep_output=True)
    unpooled = {name: i for i, n in enumerate(nodes) for f, name in n.links if f == "indices"}
    heap = _Heap(base)
    workspace = 0
    for i, n in enumerate(nodes):
        if root[n.name] == n.name:
            heap.alloc(n.name, n.out_values * size)
        scratch = [(f"{n.name}#{w}{j}", _extra(n, w, size)) for j, w in enumerate(n.keeps.workspace)]
        for key, nbytes in scratch:
            heap.alloc(key, nbytes)
        workspace = max(workspace, sum(b for _, b in scratch))
        heap.mark(n.name, "forward")
        for key, _ in scratch:
            if n.name not in unpooled:  # indices a max-unpool reads stay until it has run
                heap.free(key)
        for pool, j in unpooled.items():
            if j == i:
                for key in [k for k in heap.live if k.startswith(f"{pool}#")]:
                    heap.free(key)
        for storage, j in list(last.items()):
            if j == i and storage != INPUT:
                heap.free(storage)
    return Inference(heap.peak, heap.peak_at[0], heap.peak_alive, tuple(heap.timeline), workspace)


def _training(nodes: list[_Node], base: int, size: int, optimizer: str, momentum: float, amp: str | None,
              checkpoint: tuple[str, ...], chosen: set[str]) -> Training:
    act = 2 if amp else size
    root = _roots(nodes, train=True)
    last = _last_reads(nodes, root, keep_output=False)
    index = {n.name: i for i, n in enumerate(nodes)}
    # Checkpointed blocks: inside one, nothing is saved but the block's inputs; its backward recomputes the rest.
    block = [next((g for g in n.groups if g in chosen), None) for n in nodes]
    start: dict[str, int] = {}
    end: dict[str, int] = {}
    for i, b in enumerate(block):
        if b is not None:
            start.setdefault(b, i)
            end[b] = i
    # Which storages each layer saves, and the earliest saver (backward frees them after it).
    saved: dict[str, int] = {}
    extras: dict[int, list[tuple[str, int]]] = {}
    recompute: dict[int, list[tuple[str, int]]] = {}  # block end → (storage, saver) its recomputation saves
    for i, n in enumerate(nodes):
        keep = n.keeps.saves + (tuple("output" if w == "input" else w for w in n.fused.saves) if n.fused else ())
        names = [n.name if w == "output" else x for w in keep if w in ("input", "output", "inputs")
                 for x in (n.inputs[:1] if w == "input" else n.inputs if w == "inputs" else (n.name,))]
        extras[i] = [(f"{n.name}#{w}{j}", _extra(n, w, act)) for j, w in enumerate(keep)
                     if w not in ("input", "inputs", "output")]
        b = block[i]
        for name in names:
            storage = root[name]
            if b is not None and index.get(storage, -1) >= start[b]:
                recompute.setdefault(end[b], []).append((storage, i))
                continue
            saver = i if b is None else start[b]
            saved[storage] = min(saved.get(storage, saver), saver)
    heap = _Heap(base + (param_half(nodes, act) if amp else 0))
    # Forward.
    for i, n in enumerate(nodes):
        if root[n.name] == n.name:
            heap.alloc(n.name, n.out_values * act)
        for key, nbytes in extras[i]:
            heap.alloc(key, nbytes)
        heap.mark(n.name, "forward")
        if block[i] is not None:  # recomputed in backward
            for key, _ in extras[i]:
                heap.free(key)
        for storage, j in list(last.items()):
            if j == i and storage != INPUT and storage not in saved:
                heap.free(storage)
    saved_activation_bytes = heap.current - heap.base
    # Backward, nodes in reverse (autograd runs later-created nodes first).
    requires = {INPUT: False}
    for n in nodes:
        requires[n.name] = n.trainable > 0 or any(requires[x] for x in n.inputs)
    grads: dict[str, str] = {}  # node → key of its output gradient's storage
    refs: dict[str, int] = {}
    grad_bytes = 0

    def release(key: str) -> None:
        refs[key] -= 1
        if refs[key] == 0:
            heap.free(key)

    out_grad = "loss#grad"
    heap.alloc(out_grad, act)
    refs[out_grad] = 1
    grads[nodes[-1].name] = out_grad
    for i in range(len(nodes) - 1, -1, -1):
        n = nodes[i]
        if not requires[n.name] or n.name not in grads:
            continue
        for storage, saver in recompute.get(i, ()):  # checkpointing: the block's forward runs again
            heap.alloc(storage, nodes[index[storage]].out_values * act)
            saved[storage] = min(saved.get(storage, saver), saver)
        if block[i] is not None and end[block[i] or ""] == i:
            for j in range(start[block[i] or ""], i + 1):
                for key, nbytes in extras[j]:
                    heap.alloc(key, nbytes)
        g = grads.pop(n.name)
        if n.fused:  # the fused activation's backward: a new gradient of the output's size
            key = f"{n.name}#actgrad"
            heap.alloc(key, n.out_values * act)
            refs[key] = 1
            release(g)
            g = key
        fresh: list[str] = []
        for x in dict.fromkeys(n.inputs):
            if not requires[x]:
                continue
            if n.keeps.grad == "view":
                key = g
                refs[g] += 1
            else:
                key = f"{n.name}#grad_{x}"
                heap.alloc(key, (nodes[index[x]].out_values if x in index else 0) * act)
                refs[key] = 1
            if x in grads:  # a second consumer: accumulated in place into the first gradient
                fresh.append(key)
            else:
                grads[x] = key
        if n.trainable:
            heap.alloc(f"{n.name}#pgrad", n.trainable)
            grad_bytes += n.trainable
        heap.mark(n.name, "backward")
        for key in fresh:
            release(key)
        release(g)
        for storage, j in list(saved.items()):
            if j == i:
                heap.free(storage)
                del saved[storage]
        for key, _ in extras[i]:
            heap.free(key)
    for g in list(grads.values()):
        heap.free(g)
    heap.free(out_grad)
    # optimizer.step() on a fresh optimizer: its state appears now.
    trainable = sum(n.trainable for n in nodes)
    largest = max((n.largest_param for n in nodes), default=0)
    if optimizer == "sgd":
        state = trainable if momentum else 0
        heap.alloc("optimizer#state", state)
        heap.mark("optimizer.step", "optimizer")
    else:
        state = 2 * trainable
        heap.alloc("optimizer#state", state)
        heap.alloc("optimizer#temp", 2 * largest)  # sqrt(v) and its quotient, for the largest tensor
        heap.mark("optimizer.step", "optimizer")
    return Training(optimizer, momentum, amp, checkpoint, heap.peak, heap.peak_at[1], heap.peak_at[0],
                    grad_bytes, state, saved_activation_bytes, tuple(heap.timeline))


def param_half(nodes: list[_Node], act: int) -> int:
    """Autocast's low-precision copies of the weights, cached for the step (``act`` bytes per parameter)."""
    return sum(n.trainable for n in nodes) // 4 * act
