"""cnncalc's own convention: MACs are the multiply-adds of conv and linear layers and nothing else.

Biases, BatchNorm, pooling, activations and adds are additions, comparisons or divisions, not multiply-adds; they
are in cnncalc's FLOPs (2 per multiply-add + 1 per bias + each layer's documented per-element cost), not its MACs.
"""

from __future__ import annotations

from typing import ClassVar

from cnncalc.engine.conventions.base import Convention, Site, Terms, Unit


class Cnncalc(Convention):
    """The default: multiply-adds only."""

    name: ClassVar[str] = "cnncalc"
    tool: ClassVar[str] = "cnncalc"
    unit: ClassVar[Unit] = "macs"
    counts: ClassVar[str] = ("multiply-adds of conv and linear layers only; biases, BatchNorm, pooling, activations "
                             "and adds are in FLOPs, not MACs")
    assumes: ClassVar[str] = "nothing"

    def layer_terms(self, site: Site) -> Terms:
        """The layer's multiply-adds."""
        return {"products": site.macs}
