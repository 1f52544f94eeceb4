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

from cnncalc.engine.memory_train import Training, training_step
from cnncalc.engine.memory_walk import Heap, Node, Point, by_index, extra, last_reads, plan, roots
from cnncalc.engine.report import DTYPE_BYTES, Analysis, Report
from cnncalc.errors import SpecError

__all__ = ["AMP_DTYPES", "OPTIMIZERS", "Inference", "MemoryReport", "Optimizer", "Point", "Training",
           "analyze_memory"]

Optimizer = Literal["sgd", "adam", "adamw"]
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw")
AMP_DTYPES: tuple[str, ...] = ("bf16", "fp16")


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


def analyze_memory(report: Analysis, *, train: bool = False, optimizer: Optimizer = "sgd", momentum: float = 0.9,
                   amp: str | None = None, checkpoint: tuple[str, ...] = (), batch: int | None = None) -> MemoryReport:
    """The inference peak and, with ``train``, one training step, for the report's network, batch and dtype.

    ``batch`` overrides the report's batch (shapes are per sample, so nothing needs analysing again: ``fit``
    searches batches this way).
    """
    if not report.numeric:
        raise SpecError("memory needs a numeric input shape and batch (symbolic sizes have no single peak)")
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
    nodes = plan(report, size)
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
        training = training_step(nodes, base, size, optimizer, momentum, amp, tuple(checkpoint), chosen)
    return MemoryReport(report.model, report.input, report.batch, report.dtype, param_bytes, buffer_bytes,
                        input_bytes, report.totals.activation_bytes, inference, training)


def inference_peak(report: Report) -> Inference | None:
    """The inference peak of an analysed, numeric network; ``None`` for a bare Report or symbolic sizes.

    Front ends that show the peak beside other figures (the table footer, compare, the HTML report) ask here.
    """
    if not isinstance(report, Analysis) or report.network is None or not report.layers:
        return None
    if not report.numeric:
        return None
    return analyze_memory(report).inference


def _inference(nodes: list[Node], base: int, size: int) -> Inference:
    root = roots(nodes, train=False)
    frees = by_index(last_reads(nodes, root, keep_output=True))
    unpools: dict[int, list[str]] = {}  # a max-unpool's index → the pools whose indices it is the last to read
    for i, n in enumerate(nodes):
        for f, name in n.links:
            if f == "indices":
                unpools.setdefault(i, []).append(name)
    kept = {name for names in unpools.values() for name in names}
    heap = Heap(base)
    workspace = 0
    alloc, free, mark = heap.alloc, heap.free, heap.mark
    for i, n in enumerate(nodes):
        if root[n.name] == n.name:
            alloc(n.name, n.out_values * size)
        if n.keeps.workspace:
            scratch = [(f"{n.name}#{w}{j}", extra(n, w, size)) for j, w in enumerate(n.keeps.workspace)]
            for key, nbytes in scratch:
                heap.alloc(key, nbytes)
            workspace = max(workspace, sum(b for _, b in scratch))
        mark(n.name, "forward")
        if n.keeps.workspace and n.name not in kept:  # indices a max-unpool reads stay until it has run
            for key, _ in scratch:
                heap.free(key)
        if unpools:
            for pool in unpools.get(i, ()):
                for j, w in enumerate(nodes[_position(nodes, pool)].keeps.workspace):
                    heap.free(f"{pool}#{w}{j}")
        for storage in frees.get(i, ()):
            free(storage)
    return Inference(heap.peak, heap.peak_at[0], heap.alive_at_peak(), tuple(heap.timeline), workspace)


def _position(nodes: list[Node], name: str) -> int:
    return next(i for i, n in enumerate(nodes) if n.name == name)
