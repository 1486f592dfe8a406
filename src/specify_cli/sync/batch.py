"""Batch push: send the offline queue to `POST /api/v1/events/batch/`, oldest first.

Each request carries at most 1000 events (and at most `MAX_BATCH_BYTES` of JSON), gzip
compressed. The server answers per event: `success` and `duplicate` leave the queue in the
same transaction that records the answers; `rejected` events stay queued with the reason
and one more retry. A 401 triggers one token refresh and one retry. A timeout, a 5xx or a
body that is not the promised JSON leaves the whole batch queued and stops the push. Since
an event leaves the queue only after the server has stored it, a push killed at any moment
is finished by the next one, and the server's duplicate detection keeps it stored once.
"""

from __future__ import annotations

import enum
import gzip
import json
import queue as queue_mod
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spec_kitty_protocol import BATCH_PATH, MAX_BATCH_EVENTS, MAX_BODY_BYTES
from specify_cli import http_client as _http
from specify_cli.account.session import Session, json_body
from specify_cli.errors import ServerError
from specify_cli.sync.queue import OfflineQueue

if TYPE_CHECKING:
    from specify_cli.sync.queue import QueuedEvent

BATCH_SIZE = MAX_BATCH_EVENTS
"""Most events per request (the contract's limit)."""

MAX_BATCH_BYTES = MAX_BODY_BYTES * 4 // 5
"""Most bytes of uncompressed JSON per request: a fifth below the contract's body limit."""

GZIP_LEVEL = 1
"""gzip level of request bodies: level 1 compresses events ~8x at a fraction of level 6's cost."""


@dataclass
class BatchResult:
    """The outcome of one request.

    Attributes:
        number: 1 for the first batch of the push.
        sent: Events in the request.
        success: Events the server stored.
        duplicate: Events the server already had.
        rejected: Events the server rejected.
    """

    number: int
    sent: int
    success: int = 0
    duplicate: int = 0
    rejected: int = 0


@dataclass
class PushReport:
    """What a push did.

    Attributes:
        batches: One entry per request that got per-event answers.
        rejected_reasons: Reason -> number of events rejected for it.
        failures: Rejected events: `event_id`, `event_type`, `error`.
        error: Why the push stopped early (one line), or None when the queue was drained.
        would_send: With `dry_run`, the number of events that would be sent, by event type.
    """

    batches: list[BatchResult] = field(default_factory=list)
    rejected_reasons: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    would_send: Counter[str] = field(default_factory=Counter)

    @property
    def pushed(self) -> int:
        """Events newly stored by the server."""
        return sum(b.success for b in self.batches)

    @property
    def duplicates(self) -> int:
        """Events the server already had."""
        return sum(b.duplicate for b in self.batches)

    @property
    def rejected(self) -> int:
        """Events the server rejected (they stay queued)."""
        return sum(b.rejected for b in self.batches)


def _cut(rows: list[QueuedEvent]) -> list[QueuedEvent]:
    """Keep the longest head of `rows` under `MAX_BATCH_BYTES` (always at least one row)."""
    total = 0
    for index, row in enumerate(rows):
        total += len(row.body) + 1
        if total > MAX_BATCH_BYTES and index:
            return rows[:index]
    return rows


def encode_batch(rows: list[QueuedEvent]) -> bytes:
    """Return the gzip-compressed `{"events": [...]}` body for queued rows.

    The stored JSON texts are joined as they are: nothing is decoded or re-encoded.

    Args:
        rows: Queued events.
    """
    text = '{"events":[' + ",".join(row.body for row in rows) + "]}"
    return gzip.compress(text.encode("utf-8"), compresslevel=GZIP_LEVEL)


