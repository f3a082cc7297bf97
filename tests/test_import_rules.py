"""The import contracts of pyproject.toml ([tool.importlinter]) hold, and really bite.

execution_core is shared and imports none of the applications; pipelines, live_daemon and
operator_console never import each other; inside live_daemon, only
live_daemon.venues.nautilus imports nautilus_trader; the Dagster domains
(pipelines.defs.market_data, .backtest, .live) never import each other; operator_console
imports neither nautilus_trader nor dagster.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path, config: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"lint-imports not found next to {sys.executable}")
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_contracts_are_kept() -> None:
    result = lint_imports(REPO_ROOT, REPO_ROOT / "pyproject.toml", REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def _write(root: Path, module: str, source: str = "") -> None:
    path = root / Path(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


def test_the_contracts_catch_violations(tmp_path: Path) -> None:
    """The repository's own contracts, run on a small tree that breaks all five."""
    importlinter = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert len(importlinter["contracts"]) == 5
    # JSON strings and string arrays are valid TOML values
    lines = [
        f"{key} = {json.dumps(value)}"
        for key, value in importlinter.items()
        if key != "contracts"  # root_packages, include_external_packages
    ]
    for contract in importlinter["contracts"]:
        lines.append("\n[[tool.importlinter.contracts]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in contract.items()]
    config = tmp_path / "contracts.toml"
    config.write_text("[tool.importlinter]\n" + "\n".join(lines) + "\n")

    tree = tmp_path / "src"
    for package in ("execution_core", "pipelines", "live_daemon", "operator_console"):
        _write(tree, f"{package}.__init__")
    # the console asking Dagster in-process instead of over HTTP
    _write(tree, "operator_console.status", "import dagster\n")
    _write(tree, "execution_core.fine", "import os\n")
    _write(tree, "execution_core.leaky", "from pipelines import cli\n")
    _write(tree, "pipelines.cli", "import execution_core.fine\n")
    _write(tree, "live_daemon.main", "import pipelines.cli\n")
    # the adapter sub-package may import nautilus_trader, and the rest of live_daemon may
    # import the sub-package; nothing else in live_daemon may import nautilus_trader
    _write(tree, "live_daemon.venues.__init__")
    _write(tree, "live_daemon.venues.nautilus.__init__")
    _write(tree, "live_daemon.venues.nautilus.venue", "import nautilus_trader.live.node\n")
    _write(tree, "live_daemon.venues.host", "import live_daemon.venues.nautilus.venue\n")
    _write(tree, "live_daemon.orchestrator", "from nautilus_trader.model import enums\n")
    # a Dagster domain reading another's asset module instead of naming its key
    for domain in ("market_data", "backtest", "live"):
        _write(tree, f"pipelines.defs.{domain}.__init__")
    _write(tree, "pipelines.defs.__init__")
    _write(tree, "pipelines.defs.market_data.assets", "import execution_core.fine\n")
    _write(tree, "pipelines.defs.live.assets", "import execution_core.fine\n")
    _write(
        tree, "pipelines.defs.backtest.assets", "from pipelines.defs.market_data import assets\n"
    )

    result = lint_imports(tmp_path, config, tree)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Contracts: 0 kept, 5 broken." in output
    assert "operator_console.status -> dagster" in output
    assert "pipelines.defs.backtest.assets -> pipelines.defs.market_data.assets" in output
    assert "execution_core.leaky -> pipelines.cli" in output
    assert "live_daemon.main -> pipelines.cli" in output
    assert "live_daemon.orchestrator -> nautilus_trader" in output
    assert "live_daemon.venues.host ->" not in output
    assert "live_daemon.venues.nautilus.venue ->" not in output

    # and the same tree without the bad imports passes
    _write(tree, "execution_core.leaky", "import execution_core.fine\n")
    _write(tree, "live_daemon.main", "import execution_core.fine\n")
    _write(tree, "live_daemon.orchestrator", "import live_daemon.venues.host\n")
    _write(tree, "pipelines.defs.backtest.assets", "import execution_core.fine\n")
    _write(tree, "operator_console.status", "import execution_core.fine\n")
    result = lint_imports(tmp_path, config, tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def _imported_roots(path: Path) -> set[str]:
    """Top-level packages imported anywhere in a file (also inside functions)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("execution_core", {"pipelines", "live_daemon", "operator_console"}),
        ("pipelines", {"live_daemon", "operator_console"}),
        ("live_daemon", {"pipelines", "operator_console"}),
        ("operator_console", {"pipelines", "live_daemon", "dagster", "nautilus_trader"}),
    ],
)
def test_no_forbidden_import_statements(package: str, forbidden: set[str]) -> None:
    """Second line of defence, independent of import-linter: scan the sources."""
    files = sorted((REPO_ROOT / package).rglob("*.py"))
    assert files
    offenders = {
        str(f.relative_to(REPO_ROOT)): sorted(_imported_roots(f) & forbidden)
        for f in files
        if _imported_roots(f) & forbidden
    }
    assert offenders == {}


def test_only_the_adapter_subpackage_imports_nautilus_trader() -> None:
    """The same rule, scanned: no live_daemon file outside live_daemon/venues/nautilus/
    imports nautilus_trader, and the sub-package's __init__ imports nothing at all."""
    adapter = REPO_ROOT / "live_daemon" / "venues" / "nautilus"
    inside = sorted(adapter.rglob("*.py"))
    assert any("nautilus_trader" in _imported_roots(f) for f in inside)
    offenders = [
        str(f.relative_to(REPO_ROOT))
        for f in sorted((REPO_ROOT / "live_daemon").rglob("*.py"))
        if adapter not in f.parents and "nautilus_trader" in _imported_roots(f)
    ]
    assert offenders == []
    assert _imported_roots(adapter / "__init__.py") == set()
