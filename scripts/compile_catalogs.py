"""Compile the message catalogs: every ``.po`` under ``src/ticketkit/**/locales`` to its ``.mo``.

    python scripts/compile_catalogs.py          # write the .mo files
    python scripts/compile_catalogs.py --check  # exit 1 if a .mo is not the compiled .po

Uses Babel (in the ``test`` extra); the library reads the ``.mo`` files with the stdlib's
``gettext`` and needs nothing else at run time. Compilation is deterministic, so the
check compares bytes.
"""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def compiled(po: Path) -> bytes:
    """The ``.mo`` bytes for one ``.po`` file."""
    raw = po.read_bytes()
    catalog = read_po(io.BytesIO(raw), abort_invalid=True)
    # Babel stamps a missing date with the current time: fix it, so compiling is deterministic.
    if b"POT-Creation-Date:" not in raw:
        catalog.creation_date = EPOCH
    if b"PO-Revision-Date:" not in raw:
        catalog.revision_date = EPOCH
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def catalogs(root: Path = ROOT / "src") -> list[Path]:
    """Every ``.po`` file in the package."""
    return sorted(root.rglob("locales/*/LC_MESSAGES/*.po"))


def main(argv: list[str] | None = None) -> int:
    """Compile (or check) every catalog."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the .mo files are up to date")
    args = parser.parse_args(argv)
    stale = []
    for po in catalogs():
        mo = po.with_suffix(".mo")
        data = compiled(po)
        if args.check:
            if not mo.exists() or mo.read_bytes() != data:
                stale.append(mo)
        elif not mo.exists() or mo.read_bytes() != data:
            mo.write_bytes(data)
            print(f"compiled {mo.relative_to(ROOT)}")
    for mo in stale:
        print(f"out of date: {mo.relative_to(ROOT)} (run python scripts/compile_catalogs.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
