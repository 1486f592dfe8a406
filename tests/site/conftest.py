"""Fixtures for the docs-site tests: a throwaway copy of the project.

The copy and the build run on it are `tests/_support/docs_project.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._support.docs_project import copy_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")
