"""Importing transformer-style vision models, written the way their reference code writes them (no torchvision here).

Each module is a small hand-written version of a published design: a ViT (Dosovitskiy et al. 2021: class token, learned
position embedding, multi-head self-attention with one qkv projection, the class token's output to the head), a Swin
stage (Liu et al. 2021: windows moved into the batch, cyclic shift with its attention mask, relative-position bias,
padding to whole windows, patch merging by strided slices), MaxViT's einsum attention (Tu et al. 2022) and Swin V2's
cosine attention with its continuous position-bias MLP (Liu et al. 2022). Every import is strict (no opaque node), and
its parameters, output shape and multiply-adds are held to torch's own: ``sum(p.numel())``, the forward pass, and
``torch.utils.flop_counter.FlopCounterMode``'s convolution and matrix-product FLOPs / 2 (what fvcore counts).
"""

from __future__ import annotations

from typing import Any

import pytest

import cnncalc

pytestmark = pytest.mark.torch

#: FlopCounterMode's ops that are convolutions or matrix products.
PRODUCTS = ("convolution", "mm", "addmm", "bmm", "baddbmm", "_scaled_dot_product")


def torch_macs(module: Any, shape: tuple[int, ...]) -> int:
    """Multiply-adds of the convolutions and matrix products torch runs for one sample."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(torch.zeros(1, *shape))
    counts = counter.get_flop_counts()["Global"]
    return sum(int(n) for op, n in counts.items() if str(op).split(".")[1].startswith(PRODUCTS)) // 2


def imported(module: Any, shape: tuple[int, ...], *, macs: bool = True) -> tuple[dict[str, Any], Any]:
    """Import strictly, analyse, and hold output shape, parameters and (``macs``) multiply-adds to torch's."""
    import torch

    module.eval()
    spec = cnncalc.from_torch(module, shape, strict=True)
    report = cnncalc.analyze(spec)
    with torch.no_grad():
        y = module(torch.zeros(2, *shape))
    assert report.output_shape == tuple(y.shape[1:])
    assert report.totals.params == sum(p.numel() for p in module.parameters())
    if macs:
        assert report.totals.macs == torch_macs(module, shape)
    return spec, report


