"""Draw the business-time pictures in docs/images/ from real calendars (plain SVG, no plotting library).

Run: ``python docs/scripts/calendar_pictures.py`` (rewrites docs/images/calendar-*.svg).
Each row is one local date, 00:00 to 24:00 by the wall clock; bars are the open time the
calendar reports through ``open_intervals``, so the pictures show what the code does.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import ticketkit as tk

OUT = Path(__file__).resolve().parent.parent / "images"
LEFT, TOP, ROW, HOUR = 150, 46, 30, 26
WIDTH = LEFT + 24 * HOUR + 30


def _x(hours: float) -> float:
    return LEFT + hours * HOUR


def _hours(t: datetime, day: date) -> float:
    if t.date() > day:
        return 24.0
    return t.hour + t.minute / 60 + t.second / 3600


def draw(
    cal: tk.BusinessCalendar,
    first: date,
    days: int,
    title: str,
    *,
    notes: dict[date, str] | None = None,
    marks: list[tuple[datetime, str]] | None = None,
) -> str:
    """An SVG of ``days`` rows of the calendar's open time from ``first``."""
    tz = cal.tz
    notes = notes or {}
    height = TOP + days * ROW + 40
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">'
        ),
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{title}</text>',
    ]
    for h in range(0, 25, 3):
        out.append(f'<line x1="{_x(h)}" y1="{TOP - 8}" x2="{_x(h)}" y2="{TOP + days * ROW}" stroke="#ddd"/>')
        out.append(f'<text x="{_x(h)}" y="{TOP - 12}" text-anchor="middle" fill="#555">{h:02d}:00</text>')
    for row in range(days):
        day = first + timedelta(days=row)
        y = TOP + row * ROW
        label = day.strftime("%a %Y-%m-%d")
        out.append(f'<text x="8" y="{y + 19}">{label}</text>')
        note = notes.get(day)
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
        end = start + timedelta(days=1)
        for s, e in cal.open_intervals(start, end.replace(tzinfo=tz)):
            x1, x2 = _x(_hours(s, day)), _x(_hours(e, day))
            out.append(
                f'<rect x="{x1:.1f}" y="{y + 6}" width="{x2 - x1:.1f}" height="{ROW - 12}" fill="#3f51b5"/>'
            )
        for q in range(96):  # wall-clock quarter hours the clocks skip (spring forward)
            wall = datetime(day.year, day.month, day.day) + timedelta(minutes=15 * q)
            there = wall.replace(tzinfo=tz).astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)
            if there != wall:
                box = f'x="{_x(q / 4):.1f}" y="{y + 2}" width="{HOUR / 4:.1f}" height="{ROW - 4}"'
                out.append(f'<rect {box} fill="#ffcdd2"/>')
        if note:
            out.append(f'<text x="{_x(24) - 4}" y="{y + 19}" text-anchor="end" fill="#b71c1c">{note}</text>')
    for t, text in marks or []:
        local = t.astimezone(tz)
        row = (local.date() - first).days
        x, y = _x(_hours(local, local.date())), TOP + row * ROW
        line = f'x1="{x:.1f}" y1="{y + 2}" x2="{x:.1f}" y2="{y + ROW - 2}"'
        out.append(f'<line {line} stroke="#e65100" stroke-width="3"/>')
        out.append(f'<text x="{x + 5:.1f}" y="{y + ROW - 4}" fill="#e65100" font-weight="bold">{text}</text>')
    out.append(
        f'<text x="{LEFT}" y="{TOP + days * ROW + 24}" fill="#555">blue: open (local wall clock); '
        "orange: instants from the example</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    sh = ZoneInfo("Asia/Shanghai")
    cn = tk.BusinessCalendar(
        "Asia/Shanghai",
        {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
        holidays=tk.country_holidays("CN"),
    )
    start = datetime(2025, 1, 24, 17, tzinfo=sh)
    due = cn.add(start, timedelta(hours=2))
    (OUT / "calendar-cn-makeup.svg").write_text(
        draw(
            cn,
            date(2025, 1, 20),
            16,
            "Asia/Shanghai, mon-fri 09:00-12:00 + 13:00-18:00, China's holidays and make-up days",
            notes={
                date(2025, 1, 26): "make-up workday",
                date(2025, 1, 28): "Spring Festival",
                date(2025, 2, 3): "Spring Festival",
                date(2025, 2, 4): "Spring Festival",
                date(2025, 2, 8): "make-up workday",
            },
            marks=[(start, "start"), (due, "+2 h")],
        ),
        encoding="utf-8",
    )
    ny = ZoneInfo("America/New_York")
    night = tk.BusinessCalendar("America/New_York", {"daily": ["22:00-06:00"]})
    (OUT / "calendar-night-shift-dst.svg").write_text(
        draw(
            night,
            date(2025, 3, 7),
            4,
            "America/New_York, daily 22:00-06:00: the shift starting Sat 8 March lasts 7 hours",
            notes={date(2025, 3, 9): "02:00-03:00 skipped"},
            marks=[(datetime(2025, 3, 8, 22, tzinfo=ny), "start")],
        ),
        encoding="utf-8",
    )
    lunch = tk.BusinessCalendar(
        "UTC",
        {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
        overrides={"2025-12-31": ["09:00-13:00"]},
    )
    utc = ZoneInfo("UTC")
    (OUT / "calendar-override.svg").write_text(
        draw(
            lunch,
            date(2025, 12, 29),
            4,
            "An override: a half day on 31 December; 1 January is a plain Thursday here",
            notes={date(2025, 12, 31): "override 09:00-13:00"},
            marks=[
                (datetime(2025, 12, 31, 12, tzinfo=utc), "start"),
                (lunch.add(datetime(2025, 12, 31, 12, tzinfo=utc), timedelta(hours=2)), "+2 h"),
            ],
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
