"""``cnncalc import`` of ``nn.MultiheadAttention`` in hand-written modules (no torchvision): a ViT-style encoder block
(self-attention, one input), cross-attention (query from one node, key and value from another), and the calls that
stay opaque with their reason (masks, ``batch_first=False``).

The counts are held to torch's own: parameters to ``sum(p.numel())``, MACs to FlopCounterMode's products on the meta
device (where torch's attention runs as bmm, as benchmarks/torchvision_import.py measures torchvision's models).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import cnncalc

pytestmark = pytest.mark.torch


def encoder_block(embed: int = 16, heads: int = 2, *, cross: bool = False, call: str = "tuple", **options: Any) -> Any:
    """torchvision's ViT EncoderBlock: LayerNorm → MHA → dropout → residual add → LayerNorm → MLP → add; with
    ``cross``, key and value are a linear map of the block's input (another node than the query)."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(embed)
            self.self_attention = nn.MultiheadAttention(embed, heads, batch_first=True, **options)
            self.dropout = nn.Dropout(0.1)
            self.ln_2 = nn.LayerNorm(embed)
            self.mlp = nn.Sequential(nn.Linear(embed, 4 * embed), nn.GELU(), nn.Linear(4 * embed, embed))
            self.memory = nn.Linear(embed, options.get("kdim", embed)) if cross else None

        def forward(self, x: Any) -> Any:
            y = self.ln_1(x)
            kv = self.memory(x) if self.memory is not None else y
            if call == "tuple":  # torchvision: x, _ = self.self_attention(x, x, x, need_weights=False)
                y, _ = self.self_attention(y, kv, kv, need_weights=False)
            else:  # torch's default need_weights=True, the output taken by index
                y = self.self_attention(y, kv, kv)[0]
            x = x + self.dropout(y)
            return x + self.mlp(self.ln_2(x))

    return Block()


def _meta_macs(module: Any, shape: tuple[int, ...]) -> int:
    """FlopCounterMode's products / 2 per sample, on the meta device (no fast path: attention as bmm)."""
    import copy

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    meta = copy.deepcopy(module).to("meta").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta(torch.zeros(1, *shape, device="meta"))
    flops = counter.get_flop_counts()["Global"]
    return sum(int(n) for op, n in flops.items() if str(op).split(".")[1] in ("mm", "addmm", "bmm")) // 2


@pytest.mark.parametrize("call", ["tuple", "index"])
def test_vit_encoder_block_imports_with_self_attention(call: str) -> None:
    block = encoder_block(call=call)
    spec = cnncalc.from_torch(block, (5, 16), strict=True)
    attn = next(layer for layer in spec["layers"] if layer["name"] == "self_attention")
    assert attn["type"] == "multihead_attention" and "inputs" not in attn  # one input: the layer norm before it
    assert (attn["embed_dim"], attn["num_heads"]) == (16, 2)
    report = cnncalc.analyze(spec)
    assert not any(layer["type"] == "opaque" for layer in spec["layers"])  # the weights output is passed over
    assert report.totals.params == sum(p.numel() for p in block.parameters())
    assert report.totals.macs == _meta_macs(block, (5, 16))


def test_cross_attention_imports_with_three_inputs() -> None:
    block = encoder_block(cross=True, kdim=8, vdim=8, add_bias_kv=True, add_zero_attn=True)
    spec = cnncalc.from_torch(block, (5, 16), strict=True)
    attn = next(layer for layer in spec["layers"] if layer["name"] == "self_attention")
    assert attn["inputs"] == ["ln_1", "memory", "memory"]
    assert (attn["kdim"], attn["vdim"], attn["add_bias_kv"], attn["add_zero_attn"]) == (8, 8, True, True)
    report = cnncalc.analyze(spec)
    assert report.totals.params == sum(p.numel() for p in block.parameters())
    assert report.totals.macs == _meta_macs(block, (5, 16))


