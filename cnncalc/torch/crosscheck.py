"""Run a spec in torch and compare every layer with cnncalc's analysis: shapes, parameters, buffers, MACs."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cnncalc.engine.layers import attention, conv, conv_transpose, linear
from cnncalc.engine.report import Analysis
from cnncalc.errors import CnncalcError
from cnncalc.model import Network, Shape
from cnncalc.torch._modules import TorchRejectedError, lib
from cnncalc.torch.build import build_module

DEVICES = ("cpu", "meta", "cuda")


@dataclass(frozen=True, slots=True)
class Row:
    """One layer compared: (cnncalc, torch) for each figure; torch's MACs are None where it counts none."""

    name: str
    type: str
    shape: tuple[Shape, Shape]
    params: tuple[int, int]
    buffers: tuple[int, int]
    macs: tuple[int, int | None]

    @property
    def shape_ok(self) -> bool:
        """Output shapes equal."""
        return self.shape[0] == self.shape[1]

    @property
    def params_ok(self) -> bool:
        """Parameter counts equal."""
        return self.params[0] == self.params[1]

    @property
    def buffers_ok(self) -> bool:
        """Buffer counts equal."""
        return self.buffers[0] == self.buffers[1]

    @property
    def macs_ok(self) -> bool:
        """MACs equal where torch counts them (True where it does not)."""
        return self.macs[1] is None or self.macs[0] == self.macs[1]

    @property
    def ok(self) -> bool:
        """Shapes, parameter and buffer counts, and MACs where torch counts them, all equal."""
        return self.shape_ok and self.params_ok and self.buffers_ok and self.macs_ok


@dataclass(frozen=True, slots=True)
class CrossReport:
    """A whole network compared: one :class:`Row` per layer, totals as (cnncalc, torch) pairs.

    ``rejected`` says which layer torch refused (then ``rows`` is empty); ``macs`` sums only the layers whose
    MACs torch counts.
    """

    model: str
    device: str
    batch: int
    input: Shape
    rows: tuple[Row, ...]
    params: tuple[int, int]
    trainable_params: tuple[int, int]
    buffers: tuple[int, int]
    macs: tuple[int, int]
    rejected: str | None = None

    @property
    def mismatches(self) -> list[Row]:
        """The rows where anything differs."""
        return [r for r in self.rows if not r.ok]

    @property
    def counted(self) -> int:
        """How many layers had their MACs compared."""
        return sum(r.macs[1] is not None for r in self.rows)

    @property
    def ok(self) -> bool:
        """Every row and every total agrees, and torch accepted every layer."""
        return (self.rejected is None and not self.mismatches
                and all(a == b for a, b in (self.params, self.trainable_params, self.buffers, self.macs)))


#: Layers whose multiply-adds torch's FlopCounterMode counts (convolutions, transposed convolutions and matrix
#: products, at 2 FLOPs per MAC, bias additions left out, as cnncalc's MACs leave them out). Multi-head attention
#: runs with torch's fused fast path off and the math attention kernel (:func:`_decomposed`), so that every one of
#: its products is a matrix product FlopCounterMode sees.
COUNTED = (conv.Conv, conv_transpose.ConvTranspose, linear.Linear, attention.MultiheadAttention)


@contextlib.contextmanager
def _decomposed(torch: Any) -> Iterator[None]:
    """``nn.MultiheadAttention`` as matrix products: without ``_native_multi_head_attention`` (one op, which
    FlopCounterMode counts as nothing) and with the math attention kernel (the CPU flash kernel it has no formula
    for); the same products, so the same MACs."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)


def crosscheck(target: Network | Analysis, *, batch: int = 1, device: str = "cpu",
               input_shape: Shape | None = None) -> CrossReport:
    """Run a network in torch and compare every layer with cnncalc's analysis (``target``, or a fresh one of the
    network ``target`` for ``batch`` and ``input_shape``): output shape, parameters, buffers, and MACs where
    FlopCounterMode counts them.

    ``device``: cpu, cuda, or meta (torch's shape rules and FlopCounterMode without memory or compute).
    """
    from cnncalc.engine.graph import analyze

    if device not in DEVICES:
        raise CnncalcError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    t = lib()
    torch = t.torch
    if device == "cuda" and not torch.cuda.is_available():
        raise CnncalcError("--device cuda: torch sees no CUDA device here (use cpu or meta)")
    report = target if isinstance(target, Analysis) else analyze(target, input_shape=input_shape, batch=batch)
    net = report.network
    assert net is not None
    c = report.totals
    try:
        module = build_module(net, device, input_shape=report.input)
    except TorchRejectedError as err:
        return CrossReport(report.model, device, report.batch, report.input, (), (c.params, 0),
                           (c.trainable_params, 0), (c.buffers, 0), (0, 0), rejected=str(err))
    from torch.utils.flop_counter import FlopCounterMode

    counters: dict[str, Any] = {}

    attending = {node.name for node in net.nodes if isinstance(node.layer, attention.MultiheadAttention)}

    @contextlib.contextmanager
    def decomposed(counter: Any) -> Iterator[None]:
        with _decomposed(torch), counter:
            yield

    def around(name: str) -> Any:
        counters[name] = FlopCounterMode(display=False)
        return decomposed(counters[name]) if name in attending else counters[name]

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            values = module.run(torch.randn(report.batch, *report.input, device=device), around)
        except (RuntimeError, ValueError, TypeError, IndexError) as err:
            # Checks the meta pass cannot make (torch's meta kernels skip some, e.g. a transposed convolution's
            # output padding): the layer that was running is the one torch refuses.
            node = next(n for n in net.nodes if n.name == list(counters)[-1])
            return CrossReport(report.model, device, report.batch, report.input, (), (c.params, 0),
                               (c.trainable_params, 0), (c.buffers, 0), (0, 0),
                               rejected=str(TorchRejectedError(node, err)))
    rows = []
    for node, row in zip(net.nodes, report.layers, strict=True):
        sub = module.layers[module.key[node.name]]
        torch_macs = counters[node.name].get_total_flops() // 2 if isinstance(node.layer, COUNTED) else None
        rows.append(Row(node.name, node.layer.type, (row.output_shape, tuple(values[node.name].shape[1:])),
                        (row.params, sum(p.numel() for p in sub.parameters())),
                        (row.buffers, sum(b.numel() for b in sub.buffers())), (row.macs, torch_macs)))
    counted = [r for r in rows if r.macs[1] is not None]
    return CrossReport(
        report.model, device, report.batch, report.input, tuple(rows),
        params=(c.params, sum(p.numel() for p in module.parameters())),
        trainable_params=(c.trainable_params, sum(p.numel() for p in module.parameters() if p.requires_grad)),
        buffers=(c.buffers, sum(b.numel() for b in module.buffers())),
        macs=(sum(r.macs[0] for r in counted), sum(r.macs[1] or 0 for r in counted)),
    )
