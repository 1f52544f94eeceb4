"""spec/figures.py: the one reader of written figures, and the one safe evaluator (spec ``${expr}``, table cells)."""

from __future__ import annotations

import pytest

from cnncalc.spec.figures import ExpressionError, evaluate, integer_expression, parse_figure, read_figure


@pytest.mark.parametrize(
    ("text", "figure"),
    [("138M", (138e6, 0.5e6)), ("2.7Ki", (2.7 * 1024, 0.05 * 1024)), ("1.2e6", (1.2e6, 0.05e6)),
     ("60,965,224", (60_965_224.0, 0.5))],
)
def test_published_figures_hold_at_their_last_digit(text: str, figure: tuple[float, float]) -> None:
    # A published "138M" means 137.5M–138.5M; GoogLeNet's "2.7K" parameter counts are Ki (powers of 1024).
    value, half = parse_figure(text)
    assert value == pytest.approx(figure[0]) and half == pytest.approx(figure[1])


def test_a_published_figure_is_not_arithmetic() -> None:
    with pytest.raises(ValueError, match="is not a number like"):
        parse_figure("(5*5*3+1)*8")


@pytest.mark.parametrize(
    ("text", "figure"),
    [("3,072", (3072.0, 0.0)), ("35K", (35e3, 500.0)), ("800K", (800e3, 50e3)), ("1.2×10^6", (1.2e6, 0.05e6)),
     ("(5*5*3+1)*8", (608.0, 0.0)), ("5x5x3x8+8", (608.0, 0.0)), ("5·5·3·8 − 8", (592.0, 0.0)), ("big", None)],
)
def test_hand_written_figures(text: str, figure: tuple[float, float] | None) -> None:
    # cs231n writes a CONV layer's parameters as (5*5*3+1)*8 = 608; plain digits are exact, and "800K" (for
    # 802,816) does not claim its zeros as significant.
    assert read_figure(text) == figure


@pytest.mark.parametrize("text", ["2**3", "+5", "1.5*2", "08*2", "5", "((((1))))"])
def test_integer_expressions_allow_only_integer_arithmetic(text: str) -> None:
    assert integer_expression(text) is None


@pytest.mark.parametrize(
    ("expr", "value"),
    [("width * 4", 256), ("width // 3 % 5", 1), ("-width + 1", -63), ("stride == 1 and not project", True),
     ("1 < stride <= 2", False), ("stride > 1 or project", False),
     # round() is Python's, as in torchvision's int(round(se_ratio * width_in)): 0.25·42 = 10.5 rounds to the
     # even 10, 0.25·44 = 11 stays, 0.25·46 = 11.5 rounds to 12; an int comes out.
     ("round(0.25 * 42)", 10), ("round(0.25 * 46)", 12), ("round(0.25 * width)", 16)],
)
def test_the_evaluator_on_block_arguments(expr: str, value: object) -> None:
    got = evaluate(expr, {"width": 64, "stride": 1, "project": False})
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("expr", "reason"),
    [("width ** 2", "operation"), ("__import__('os')", "operation"), ("width.real", "operation"),
     ("(lambda: 1)()", "operation"), ("depth + 1", "name"), ("1 +", "syntax"), ("'a' + 'b'", "operation"),
     ("round(width, 2)", "operation"), ("abs(width)", "operation"), ("round(x=width)", "operation")],
)
def test_the_evaluator_refuses_everything_else(expr: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as err:
        evaluate(expr, {"width": 64})
    assert err.value.reason == reason


def test_division_by_zero_is_left_to_the_caller() -> None:
    with pytest.raises(ZeroDivisionError):
        evaluate("4 // (width - 64)", {"width": 64})
