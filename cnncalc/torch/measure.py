"""Measured memory: what torch really keeps alive while the spec's own module runs on the CPU.

The figure ``cnncalc memory`` predicts is what a tracker of every operator's output storage sees: a
``TorchDispatchMode`` records each output's untyped storage once (views and in-place results share it) and a
weak-reference finaliser on the storage takes it off when torch frees it. Parameters, buffers and the input are
live from the start. The profiler's memory events (``profile_memory=True``) are measured too: they also see the
scratch kernels allocate inside one operator (oneDNN convolution buffers, for instance), reported apart as
``scratch_bytes`` rather than folded in.

The training step is the one ``cnncalc memory --train`` predicts: the first step of a fresh optimizer — forward
in training mode, ``out.sum()``, ``backward()``, ``optimizer.step()``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import Any

from cnncalc.model import Network, Shape
from cnncalc.torch._modules import torch_modules
from cnncalc.torch.build import build_module


@dataclass(frozen=True, slots=True)
class Measured:
    """One run's peaks in bytes, everything alive included (parameters, buffers, input, gradients, state)."""

    peak_bytes: int
    #: The operator running when the peak was reached, and the step's phase (forward, backward, optimizer).
    peak_op: str
    peak_phase: str
    #: The profiler's peak (tensor storages and the scratch kernels allocate inside an operator).
    profiler_peak_bytes: int | None = None

    @property
    def scratch_bytes(self) -> int | None:
        """What the profiler saw beyond the tracked storages: kernel scratch (never negative)."""
        return None if self.profiler_peak_bytes is None else max(self.profiler_peak_bytes - self.peak_bytes, 0)


def _tracker(base: list[Any]) -> Any:
    """A dispatch mode counting live storages; ``base`` tensors (parameters, buffers, input) are live already."""
    torch, _, _ = torch_modules()
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    mode: Any = TorchDispatchMode

    class Tracker(mode):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.live: dict[int, int] = {}
            self.current = 0
            self.peak = 0
            self.peak_op = ""
            self.phase = "forward"
            self.peak_phase = ""
            for tensor in base:
                self.track(tensor.untyped_storage(), "")

        def track(self, storage: Any, op: str) -> None:
            key = id(storage)
            if key in self.live:
                return
            size = storage.nbytes()
            self.live[key] = size
            self.current += size
            weakref.finalize(storage, self.free, key)
            if self.current > self.peak:
                self.peak, self.peak_op, self.peak_phase = self.current, op, self.phase

        def free(self, key: int) -> None:
            self.current -= self.live.pop(key, 0)

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            for leaf in tree_leaves(out):
                if isinstance(leaf, torch.Tensor) and leaf.device.type != "meta":
                    self.track(leaf.untyped_storage(), str(func.overloadpacket.__name__))
            return out

    return Tracker()


def _profiled(run: Callable[[], None], base_bytes: int) -> int:
    """Peak of the profiler's running allocation total during ``run``, plus what was allocated before it."""
    torch_modules()
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    from torch._C._profiler import _EventType

    allocations: list[Any] = []
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        node = stack.pop()
        if node.tag == _EventType.Allocation:
            allocations.append(node)
        stack.extend(node.children)
    current = peak = 0
    for node in sorted(allocations, key=lambda n: n.start_time_ns):
        current += node.extra_fields.alloc_size
        peak = max(peak, current)
    return base_bytes + peak


def _setup(net: Network, batch: int, input_shape: Shape | None, module: Any = None) -> tuple[Any, Any, list[Any]]:
    """The module (built, or ``module`` reused with its gradients dropped), a random input, and what is live."""
    torch, _, _ = torch_modules()
    torch.manual_seed(0)
    if module is None:
        module = build_module(net, "cpu", input_shape=input_shape)
    for p in module.parameters():
        p.grad = None
    x = torch.randn(batch, *(input_shape or net.input))
    return module, x, [*module.parameters(), *module.buffers(), x]


def _nbytes(tensors: list[Any]) -> int:
    return sum({id(t.untyped_storage()): t.untyped_storage().nbytes() for t in tensors}.values())


def inference(net: Network, *, batch: int = 1, input_shape: Shape | None = None, profiler: bool = True,
              module: Any = None) -> Measured:
    """One forward pass under ``torch.no_grad()`` in eval mode (``module``: the spec's module, built once)."""
    torch, _, _ = torch_modules()
    module, x, base = _setup(net, batch, input_shape, module)
    module.eval()

    def forward() -> None:
        with torch.no_grad():
            module(x)

    tracker = _tracker(base)
    with tracker:
        forward()
    profiled = _profiled(forward, _nbytes(base)) if profiler else None
    return Measured(tracker.peak, tracker.peak_op, "forward", profiled)


