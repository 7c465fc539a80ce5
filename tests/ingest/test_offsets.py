from ingest.offsets import OffsetTracker, PartitionAttempts


def test_commits_only_below_the_oldest_offset_in_flight() -> None:
    tracker = OffsetTracker()
    for offset in range(5):
        tracker.emitted(0, offset)
    tracker.emitted(1, 10)
    assert tracker.to_commit() == {0: 0, 1: 10}
    tracker.committed(tracker.to_commit())
    tracker.done(0, 1)
    tracker.done(0, 2)
    assert tracker.to_commit() == {}  # 0 is still in flight
    tracker.done(0, 0)
    assert tracker.to_commit() == {0: 3}
    tracker.committed({0: 3})
    tracker.done(0, 4)
    tracker.done(0, 3)
    tracker.done(1, 10)
    assert tracker.to_commit() == {0: 5, 1: 11}
    assert tracker.in_flight() == 0


def test_a_replayed_offset_holds_the_commit_back() -> None:
    tracker = OffsetTracker()
    tracker.emitted(0, 7)
    tracker.emitted(0, 8)
    tracker.done(0, 8)
    tracker.emitted(0, 7)  # replay after a failure: emitted again, still one offset in flight
    assert tracker.to_commit() == {0: 7} and tracker.in_flight() == 1


def test_attempts_survive_a_restart_through_the_commit_metadata() -> None:
    attempts = PartitionAttempts()
    assert [attempts.emitted(offset) for offset in (5, 6, 7)] == [1, 1, 1]
    assert attempts.emitted(6) == 2  # a replay
    attempts.done(5)
    restarted = PartitionAttempts.from_metadata(attempts.metadata(position=5))
    # everything emitted before the crash counts once, the replayed one twice; nothing after was tried
    assert [restarted.attempts(offset) for offset in (5, 6, 7, 8)] == [1, 2, 1, 0]
    assert restarted.emitted(6) == 3


def test_counts_below_the_committed_position_are_not_kept() -> None:
    attempts = PartitionAttempts()
    attempts.emitted(1)
    attempts.emitted(1)
    assert PartitionAttempts.from_metadata(attempts.metadata(position=2)).counts == {}


def test_missing_or_foreign_metadata_means_no_attempts() -> None:
    for text in (None, "", "not json", "[1]", '{"counts": {"x": 1}}'):
        assert PartitionAttempts.from_metadata(text) == PartitionAttempts()