def test_round_trip_through_yaml_and_crosscheck(agrees_with_torch: Any) -> None:
    import yaml

    from cnncalc.torch.importer import to_yaml

    spec = cnncalc.from_torch(encoder_block(heads=4), (7, 16), strict=True)
    text = to_yaml(spec)  # fields at their default are left out
    assert "{type: multihead_attention, name: self_attention, embed_dim: 16, num_heads: 4}" in text
    again = yaml.safe_load(text)
    assert cnncalc.analyze(again).totals == cnncalc.analyze(spec).totals
    agrees_with_torch(again)


@pytest.mark.parametrize(("options", "mask", "reason"), [
    ({}, "attn_mask", "called with attn_mask: masked attention is not modelled"),
    ({}, "key_padding_mask", "called with key_padding_mask"),
    ({"batch_first": False}, None, "batch_first=False: torch's .L, N, E. layout has the batch second"),
])
def test_what_stays_opaque_says_why(options: dict[str, Any], mask: str | None, reason: str) -> None:
    import torch
    from torch import nn

    class Masked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(16, 2, **{"batch_first": True, **options})
            self.register_buffer("mask", torch.zeros(5, 5, dtype=torch.bool))
            self.register_buffer("padding", torch.zeros(2, 5, dtype=torch.bool))

        def forward(self, x: Any) -> Any:
            extra = {} if mask is None else {mask: self.mask if mask == "attn_mask" else self.padding}
            return self.attn(x, x, x, need_weights=False, **extra)[0]

    module = Masked()
    spec = cnncalc.from_torch(module, (5, 16))
    opaque = [layer for layer in spec["layers"] if layer["type"] == "opaque"]
    assert [o["module"] for o in opaque] == ["MultiheadAttention"]
    assert opaque[0]["params"] == sum(p.numel() for p in module.attn.parameters())
    assert re.search(reason, spec["notes"]), spec["notes"]
    with pytest.raises(cnncalc.CnncalcError, match="no mapping for"):
        cnncalc.from_torch(module, (5, 16), strict=True)


@pytest.mark.parametrize(("how", "kind"), [("self", "multihead_attention"), ("other", "opaque"), ("kw", "opaque")])
def test_forward_hooks_read_only_self_attention(how: str, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Where torch.fx cannot trace (data-dependent control flow), the recorded forward pass sees every call with its
    # keywords: self- and cross-attention both import. Forward hooks, the last resort, see a call's positional
    # tensors only: attn(y, y, y) is self-attention; key and value from elsewhere (or passed by keyword) stay
    # opaque, never a self-attention layer with the wrong source length.
    from torch import nn

    from cnncalc.torch import importer

    class Untraceable(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre = nn.Linear(16, 16)
            self.attn = nn.MultiheadAttention(16, 2, batch_first=True)

        def forward(self, x: Any) -> Any:
            if x.sum() > 0:  # fx cannot trace a branch on a tensor
                x = x * 1
            y = self.pre(x)
            if how == "other":
                return self.attn(y, x[:, :3], x[:, :3])[0]
            if how == "kw":
                return self.attn(y, key=x, value=x)[0]
            return self.attn(y, y, y)[0]

    spec = cnncalc.from_torch(Untraceable(), (5, 16), strict=True)
    assert "recorded from a forward pass" in spec["notes"]
    attn = spec["layers"][-1]
    assert attn["type"] == "multihead_attention"
    assert attn.get("inputs", ["pre"]) == (["pre"] if how == "self" else ["pre", "getitem", "getitem_1"]
                                          if how == "other" else ["pre", "input", "input"])

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise cnncalc.CnncalcError("no")

    monkeypatch.setattr(importer, "_eager", fails)
    spec = cnncalc.from_torch(Untraceable(), (5, 16))
    assert "forward hooks" in spec["notes"]
    assert [layer["type"] for layer in spec["layers"]] == ["linear", kind]
