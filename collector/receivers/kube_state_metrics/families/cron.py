"""The next activation of a CronJob schedule, as kube_cronjob_next_schedule_time computes it
(robfig/cron's ParseStandard + Schedule.Next): five fields (minute hour day-of-month month
day-of-week) with names, ranges, lists and steps, the @yearly... descriptors and @every, and an
optional CRON_TZ=/TZ= prefix (KSM adds CRON_TZ=<spec.timeZone>)."""
from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

_MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
# (min, max, names) per field, in ParseStandard's order.
_FIELDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 6, _DAYS))
_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                "@hourly": "0 * * * *"}
_EVERY = re.compile(r"^@every\s+(.+)$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _value(text: str, names: dict) -> int:
    v = names.get(text.lower())
    if v is not None:
        return v
    if not text.isdigit():
        raise ValueError(f"invalid cron value {text!r}")
    return int(text)


def _field(text: str, lo: int, hi: int, names: dict) -> tuple[set[int], bool]:
    """(allowed values, star): star when the field is * or ? (robfig's starBit)."""
    out: set[int] = set()
    star = False
    for part in text.split(","):
        rng, sep, step_text = part.partition("/")
        if sep and not step_text.isdigit():
            raise ValueError(f"invalid cron step {part!r}")
        step = int(step_text) if step_text else 1
        if step <= 0:
            raise ValueError(f"invalid cron step {part!r}")
        if rng in ("*", "?"):
            start, end = lo, hi
            star = star or step == 1  # robfig drops the star bit only for a step > 1
        elif "-" in rng:
            a, b = rng.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(rng, names)
            end = hi if step_text else start  # "a/n" means a-max/n
        if not lo <= start <= end <= hi:
            raise ValueError(f"cron value out of range in {part!r}")
        out.update(range(start, end + 1, step))
    return out, star


class Schedule:
    def __init__(self, spec: str):
        spec = spec.strip()
        self.tz: datetime.tzinfo = datetime.timezone.utc
        if spec.startswith(("CRON_TZ=", "TZ=")):
            tz, _, spec = spec.partition(" ")
            self.tz = ZoneInfo(tz.split("=", 1)[1])
            spec = spec.strip()
        self.every: float | None = None
        m = _EVERY.match(spec)
        if m:
            parts = _DURATION.findall(m.group(1))
            if not parts or "".join(a + b for a, b in parts) != m.group(1).strip():
                raise ValueError(f"invalid @every duration {m.group(1)!r}")
            self.every = max(1.0, float(int(sum(float(a) * _UNIT[b] for a, b in parts))))
            return
        spec = _DESCRIPTORS.get(spec.lower(), spec)
        fields = spec.split()
        if len(fields) != 5:
            raise ValueError(f"expected 5 cron fields, got {len(fields)} in {spec!r}")
        parsed = [_field(f, lo, hi, names) for f, (lo, hi, names) in zip(fields, _FIELDS)]
        (self.minutes, _), (self.hours, _), (self.dom, self.dom_star), (self.months, _), \
            (self.dow, self.dow_star) = parsed

    def _day_ok(self, d: datetime.datetime) -> bool:
        dom, dow = d.day in self.dom, (d.isoweekday() % 7) in self.dow
        # robfig: both restricted -> either matches; otherwise both must.
        return dom and dow if (self.dom_star or self.dow_star) else dom or dow

    def next(self, after: float) -> float | None:
        """The first activation strictly after `after` (unix seconds); None within 5 years."""
        if self.every is not None:
            return float(int(after) + int(self.every))  # ConstantDelaySchedule, whole seconds
        t = datetime.datetime.fromtimestamp(int(after) + 1, self.tz).replace(tzinfo=None)
        if t.second:
            t = t.replace(second=0) + datetime.timedelta(minutes=1)
        limit = t.year + 5
        while t.year <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + datetime.timedelta(days=32)).replace(day=1)
                continue
            if not self._day_ok(t):
                t = t.replace(hour=0, minute=0) + datetime.timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + datetime.timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += datetime.timedelta(minutes=1)
                continue
            return t.replace(tzinfo=self.tz).timestamp()
        return None
