"""PNG plots for asset metadata: the equity curve and slippage by execution algorithm.

matplotlib is imported by the step that draws (``_pyplot``), not when the Dagster
definitions are loaded.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import polars as pl


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def equity_curve_png(equity: pl.DataFrame, title: str) -> str:
    fig, (top, bottom) = _pyplot().subplots(
        2, 1, figsize=(8, 4.5), sharex=True, height_ratios=[3, 1]
    )
    if len(equity):
        times = equity["ts_event"].to_list()
        top.step(times, equity["equity"].to_list(), where="post", label="equity")
        top.step(times, equity["cash"].to_list(), where="post", label="cash", alpha=0.6)
        bottom.fill_between(
            times, equity["drawdown"].to_list(), step="post", color="tab:red", alpha=0.5
        )
    top.set_title(title)
    top.set_ylabel("USDT")
    top.legend(loc="best")
    bottom.set_ylabel("drawdown")
    fig.autofmt_xdate()
    return _png(fig)


def slippage_png(slippage: dict[str, dict[str, float]]) -> str:
    fig, ax = _pyplot().subplots(figsize=(6, 3))
    names = list(slippage)
    values = [slippage[n]["slippage_bps"] for n in names]
    bars = ax.bar(names, values, color=["tab:green" if v <= 0 else "tab:orange" for v in values])
    ax.bar_label(bars, fmt="%.2f")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("bps vs arrival mid (+ = cost)")
    ax.set_title("Slippage by execution algorithm")
    return _png(fig)


def markdown_image(png_base64: str, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{png_base64})"
