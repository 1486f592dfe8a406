"""The one duration format: token lifetimes (`auth status`) and ages (`sync status`)."""

from __future__ import annotations

from specify_cli._text import duration


def test_durations_in_human_units():
    cases = {-5: "0s", 0: "0s", 59.9: "59s", 60: "1m", 3599: "59m", 3600: "1h 0m",
             3661: "1h 1m", 86399: "23h 59m", 86400: "1d 0h", 7 * 86400 - 1: "6d 23h"}
    assert {seconds: duration(seconds) for seconds in cases} == cases
