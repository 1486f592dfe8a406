"""Reserved blocks of Lamport values: skipped, never repeated; ended by any other writer.

A queue hands out Lamport values from a block it reserved in the machine clock file. These
tests pin what the blocks must never break: a value is never handed out twice (not after a
kill -9 in the middle of a block either), a value reserved or received anywhere on the
machine is never followed by a smaller one, and no block reaches past `MAX_LAMPORT`.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from spec_kitty_protocol import MAX_LAMPORT, InvalidEventError
from specify_cli.sync.clock import CLOCK_FILENAME
from specify_cli.sync.queue import OfflineQueue
from tests._support.events import sample_events

NODE = "0123456789ab"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def queues(tmp_path):
    opened: list[OfflineQueue] = []

    def open_queue(name: str) -> OfflineQueue:
        queue = OfflineQueue(tmp_path / "queues" / f"{name}.sqlite3", cap=10_000)
        opened.append(queue)
        return queue

    yield open_queue
    for queue in opened:
        queue.close()


def _append(queue: OfflineQueue, n: int) -> list[int]:
    return [queue.append(event)["lamport_clock"] for event in sample_events(n)]


def _queued(path: Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [json.loads(body)["lamport_clock"]
                for (body,) in conn.execute("SELECT body FROM queue ORDER BY id")]
    finally:
        conn.close()


def _machine(path: Path) -> int:
    conn = sqlite3.connect(path.parent / CLOCK_FILENAME)
    try:
        return conn.execute("SELECT value FROM clock WHERE node_id = ?", (NODE,)).fetchone()[0]
    finally:
        conn.close()


def test_a_block_ends_when_another_account_reserves(queues):
    alice, bob = queues("alice"), queues("bob")
    first = _append(alice, 10)  # alice now holds a block with values to spare
    assert first == list(range(1, 11))
    (bob_value,) = _append(bob, 1)
    assert bob_value > 10
    after = _append(alice, 3)
    # alice's later events come after bob's on this machine: never a spare value of hers.
    assert min(after) > bob_value
    assert len(set(first + [bob_value] + after)) == 14


def test_a_value_received_in_another_process_is_never_followed_by_a_smaller_one(queues):
    emitting, pulling = queues("alice"), queues("alice-pull")  # two connections, as two
    _append(emitting, 10)                                      # processes would hold
    pulled = [dict(e, server_seq=1, lamport_clock=12, received_at="2026-01-01T00:00:00Z")
              for e in sample_events(1, node="aaaaaaaaaaaa")]
    pulling.store_pulled(pulled, "1", NODE)
    (value,) = _append(emitting, 1)
    assert value > 12


def test_a_pull_through_the_same_queue_ends_its_block(queues):
    queue = queues("alice")
    _append(queue, 10)
    pulled = [dict(e, server_seq=1, lamport_clock=12, received_at="2026-01-01T00:00:00Z")
              for e in sample_events(1, node="aaaaaaaaaaaa")]
    queue.store_pulled(pulled, "1", NODE)
    assert _append(queue, 1)[0] > 12


def test_closing_gives_the_unused_rest_of_a_block_back(queues, tmp_path):
    queue = queues("alice")
    _append(queue, 10)
    assert queue.clock_value(NODE) == 10
    assert _machine(queue.path) > 10  # reserved ahead
    queue.close()
    assert _machine(queue.path) == 10
    assert _append(queues("alice"), 1) == [11]


def test_closing_gives_nothing_back_once_another_process_reserved(queues):
    alice, bob = queues("alice"), queues("bob")
    _append(alice, 10)
    (bob_value,) = _append(bob, 1)
    alice.close()
    assert _machine(alice.path) >= bob_value
    assert _append(queues("carol"), 1)[0] > bob_value


_APPEND_THEN_WAIT = """
import sys
from pathlib import Path
from specify_cli.sync.queue import OfflineQueue
from tests._support.events import sample_events
q = OfflineQueue(Path(sys.argv[1]), cap=10_000)
for event in sample_events(int(sys.argv[2])):
    q.append(event)
print("appended", flush=True)
sys.stdin.readline()  # killed here, with the rest of its block unused
"""


def test_kill9_in_the_middle_of_a_block_never_repeats_a_value(tmp_path):
    path = tmp_path / "queues" / "alice.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _APPEND_THEN_WAIT, str(path), "100"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == "appended"
        assert _machine(path) > 100  # the kill lands in the middle of a block
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    before = _queued(path)
    assert before == list(range(1, 101))
    same, other = OfflineQueue(path), OfflineQueue(tmp_path / "queues" / "bob.sqlite3")
    try:
        after = _append(same, 5) + _append(other, 5)
    finally:
        same.close()
        other.close()
    assert min(after) > max(before)
    assert len(set(before + after)) == len(before + after)
    assert _queued(path) == sorted(_queued(path))


def test_no_block_reaches_past_max_lamport(queues):
    queue = queues("alice")
    queue.store_pulled([], None, NODE, own_high=MAX_LAMPORT - 3)
    assert _append(queue, 3) == [MAX_LAMPORT - 2, MAX_LAMPORT - 1, MAX_LAMPORT]
    with pytest.raises(InvalidEventError, match="lamport_clock"):
        queue.append(sample_events(1)[0])
    assert queue.pending_count() == 3
    assert _machine(queue.path) == MAX_LAMPORT


def test_a_block_reserved_through_the_queue_between_check_and_insert_ends_this_block(queues):
    """The machine file is read before the insert, outside any transaction: a block another
    process reserves through the same queue in between must still end this one, so the
    values keep rising in queue order (the insert checks the queue's copy of the clock)."""
    alice, again = queues("acme"), queues("acme")
    _append(alice, 4)  # blocks of 1, 2 and 4 values: alice holds 5-7 to spare
    real_next = alice._blocks.next
    raced: list[int] = []

    def next_then_race(machine, node_id):
        value = real_next(machine, node_id)
        if not raced:  # another process reserves and queues right after the check
            raced.extend(_append(again, 2))
        return value

    alice._blocks.next = next_then_race
    late = _append(alice, 2)
    values = _queued(alice.path)
    assert values == sorted(values) and len(set(values)) == len(values)
    assert min(late) > max(raced)
