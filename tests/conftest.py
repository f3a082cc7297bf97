"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``../shared/data/real``: small real exchange files (never copied into the repo)."""
    path = Path(os.environ.get("SHARED_DATA_DIR", REPO_ROOT.parent / "shared" / "data")) / "real"
    if not path.is_dir():
        pytest.fail(f"real data fixtures not found at {path} (set SHARED_DATA_DIR)")
    return path
