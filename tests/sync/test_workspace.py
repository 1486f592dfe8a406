"""`sync workspace`: rebasing a real git worktree onto its base branch, locally."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests._support.procs import cli_env, run_cli


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=env).stdout


def commit(cwd: Path, name: str, text: str) -> None:
    (cwd / name).write_text(text)
    git(cwd, "add", name)
    git(cwd, "commit", "-q", "-m", f"{name}: {text[:10]}")


@pytest.fixture
def repo(tmp_path):
    main = tmp_path / "repo"
    main.mkdir()
    git(main, "init", "-q", "-b", "main")
    commit(main, "a.txt", "base\n")
    git(main, "worktree", "add", "-q", "-b", "001-login-WP01", str(tmp_path / "wt"))
    return main, tmp_path / "wt"


IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@x"}


def ws(home: Path, cwd: Path, *args: str, **env: str):
    return run_cli(home, "sync", "workspace", *args, cwd=cwd,
                   env=cli_env(home, **{**IDENTITY, **env}))


def test_rebases_the_worktree_branch_onto_its_base(repo, home):
    main, wt = repo
    commit(wt, "b.txt", "work\n")
    commit(main, "c.txt", "upstream\n")
    result = ws(home, wt, "--verbose")
    assert result.returncode == 0, result.stderr
    assert "Rebased 001-login-WP01 onto main (1 commit replayed)." in result.stdout
    assert "base: main" in result.stdout
    assert (wt / "c.txt").exists()
    log = git(wt, "log", "--format=%s")
    assert log.splitlines()[:2] == ["b.txt: work", "c.txt: upstream"]
    again = ws(home, wt)
    assert again.returncode == 0 and "already up to date with main" in again.stdout


def test_conflicts_are_listed_and_repair_aborts(repo, home):
    main, wt = repo
    commit(wt, "a.txt", "mine\n")
    commit(main, "a.txt", "theirs\n")
    head = git(wt, "rev-parse", "HEAD")
    result = ws(home, wt)
    assert result.returncode == 1
    assert "stopped on conflicts in 1 file;" in result.stdout
    assert "Conflicts:\n  a.txt" in result.stdout
    busy = ws(home, wt)
    assert busy.returncode == 1 and "already in progress" in busy.stderr
    assert "a.txt" in busy.stderr
    repaired = ws(home, wt, "--repair")
    assert repaired.returncode == 0 and "Aborted the unfinished rebase" in repaired.stdout
    assert git(wt, "rev-parse", "HEAD") == head
    nothing = ws(home, wt, "-r")
    assert nothing.returncode == 0 and "Nothing to repair" in nothing.stdout


def test_not_in_a_worktree_is_a_clear_error(repo, home, tmp_path):
    main, _ = repo
    result = ws(home, main)
    assert result.returncode == 1 and "main checkout, not a work-package worktree" in result.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    result = ws(home, plain)
    assert result.returncode == 1 and "not inside a git repository" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_failed_rebase_without_conflicts_is_undone_with_git_reason(repo, home):
    main, wt = repo
    commit(wt, "b.txt", "work\n")
    commit(main, "c.txt", "upstream\n")
    head = git(wt, "rev-parse", "HEAD")
    result = run_cli(home, "sync", "workspace", cwd=wt,
                     env=cli_env(home, GIT_CONFIG_GLOBAL="/dev/null",
                                 GIT_CONFIG_NOSYSTEM="1", EMAIL=""))
    assert result.returncode == 1
    assert result.stderr.startswith("error: git rebase failed and was undone")
    assert git(wt, "rev-parse", "HEAD") == head
    assert not (Path(git(wt, "rev-parse", "--absolute-git-dir").strip()) / "rebase-merge").exists()


def test_uncommitted_changes_are_refused(repo, home):
    _, wt = repo
    (wt / "a.txt").write_text("dirty\n")
    result = ws(home, wt)
    assert result.returncode == 1 and "uncommitted changes" in result.stderr


def test_base_comes_from_git_config_or_the_feature_meta(repo, home):
    main, wt = repo
    git(main, "branch", "develop")
    commit(main, "m.txt", "only on main\n")
    git(wt, "config", "branch.001-login-WP01.spec-kitty-base", "develop")
    result = ws(home, wt, "-v")
    assert "base: develop" in result.stdout and not (wt / "m.txt").exists()
    git(wt, "config", "--unset", "branch.001-login-WP01.spec-kitty-base")
    meta = wt / "kitty-specs" / "001-login" / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text('{"target_branch": "nope"}')
    git(wt, "add", "-A")
    git(wt, "commit", "-q", "-m", "meta")
    result = ws(home, wt)
    assert result.returncode == 1 and "base branch 'nope'" in result.stderr


def test_a_failed_rebase_shows_gits_reason_not_its_progress(repo, home, tmp_path):
    """No git identity: the message is git's reason and its fix, not `Rebasing (1/1)`."""
    main, wt = repo
    commit(wt, "b.txt", "work\n")
    commit(main, "c.txt", "upstream\n")
    empty = tmp_path / "nobody"
    empty.mkdir()
    env = cli_env(home, HOME=str(empty), GIT_CONFIG_NOSYSTEM="1",
                  GIT_CONFIG_GLOBAL=str(empty / "gitconfig"), EMAIL="")
    env = {k: v for k, v in env.items() if not k.startswith(("GIT_AUTHOR", "GIT_COMMITTER"))}
    env.pop("EMAIL")
    before = git(wt, "rev-parse", "HEAD")
    result = run_cli(home, "sync", "workspace", cwd=wt, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: git rebase failed and was undone:")
    assert "Rebasing (" not in lines[0]
    assert "identity unknown" in lines[0] and "git config --global user.email" in lines[0]
    assert git(wt, "rev-parse", "HEAD") == before  # undone
