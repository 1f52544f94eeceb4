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

from dataclasses import dataclass, field, replace
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
                   amp: str | None = None, checkpoint: tuple[str, ...] = (), batch: int | None = None) -> MemoryReport:
    """The inference peak and, with ``train``, one training step, for the report's network, batch and dtype.

    ``batch`` overrides the report's batch (shapes are per sample, so nothing needs analysing again: ``fit``
    searches batches this way).
    """
    if batch is not None and batch != report.batch:
        if batch < 1:
            raise SpecError(f"batch must be at least 1, got {batch}")
        per_sample = report.totals.activation_bytes // report.batch
        report = replace(report, batch=batch, totals=replace(report.totals, activation_bytes=per_sample * batch))
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


def _by_index(last: dict[str, int]) -> dict[int, list[str]]:
    """Invert storage → index into index → storages (the walks stay linear in the number of layers)."""
    out: dict[int, list[str]] = {}
    for storage, i in last.items():
        if storage != INPUT:
            out.setdefault(i, []).append(storage)
    return out


def _inference(nodes: list[_Node], base: int, size: int) -> Inference:
    root = _roots(nodes, train=False)
    frees = _by_index(_last_reads(nodes, root, keep_output=True))
    unpools: dict[int, list[str]] = {}  # a max-unpool's index → the pools whose indices it is the last to read
    for i, n in enumerate(nodes):
        for f, name in n.links:
            if f == "indices":
                unpools.setdefault(i, []).append(name)
    kept = {name for names in unpools.values() for name in names}
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
        if n.name not in kept:  # indices a max-unpool reads stay until it has run
            for key, _ in scratch:
                heap.free(key)
        for pool in unpools.get(i, ()):
            for j, w in enumerate(nodes[_position(nodes, pool)].keeps.workspace):
                heap.free(f"{pool}#{w}{j}")
        for storage in frees.get(i, ()):
            heap.free(storage)
    return Inference(heap.peak, heap.peak_at[0], heap.alive_at_peak(), tuple(heap.timeline), workspace)


def _position(nodes: list[_Node], name: str) -> int:
    return next(i for i, n in enumerate(nodes) if n.name == name)


@dataclass
class _Step:
    """The training walk's state, shared by its forward, backward and optimizer parts."""

    nodes: list[_Node]
    act: int
    heap: _Heap
    root: dict[str, str]
    index: dict[str, int]
    #: storage → the earliest layer saving it (backward frees it after that layer's backward)
    saved: dict[str, int] = field(default_factory=dict)
    #: each layer's extra saved tensors (indices, masks, statistics, clones): (key, bytes)
    extras: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    #: checkpointed blocks: the block of each layer, and each block's first and last layer
    block: list[str | None] = field(default_factory=list)
    start: dict[str, int] = field(default_factory=dict)
    end: dict[str, int] = field(default_factory=dict)
    #: block end → (storage, saver) that the block's recomputation saves again
    recompute: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    grad_bytes: int = 0


def _training(nodes: list[_Node], base: int, size: int, optimizer: str, momentum: float, amp: str | None,
              checkpoint: tuple[str, ...], chosen: set[str]) -> Training:
    act = 2 if amp else size
    st = _Step(nodes, act, _Heap(base + (_half_weights(nodes, size, act) if amp else 0)), _roots(nodes, train=True),
               {n.name: i for i, n in enumerate(nodes)})
    _plan_saves(st, chosen)
    saved_activation_bytes = _forward(st)
    _backward(st)
    trainable = sum(n.trainable for n in nodes)
    if amp:  # the low-precision weight copies die with the autocast region, before the step
        st.heap.base -= _half_weights(nodes, size, act)
        st.heap.current -= _half_weights(nodes, size, act)
    # optimizer.step() on a fresh optimizer: its state appears now (SGD: momentum buffers, cloned from the grads).
    state = (trainable if momentum else 0) if optimizer == "sgd" else 2 * trainable
    st.heap.alloc("optimizer#state", state)
    if optimizer != "sgd":  # Adam's sqrt(v) and its quotient, per tensor: the largest one counts
        st.heap.alloc("optimizer#temp", 2 * max((n.largest_param for n in nodes), default=0))
    st.heap.mark("optimizer.step", "optimizer")
    return Training(optimizer, momentum, amp, checkpoint, st.heap.peak, st.heap.peak_at[1], st.heap.peak_at[0],
                    st.grad_bytes, state, saved_activation_bytes, tuple(st.heap.timeline))


