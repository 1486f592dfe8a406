"""`spec-kitty sync now`: push and pull under the sync lock, and report what happened."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from specify_cli import config
from specify_cli._text import plural
from specify_cli.account import credentials
from specify_cli.account.scope import open_queue
from specify_cli.cli._output import error, info, warn
from specify_cli.errors import ConfigError, NotAuthenticatedError, SpecKittyError, UsageError
from specify_cli.project.identity import machine_node_id
from specify_cli.sync import SyncReport, batch, lock_holder, sync_lock, sync_once

UP_TO_DATE = "Up to date: the queue is empty and the server has every event."
"""The last line of a `sync now` that pushed and pulled everything."""

LOCK_WAIT_SECONDS = 120.0
"""How long `sync now` waits for another sync of the same account to finish."""


def _account():
    creds = credentials.load_credentials()
    if creds is None:
        local = open_queue(None).pending_count()
        kept = (f" ({plural(local, 'event')} recorded while logged out stay local)"
                if local else "")
        if config.server_url() is None:
            raise ConfigError("no server configured; set one with `spec-kitty sync server URL`, "
                              "then run `spec-kitty auth login`" + kept)
        raise NotAuthenticatedError("not logged in; run `spec-kitty auth login` first" + kept)
    return creds, open_queue(creds)


def _check_report_path(path: str) -> None:
    """Refuse a `--report` path that cannot be written, before anything is pushed."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"--report {path} is a directory; give a file name, such as "
                         f"{target / 'sync-report.json'}")
    if not folder.is_dir():
        raise UsageError(f"--report {path}: the directory {folder} does not exist; create it "
                         "or give another path (nothing was pushed)")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists()
                                                     and not os.access(target, os.W_OK)):
        raise UsageError(f"--report {path}: permission denied; give a path you can write "
                         "(nothing was pushed)")


def _write_report(path: str, queue, report) -> None:
    data = {
        "error": report.error,
        "pushed": report.push.pushed,
        "duplicates": report.push.duplicates,
        "rejected": report.push.rejected,
        "rejected_reasons": dict(report.push.rejected_reasons),
        "pulled": report.pull.pulled if report.pull else 0,
        "failures": queue.failures(),
    }
    try:
        Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the report {path}: {exc.strerror}") from None


def run(*, verbose: bool, dry_run: bool, report: str | None, strict: bool) -> int:
    """Run `sync now` and return its exit status.

    Args:
        verbose: Also name the server and the queue first, and list each rejected event.
        dry_run: Only show what would be pushed.
        report: File to write the failures to, as JSON.
        strict: Exit 1 when events were rejected.

    Raises:
        SpecKittyError: Not logged in, no server, or the queue cannot be opened.
    """
    if report:
        _check_report_path(report)
    creds, queue = _account()
    pending = queue.pending_count()
    batches = -(-pending // batch.BATCH_SIZE)
    if verbose:
        info(f"Server {creds.server_url}, queue {queue.path}: {plural(pending, 'event')} "
             "waiting.")
    if dry_run:
        result = batch.push(queue, None, dry_run=True)
        total = sum(result.would_send.values())
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(result.would_send.items()))
        info(f"Dry run: would push {plural(total, 'event')} in "
             f"{plural(-(-total // batch.BATCH_SIZE), 'batch', 'batches')}"
             + (f" ({kinds})" if kinds else "") + "; nothing was sent.")
        if report:
            _write_report(report, queue, SyncReport(push=result))
        return 0

    def waiting() -> None:
        info(f"Waiting for another sync (pid {lock_holder(queue.path)}) to finish...")

    progress = None
    task = None
    if batches > 1 and sys.stdout.isatty():
        from rich.progress import Progress

        progress = Progress(transient=True)
        progress.start()
        task = progress.add_task("Pushing", total=pending)

    def on_batch(result) -> None:
        line = (f"Batch {result.number}: {result.sent} sent, {result.success} stored, "
                f"{result.duplicate} duplicates, {result.rejected} rejected")
        if progress is not None:
            progress.update(task, advance=result.sent)
            progress.console.print(line, markup=False, highlight=False)
        else:
            info(line)

    try:
        with sync_lock(queue.path, LOCK_WAIT_SECONDS, on_wait=waiting) as held:
            if not held:
                error(f"another sync (pid {lock_holder(queue.path)}) is still running after "
                      f"{int(LOCK_WAIT_SECONDS)} s; try again later")
                return 1
            outcome = sync_once(queue, creds.server_url, node_id=machine_node_id(),
                                on_batch=on_batch)
    finally:
        if progress is not None:
            progress.stop()
    push = outcome.push
    pulled = outcome.pull.pulled if outcome.pull else 0
    info(f"Pushed {plural(push.pushed + push.duplicates, 'event')} in "
         f"{plural(len(push.batches), 'batch', 'batches')}: "
         f"{push.pushed} new, {push.duplicates} duplicates, {push.rejected} rejected. "
         f"Pulled {plural(pulled, 'new event')}.")
    reasons: Counter[str] = push.rejected_reasons
    for reason, count in reasons.most_common():
        info(f"  rejected {count}: {reason}")
    if verbose:
        for failure in push.failures:
            info(f"  {failure['event_id']}: {failure['error']}")
    if report:
        _write_report(report, queue, outcome)
    if outcome.error:
        left = queue.pending_count()
        verb = "remains" if left == 1 else "remain"
        if left:
            error(f"{plural(left, 'event')} {verb} queued: {outcome.error}")
        elif pending:
            error(f"pushed everything, but the pull failed: {outcome.error}")
        else:
            error(outcome.error)
        return 1
    if push.rejected:
        warn(f"the server rejected {plural(push.rejected, 'event')}, which stay queued; see "
             "`spec-kitty sync "
             "status` or --report")
        return SpecKittyError.exit_code if strict else 0
    # The counts above depend on what the background sync had already pushed; this line
    # states the end state, which does not.
    info(UP_TO_DATE)
    return 0