def checkpointed(module: Any, net: Network, blocks: tuple[str, ...]) -> Callable[[Any], Any]:
    """A forward for the spec's module that runs each chosen block under ``torch.utils.checkpoint`` (non-reentrant).

    ``blocks`` are block instance paths, their last segment, or block types, as ``cnncalc memory --checkpoint``
    takes them; values are dropped after their last reader, as :meth:`SpecModule.forward` does.
    """
    from torch.utils.checkpoint import checkpoint

    kinds = {g.name: g.block for g in net.groups}
    chosen = {n.name: next((g for g in n.groups if g in blocks or g.rsplit("/", 1)[-1] in blocks
                            or kinds.get(g) in blocks), None) for n in net.nodes}
    steps = module.steps
    if any(s.link is not None and chosen[s.name] for s in steps):
        raise ValueError("checkpointed blocks with linked layers (crop to, max-unpool) are not supported")
    last = {name: i for i, s in enumerate(steps) for name in s.inputs}

    def call(step: Any, values: dict[str, Any]) -> Any:
        layer = module.layers[step.key]
        return layer(*(values[a] for a in step.inputs)) if step.merge else layer(values[step.inputs[0]])

    def forward(x: Any) -> Any:
        values: dict[str, Any] = {"input": x}
        i = 0
        while i < len(steps):
            j, block = i, chosen[steps[i].name]
            if block is None:
                values[steps[i].name] = call(steps[i], values)
            else:
                while j + 1 < len(steps) and chosen[steps[j + 1].name] == block:
                    j += 1
                inner = steps[i:j + 1]
                names = {t.name for t in inner}
                outside = list(dict.fromkeys(a for t in inner for a in t.inputs if a not in names))

                def run(*xs: Any, inner: Any = inner, outside: list[str] = outside) -> Any:
                    local = dict(zip(outside, xs, strict=True))
                    for t in inner:
                        local[t.name] = call(t, local)
                    return local[inner[-1].name]

                values[inner[-1].name] = checkpoint(run, *(values[a] for a in outside), use_reentrant=False)
            for name in [k for k in values if k in last and last[k] <= j]:
                del values[name]
            i = j + 1
        return values[steps[-1].name]

    return forward


def training(net: Network, *, batch: int = 1, input_shape: Shape | None = None, optimizer: str = "sgd",
             momentum: float = 0.9, profiler: bool = True, module: Any = None,
             checkpoint: tuple[str, ...] = ()) -> Measured:
    """The first training step of a fresh optimizer: forward, ``out.sum()``, backward, ``optimizer.step()``.

    ``checkpoint`` runs those blocks under activation checkpointing (see :func:`checkpointed`).
    """
    torch, _, _ = torch_modules()

    def step(tracker: Any = None) -> None:
        module, x, _ = setup
        params = [p for p in module.parameters() if p.requires_grad]
        opt = (torch.optim.SGD(params, lr=0.01, momentum=momentum) if optimizer == "sgd"
               else (torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW)(params, lr=1e-3))
        module.train()
        out = (checkpointed(module, net, checkpoint)(x) if checkpoint else module(x)).sum()
        if tracker is not None:
            tracker.phase = "backward"
        out.backward()
        if tracker is not None:
            tracker.phase = "optimizer"
        opt.step()

    setup = _setup(net, batch, input_shape, module)
    tracker = _tracker(setup[2])
    with tracker:
        step(tracker)
    profiled = None
    if profiler:
        setup = _setup(net, batch, input_shape, module)
        profiled = _profiled(step, _nbytes(setup[2]))
    return Measured(tracker.peak, tracker.peak_op, tracker.peak_phase, profiled)


#: Square sizes tried, smallest first, to keep measurements fast.
SIZES = (64, 96, 128, 160, 192, 224)


def small_input(net: Network) -> Shape:
    """The smallest square input (from :data:`SIZES`) the network accepts and can train on at batch 1.

    Training batch norm needs more than one value per channel, so no batch norm may see a 1×1 map. Inputs that
    are not images (vectors), or that no size fits, keep the spec's own.
    """
    from cnncalc.engine.graph import run
    from cnncalc.engine.layers.norm import BatchNorm
    from cnncalc.errors import CnncalcError

    if len(net.input) != 3:
        return net.input
    accepted: list[Shape] = []
    for size in SIZES:
        shape = (net.input[0], size, size)
        try:
            report = run(net, input_shape=shape)
        except CnncalcError:
            continue
        accepted.append(shape)
        ins = report.context.input_of
        if all(prod(ins[n.name][1:]) > 1 for n in net.nodes if isinstance(n.layer, BatchNorm)):
            return shape
    return accepted[0] if accepted else net.input


@dataclass(frozen=True, slots=True)
class Comparison:
    """cnncalc's predicted peak against the measured one, for one network, batch and mode."""

    model: str
    input: Shape
    batch: int
    mode: str
    measured: Measured
    predicted: int
    predicted_phase: str

    @property
    def error(self) -> float:
        """Relative error of the prediction, (predicted − measured) / measured."""
        return (self.predicted - self.measured.peak_bytes) / self.measured.peak_bytes


MODES = ("inference", "sgd", "adam")


class TorchRefusedError(Exception):
    """torch cannot run the measurement (training batch norm on a 1×1 map at batch 1)."""


def compare(net: Network, *, batch: int, mode: str, input_shape: Shape | None = None,
            profiler: bool = True, module: Any = None) -> Comparison:
    """Measure and predict one peak: ``inference``, or a training step with ``sgd`` (momentum 0.9) or ``adam``."""
    from cnncalc.engine.graph import run
    from cnncalc.engine.memory import analyze_memory

    shape = input_shape or net.input
    report = run(net, input_shape=shape, batch=batch)
    if mode == "inference":
        inf = analyze_memory(report).inference
        measured = inference(net, batch=batch, input_shape=shape, profiler=profiler, module=module)
        return Comparison(net.name, shape, batch, mode, measured, inf.peak_bytes, "forward")
    step = analyze_memory(report, train=True, optimizer="sgd" if mode == "sgd" else "adam").training
    assert step is not None
    try:
        measured = training(net, batch=batch, input_shape=shape, optimizer=mode, profiler=profiler,
                            module=module)
    except ValueError as err:  # batch norm on one value per channel: torch will not train it
        raise TorchRefusedError(f"torch refuses to train {net.name} at batch {batch}: {err}") from None
    return Comparison(net.name, shape, batch, mode, measured, step.peak_bytes, step.peak_phase)
