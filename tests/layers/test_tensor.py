"""Indexing, tokens, held operands, normalize and einsum (cnncalc/engine/layers/tensor.py, merge.py, norm.py): the
pieces of transformer-style models.

The primary source for every shape is torch itself: ``x.select``, Python slicing of a tensor, ``torch.roll``,
``torch.cat`` with expanded tokens, broadcasting, ``F.normalize`` and ``torch.einsum``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Evaluation
from cnncalc.errors import ShapeError

#: The ``agrees_with_torch`` fixture (tests/conftest.py).
Check = Callable[[dict[str, Any]], Any]


def layer(x: tuple[int, ...], **fields: Any) -> Evaluation:
    return REGISTRY[fields["type"]].model_validate(fields).evaluate(x)


def merged(shapes: list[tuple[int, ...]], **fields: Any) -> Evaluation:
    return REGISTRY[fields["type"]].model_validate(fields).merge(shapes)  # type: ignore[attr-defined, no-any-return]


def test_select_token_and_slice_as_vit_and_swin_use_them() -> None:
    # ViT-B/16: 196 patches of 768 + one class token = 197 positions; its 768 parameters are the token's.
    token = layer((196, 768), type="token")
    assert (token.shape, token.params, token.flops) == ((197, 768), 768, 0)
    assert layer((197, 768), type="select", dim=1, index=0).shape == (768,)  # x[:, 0]
    # Swin's patch merging on a 56×56×96 channels-last map: x[:, 0::2] halves the rows, a view.
    half = layer((56, 56, 96), type="slice", dim=1, start=0, step=2)
    assert (half.shape, half.stores) == ((28, 56, 96), False)
    assert layer((56, 56, 96), type="roll", shifts=[-3, -3], dims=[1, 2]).shape == (56, 56, 96)


@pytest.mark.parametrize(("fields", "message"), [
    ({"type": "select", "dim": 0}, "is the batch"),
    ({"type": "select", "dim": 1, "index": 5}, "index 5 is out of range for dim 1 of size 4"),
    ({"type": "slice", "dim": 2, "start": 9}, "is empty"),
    ({"type": "slice", "dim": 4}, "out of range"),
    ({"type": "roll", "shifts": [1, 2], "dims": [1]}, "one shift per dim"),
    ({"type": "token", "dim": -4}, "is the batch"),
    ({"type": "normalize", "dim": 0}, "not a dim after the batch"),
])
def test_errors_name_the_dim(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        layer((4, 6, 6), **fields)


def test_a_held_operand_broadcasts_and_holds_its_counts() -> None:
    # x + self.pos_embedding: a learned 197×768 tensor (151,296 parameters), one addition per value.
    pos = merged([(197, 768)], type="add", operand=[197, 768])
    assert (pos.shape, pos.params, pos.flops) == ((197, 768), 151_296, 151_296)
    # Swin-T's relative-position bias in stage 1: 3 heads × 49 × 49 gathered from a 169 × 3 table by 2,401 indices.
    bias = merged([(64, 3, 49, 49)], type="add", operand=[1, 3, 49, 49], operand_params=507, operand_buffers=2401,
                  operand_macs=0)
    assert (bias.params, bias.buffers) == (507, 2401)
    with pytest.raises(ShapeError, match="do not broadcast"):
        merged([(4, 6, 6)], type="mul", operand=[3, 1, 1])
    with pytest.raises(ShapeError, match="takes one input"):
        merged([(4, 6, 6), (4, 6, 6)], type="add", operand=[4, 1, 1])


def test_einsum_shapes_and_macs() -> None:
    # MaxViT's scores: (B, G, H, I, D)·(B, G, H, J, D) → (B, G, H, I, J); MACs = G·H·I·J·D as a batched matmul.
    scores = merged([(64, 2, 49, 32), (64, 2, 49, 32)], type="einsum", equation="bghid,bghjd->bghij")
    assert (scores.shape, scores.macs) == ((64, 2, 49, 49), 64 * 2 * 49 * 49 * 32)
    with pytest.raises(ShapeError, match="letter 'd' has sizes 32 and 16"):
        merged([(64, 2, 49, 32), (64, 2, 49, 16)], type="einsum", equation="bghid,bghjd->bghij")
    with pytest.raises(ShapeError, match="explicit output"):
        merged([(4, 5), (5, 6)], type="einsum", equation="bij,bjk")
    with pytest.raises(ShapeError, match="batch letter"):
        merged([(4, 5), (5, 6)], type="einsum", equation="bij,bjk->ik")


@pytest.mark.torch
@given(size=st.integers(1, 9), start=st.integers(-10, 10), stop=st.one_of(st.none(), st.integers(-10, 10)),
       step=st.integers(1, 4))
def test_slice_sizes_match_torch(size: int, start: int, stop: int | None, step: int) -> None:
    import torch

    want = torch.zeros(2, 3, size)[:, :, start:stop:step].shape[2]
    fields = {"type": "slice", "dim": 2, "start": start, "stop": stop, "step": step}
    if want == 0:
        with pytest.raises(ShapeError, match="is empty"):
            layer((3, size), **fields)
    else:
        assert layer((3, size), **fields).shape == (3, want)


@pytest.mark.torch
def test_the_layers_agree_with_torch_modules(agrees_with_torch: Check) -> None:
    agrees_with_torch({"name": "t", "input": [4, 5, 6], "layers": [
        {"type": "token", "count": 3, "dim": -1, "at": "end"}, {"type": "select", "dim": 2, "index": -2},
        {"type": "mul", "operand": [4, 1]}, {"type": "normalize", "dim": 1, "p": 1.0},
        {"type": "roll", "shifts": [1], "dims": [-1]}, {"type": "slice", "dim": 1, "start": 1, "stop": 3}]})


def test_assign_and_a_held_einsum_operand() -> None:
    # attn[:, :, 1:, 1:] += rel on MViT's 2 heads × 19 × 19 map: the region is 18 × 18, in place.
    done = merged([(2, 19, 19), (2, 18, 18)], type="assign", region=[None, [1, None, None], [1, None, None]])
    assert (done.shape, done.stores, done.flops) == ((2, 19, 19), False, 0)
    with pytest.raises(ShapeError, match="does not fit the region 2x18x18"):
        merged([(2, 19, 19), (2, 19, 19)], type="assign", region=[None, [1, None, None], [1, None, None]])
    # einsum with a table it holds: (B, 2, 9, 4) · (4, 3) → (B, 2, 9, 3), 2·9·4·3 = 216 MACs and 12 parameters.
    table = merged([(2, 9, 4)], type="einsum", equation="bhnc,ck->bhnk", operand=[4, 3])
    assert (table.shape, table.macs, table.params) == ((2, 9, 3), 216, 12)
    with pytest.raises(ShapeError, match="cannot use the batch letter"):
        merged([(2, 9, 4)], type="einsum", equation="bhnc,bk->bhnk", operand=[4, 3])


def test_a_token_on_a_symbolic_sequence() -> None:
    # cnncalc sizes: L patches of 16 values; the class token adds one position and 16 parameters, whatever L is.
    import cnncalc

    report = cnncalc.analyze({"name": "t", "input": ["L", 16], "layers": [{"type": "token"}]}, input_shape=("L", 16))
    assert str(report.layers[0].output_shape[0]) == "L + 1" and report.totals.params == 16
