"""Shared fixtures: the shipped model, the tiny test model, the shared spec directory, case files.

The shared directory (spec, seeds, worked examples) sits beside the repository in a clean
checkout: ``<repo>/../shared``. Tests that need it skip with a clear reason when it is absent.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import twitchbn

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "twitchbn" / "data"
TINY = REPO / "tests" / "fixtures" / "tiny"
SHARED = REPO.parent / "shared"
def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``twitchbn ARGS`` in a fresh interpreter (as a user would); capture text output."""
    return subprocess.run(
        [sys.executable, "-m", "twitchbn.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd or REPO, timeout=300, check=False,
    )


def read_yaml(path: Path) -> Any:
    """A YAML file as plain Python."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def model() -> twitchbn.Model:
    """The model compiled from the shipped knowledge base (data/)."""
    return twitchbn.load_model()


@pytest.fixture(scope="session")
def tiny() -> twitchbn.Model:
    """The 4-condition, 8-finding test model in tests/fixtures/tiny."""
    return twitchbn.load_model(TINY)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared spec directory beside the repository (skips the test when it is absent)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared directory not found at {SHARED} (expected beside the repository)")
    return SHARED
