"""Reading what a cell says (proof/homework/cells.py): figures at their written precision, and shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncalc.proof.homework import read_number, read_shape
from homework.helpers import conv, only, run


@pytest.mark.parametrize(
    ("text", "value"),
    [("3,072", (3072.0, 0.0)), ("35K", (35000.0, 500.0)), ("138M", (138e6, 0.5e6)), ("0", (0.0, 0.0)),
     ("1.2e6", (1.2e6, 0.05e6)), ("~62K", (62000.0, 500.0)), ("800K", (800e3, 50e3)),
     ("224*224*64=3.2M", (3.2e6, 0.05e6)),
     ("(5*5*3+1)*8", (608.0, 0.0)), ("5·5·3·8 + 8", (608.0, 0.0)), ("1.2 × 10^6", (1.2e6, 0.05e6)),
     ("—", None), ("-", None), ("", None)],
)
def test_numbers(text: str, value: tuple[float, float] | None) -> None:
    assert read_number(text) == value


@pytest.mark.parametrize("text", ["(28,28,8)", "28x28x8", "[28, 28, 8]", "28 x 28 x 8", "(None, 28, 28, 8)"])
def test_shapes(text: str) -> None:
    assert read_shape(text) == ((28, 28, 8), "either")


def test_rounded_numbers_hold_at_their_precision(tmp_path: Path) -> None:
    spec = conv(input=[3, 227, 227], out_channels=96, kernel_size=11, stride=4)  # 34,944 params
    result = run(spec, "params,MACs\n34.9K,105.4M\n", tmp_path, "t.csv")
    assert result.wrong == 0
    assert not only(run(spec, "params\n34.8K\n", tmp_path, "u.csv")).ok
