"""PNG plots for asset metadata: the equity curve and slippage by execution algorithm.

matplotlib is imported by the step that draws (``_figure``), not when the Dagster
definitions are loaded; the figures are drawn object-oriented on the Agg canvas, without
pyplot (no global figure state in a long-lived process, and a quarter second less to import).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import polars as pl


def _figure(size: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)  # renders to PNG with no display (servers, CI)
    return fig


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def equity_curve_png(equity: pl.DataFrame, title: str) -> str:
    fig = _figure((8, 4.5))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
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
    fig = _figure((6, 3))
    ax = fig.subplots()
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
