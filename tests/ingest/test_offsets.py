from ingest.offsets import OffsetTracker


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
