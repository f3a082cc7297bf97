"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gcs_emulator import start_gcs_emulator

REPO_ROOT = Path(__file__).resolve().parents[1]

# The first backtest day (the first Dagster partition, which opens flat), set before any
# test imports the definitions, so that it does not depend on what runtime/store holds.
# The tests' day is 2025-01-15; multi-day tests run 2025-01-15 onwards.
TEST_FIRST_DAY = "2025-01-15"
os.environ["EXEC_BACKTEST_FIRST_DAY"] = TEST_FIRST_DAY


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``../shared/data/real``: small real exchange files (never copied into the repo)."""
    path = Path(os.environ.get("SHARED_DATA_DIR", REPO_ROOT.parent / "shared" / "data")) / "real"
    if not path.is_dir():
        pytest.fail(f"real data fixtures not found at {path} (set SHARED_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def gcs_emulator_host() -> Iterator[str]:
    """A GCS emulator for the whole session; yields ``"127.0.0.1:PORT"`` (no scheme).

    For the session it sets ``STORAGE_EMULATOR_HOST=http://127.0.0.1:PORT`` (the official
    client wants the scheme; pyarrow's ``endpoint_override`` wants the bare host) and keeps
    127.0.0.1 off any proxy.
    """
    with start_gcs_emulator() as host, pytest.MonkeyPatch.context() as mp:
        mp.setenv("STORAGE_EMULATOR_HOST", f"http://{host}")
        for var in ("NO_PROXY", "no_proxy"):
            mp.setenv(var, ",".join(filter(None, [os.environ.get(var), "127.0.0.1", "localhost"])))
        yield host


@pytest.fixture
def gcs_bucket_url(gcs_emulator_host: str) -> str:
    """A fresh, empty emulator bucket per test, as ``gs://<bucket>/some/prefix``."""
    from execution_core.stores.gcs import make_gcs_client

    bucket = f"test-{uuid.uuid4().hex[:20]}"
    make_gcs_client().create_bucket(bucket)
    return f"gs://{bucket}/some/prefix"
