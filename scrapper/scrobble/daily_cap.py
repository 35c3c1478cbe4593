"""Last.fm's daily scrobble cap: which one is in force, where it comes from, and what it still allows."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from scrobble.ledger import Ledger

DEFAULT_DAILY_CAP = 2800
DAY = 86400
# A learned cap is trusted for a week, then the default is tried again: Last.fm changes its cap, and a
# cap learned on a day other players scrobbled much would otherwise hold the queue back for good.
LEARNED_FOR = 7 * DAY


@dataclass(frozen=True)
class DailyCap:
    value: int
    source: str  # option (this run), config (environment or config file), learned (from Last.fm's answers), default

    @property
    def chosen(self) -> bool:
        """Set by the user (option, environment, config file): it wins over what was learned from Last.fm."""
        return self.source in ("option", "config")

    def describe(self) -> str:
        return {"learned": "learned from Last.fm's answers", "config": "from the configuration",
                "default": "default", "option": "given for this run"}.get(self.source, self.source)

    def to_json(self) -> dict[str, object]:
        return {"value": self.value, "source": self.source}


def daily_cap(settings: Settings, ledger: Ledger, now: float, override: int | None = None) -> DailyCap:
    if override:
        return DailyCap(override, "option")
    if settings.daily_cap:
        return DailyCap(settings.daily_cap, "config")
    learned = ledger.meta("learned_cap")
    if isinstance(learned, dict) and isinstance(learned.get("value"), int) and learned["value"] > 0 \
            and isinstance(learned.get("learned_at"), (int, float)) and now - learned["learned_at"] < LEARNED_FOR:
        return DailyCap(learned["value"], "learned")
    return DailyCap(DEFAULT_DAILY_CAP, "default")


def budget_left(cap: DailyCap, ledger: Ledger, now: float) -> tuple[int, float | None]:
    """Scrobbles the cap still allows, and when the next one frees if none.

    A wait learned from Last.fm's refusal holds only while no cap of the user's own is set: an option or
    a setting lifts it (and if Last.fm refuses again, the refusal is learned again)."""
    blocked = ledger.meta("cap_blocked_until")
    if not cap.chosen and isinstance(blocked, (int, float)) and now < blocked:
        return 0, float(blocked)
    sent = ledger.accepted_since(now - DAY)
    if len(sent) < cap.value:
        return cap.value - len(sent), None
    return 0, sent[-cap.value] + DAY  # when the oldest scrobble counting against the cap ages out


def forget_learned_cap(ledger: Ledger) -> int | None:
    """Forget the cap learned from Last.fm and the wait it set; returns the forgotten cap, if there was one."""
    with ledger.locked():
        learned = ledger.meta("learned_cap")
        ledger.set_meta(learned_cap=None, cap_blocked_until=None)
    return learned["value"] if isinstance(learned, dict) and isinstance(learned.get("value"), int) else None
