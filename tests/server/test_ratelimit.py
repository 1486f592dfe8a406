"""The login limiter in-process: reservations, refunds, and per address-and-user counting."""

from __future__ import annotations

from spec_kitty_server.ratelimit import LoginLimiter, Reservation


def test_attempts_are_counted_before_any_verdict():
    limiter = LoginLimiter(per_user=3, per_ip=5, window=60)
    held = [limiter.reserve("alice", "1.1.1.1") for _ in range(3)]
    assert all(isinstance(r, Reservation) for r in held)
    wait = limiter.reserve("alice", "1.1.1.1")
    assert isinstance(wait, int) and 0 < wait <= 60


def test_a_success_gives_its_reservation_back_and_forgets_the_users_failures():
    limiter = LoginLimiter(per_user=3, per_ip=4, window=60)
    limiter.reserve("alice", "1.1.1.1")
    limiter.reserve("alice", "1.1.1.1")
    good = limiter.reserve("alice", "1.1.1.1")
    limiter.succeeded(good)
    # alice's two failures are forgotten; the address keeps them (2 of 4 used).
    assert isinstance(limiter.reserve("alice", "1.1.1.1"), Reservation)
    assert isinstance(limiter.reserve("bob", "1.1.1.1"), Reservation)
    assert isinstance(limiter.reserve("carol", "1.1.1.1"), int)


def test_a_released_reservation_counts_nothing():
    limiter = LoginLimiter(per_user=1, per_ip=1, window=60)
    first = limiter.reserve("alice", "1.1.1.1")
    limiter.release(first)
    assert isinstance(limiter.reserve("alice", "1.1.1.1"), Reservation)


def test_guesses_from_one_address_do_not_lock_the_user_out_elsewhere():
    limiter = LoginLimiter(per_user=2, per_ip=10, window=60)
    for _ in range(2):
        limiter.reserve("Alice", "6.6.6.6")
    assert isinstance(limiter.reserve("alice", "6.6.6.6"), int)  # names are case-insensitive
    assert isinstance(limiter.reserve("alice", "1.1.1.1"), Reservation)
