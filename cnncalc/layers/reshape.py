"""Layers that move or pass data without arithmetic: flatten, dropout, identity.

None of them stores a new output at inference (flatten is a view, dropout is the identity), so they add nothing
to activation memory.
"""

from __future__ import annotations

from math import prod
from typing import Annotated, Literal

from pydantic import Field

from cnncalc.errors import ShapeError
from cnncalc.layers import register
from cnncalc.layers.base import GLOBAL, Evaluation, Layer, Shape


@register
class Flatten(Layer):
    """``torch.nn.Flatten``: dims are torch-indexed with the batch as dim 0 (default: everything but the batch)."""

    type: Literal["flatten"]
    start_dim: int = 1
    end_dim: int = -1

    def evaluate(self, x: Shape) -> Evaluation:
        """Merge dims start..end into one."""
        full = (1, *x)
        rank = len(full)
        start = self.start_dim + rank if self.start_dim < 0 else self.start_dim
        end = self.end_dim + rank if self.end_dim < 0 else self.end_dim
        if not (0 <= start < rank and 0 <= end < rank) or start > end:
            raise ShapeError(f"start_dim={self.start_dim}, end_dim={self.end_dim} do not fit an input of rank {rank}")
        if start == 0:
            raise ShapeError("flatten would merge the batch dim; start_dim must be 1 or more")
        shape = (*full[1:start], prod(full[start : end + 1]), *full[end + 1 :])
        merged_spatial = end > start and end >= 2
        return Evaluation(shape, rf=GLOBAL if merged_spatial else None, stores=False)


@register
class Dropout(Layer):
    """Dropout: the identity at inference; ``p`` is kept for the torch bridge and the summary."""

    type: Literal["dropout", "dropout1d", "dropout2d", "dropout3d"]
    p: Annotated[float, Field(ge=0, le=1)] = 0.5

    def evaluate(self, x: Shape) -> Evaluation:
        """No work, no new memory."""
        return Evaluation(x, stores=False, summary=f"p={self.p:g}")


@register
class Identity(Layer):
    """A named pass-through (useful as a placeholder or a tap point)."""

    type: Literal["identity"]

    def evaluate(self, x: Shape) -> Evaluation:
        """Unchanged."""
        return Evaluation(x, stores=False)
