"""Converters: real files from ../shared/data/real, synthetic public-data files, error paths."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from execution_core.errors import DataError
from execution_core.ticks.converters import _common, binance, tardis
from execution_core.ticks.schema import QUOTE_COLUMNS, TRADE_COLUMNS

BINANCE_TRADES = "binance_btcusdt_trades_20210108"
BINANCE_QUOTES = "binance_btcusdt_quotes_20210108"
TARDIS_TRADES = "tardis_bitmex_trades_XBTUSD.csv"
TARDIS_QUOTES = "tardis_huobi-dm-swap_quotes_BTC-USD.csv"
TARDIS_SNAPSHOT = "tardis_binance-futures_book_snapshot_5_BTCUSDT.csv"


def _rows(df: pl.DataFrame) -> list[tuple[object, ...]]:
    """Rows with ts_event as integer nanoseconds, for exact comparison."""
    return df.with_columns(pl.col("ts_event").dt.epoch("ns")).rows()


def _assert_contract(df: pl.DataFrame, columns: dict[str, pl.DataType]) -> None:
    assert df.schema == pl.Schema(columns)
    assert df["ts_event"].is_sorted()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- real files ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_binance_trades_fixture(real_data_dir: Path, suffix: str) -> None:
    df = binance.read_trades_fixture(real_data_dir / f"{BINANCE_TRADES}.{suffix}")
    _assert_contract(df, TRADE_COLUMNS)
    assert df.height == 2001
    rows = _rows(df)
    assert rows[0] == (1610064000278000000, 39432.48, 0.000263, "SELL", "553287559")
    assert rows[1] == (1610064000310000000, 39439.44, 0.004376, "BUY", "553287560")
    assert rows[-1] == (1610064046355000000, 39491.76, 0.014596000000000001, "SELL", "553289559")
    # buyer_maker True (914 rows) means the seller was the aggressor.
    assert df["aggressor_side"].value_counts().sort("aggressor_side").rows() == [
        ("BUY", 1087),
        ("SELL", 914),
    ]
    assert df["trade_id"].n_unique() == 2001


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_binance_quotes_fixture(real_data_dir: Path, suffix: str) -> None:
    df = binance.read_quotes_fixture(real_data_dir / f"{BINANCE_QUOTES}.{suffix}")
    _assert_contract(df, QUOTE_COLUMNS)
    assert df.height == 451
    rows = _rows(df)
    assert rows[0] == (1610064001076000000, 39432.99, 0.0031, 39433.62, 0.066851)
    assert rows[-1] == (1610064046674000000, 39490.97, 0.131467, 39490.98, 0.884984)


def test_binance_fixture_parquet_and_csv_identical(real_data_dir: Path) -> None:
    for stem, read in (
        (BINANCE_TRADES, binance.read_trades_fixture),
        (BINANCE_QUOTES, binance.read_quotes_fixture),
    ):
        from_parquet = read(real_data_dir / f"{stem}.parquet")
        from_csv = read(real_data_dir / f"{stem}.csv")
        assert from_parquet.equals(from_csv), stem


def test_tardis_trades(real_data_dir: Path) -> None:
    df = tardis.read_trades_csv(real_data_dir / TARDIS_TRADES)
    _assert_contract(df, TRADE_COLUMNS)
    assert df.height == 10
    rows = _rows(df)
    assert rows[0] == (
        1583020803145000000,
        8531.5,
        2152.0,
        "SELL",
        "ccc3c1fa-212c-e8b0-1706-9b9c4f3d5ecf",
    )
    assert rows[-1] == (
        1583020803276000000,
        8531.5,
        1.0,
        "SELL",
        "7cae8d7b-b69d-025b-cc3c-84b911f37a8a",
    )
    # Nine trades share one timestamp: the stable sort keeps their file order.
    assert df["trade_id"][1] == "b46c84da-6942-b404-ab94-18a9ad497fdd"


def test_tardis_trades_local_timestamp(real_data_dir: Path) -> None:
    df = tardis.read_trades_csv(real_data_dir / TARDIS_TRADES, use_local_timestamp=True)
    assert df["ts_event"].dt.epoch("ns").to_list()[:2] == [1583020803307160000, 1583020803336743000]


def test_tardis_quotes(real_data_dir: Path) -> None:
    df = tardis.read_quotes_csv(real_data_dir / TARDIS_QUOTES)
    _assert_contract(df, QUOTE_COLUMNS)
    assert df.height == 10
    rows = _rows(df)
    assert rows[0] == (1588291201099000000, 8629.2, 806.0, 8629.3, 5494.0)
    assert rows[-1] == (1588291201814000000, 8629.2, 847.0, 8629.3, 5411.0)


def test_tardis_book_snapshot(real_data_dir: Path) -> None:
    df = tardis.read_book_snapshot_csv(real_data_dir / TARDIS_SNAPSHOT)
    _assert_contract(df, QUOTE_COLUMNS)
    assert df.height == 10
    rows = _rows(df)
    assert rows[0] == (1598918403696000000, 11657.07, 10.896, 11657.08, 1.714)
    assert rows[-1] == (1598918404284000000, 11657.07, 10.881, 11657.08, 1.393)


# --- synthetic Binance public-data files --------------------------------------------------

SPOT_MS = (
    "100,42000.50,0.010,420.005,1704067200123,True,True\n"
    "101,42000.60,0.200,8400.12,1704067200456,False,True\n"
)
SPOT_US = (
    "200,93000.10,0.001,93.0001,1735689600123456,false,true\n"
    "201,93000.20,0.500,46500.1,1735689600123457,true,true\n"
)
FUTURES_HEADER = (
    "id,price,qty,quote_qty,time,is_buyer_maker\n"
    "300,42000.5,1.5,63000.75,1704067200999,true\n"
    "301,42001.0,0.25,10500.25,1704067201000,false\n"
)
BOOK_TICKER = (
    "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time\n"
    "9001,42000.1,3.5,42000.2,0,1704067200100,1704067200105\n"
    "9002,42000.0,1.25,42000.3,2.5,1704067200050,1704067200055\n"
)


def test_binance_spot_headerless_ms(tmp_path: Path) -> None:
    df = binance.read_trades_csv(_write(tmp_path, "BTCUSDT-trades-2024-01-01.csv", SPOT_MS))
    _assert_contract(df, TRADE_COLUMNS)
    assert _rows(df) == [
        (1704067200123000000, 42000.5, 0.01, "SELL", "100"),
        (1704067200456000000, 42000.6, 0.2, "BUY", "101"),
    ]


def test_binance_spot_headerless_us(tmp_path: Path) -> None:
    df = binance.read_trades_csv(_write(tmp_path, "BTCUSDT-trades-2025-01-01.csv", SPOT_US))
    assert _rows(df) == [
        (1735689600123456000, 93000.1, 0.001, "BUY", "200"),
        (1735689600123457000, 93000.2, 0.5, "SELL", "201"),
    ]


def test_binance_futures_with_header(tmp_path: Path) -> None:
    df = binance.read_trades_csv(_write(tmp_path, "fut.csv", FUTURES_HEADER))
    assert _rows(df) == [
        (1704067200999000000, 42000.5, 1.5, "SELL", "300"),
        (1704067201000000000, 42001.0, 0.25, "BUY", "301"),
    ]


def test_binance_futures_headerless(tmp_path: Path) -> None:
    text = FUTURES_HEADER.split("\n", 1)[1]
    df = binance.read_trades_csv(_write(tmp_path, "fut.csv", text))
    assert df["trade_id"].to_list() == ["300", "301"]
    assert df["size"].to_list() == [1.5, 0.25]


def test_binance_trades_unsorted_input_is_sorted_stably(tmp_path: Path) -> None:
    text = (
        "1,10.0,1,10,1704067200002,true,true\n"
        "2,11.0,1,11,1704067200001,true,true\n"
        "3,12.0,1,12,1704067200001,false,true\n"
    )
    df = binance.read_trades_csv(_write(tmp_path, "t.csv", text))
    assert df["trade_id"].to_list() == ["2", "3", "1"]


def test_binance_book_ticker(tmp_path: Path) -> None:
    df = binance.read_book_ticker_csv(_write(tmp_path, "BTCUSDT-bookTicker.csv", BOOK_TICKER))
    _assert_contract(df, QUOTE_COLUMNS)
    # Sorted by transaction_time, not by file order; a zero size is a valid (empty) level.
    assert _rows(df) == [
        (1704067200050000000, 42000.0, 1.25, 42000.3, 2.5),
        (1704067200100000000, 42000.1, 3.5, 42000.2, 0.0),
    ]


def test_tardis_gzip(tmp_path: Path, real_data_dir: Path) -> None:
    path = tmp_path / "trades.csv.gz"
    path.write_bytes(gzip.compress((real_data_dir / TARDIS_TRADES).read_bytes()))
    assert tardis.read_trades_csv(path).equals(
        tardis.read_trades_csv(real_data_dir / TARDIS_TRADES)
    )


def test_tardis_unknown_side(tmp_path: Path) -> None:
    text = (
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        "x,Y,1583020803145000,1583020803307160,a1,unknown,8531.5,3\n"
        "x,Y,1583020803145001,1583020803307161,a2,buy,8531.5,4\n"
    )
    df = tardis.read_trades_csv(_write(tmp_path, "t.csv", text))
    assert df["aggressor_side"].to_list() == ["NO_AGGRESSOR", "BUY"]


# --- errors -------------------------------------------------------------------------------

READERS: list[Callable[[Path], pl.DataFrame]] = [
    binance.read_trades_csv,
    binance.read_trades_fixture,
    binance.read_quotes_fixture,
    binance.read_book_ticker_csv,
    tardis.read_trades_csv,
    tardis.read_quotes_csv,
    tardis.read_book_snapshot_csv,
]


@pytest.mark.parametrize("read", READERS)
def test_missing_file(tmp_path: Path, read: Callable[[Path], pl.DataFrame]) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read(path)


def test_missing_columns_binance(tmp_path: Path) -> None:
    path = _write(tmp_path, "fut.csv", "id,price,quote_qty,is_buyer_maker\n1,2,3,true\n")
    with pytest.raises(DataError, match=r"fut\.csv: missing columns \['qty', 'time'\]"):
        binance.read_trades_csv(path)


def test_missing_columns_tardis(tmp_path: Path, real_data_dir: Path) -> None:
    text = (real_data_dir / TARDIS_QUOTES).read_text().replace(",bid_amount", ",bid_qty")
    with pytest.raises(DataError, match=r"q\.csv: missing columns \['bid_amount'\]"):
        tardis.read_quotes_csv(_write(tmp_path, "q.csv", text))


def test_missing_columns_parquet(tmp_path: Path, real_data_dir: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.read_parquet(real_data_dir / f"{BINANCE_TRADES}.parquet").drop("buyer_maker").write_parquet(
        path
    )
    with pytest.raises(DataError, match=r"t\.parquet: missing columns \['buyer_maker'\]"):
        binance.read_trades_fixture(path)


def test_bad_value_names_line_and_column(tmp_path: Path) -> None:
    text = FUTURES_HEADER + "302,abc,1,1,1704067201001,true\n"
    with pytest.raises(DataError, match=r"fut\.csv: line 4, column 'price': cannot parse.*'abc'"):
        binance.read_trades_csv(_write(tmp_path, "fut.csv", text))


def test_bad_value_headerless_line_number(tmp_path: Path) -> None:
    text = SPOT_MS + "102,42000.70,0.1,1,17040672xx,True,True\n"
    with pytest.raises(DataError, match=r"line 3, column 'time': cannot parse.*'17040672xx'"):
        binance.read_trades_csv(_write(tmp_path, "spot.csv", text))


def test_bad_value_in_fixture_csv(tmp_path: Path, real_data_dir: Path) -> None:
    lines = (real_data_dir / f"{BINANCE_TRADES}.csv").read_text().splitlines()
    lines[10] = lines[10].replace("True", "maybe").replace("False", "maybe")
    path = _write(tmp_path, "t.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 11, column 'buyer_maker'.*'maybe'"):
        binance.read_trades_fixture(path)


@pytest.mark.parametrize("price", ["-1.5", "0"])
def test_non_positive_price_names_line(tmp_path: Path, price: str) -> None:
    text = FUTURES_HEADER + f"302,{price},1,1,1704067201001,true\n"
    with pytest.raises(DataError, match=r"line 4, column 'price': must be > 0"):
        binance.read_trades_csv(_write(tmp_path, "fut.csv", text))


def test_negative_quote_size_names_line(tmp_path: Path) -> None:
    text = BOOK_TICKER.replace(",3.5,", ",-3.5,")
    with pytest.raises(DataError, match=r"line 2, column 'best_bid_qty': must be >= 0"):
        binance.read_book_ticker_csv(_write(tmp_path, "bt.csv", text))


def test_empty_value_is_an_error(tmp_path: Path) -> None:
    text = FUTURES_HEADER + "302,42000,,1,1704067201001,true\n"
    with pytest.raises(DataError, match=r"line 4, column 'qty': empty value"):
        binance.read_trades_csv(_write(tmp_path, "fut.csv", text))


def test_bad_tardis_side(tmp_path: Path) -> None:
    text = (
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        "x,Y,1583020803145000,1583020803307160,a1,short,8531.5,3\n"
    )
    with pytest.raises(DataError, match=r"line 2, column 'side'.*'short'"):
        tardis.read_trades_csv(_write(tmp_path, "t.csv", text))


def test_mixed_epoch_units_rejected(tmp_path: Path) -> None:
    text = SPOT_US + "202,93000.3,0.1,1,1735689600124,true,true\n"
    with pytest.raises(DataError, match=r"line 3, column 'time': epoch unit differs"):
        binance.read_trades_csv(_write(tmp_path, "spot.csv", text))


def test_tardis_millisecond_timestamps_rejected(tmp_path: Path) -> None:
    text = (
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        "x,Y,1583020803145,1583020803307,a1,buy,8531.5,3\n"
    )
    with pytest.raises(DataError, match=r"column 'timestamp': looks like epoch ms, expected us"):
        tardis.read_trades_csv(_write(tmp_path, "t.csv", text))


def test_ragged_line_wrapped_with_file(tmp_path: Path) -> None:
    text = FUTURES_HEADER + "302,1,1,1,1704067201001,true,extra,fields\n"
    with pytest.raises(DataError, match=r"fut\.csv: cannot read CSV"):
        binance.read_trades_csv(_write(tmp_path, "fut.csv", text))


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"e\.csv: file is empty"):
        binance.read_trades_csv(_write(tmp_path, "e.csv", ""))


def test_header_only_gives_empty_contract_frame(tmp_path: Path) -> None:
    df = binance.read_trades_csv(_write(tmp_path, "h.csv", FUTURES_HEADER.split("\n")[0] + "\n"))
    assert df.height == 0
    assert df.schema == pl.Schema(TRADE_COLUMNS)


def test_unsupported_fixture_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"t\.json: unsupported file type"):
        binance.read_trades_fixture(_write(tmp_path, "t.json", "{}"))


def test_tardis_empty_side_dropped_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = (
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        "h,BTC-USD,1588291201099000,1588291201234268,5494,8629.3,8629.2,806\n"
        "h,BTC-USD,1588291201133000,1588291201454126,,,8629.2,806\n"
        "h,BTC-USD,1588291201216000,1588291201454401,5494,8629.3,,\n"
        "h,BTC-USD,1588291201243000,1588291201670755,5495,8629.4,8629.1,807\n"
    )
    with caplog.at_level(logging.WARNING, logger="execution_core.ticks.converters.tardis"):
        df = tardis.read_quotes_csv(_write(tmp_path, "q.csv", text))
    assert _rows(df) == [
        (1588291201099000000, 8629.2, 806.0, 8629.3, 5494.0),
        (1588291201243000000, 8629.1, 807.0, 8629.4, 5495.0),
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert "dropped=2" in messages[0]
    assert "kept=2" in messages[0]
    assert "first_line=3" in messages[0]
    assert "q.csv" in messages[0]


def test_tardis_bad_value_after_dropped_rows_keeps_line_number(tmp_path: Path) -> None:
    text = (
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        "h,BTC-USD,1588291201133000,1588291201454126,,,8629.2,806\n"
        "h,BTC-USD,1588291201243000,1588291201670755,5495,8629.4,abc,807\n"
    )
    with pytest.raises(DataError, match=r"line 3, column 'bid_price'.*'abc'"):
        tardis.read_quotes_csv(_write(tmp_path, "q.csv", text))


def test_schema_failure_becomes_data_error(tmp_path: Path) -> None:
    # The pandera check is the backstop behind the converters' own checks.
    path = _write(tmp_path, "x.csv", "a\n1\n2\n")
    table = _common.read_csv(path, ["a"])
    ts = pl.Series([2, 1]).cast(pl.Datetime("ns", "UTC"))
    columns = {
        "ts_event": ts,
        "price": pl.Series([1.0, -1.0]),
        "size": pl.Series([1.0, 1.0]),
        "aggressor_side": pl.Series(["BUY", "SELL"]),
        "trade_id": pl.Series(["a", "b"]),
    }
    from execution_core.ticks.schema import TRADES_SCHEMA

    with pytest.raises(DataError, match=r"x\.csv: 1 failures against the trades schema: line 3"):
        _common.finish(table, columns, TRADE_COLUMNS, TRADES_SCHEMA)
