"""Project identity in .kittify/config.yaml: backfill, convergence, read-only projects."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from specify_cli.project import config as project_config
from specify_cli.project import identity


def test_backfill_writes_uuid_slug_node_and_keeps_other_keys(tmp_path):
    project = tmp_path / "My Project!"
    (project / ".kittify").mkdir(parents=True)
    (project / ".kittify" / "config.yaml").write_text("sync:\n  auto_start: false\n")
    ident = identity.ensure_identity(project)
    data = yaml.safe_load((project / ".kittify" / "config.yaml").read_text())
    assert data["sync"] == {"auto_start": False}
    assert data["project"] == {"uuid": ident.project_uuid, "slug": "my-project",
                               "node_id": ident.node_id}
    assert identity.ensure_identity(project) == ident  # stable on the next call
    assert project_config.auto_start(project) is False


def test_slug_comes_from_the_git_origin_repository_name(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin",
                    "git@github.com:Acme/Widget_Tool.git"], check=True)
    assert identity.derive_slug(tmp_path) == "widget-tool"


def test_node_id_is_stable_and_hex():
    assert identity.machine_node_id() == identity.machine_node_id()
    assert len(identity.machine_node_id()) == 12
    int(identity.machine_node_id(), 16)


def test_invalid_stored_identity_is_replaced(tmp_path):
    (tmp_path / ".kittify").mkdir()
    (tmp_path / ".kittify" / "config.yaml").write_text("project:\n  uuid: nope\n  slug: x\n")
    ident = identity.ensure_identity(tmp_path)
    assert ident.project_uuid != "nope" and ident.persisted


_CONCURRENT = """
import sys
from pathlib import Path
from specify_cli.project.identity import ensure_identity
print(ensure_identity(Path(sys.argv[1])).project_uuid)
"""


def test_concurrent_first_writers_converge_on_one_identity(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True) for _ in range(6)]
    uuids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(uuids) == 1
    stored = yaml.safe_load((tmp_path / ".kittify" / "config.yaml").read_text())
    assert stored["project"]["uuid"] == uuids.pop()


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr for a read-only file")
def test_read_only_config_gives_an_in_memory_identity_with_one_warning(tmp_path, capsys):
    (tmp_path / ".kittify").mkdir()
    config = tmp_path / ".kittify" / "config.yaml"
    config.write_text("other: 1\n")
    directory = tmp_path / ".kittify"
    if subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
        pytest.skip("filesystem does not support chattr +i")
    try:
        first = identity.ensure_identity(tmp_path)
        second = identity.ensure_identity(tmp_path)
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)
    assert first == second and not first.persisted
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "temporary project identity" in err
    assert config.read_text() == "other: 1\n"


def test_auto_start_env_overrides_the_file(tmp_path, monkeypatch):
    (tmp_path / ".kittify").mkdir()
    (tmp_path / ".kittify" / "config.yaml").write_text("sync:\n  auto_start: true\n")
    monkeypatch.setenv("SPEC_KITTY_SYNC_AUTO_START", "0")
    assert project_config.auto_start(tmp_path) is False
    monkeypatch.setenv("SPEC_KITTY_SYNC_AUTO_START", "1")
    assert project_config.auto_start(tmp_path) is True
    monkeypatch.delenv("SPEC_KITTY_SYNC_AUTO_START")
    assert project_config.auto_start(tmp_path) is True


def test_find_project_root_prefers_kittify(tmp_path):
    (tmp_path / ".kittify").mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert project_config.find_project_root(deep) == tmp_path
    assert project_config.find_project_root(Path("/")) == Path("/")
