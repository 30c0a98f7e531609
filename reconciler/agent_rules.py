"""The agent's heal rules as pure arithmetic on times the caller passes in (no clock here):
sync windows (``allow: "Mon-Fri 08:00-18:00"``), the self-heal backoff (Argo CD's: 2 s,
factor 3, cap 300 s) and the cap on heals per deployment per hour. `yottactl validate` checks
the windows' text with :func:`parse_window`; ``reconciler/app/agent.py`` asks the questions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WINDOW = re.compile(r"^\s*(?P<days>[A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?(?:\s*,\s*[A-Za-z]{3}"
                     r"(?:\s*-\s*[A-Za-z]{3})?)*)\s+(?P<start>\d{2}:\d{2})\s*-\s*"
                     r"(?P<end>\d{2}:\d{2})\s*$")
WINDOW_HELP = ('a sync window is DAYS HH:MM-HH:MM, e.g. "Mon-Fri 08:00-18:00" or '
               '"Sat,Sun 00:00-24:00" (days: Mon Tue Wed Thu Fri Sat Sun)')


@dataclass(frozen=True)
class Window:
    """Days of the week (0 = Monday) and a time of day range; ``end`` 24:00 is midnight."""

    days: frozenset[int]
    start: int  # minutes after midnight
    end: int  # minutes after midnight, > start (a window never wraps: write two)
    text: str = ""

    def contains(self, moment: datetime) -> bool:
        minute = moment.hour * 60 + moment.minute
        return moment.weekday() in self.days and self.start <= minute < self.end


def _minutes(text: str) -> int:
    hours, minutes = (int(p) for p in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text} is not a time of day (00:00 to 24:00)")
    return hours * 60 + minutes


def _day(text: str) -> int:
    title = text.strip().title()
    if title not in DAYS:
        raise ValueError(f"{text.strip()!r} is not a day")
    return DAYS.index(title)


def parse_window(text: str) -> Window:
    """``"Mon-Fri 08:00-18:00"`` -> :class:`Window`; ValueError saying what is wrong."""
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a sync window: {WINDOW_HELP}")
    days: set[int] = set()
    for part in match["days"].split(","):
        first, _, last = part.partition("-")
        a, b = _day(first), _day(last) if last else _day(first)
        days.update(range(a, b + 1) if a <= b else (*range(a, 7), *range(0, b + 1)))
    start, end = _minutes(match["start"]), _minutes(match["end"])
    if end <= start:
        raise ValueError(f"{text!r}: the window ends before it starts (write a window that "
                         "crosses midnight as two)")
    return Window(frozenset(days), start, end, text.strip())


def in_windows(windows: tuple[Window, ...], now: datetime, zone: tzinfo = timezone.utc) -> bool:
    """Healing is allowed at ``now``: no windows (always), or inside one of them."""
    if not windows:
        return True
    local = now.astimezone(zone)
    return any(w.contains(local) for w in windows)


@dataclass(frozen=True)
class BackoffPolicy:
    base: float = 2.0
    factor: float = 3.0
    cap: float = 300.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed heals in a row (0 after none)."""
        if failures <= 0:
            return 0.0
        return min(self.cap, self.base * self.factor ** (failures - 1))


_STAMP = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class HealCap:
    """At most ``per_hour`` heals of one deployment in any sliding hour, counted from the
    heal times the state records (``State.agent_heals``: UTC times as text), so the cap holds
    across a restart, a crash or a takeover by another agent."""

    per_hour: int

    @staticmethod
    def recent(stamps: tuple[str, ...], now: float) -> list[str]:
        """The heal times of the last hour (unreadable ones dropped)."""
        kept = []
        for stamp in stamps:
            try:
                moment = datetime.strptime(stamp, _STAMP).replace(tzinfo=timezone.utc)
            except ValueError:
                continue
            if moment.timestamp() > now - 3600.0:
                kept.append(stamp)
        return kept

    def allows(self, heals: Mapping[str, tuple[str, ...]], name: str, now: float) -> bool:
        return len(self.recent(heals.get(name, ()), now)) < self.per_hour

    def record(self, heals: Mapping[str, tuple[str, ...]], names: list[str],
               now: float) -> dict[str, tuple[str, ...]]:
        """``heals`` with a heal of each of ``names`` at ``now``, older than an hour dropped."""
        stamp = utc(now).strftime(_STAMP)
        out = {n: tuple(self.recent(t, now)) for n, t in heals.items()}
        for name in names:
            out[name] = (*out.get(name, ()), stamp)
        return {n: t for n, t in out.items() if t}


def jittered(interval: float, fraction: float, unit_random: float) -> float:
    """``interval`` ± ``fraction`` (``unit_random`` in [0, 1) from the caller's generator)."""
    return interval * (1.0 + fraction * (2.0 * unit_random - 1.0))


def utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, timezone.utc)


