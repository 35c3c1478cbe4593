"""The request limit shared by every process of a state folder: 5 in any second, counted until answered."""

from __future__ import annotations

from pathlib import Path

from lastfm.throttle import THROTTLE_FILE, Throttle


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def throttle(path: Path | None, t: FakeTime) -> Throttle:
    return Throttle(path, 5, 1.0, clock=t.clock, sleep=t.sleep)


def test_five_in_any_second_across_processes(tmp_path: Path):
    t = FakeTime()
    one, other = throttle(tmp_path / THROTTLE_FILE, t), throttle(tmp_path / THROTTLE_FILE, t)
    starts = []
    for n in range(12):
        limiter = one if n % 2 else other  # two processes sharing the state folder
        place = limiter.wait()
        starts.append(t.now)
        t.now += 0.01  # the answer takes 10 ms
        limiter.done(place)
    for first, sixth in zip(starts, starts[5:]):
        assert sixth - first >= 1.0
    assert starts[5] - starts[0] < 1.1  # and no slower than it must be


def test_a_request_counts_until_its_answer_comes(tmp_path: Path):
    t = FakeTime()
    limiter = throttle(tmp_path / THROTTLE_FILE, t)
    slow = limiter.wait()
    for _ in range(4):
        limiter.done(limiter.wait())
    t.now += 5  # the slow answer is still out: it still holds a place, the others have aged out
    for _ in range(4):
        limiter.done(limiter.wait())
    before = t.now
    t.slept.clear()
    blocked_until_answer = []

    def answer_the_slow_one(seconds: float) -> None:
        blocked_until_answer.append(seconds)
        t.now += seconds
        if t.now - before > 0.2:
            limiter.done(slow)

    limiter._sleep = answer_the_slow_one  # noqa: SLF001 - the slow answer comes while the sixth waits
    limiter.wait()
    assert blocked_until_answer and t.now - before > 0.2


def test_a_clock_set_back_or_a_damaged_record_blocks_nothing(tmp_path: Path):
    t = FakeTime()
    path = tmp_path / THROTTLE_FILE
    path.write_text(str([[t.now + 3600, 1]] * 5))
    limiter = throttle(path, t)
    limiter.wait()
    assert t.slept == []
    path.write_text("{not json")
    limiter.wait()
    assert t.slept == [] and (path.stat().st_mode & 0o777) == 0o600


def test_without_a_state_folder_the_limit_holds_in_process():
    t = FakeTime()
    limiter = throttle(None, t)
    starts = []
    for _ in range(7):
        place = limiter.wait()
        starts.append(t.now)
        limiter.done(place)
    assert starts[5] - starts[0] >= 1.0


def test_the_place_of_a_killed_process_is_freed(tmp_path: Path):
    import subprocess

    t = FakeTime()
    gone = subprocess.Popen(["true"])
    gone.wait()
    path = tmp_path / THROTTLE_FILE
    path.write_text(str([[-(t.now - 5), gone.pid]] * 5))  # five requests its process never saw answered
    throttle(path, t).wait()
    assert t.slept == []