def _plan_saves(st: _Step, chosen: set[str]) -> None:
    """Which storages each layer saves; in a checkpointed block only the block's inputs, the rest recomputed."""
    st.block = [next((g for g in n.groups if g in chosen), None) for n in st.nodes]
    for i, b in enumerate(st.block):
        if b is not None:
            st.start.setdefault(b, i)
            st.end[b] = i
    for i, n in enumerate(st.nodes):
        keep = n.keeps.saves + (tuple("output" if w == "input" else w for w in n.fused.saves) if n.fused else ())
        names = [x for w in keep if w in ("input", "output", "inputs")
                 for x in (n.inputs[:1] if w == "input" else n.inputs if w == "inputs" else (n.name,))]
        st.extras[i] = [(f"{n.name}#{w}{j}", _extra(n, w, st.act)) for j, w in enumerate(keep)
                        if w not in ("input", "inputs", "output")]
        b = st.block[i]
        for name in names:
            storage = st.root[name]
            if b is not None and st.index.get(storage, -1) >= st.start[b]:
                st.recompute.setdefault(st.end[b], []).append((storage, i))
                continue
            saver = i if b is None else st.start[b]
            st.saved[storage] = min(st.saved.get(storage, saver), saver)


def _forward(st: _Step) -> int:
    """The forward pass in training mode; returns the bytes of activations saved for backward."""
    frees = _by_index(_last_reads(st.nodes, st.root, keep_output=False))
    heap = st.heap
    for i, n in enumerate(st.nodes):
        if st.root[n.name] == n.name:
            heap.alloc(n.name, n.out_values * st.act)
        for key, nbytes in st.extras[i]:
            heap.alloc(key, nbytes)
        heap.mark(n.name, "forward")
        if st.block[i] is not None:  # recomputed in backward
            for key, _ in st.extras[i]:
                heap.free(key)
        for storage in frees.get(i, ()):
            if storage not in st.saved:
                heap.free(storage)
    return heap.current - heap.base


def _backward(st: _Step) -> None:
    """``out.sum().backward()``: layers in reverse (autograd runs later-created nodes first)."""
    nodes, heap, act = st.nodes, st.heap, st.act
    requires = {INPUT: False}
    for n in nodes:
        requires[n.name] = n.trainable > 0 or any(requires[x] for x in n.inputs)
    releases = _by_index(st.saved)
    grads: dict[str, str] = {}  # node → key of its output gradient's storage
    refs: dict[str, int] = {}

    def alloc(key: str, nbytes: int) -> str:
        heap.alloc(key, nbytes)
        refs[key] = 1
        return key

    def release(key: str) -> None:
        refs[key] -= 1
        if refs[key] == 0:
            heap.free(key)

    grads[nodes[-1].name] = alloc("loss#grad", act)  # sum's backward: ones, expanded (a view)
    for i in range(len(nodes) - 1, -1, -1):
        n = nodes[i]
        if not requires[n.name] or n.name not in grads:
            continue
        for storage, saver in st.recompute.get(i, ()):  # checkpointing: the block's forward runs again
            heap.alloc(storage, nodes[st.index[storage]].out_values * act)
            releases.setdefault(saver, []).append(storage)
        b = st.block[i]
        if b is not None and st.end[b] == i:
            for j in range(st.start[b], i + 1):
                for key, nbytes in st.extras[j]:
                    heap.alloc(key, nbytes)
        g = grads.pop(n.name)
        if n.fused:  # the fused activation's backward: a new gradient of the output's size
            key = alloc(f"{n.name}#actgrad", n.out_values * act)
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
                key = alloc(f"{n.name}#grad_{x}", nodes[st.index[x]].out_values * act)
            if x in grads:  # a second consumer: accumulated in place into the first gradient
                fresh.append(key)
            else:
                grads[x] = key
        if n.trainable:
            heap.alloc(f"{n.name}#pgrad", n.trainable)
            st.grad_bytes += n.trainable
        heap.mark(n.name, "backward")
        for key in (*fresh, g):
            release(key)
        for storage in releases.get(i, ()):
            heap.free(storage)
        for key, _ in st.extras[i]:
            heap.free(key)
    for key in grads.values():
        heap.free(key)
    heap.free("loss#grad")


def _half_weights(nodes: list[_Node], size: int, act: int) -> int:
    """Autocast's low-precision copies of the weights, cached for forward and backward."""
    return sum(n.trainable for n in nodes) // size * act
