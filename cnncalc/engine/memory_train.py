"""One training step's memory: forward in training mode, ``out.sum()``, backward, and a fresh optimizer's step.

In the forward pass each layer keeps what its backward needs (:meth:`~cnncalc.engine.layers.base.Layer.keeps`);
a storage lives until the earliest layer saving it has run its backward. Backward runs the layers in reverse
(autograd runs later-created nodes first): each allocates its input gradients (new tensors, or views of its output
gradient) and, on a first step, its parameters' gradients, then frees its output gradient and what it saved. The
optimizer step adds its state (SGD with momentum 1×, Adam/AdamW 2× the parameters) and Adam's temporaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnncalc.engine.memory_walk import Heap, Node, Point, by_index, extra, last_reads, roots
from cnncalc.model import INPUT


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


@dataclass
class _Step:
    """The training walk's state, shared by its forward, backward and optimizer parts."""

    nodes: list[Node]
    act: int
    heap: Heap
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
    #: layers the output does not depend on
    dead: list[bool] = field(default_factory=list)
    grad_bytes: int = 0
    #: bytes per parameter value (the master weights), and whether autocast makes low-precision copies
    size: int = 4
    amp: bool = False


def training_step(nodes: list[Node], base: int, size: int, optimizer: str, momentum: float, amp: str | None,
              checkpoint: tuple[str, ...], chosen: set[str]) -> Training:
    act = 2 if amp else size
    st = _Step(nodes, act, Heap(base), roots(nodes, train=True), {n.name: i for i, n in enumerate(nodes)},
               size=size, amp=amp is not None)
    _plan_saves(st, chosen)
    saved_activation_bytes = _forward(st)
    _backward(st)
    trainable = sum(n.trainable for n in nodes)
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
    # A branch the output does not depend on (an auxiliary head) saves nothing that lasts: torch frees its graph
    # with its output.
    useful = {st.nodes[-1].name}
    for n in reversed(st.nodes):
        if n.name in useful:
            useful.update(n.inputs)
    st.dead = [n.name not in useful for n in st.nodes]
    for i, n in enumerate(st.nodes):
        keep = n.keeps.saves + (tuple("output" if w == "input" else w for w in n.fused.saves) if n.fused else ())
        names = [x for w in keep if w in ("input", "output", "inputs")
                 for x in (n.inputs[:1] if w == "input" else n.inputs if w == "inputs" else (n.name,))]
        st.extras[i] = [(f"{n.name}#{w}{j}", extra(n, w, st.act)) for j, w in enumerate(keep)
                        if w not in ("input", "inputs", "output")]
        if st.amp and n.trainable:  # autocast's low-precision copy of the weights, which the layer saves
            st.extras[i].append((f"{n.name}#w16", n.trainable // st.size * st.act))
        b = st.block[i]
        for name in names if not st.dead[i] else ():
            storage = st.root[name]
            if b is not None and st.index.get(storage, -1) >= st.start[b]:
                st.recompute.setdefault(st.end[b], []).append((storage, i))
                continue
            saver = i if b is None else st.start[b]
            st.saved[storage] = min(st.saved.get(storage, saver), saver)


def _forward(st: _Step) -> int:
    """The forward pass in training mode; returns the bytes of activations saved for backward."""
    frees = by_index(last_reads(st.nodes, st.root, keep_output=False))
    heap = st.heap
    for i, n in enumerate(st.nodes):
        if st.root[n.name] == n.name:
            heap.alloc(n.name, n.out_values * st.act)
        for key, nbytes in st.extras[i]:
            heap.alloc(key, nbytes)
        heap.mark(n.name, "forward")
        if st.block[i] is not None or st.dead[i]:  # recomputed in backward, or never needed
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
    releases = by_index(st.saved)
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
        _param_grads(st, n)
        for key in (*fresh, g):
            release(key)
        for storage in releases.get(i, ()):
            heap.free(storage)
        for key, _ in st.extras[i]:
            heap.free(key)
    for key in grads.values():
        heap.free(key)
    heap.free("loss#grad")


def _param_grads(st: _Step, n: Node) -> None:
    """A first step's parameter gradients appear as the layer's backward runs (the moment it is marked)."""
    if n.trainable:
        st.heap.alloc(f"{n.name}#pgrad", n.trainable)
        st.grad_bytes += n.trainable
        if st.amp:  # the gradient of the low-precision copy, cast to fp32 for the master weights
            st.heap.alloc(f"{n.name}#pgrad16", n.trainable // st.size * st.act)
    st.heap.mark(n.name, "backward")
    st.heap.free(f"{n.name}#pgrad16")
