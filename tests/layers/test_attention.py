"""Multi-head attention (``multihead_attention``) against torch.nn.MultiheadAttention itself.

Primary source: torch (torch/nn/modules/activation.py ``MultiheadAttention``, torch/nn/functional.py
``multi_head_attention_forward``): the parameters are its own (``sum(p.numel())``), the output shape is its forward's,
and the MACs are what ``torch.utils.flop_counter.FlopCounterMode`` counts on the path that runs every product as a
matrix product (``need_weights=True``: bmm for the scores and the weighted sum). With ``need_weights=False`` torch
runs the attention itself in ``_scaled_dot_product_flash_attention_for_cpu``, which FlopCounterMode has no formula
for (it counts the projections only), and in eval mode without grad it takes the fused
``_native_multi_head_attention`` (one op, counted as nothing): the tests pin both, so a torch that starts counting
them shows up here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import cnncalc
from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Evaluation
from cnncalc.errors import ShapeError

#: FlopCounterMode's products, as benchmarks/torchvision_import.py sums them (FLOPs / 2 = MACs).
PRODUCTS = ("mm", "addmm", "bmm", "baddbmm", "_scaled_dot_product")


def mha(shapes: list[tuple[int, ...]], **fields: Any) -> Evaluation:
    layer = REGISTRY["multihead_attention"].model_validate({"type": "multihead_attention", **fields})
    return layer.merge(shapes)  # type: ignore[attr-defined, no-any-return]


def test_vit_b16_encoder_attention() -> None:
    # ViT-B/16 (Dosovitskiy et al. 2021, Table 1: hidden 768, 12 heads) on 224x224: 14·14 patches + the class
    # token = 197 tokens. torch's packed in_proj 3·768·768 + 3·768 and out_proj 768·768 + 768 = 2,362,368.
    ev = mha([(197, 768)], embed_dim=768, num_heads=12)
    assert ev.shape == (197, 768)
    assert (ev.params, ev.biases) == (2_362_368, 4 * 768)
    # 4 projections of 197·768·768 and two 197·197·768 products (scores, weighted sum).
    assert ev.macs == 4 * 197 * 768 * 768 + 2 * 197 * 197 * 768 == 524_391_936
    # 2 per MAC, one bias per projected value (4·197·768), 4 per score (12 heads · 197 · 197).
    assert ev.flops == 2 * ev.macs + 4 * 197 * 768 + 4 * 12 * 197 * 197


def test_cross_attention_with_kdim_vdim_and_extra_rows() -> None:
    # Query 10x32, key 7x12, value 7x20; add_bias_kv and add_zero_attn each add a key/value row: S' = 9.
    ev = mha([(10, 32), (7, 12), (7, 20)], embed_dim=32, num_heads=4, kdim=12, vdim=20, add_bias_kv=True,
             add_zero_attn=True)
    assert ev.shape == (10, 32)
    # q/k/v_proj_weight 32·32 + 32·12 + 32·20, in_proj_bias 3·32, out_proj 32·32 + 32, bias_k + bias_v 2·32.
    assert ev.params == 32 * 32 + 32 * 12 + 32 * 20 + 3 * 32 + 32 * 32 + 32 + 2 * 32
    assert ev.macs == 10 * 32 * 32 + 7 * 32 * 12 + 7 * 32 * 20 + 10 * 32 * 32 + 2 * 10 * 9 * 32
    assert ev.flops == 2 * ev.macs + (10 * 32 + 2 * 7 * 32 + 10 * 32) + 4 * 4 * 10 * 9


@pytest.mark.parametrize(
    ("shapes", "fields", "message"),
    [
        ([(5, 16), (5, 16)], {}, "takes one input .self-attention. or three"),
        ([(5, 4, 16)], {}, r"takes \(L, E\) sequences"),
        ([(5, 12)], {}, "the query 5x12 has 12 features where embed_dim is 16"),
        ([(5, 16), (6, 8), (6, 16)], {}, "the key 6x8 has 8 features where kdim is 16"),
        ([(5, 16), (6, 16), (7, 16)], {}, "different lengths"),
        ([(5, 16)], {"kdim": 8}, "the key 5x16 has 16 features where kdim is 8"),  # self-attention needs kdim = E
    ],
)
def test_shape_errors(shapes: list[tuple[int, ...]], fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        mha(shapes, embed_dim=16, num_heads=2, **fields)


def test_field_errors() -> None:
    with pytest.raises(ValidationError, match="embed_dim 10 is not divisible by num_heads 4"):
        mha([(5, 10)], embed_dim=10, num_heads=4)
    with pytest.raises(ValidationError, match="only batch_first: true is supported"):
        mha([(5, 16)], embed_dim=16, num_heads=2, batch_first=False)


def test_in_a_spec_with_three_inputs_and_explain() -> None:
    spec = {"name": "cross", "input": [6, 16], "layers": [
        {"type": "linear", "name": "kv", "out_features": 8},
        {"type": "mha", "name": "attn", "embed_dim": 16, "num_heads": 2, "kdim": 8, "vdim": 8,
         "inputs": ["input", "kv", "kv"]},
    ]}
    report = cnncalc.analyze(spec)
    row = report.layers[-1]
    assert (row.output_shape, row.inputs) == ((6, 16), ("input", "kv", "kv"))
    from cnncalc.engine.explain import explain

    (exp,) = explain(report, "attn")  # raises if the traced formula disagrees with the analysis
    macs = next(line for line in exp.lines if line.label == "MACs")
    assert macs.formula == "6·16·16 + 6·16·8 + 6·16·8 + 6·16·16 + 6·6·16 + 6·6·16"


def test_cli_layer_lists_its_fields(cli: Any) -> None:
    result = cli("layer", "multihead_attention")
    assert result.exit_code == 0
    for option in ("--embed-dim", "--num-heads", "--kdim", "--vdim", "--add-bias-kv", "--add-zero-attn",
                   "--batch-first"):
        assert option in result.stdout
    result = cli("layer", "mha", "--input", "197x768", "--embed-dim", "768", "--num-heads", "12", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["layers"][0]["macs"] == 524_391_936


# --------------------------------------------------------------------------------------------------------------
# Against torch.


def _products(counter: Any) -> int:
    flops = counter.get_flop_counts().get("Global", {})
    return sum(int(n) for op, n in flops.items() if any(str(op).split(".")[1].startswith(p) for p in PRODUCTS)) // 2


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    heads = draw(st.integers(1, 4))
    embed = heads * draw(st.integers(1, 6))
    cross = draw(st.booleans())
    fields: dict[str, Any] = {"embed_dim": embed, "num_heads": heads, "bias": draw(st.booleans()),
                              "add_bias_kv": draw(st.booleans()), "add_zero_attn": draw(st.booleans())}
    if cross:
        fields["kdim"] = draw(st.integers(1, 12))
        fields["vdim"] = draw(st.sampled_from([fields["kdim"], draw(st.integers(1, 12))]))
    length = draw(st.integers(1, 6))
    source = draw(st.integers(1, 7)) if cross else length
    return {"fields": fields, "cross": cross, "L": length, "S": source}


@pytest.mark.torch
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=configs())
def test_shape_params_and_macs_match_torch(config: dict[str, Any]) -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    fields, length, source = config["fields"], config["L"], config["S"]
    m = torch.nn.MultiheadAttention(**fields, batch_first=True)
    batch, e = 2, fields["embed_dim"]
    q = torch.randn(batch, length, e)
    if config["cross"]:
        k, v = torch.randn(batch, source, fields["kdim"]), torch.randn(batch, source, fields["vdim"])
        shapes = [(length, e), (source, fields["kdim"]), (source, fields["vdim"])]
    else:
        k = v = q
        shapes = [(length, e)]
    ev = mha(shapes, **fields)
    assert ev.params == sum(p.numel() for p in m.parameters())
    assert ev.biases == sum(p.numel() for name, p in m.named_parameters() if "bias" in name)
    m.train()
    with FlopCounterMode(display=False) as counter:
        out, weights = m(q, k, v, need_weights=True)  # the bmm path: every product a matrix product
    assert tuple(out.shape[1:]) == ev.shape
    seen = source + fields["add_bias_kv"] + fields["add_zero_attn"]
    assert tuple(weights.shape) == (batch, length, seen)
    assert _products(counter) == batch * ev.macs
    # need_weights=False: the attention runs in the CPU flash kernel, which FlopCounterMode does not count.
    with FlopCounterMode(display=False) as counter:
        m(q, k, v, need_weights=False)
    assert _products(counter) == batch * (ev.macs - 2 * length * seen * e)


@pytest.mark.torch
def test_eval_mode_fused_path_counts_nothing_in_flop_counter() -> None:
    # Eval mode without grad, self-attention, even heads, biases, batch first: torch's fast path is one
    # _native_multi_head_attention op, which FlopCounterMode does not count at all; grad enabled (or the meta
    # device, which benchmarks/torchvision_import.py uses) takes the decomposed path and counts the projections
    # (and, on meta, the bmm attention too).
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    ev = mha([(5, 16)], embed_dim=16, num_heads=2)
    m = torch.nn.MultiheadAttention(16, 2, batch_first=True).eval()
    x = torch.randn(2, 5, 16)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        m(x, x, x, need_weights=False)
    assert _products(counter) == 0
    with FlopCounterMode(display=False) as counter:
        m(x, x, x, need_weights=False)
    assert _products(counter) == 2 * (ev.macs - 2 * 5 * 5 * 16)
    with torch.device("meta"):
        meta = torch.nn.MultiheadAttention(16, 2, batch_first=True).eval()
        y = torch.zeros(2, 5, 16)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta(y, y, y, need_weights=False)
    assert _products(counter) == 2 * ev.macs


@pytest.mark.torch
@pytest.mark.parametrize("layers", [
    [{"type": "mha", "embed_dim": 16, "num_heads": 4}],
    [{"type": "mha", "embed_dim": 16, "num_heads": 2, "bias": False, "add_bias_kv": True, "add_zero_attn": True}],
    [{"type": "linear", "name": "kv", "out_features": 6},
     {"type": "mha", "embed_dim": 16, "num_heads": 2, "kdim": 6, "vdim": 6, "inputs": ["input", "kv", "kv"]}],
    [{"type": "linear", "name": "k", "out_features": 6}, {"type": "linear", "name": "v", "out_features": 10,
                                                          "inputs": ["input"]},
     {"type": "mha", "embed_dim": 16, "num_heads": 8, "kdim": 6, "vdim": 10, "inputs": ["input", "k", "v"]}],
], ids=["self", "extra-rows", "cross-kv", "cross-k-v"])
def test_crosscheck(layers: list[dict[str, Any]], agrees_with_torch: Any) -> None:
    # The bridge builds torch's own nn.MultiheadAttention from the spec: shapes and parameters agree, and the MACs
    # FlopCounterMode counts with the fused path off and the math attention kernel (every product a bmm).
    result = agrees_with_torch({"name": "attn", "input": [5, 16], "layers": layers})
    row = result.rows[-1]
    assert row.macs[1] is not None and row.macs[0] == row.macs[1] > 0
    assert result.params[0] == result.params[1]


def test_symbolic_sequence_length(cli: Any) -> None:
    # ViT-B's attention on L tokens: 4·768²·L projection MACs and 2·768·L² for the scores and the weighted sum.
    result = cli("layer", "mha", "--input", "Lx768", "--embed-dim", "768", "--num-heads", "12")
    assert result.exit_code == 0
    assert f"{2 * 768}·L² + {4 * 768 * 768}·L" in result.stdout
