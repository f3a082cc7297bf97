"""Fixtures for the object-store contract tests: the same tests on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution_core.stores import LocalObjectStore, ObjectStore, open_store


@pytest.fixture(params=["local", pytest.param("gcs", marks=pytest.mark.gcs)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """The same contract, once per backend."""
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    return open_store(request.getfixturevalue("gcs_bucket_url"))
