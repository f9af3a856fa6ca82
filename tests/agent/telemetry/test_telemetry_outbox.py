"""The durable outbox: seq across restarts, per-topic order, priorities when full, ack-only deletion, damage."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from iotcard.agent.telemetry import Outbox, OutboxLimits
from iotcard.contract.messages import Priority

NOW = 1_790_000_000.0  # 2026-09


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_seq_is_monotonic_across_restarts_and_in_the_payload(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path) as box:
        first = [box.enqueue("t/a", lambda seq: f"seq={seq}".encode()) for _ in range(3)]
        reserved = box.allocate_seq()
    with Outbox(path) as box:
        later = box.enqueue("t/a", b"x")
        batch = box.next_batch(10)
    assert first == [1, 2, 3] and reserved == 4 and later == 5
    assert [m.payload for m in batch[:3]] == [b"seq=1", b"seq=2", b"seq=3"]


def test_only_acknowledged_messages_leave(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        seqs = [box.enqueue("t/a", b"%d" % n) for n in range(5)]
        batch = box.next_batch(3)
        assert [m.seq for m in batch] == seqs[:3]
        assert [m.seq for m in box.next_batch(3)] == seqs[3:]  # the rest; nothing twice
        assert box.ack([seqs[1]]) == 1
        box.release_inflight()  # the connection dropped: 1 and 3 go again, in order
        assert [m.seq for m in box.next_batch(10)] == [seqs[0], seqs[2], seqs[3], seqs[4]]
        assert box.ack([seqs[1]]) == 0  # a late duplicate ack is harmless
        assert len(box) == 4


def test_drain_is_per_topic_ordered_and_most_important_first(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        t = [box.enqueue("d/telemetry", b"t", priority=Priority.ROUTINE) for _ in range(4)]
        r1 = box.enqueue("d/result/x", b"r", priority=Priority.IMPORTANT)
        # A telemetry that carries cycle totals is important, but may not overtake older telemetry.
        t_important = box.enqueue("d/telemetry", b"T", priority=Priority.IMPORTANT)
        first = box.next_batch(2)
        e = box.enqueue("d/event", b"e", priority=Priority.CRITICAL)  # live event during the drain
        rest = box.next_batch(10)
    assert [m.seq for m in first] == [r1, t[0]]
    assert [m.seq for m in rest] == [e, *t[1:], t_important]
    telemetry = [m.seq for m in first + rest if m.topic == "d/telemetry"]
    assert telemetry == sorted(telemetry)


def test_full_outbox_drops_by_priority_oldest_first_and_counts(tmp_path: Path) -> None:
    limits = OutboxLimits(max_messages=6, max_bytes=1_000_000)
    with Outbox(tmp_path / "o.db", limits) as box:
        events = [box.enqueue("d/event", b"e", priority=Priority.CRITICAL) for _ in range(2)]
        diag = box.enqueue("d/diagnosis", b"g", priority=Priority.IMPORTANT)
        telemetry = [box.enqueue("d/telemetry", b"t", priority=Priority.ROUTINE) for _ in range(3)]
        # Full. Each new message pushes out the oldest routine telemetry, never the events or the diagnosis.
        new_events = [box.enqueue("d/event", b"E", priority=Priority.CRITICAL) for _ in range(3)]
        kept = {seq for seq, _ in box.pending_topics()}
        assert kept == {*events, diag, *new_events}
        assert box.dropped() == {Priority.ROUTINE: 3}
        assert not set(telemetry) & kept
        # Only events and one diagnosis left: a new routine message is the least important, so it goes itself.
        late = box.enqueue("d/telemetry", b"t", priority=Priority.ROUTINE)
        assert late not in {seq for seq, _ in box.pending_topics()}
        box.enqueue("d/event", b"E", priority=Priority.CRITICAL)
        assert box.dropped() == {Priority.ROUTINE: 4, Priority.IMPORTANT: 1}
        assert box.stats().dropped_total == 5
    with Outbox(tmp_path / "o.db", limits) as box:
        assert box.dropped() == {Priority.ROUTINE: 4, Priority.IMPORTANT: 1}  # the count is persistent


def test_byte_bound_and_in_flight_messages_are_not_evicted(tmp_path: Path) -> None:
    limits = OutboxLimits(max_messages=100, max_bytes=3 * (1000 + len("d/telemetry")))
    with Outbox(tmp_path / "o.db", limits) as box:
        a = box.enqueue("d/telemetry", b"x" * 1000)
        box.next_batch(1)  # a is in flight
        b = box.enqueue("d/telemetry", b"x" * 1000)
        c = box.enqueue("d/telemetry", b"x" * 1000)
        d = box.enqueue("d/telemetry", b"x" * 1000)
        assert [seq for seq, _ in box.pending_topics()] == [a, c, d]
        assert box.ack([b]) == 0  # b was evicted (oldest not in flight)
        assert box.stats().pending_bytes <= limits.max_bytes


def test_age_limit_drops_routine_and_state_only_and_trusts_only_a_set_clock(tmp_path: Path) -> None:
    clock = Clock(NOW)
    limits = OutboxLimits(max_age_s=86400)
    with Outbox(tmp_path / "o.db", limits, clock=clock) as box:
        old_t = box.enqueue("d/telemetry", b"t")
        old_s = box.enqueue("d/status", b"s", priority=Priority.STATE)
        old_e = box.enqueue("d/event", b"e", priority=Priority.CRITICAL)
        clock.now = NOW + 2 * 86400
        new_t = box.enqueue("d/telemetry", b"t")
        assert [seq for seq, _ in box.pending_topics()] == [old_e, new_t]
        assert box.dropped() == {Priority.ROUTINE: 1, Priority.STATE: 1}
        assert old_t and old_s
    # No RTC: the clock reads 1970 at boot. Messages made then have no trustworthy age and are kept.
    clock = Clock(1000.0)
    with Outbox(tmp_path / "rtc.db", limits, clock=clock) as box:
        early = box.enqueue("d/telemetry", b"t")
        clock.now = NOW
        box.enqueue("d/telemetry", b"t")
        assert early in {seq for seq, _ in box.pending_topics()}


def test_a_damaged_file_is_moved_aside_and_seq_does_not_go_back(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path, clock=Clock()) as box:
        for _ in range(3):
            box.enqueue("d/t", b"x")
    path.write_bytes(b"this is not a database" * 200)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with Outbox(path, clock=Clock()) as box:
        seq = box.enqueue("d/t", b"x")
    assert seq >= int(NOW * 1000)
    assert list(tmp_path.glob("o.db.corrupt-*"))


def test_wal_mode_and_full_sync(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        box.enqueue("t", b"x")
    db = sqlite3.connect(tmp_path / "o.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_command_dedup_keeps_the_last_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from iotcard.agent.telemetry import _outbox, daily_command_allowance

    # Enough for every command the daily allowance lets through during a 7-day session expiry.
    assert 7 * daily_command_allowance(int(1.5 * 1024 * 1024)) <= _outbox._DEDUP_KEEP
    monkeypatch.setattr(_outbox, "_DEDUP_KEEP", 256)
    with Outbox(tmp_path / "o.db") as box:
        for n in range(300):
            box.remember_command(f"r{n}", f'{{"n": {n}}}')
        assert box.recall_command("r0") is None
        assert box.recall_command("r299") == '{"n": 299}'
        assert box.recall_command("r44") == '{"n": 44}'
        assert box.recall_command("r43") is None


def test_counters_add_and_set(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        box.add_counters({"traffic.2026-11.telemetry": 100})
        box.add_counters({"traffic.2026-11.telemetry": 50, "traffic.2026-11.connect": 7})
        box.set_counters({"keepalive.current": 450})
        assert box.counters("traffic.2026-11.") == {"traffic.2026-11.telemetry": 150, "traffic.2026-11.connect": 7}
        assert box.counters("keepalive.") == {"keepalive.current": 450}


@pytest.mark.parametrize("limit", [0, -1])
def test_no_batch_without_room(tmp_path: Path, limit: int) -> None:
    with Outbox(tmp_path / "o.db") as box:
        box.enqueue("t", b"x")
        assert box.next_batch(limit) == []