def vit() -> Any:
    import torch
    from torch import nn

    class Attention(nn.Module):
        def __init__(self, dim: int, heads: int) -> None:
            super().__init__()
            self.heads, self.scale = heads, (dim // heads) ** -0.5
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

        def forward(self, x: Any) -> Any:
            b, n, c = x.shape
            qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))

    class TinyViT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch = nn.Conv2d(3, 16, 4, 4)  # 16x16 image → 4x4 = 16 patches
            self.cls_token = nn.Parameter(torch.zeros(1, 1, 16))
            self.pos_embed = nn.Parameter(torch.zeros(1, 17, 16))
            self.norm1, self.attn, self.norm2 = nn.LayerNorm(16), Attention(16, 2), nn.LayerNorm(16)
            self.mlp = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))
            self.head = nn.Linear(16, 10)

        def forward(self, x: Any) -> Any:
            x = self.patch(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
            x = x + self.attn(self.norm1(x))
            x = x + self.mlp(self.norm2(x))
            return self.head(x[:, 0])

    return TinyViT()


def test_vit_class_token_position_embedding_and_attention() -> None:
    spec, report = imported(vit(), (3, 16, 16))
    types = [layer["type"] for layer in spec["layers"]]
    assert types[:5] == ["conv2d", "flatten", "permute", "token", "add"]
    assert spec["layers"][3] == {"name": spec["layers"][3]["name"], "type": "token", "dim": 1}
    assert spec["layers"][4]["operand"] == [17, 16]  # the learned position embedding: 272 parameters
    assert types[-2:] == ["select", "linear"]  # x[:, 0] → head
    # q, k, v: each a select of the qkv tensor along the dim the permute brought first, then the rest of the permute.
    rows = {r.name: r for r in report.layers}
    picks = [r for r in report.layers if r.type == "select" and r.output_shape == (17, 2, 8)]
    assert len(picks) == 3  # from the 17 × 3 × 2 × 8 qkv tensor, each then permuted to 2 × 17 × 8 (heads first)
    # 2 heads × 17 queries × 17 keys × 8 dims: the scores and the weighted sum, 4,624 multiply-adds each.
    assert [r.macs for r in report.layers if r.type == "matmul"] == [4_624, 4_624]
    assert rows[spec["layers"][3]["name"]].params == 16


def swin() -> Any:
    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812

    window, shift, heads, dim = 4, 2, 2, 8

    class WindowAttention(nn.Module):
        """Swin's shifted-window attention: pad to whole windows, shift, windows into the batch, attention with the
        relative-position bias and the shift's mask, and back."""

        def __init__(self) -> None:
            super().__init__()
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))  # 49 × 2
            coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
            rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window - 1
            self.register_buffer("index", (rel[..., 0] * (2 * window - 1) + rel[..., 1]).flatten())  # 256

        def forward(self, x: Any) -> Any:
            b, h, w, c = x.shape
            pad_b, pad_r = (window - h % window) % window, (window - w % window) % window
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
            hp, wp = h + pad_b, w + pad_r
            if shift:  # Python control flow on sizes: torch.fx cannot trace this module
                x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
            n = window * window
            windows = x.view(b, hp // window, window, wp // window, window, c).permute(0, 1, 3, 2, 4, 5)
            windows = windows.reshape(-1, n, c)
            qkv = self.qkv(windows).reshape(-1, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            attn = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1)
            attn = attn + self.table[self.index].view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
            mask = x.new_zeros((hp, wp))
            for i, rows in enumerate((slice(0, -window), slice(-window, -shift), slice(-shift, None))):
                for j, cols in enumerate((slice(0, -window), slice(-window, -shift), slice(-shift, None))):
                    mask[rows, cols] = 3 * i + j
            mask = mask.view(hp // window, window, wp // window, window).permute(0, 2, 1, 3).reshape(-1, n)
            mask = mask.unsqueeze(1) - mask.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
            nw = mask.shape[0]
            attn = attn.view(-1, nw, heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, heads, n, n).softmax(dim=-1)
            out = self.proj((attn @ v).transpose(1, 2).reshape(-1, n, c))
            out = out.view(b, hp // window, wp // window, window, window, c).permute(0, 1, 3, 2, 4, 5)
            out = out.reshape(b, hp, wp, c)
            out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
            return out[:, :h, :w, :].contiguous()

    class Merging(nn.Module):
        """Swin's patch merging: the four 2x2 phases by strided slices, concatenated, then a linear reduction."""

        def __init__(self) -> None:
            super().__init__()
            self.norm, self.reduction = nn.LayerNorm(4 * dim), nn.Linear(4 * dim, 2 * dim, bias=False)

        def forward(self, x: Any) -> Any:
            parts = [x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]]
            return self.reduction(self.norm(torch.cat(parts, -1)))

    class TinySwin(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, dim, 2, 2)  # 20x20 → 10x10: not whole 4x4 windows, so the pad is real
            self.norm1, self.attn, self.norm2 = nn.LayerNorm(dim), WindowAttention(), nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
            self.merge = Merging()

        def forward(self, x: Any) -> Any:
            x = self.embed(x).permute(0, 2, 3, 1)
            x = x + self.attn(self.norm1(x))
            x = x + self.mlp(self.norm2(x))
            return self.merge(x)

    return TinySwin()


def test_swin_shifted_windows_in_the_batch() -> None:
    spec, report = imported(swin(), (3, 20, 20))
    assert "from a recorded forward pass" in spec["description"]  # torch.fx cannot trace the size tests
    types = [layer["type"] for layer in spec["layers"]]
    # The shift and back; 4 phases × (rows, cols) and the padding cut off again (rows, cols).
    assert types.count("roll") == 2 and types.count("slice") == 10
    pad = next(layer for layer in spec["layers"] if layer["type"] == "pad")
    assert pad["padding"] == [[0, 2], [0, 2], [0, 0]]  # 10x10 → 12x12, channels last
    rows = {r.name: r for r in report.layers}
    # The windows move into the batch: 9 windows of 16 positions per sample.
    windows = next(r for r in report.layers if r.output_shape == (9, 16, 8))
    assert windows.type == "reshape"
    bias = [layer for layer in spec["layers"] if layer.get("operand_params")]
    assert [(b["operand"], b["operand_params"], b["operand_buffers"]) for b in bias] == [
        ([1, 2, 16, 16], 98, 256)]  # the table (49 × 2 heads) and the index (16 × 16), as torch holds them
    masks = [layer for layer in spec["layers"] if layer.get("operand_params") == 0]
    assert [m["operand"] for m in masks] == [[9, 1, 16, 16]]  # the shift's mask: computed, holding nothing
    assert rows[spec["layers"][-1]["name"]].output_shape == (5, 5, 16)


def test_maxvit_einsum_attention() -> None:
    import torch
    from torch import nn

    class EinsumAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, 8, 1)
            self.to_qkv, self.merge = nn.Linear(8, 24), nn.Linear(8, 8)

        def forward(self, x: Any) -> Any:
            x = self.embed(x).flatten(2).transpose(1, 2)  # B, 36, 8
            q, k, v = torch.chunk(self.to_qkv(x), 3, dim=-1)
            q, k, v = (t.reshape(t.shape[0], 36, 2, 4).permute(0, 2, 1, 3) for t in (q, k, v))
            scores = torch.einsum("b h i d, b h j d -> b h i j", q * 0.5, k).softmax(dim=-1)
            out = torch.einsum("b h i j, b h j d -> b h i d", scores, v)
            return self.merge(out.permute(0, 2, 1, 3).reshape(out.shape[0], 36, 8))

    spec, report = imported(EinsumAttention(), (3, 6, 6))
    einsums = [r for r in report.layers if r.type == "einsum"]
    # 2 heads × 36 × 36 × 4 each: the scores and the weighted values.
    assert [r.macs for r in einsums] == [10_368, 10_368]
    assert [layer["equation"] for layer in spec["layers"] if layer["type"] == "einsum"] == [
        "bhid,bhjd->bhij", "bhij,bhjd->bhid"]


def test_swin_v2_cosine_attention_and_its_bias_mlp() -> None:
    import math

    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812

    class CosineAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, 8, 1)
            self.qkv = nn.Linear(8, 24)
            self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(2, 1, 1)))
            self.cpb_mlp = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2, bias=False))
            self.register_buffer("coords", torch.zeros(1, 16, 16, 2))

        def forward(self, x: Any) -> Any:
            x = self.embed(x).flatten(2).transpose(1, 2)  # B, 16, 8
            q, k, v = self.qkv(x).reshape(x.shape[0], 16, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
            attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
            attn = attn * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
            bias = 16 * torch.sigmoid(self.cpb_mlp(self.coords).permute(0, 3, 1, 2))  # 1, 2, 16, 16
            return (attn + bias).softmax(dim=-1) @ v

    spec, _ = imported(CosineAttention(), (3, 4, 4))
    types = [layer["type"] for layer in spec["layers"]]
    assert types.count("normalize") == 2
    scale = next(layer for layer in spec["layers"] if layer["type"] == "mul" and "operand" in layer)
    assert scale["operand"] == [2, 1, 1]  # logit_scale: its 2 parameters, clamped and exponentiated
    bias = next(layer for layer in spec["layers"] if layer.get("operand_macs"))
    # The MLP runs on the 256 table rows at every call: 256 · (2·16 + 16·2) multiply-adds; 80 parameters.
    assert (bias["operand_macs"], bias["operand_params"], bias["operand_buffers"]) == (256 * 64, 48 + 32, 512)


def test_attention_masks() -> None:
    # F.scaled_dot_product_attention with a mask computed from the input (a fourth input), a fixed causal mask made
    # in forward (masked: true), and is_causal=True. The multiply-adds are torch's either way: the kernels compute
    # every score, masked or not.
    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812

    class Masked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(8, 24)

        def forward(self, x: Any) -> Any:
            q, k, v = self.qkv(x).reshape(x.shape[0], 5, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
            gate = q @ k.transpose(-2, -1)  # computed from the input: (B, 2, 5, 5)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=gate)
            causal = torch.ones(5, 5, dtype=torch.bool).tril()
            b = F.scaled_dot_product_attention(a, k, v, attn_mask=causal)
            return F.scaled_dot_product_attention(b, k, v, is_causal=True)

    # FlopCounterMode counts no FLOPs for F.scaled_dot_product_attention on the CPU (torch 2.13: its CPU flash
    # kernel is not registered), so the products are held to the hand count: the qkv projection 5·8·24 = 960, the
    # gate 2·5·5·4 = 200, and each attention's scores and weighted sum 2·5·5·(4 + 4) = 400.
    spec, report = imported(Masked(), (5, 8), macs=False)
    assert report.totals.macs == 960 + 200 + 3 * 400
    attention = [layer for layer in spec["layers"] if layer["type"] == "sdpa"]
    assert [(len(a["inputs"]), a.get("masked", False), a.get("is_causal", False)) for a in attention] == [
        (4, False, False), (3, True, False), (3, False, True)]
    # 2 heads × 5 queries × 5 keys × (4 + 4): 400 multiply-adds each.
    assert [r.macs for r in report.layers if r.type == "sdpa"] == [400, 400, 400]


def test_class_token_split_off_and_back() -> None:
    # MViT's pooling: the class token split off with tensor_split, the rest pooled as a map, then joined again;
    # squeeze/unsqueeze around a 1-D pool.
    import torch
    from torch import nn

    class ClassTokenPool(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.MaxPool2d(2)
            self.proj = nn.Linear(8, 8)

        def forward(self, x: Any) -> Any:  # x: (B, 1 + 16, 8)
            cls, rest = torch.tensor_split(x, [1], dim=1)
            grid = rest.transpose(1, 2).reshape(x.shape[0], 8, 4, 4)
            pooled = self.pool(grid).flatten(2).transpose(1, 2)  # (B, 4, 8)
            x = torch.cat([cls, pooled], dim=1)
            return self.proj(x).unsqueeze(1).squeeze(1)

    spec, report = imported(ClassTokenPool(), (17, 8))
    split = next(layer for layer in spec["layers"] if layer["type"] == "split")
    assert split["split_size"] == [1, 16]
    assert report.output_shape == (5, 8)


def test_heads_folded_into_the_batch_for_a_module() -> None:
    # MViT's pooling attention: each head's map pooled by one Conv3d, the heads folded into the batch around it
    # (x.reshape(B·heads, C, T, H, W)). The layer runs over the heads with the same weights: over: 1.
    from torch import nn

    class HeadPool(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.Conv3d(4, 4, 3, stride=(1, 2, 2), padding=1, groups=4, bias=False)

        def forward(self, x: Any) -> Any:  # x: (B, 2 heads, 4 dims, 2, 6, 6)
            b, heads = x.shape[:2]
            y = self.pool(x.reshape(b * heads, *x.shape[2:]))
            return y.reshape(b, heads, *y.shape[1:])

    spec, report = imported(HeadPool(), (2, 4, 2, 6, 6))
    # Per sample, folding the heads into the batch and back moves nothing: identities around the conv.
    assert [(layer["type"], layer.get("over")) for layer in spec["layers"]] == [
        ("identity", None), ("conv3d", 1), ("identity", None)]
    pooled = next(r for r in report.layers if r.type == "conv3d")
    # Each head: 4 channels × 2×3×3 outputs × 27 weights (depthwise); two heads, 36 parameters held once.
    assert (pooled.output_shape, pooled.macs, pooled.params) == ((2, 4, 2, 3, 3), 2 * 4 * 18 * 27, 108)


def test_over_runs_a_layer_over_leading_dims(agrees_with_torch: Any) -> None:
    rows = cnncalc.analyze({"name": "t", "input": [3, 4, 8, 8], "layers": [
        {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "over": 1},
        {"type": "maxpool2d", "kernel_size": 2, "over": 1}]}).layers
    assert [r.output_shape for r in rows] == [(3, 6, 6, 6), (3, 6, 3, 3)]
    assert (rows[0].macs, rows[0].params) == (3 * 6 * 36 * 36, 6 * 36 + 6)  # three maps, one set of weights
    agrees_with_torch({"name": "t", "input": [3, 4, 8, 8], "layers": [
        {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "over": 1},
        {"type": "maxpool2d", "kernel_size": 2, "over": 1}, {"type": "batchnorm2d", "over": 1}]})
    with pytest.raises(cnncalc.CnncalcError, match="over: 4 leaves no dims"):
        cnncalc.analyze({"name": "t", "input": [3, 4, 8, 8], "layers": [{"type": "relu", "over": 4}]})
    with pytest.raises(cnncalc.CnncalcError, match="add joins inputs"):  # not silently ignored on a merge
        cnncalc.analyze({"name": "t", "input": [3, 4, 8, 8], "layers": [
            {"type": "relu", "name": "r"}, {"type": "add", "inputs": ["input", "r"], "over": 1}]})


def test_mvit_relative_positions_with_the_batch_moved() -> None:
    # MViT v2's decomposed relative positions (Li et al. 2022, torchvision's _add_rel_pos): per-axis tables gathered
    # by offset and multiplied in by einsum; the time axis by a matmul with the batch, heads and positions folded
    # into a middle dim; the sum added to the attention map but for the class token's row and column, in place.
    import torch
    from torch import nn

    t, h, w, dim, heads = 2, 3, 3, 4, 2

    class RelPos(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(dim * heads, 3 * dim * heads)
            self.rel_h = nn.Parameter(torch.zeros(2 * h - 1, dim))
            self.rel_w = nn.Parameter(torch.zeros(2 * w - 1, dim))
            self.rel_t = nn.Parameter(torch.zeros(2 * t - 1, dim))

        def forward(self, x: Any) -> Any:  # x: (B, 1 + t·h·w, dim·heads)
            b, n, _ = x.shape
            q, k, _v = self.qkv(x).reshape(b, n, 3, heads, dim).transpose(1, 3).unbind(dim=2)
            attn = q @ k.transpose(2, 3)  # (B, heads, n, n)
            rh = self.rel_h[(torch.arange(h)[:, None] - torch.arange(h)[None, :] + h - 1).long()]
            rw = self.rel_w[(torch.arange(w)[:, None] - torch.arange(w)[None, :] + w - 1).long()]
            rt = self.rel_t[(torch.arange(t)[:, None] - torch.arange(t)[None, :] + t - 1).long()]
            r_q = q[:, :, 1:].reshape(b, heads, t, h, w, dim)
            rel_h = torch.einsum("bythwc,hkc->bythwk", r_q, rh)
            rel_w = torch.einsum("bythwc,wkc->bythwk", r_q, rw)
            r_t = r_q.permute(2, 0, 1, 3, 4, 5).reshape(t, b * heads * h * w, dim)
            rel_t = torch.matmul(r_t, rt.transpose(1, 2)).transpose(0, 1)
            rel_t = rel_t.view(b, heads, h, w, t, t).permute(0, 1, 4, 2, 3, 5)
            rel = (rel_h[:, :, :, :, :, None, :, None] + rel_w[:, :, :, :, :, None, None, :]
                   + rel_t[:, :, :, :, :, :, None, None]).reshape(b, heads, t * h * w, t * h * w)
            attn[:, :, 1:, 1:] += rel
            return attn

    spec, _ = imported(RelPos(), (1 + t * h * w, dim * heads))
    types = [layer["type"] for layer in spec["layers"]]
    assert "assign" in types and types.count("einsum") == 3  # rel_h, rel_w, and the time axis's matmul
    held = [layer for layer in spec["layers"] if layer["type"] == "einsum"]
    assert [(e["operand"], e.get("operand_params")) for e in held] == [
        ([h, h, dim], 5 * dim), ([w, w, dim], 5 * dim), ([t, dim, t], 3 * dim)]  # gathered from 5·4, 5·4, 3·4
    assert held[2]["equation"] == "ZYaj,ajk->ZYak"  # (B·heads·h·w) rows per time step a, moved batch first
