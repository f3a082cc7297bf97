"""Loading the code location imports nothing heavy: every ``dagster`` command, the UI's
reload and each run worker load it, so NautilusTrader, matplotlib and the rest are
imported only inside the steps that use them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["nautilus_trader", "matplotlib", "dagster_gcp"]


@pytest.fixture(scope="module")
def loaded_modules() -> set[str]:
    code = "import json, sys; import pipelines.definitions; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize("package", HEAVY)
def test_loading_the_definitions_does_not_import(loaded_modules: set[str], package: str) -> None:
    assert package not in loaded_modules
