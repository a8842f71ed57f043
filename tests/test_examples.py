"""Every program in examples/ runs (as a user would run it) and prints what it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PROGRAMS = sorted([*EXAMPLES.glob("*.py"), *EXAMPLES.glob("*/run.py")])
TIME_LIMIT = 60  # seconds; each takes one or two

# Key lines each program must print (a program listed with no lines only has to run).
EXPECTED: dict[str, tuple[str, ...]] = {
    "retail.py": (
        "app     Wang Fang   shop=sh-01 item=JEANS-32  -> team sh-01",
        "phone   call from +86 138 0000 0001 added to the app ticket",
        "Li Lei sees: 已分配给徐家汇店售后，预计",
        "ESCALATED '衬衫尺码不对' at Thu 10:10 to role:regional-manager-east",
        "Service quality report (2025-03):",
        "  sh-02  tickets 1",
    ),
    "hospital.py": (
        "stateDiagram-v2",
        "exam_result  Zhang San -> lab",
        "'exam': 'blood panel'",
        "reschedule   Li Si     -> outpatients",
        "exam_result  first reply: met      after 12m 00s",
        "reschedule   first reply: breached",
        "sla.escalated  'Please move my appointment to Friday' -> team:outpatients",
    ),
    "manufacturing.py": (
        "stock check for SEAL-KIT-4: {'part': 'SEAL-KIT-4', 'available': 0, 'in_stock': False}",
        "-> team production, due Tue 2025-03-11 09:00 (48 business hours)",
        "repair 'Press 4 leaks oil' is now 'waiting_parts'",
        "3 restock requests for 5 repairs",
        "resolution clock is paused",
        "after the restock the repair is 'repairing'",
        "fixed: 5 of 5 repairs",
        "hydraulic leak  3  60%  <- vital few",
    ),
    "import_csv.py": (
        "rows[2].opened: expected a time like",
        "rows[3].status: unknown status 'done'",
        "imported 12 tickets from legacy-tickets.csv (0 already there)",
        "importing the same file again: 0 imported, 12 skipped",
        "top categories: size 5",
        "XL-1009 continues in ticketkit: now 'resolved'",
    ),
    "json_desk/run.py": (
        "A broken desk.json is refused with 6 problems:",
        "router.rules[0].when.all[0].op: unknown operator 'equals'",
        "policies[1].targets.default.first_response: expected a duration",
        "workflows.support.transitions[0].dest: unknown state 'opened'",
        "Loaded 'after-sales': 3 SLA policies, 1 automation",
        "first reply to the size complaint due Sun 2025-01-26 10:00",
        "sla.escalated 'Gift card not delivered' -> role:service-manager",
    ),
    "json_file_store.py": (  # also a module (the custom-store how-to); tests/test_storage_example.py tests it
        "1 ticket file in the folder",
        "read back: 'Zip broke on day one' is 'resolved', version 4",
        "events: ticket.created, comment.added, status.changed, status.changed",
    ),
}


def _name(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


class TestExamples:
    def test_every_program_is_checked(self) -> None:
        """Each program in examples/ has its expected output listed here, and each listed one exists."""
        assert sorted(EXPECTED) == sorted(_name(p) for p in PROGRAMS)

    @pytest.mark.parametrize("program", PROGRAMS, ids=_name)
    def test_runs_and_prints_its_key_lines(self, program: Path, tmp_path: Path) -> None:
        """The program exits 0 within the time limit, from a scratch folder, printing its key lines."""
        done = subprocess.run(
            [sys.executable, str(program)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=tmp_path,
            timeout=TIME_LIMIT,
            check=False,
        )
        assert (0, "") == (done.returncode, done.stderr)
        missing = [line for line in EXPECTED.get(_name(program), ()) if line not in done.stdout]
        assert [] == missing, done.stdout


class TestHowTosShowTheExamples:
    """The how-to pages show the examples' code verbatim, so the two never drift apart."""

    @staticmethod
    def blocks(page: str) -> list[str]:
        text = (ROOT / "docs" / "how-to" / page).read_text(encoding="utf-8")
        return re.findall(r"^```python[^\n]*\n(.*?)^```", text, re.DOTALL | re.MULTILINE)

    def test_json_desk_loader(self) -> None:
        """docs/how-to/json-configured-desk.md shows examples/json_desk/run.py's load_desk."""
        source = (EXAMPLES / "json_desk" / "run.py").read_text(encoding="utf-8")
        shown = next(b for b in self.blocks("json-configured-desk.md") if "def load_desk" in b)
        body = shown[shown.index("def load_desk") :]
        assert body in source

    def test_csv_importer(self) -> None:
        """docs/how-to/import-csv.md shows examples/import_csv.py's importer."""
        source = (EXAMPLES / "import_csv.py").read_text(encoding="utf-8")
        shown = next(b for b in self.blocks("import-csv.md") if "def import_csv" in b)
        body = shown[shown.index("# The spreadsheet's status words") :]
        assert body in source

    def test_sample_sheet(self) -> None:
        """The how-to's sheet is the start of examples/legacy-tickets.csv."""
        sheet = (EXAMPLES / "legacy-tickets.csv").read_text(encoding="utf-8")
        shown = next(b for b in self.blocks("import-csv.md") if "tickets.csv" in b and "write_text" in b)
        rows = shown.split('"""\\\n', 1)[1].split('"""', 1)[0]
        assert sheet.startswith(rows)