def _parse_results(body: object, rows: list[QueuedEvent]) -> list[tuple[str, str | None]]:
    """Return (status, error) per row, or raise ValueError when the body is not as promised."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise ValueError("no results list")
    by_id: dict[str, tuple[str, str | None]] = {}
    for item in body["results"]:
        if not isinstance(item, dict) or not isinstance(item.get("event_id"), str):
            raise ValueError("malformed result")
        status = item.get("status")
        if status not in ("success", "duplicate", "rejected"):
            raise ValueError("unknown status")
        error = item.get("error")
        by_id[item["event_id"]] = (status, str(error) if error is not None else None)
    return [by_id.get(row.event_id, ("missing", None)) for row in rows]


PIPELINE_DEPTH = 2
"""Requests in flight at once: the next batch is read and compressed while the server
stores the previous one, and answers are recorded while the next request is sent."""


class _Outcome(enum.Enum):
    """What one answered request means for the rest of the push."""

    OK = "ok"
    FAILED = "failed"  # the batch stays queued; send nothing more
    TOO_LARGE = "too large"  # HTTP 413: send the same events again in smaller batches


@dataclass
class _Request:
    """One batch on its way: its rows, its body and, once `done` is set, the answer."""

    rows: list[QueuedEvent]
    body: bytes
    done: threading.Event = field(default_factory=threading.Event)
    response: Any = None  # an httpx.Response, a ServerError, or any other exception

    def answer(self) -> Any:
        """Wait for the answer: a response or a `ServerError`; anything else is raised."""
        self.done.wait()
        if isinstance(self.response, BaseException) and not isinstance(self.response,
                                                                        ServerError):
            raise self.response  # NotAuthenticatedError and bugs reach the caller
        return self.response


class _Sender:
    """A thread that sends requests one after another, in the order they were submitted.

    A plain thread rather than a ThreadPoolExecutor: executors refuse work once the
    interpreter is shutting down, and a push may run exactly then.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._requests: queue_mod.Queue[_Request | None] = queue_mod.Queue()
        self._thread = threading.Thread(target=self._run, name="spec-kitty-push", daemon=True)
        self._thread.start()

    def submit(self, rows: list[QueuedEvent]) -> _Request:
        """Compress `rows` and queue their request."""
        request = _Request(rows, encode_batch(rows))
        self._requests.put(request)
        return request

    def close(self, wait: bool) -> None:
        """Let the thread end after the requests already submitted (wait briefly if asked)."""
        self._requests.put(None)
        if wait:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while (request := self._requests.get()) is not None:
            try:
                request.response = self._session.request(
                    "POST", BATCH_PATH, content=request.body,
                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
            except BaseException as exc:  # noqa: BLE001 - handed to the pushing thread
                request.response = exc
            finally:
                request.done.set()


def push(
    queue: OfflineQueue,
    session: Session | None,
    *,
    on_batch: Callable[[BatchResult], None] | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> PushReport:
    """Push every queued event, oldest first, and record the answers in the queue.

    Requests are sent one after another by a sender thread, at most `PIPELINE_DEPTH` ahead
    of the answers being recorded. Each event is attempted at most once per call: rejected
    events stay queued but the push moves past them. After a failed request no new batch
    is sent; the answers of requests already sent are still recorded.

    Args:
        queue: The account's offline queue.
        session: An `account.session.Session` for the account's server (unused with `dry_run`).
        on_batch: Called after each answered request (for progress output).
        dry_run: Count what would be sent, by event type, and send nothing.
        batch_size: Most events per request.

    Returns:
        The report; `error` is set when the push stopped early (the rest stays queued).

    Raises:
        NotAuthenticatedError: The server refused the session even after a refresh.
    """
    report = PushReport()
    if dry_run:
        after = 0
        while rows := queue.read_batch(after, batch_size):
            for row in rows:
                report.would_send[json.loads(row.body).get("event_type", "?")] += 1
            after = rows[-1].id
        return report
    assert session is not None
    sender = _Sender(session)
    inflight: deque[_Request] = deque()
    after, size, stopped = 0, batch_size, False
    try:
        while True:
            while len(inflight) < PIPELINE_DEPTH and not stopped:
                rows = queue.read_batch(after, size)
                if not rows:
                    break
                rows = _cut(rows)
                after = rows[-1].id
                inflight.append(sender.submit(rows))
            if not inflight:
                return report
            request = inflight.popleft()
            outcome = _handle(queue, session, report, request, on_batch)
            if outcome is _Outcome.TOO_LARGE:
                # Answers of requests already sent are still recorded; then the push
                # restarts from this batch with half the size.
                while inflight:
                    _handle(queue, session, report, inflight.popleft(), on_batch)
                size = max(1, len(request.rows) // 2)
                after = request.rows[0].id - 1
                report.error = None
                stopped = False
            elif outcome is _Outcome.FAILED:
                stopped = True
    finally:
        sender.close(wait=not inflight)


def _handle(queue: OfflineQueue, session: Session, report: PushReport, request: _Request,
            on_batch: Callable[[BatchResult], None] | None) -> _Outcome:
    """Wait for one request's answer and record it in the queue and the report."""
    rows, response = request.rows, request.answer()
    first, last = rows[0].id, rows[-1].id
    if isinstance(response, ServerError):
        queue.record_failure(first, last, _reason(str(response)))
        report.error = report.error or str(response)
        return _Outcome.FAILED
    if response.status_code == 413 and len(rows) > 1:
        return _Outcome.TOO_LARGE
    if response.status_code != 200:
        queue.record_failure(first, last, f"HTTP {response.status_code}")
        report.error = report.error or str(_http.status_error(session.server_url, response))
        return _Outcome.FAILED
    try:
        answers = _parse_results(json_body(session, response), rows)
    except (ServerError, ValueError):
        queue.record_failure(first, last, "unexpected response")
        report.error = report.error or str(_http.unexpected_response(session.server_url))
        return _Outcome.FAILED
    result = BatchResult(len(report.batches) + 1, len(rows))
    done: list[int] = []
    rejected: list[tuple[int, str]] = []
    unanswered = 0
    for row, (status, error) in zip(rows, answers, strict=True):
        if status == "success":
            result.success += 1
            done.append(row.id)
        elif status == "duplicate":
            result.duplicate += 1
            done.append(row.id)
        elif status == "rejected":
            reason = error or "rejected"
            result.rejected += 1
            rejected.append((row.id, reason))
            report.rejected_reasons[reason] += 1
            report.failures.append({"event_id": row.event_id, "error": reason})
        else:
            unanswered += 1
    queue.record_results(done, rejected)
    if unanswered:
        # They stay queued for the next run, but the user must hear about it (and exit 1).
        report.error = report.error or (
            f"the server at {session.server_url} did not answer for {unanswered} events; "
            "they stay queued, run `spec-kitty sync now` again")
    report.batches.append(result)
    if on_batch is not None:
        on_batch(result)
    return _Outcome.OK


def _reason(message: str) -> str:
    """Shorten an error message for the queue's `last_error` column."""
    return message.split(" (see ")[0][:200]
