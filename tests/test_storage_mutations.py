"""The contract suite catches every deliberately broken store in tests/broken_stores/.

One in-process pytest session runs the whole ``StoreContract`` against every broken
store and against the unmodified reference stores (the controls); then each broken
store must have failed at least one of the tests named as catching its bug, and the
controls must have failed none.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests.broken_stores import CONTROLS, SUBJECTS, Subject

_SHOW = os.environ.get("TICKETKIT_SHOW_MUTATIONS", "") not in ("", "0")
_RUN = Path(__file__).resolve().parent / "broken_stores" / "contract_run.py"


@attrs.define
class Verdicts:
    """What the inner session saw: failed tests and test counts per store, and its time."""

    failed: dict[str, set[str]] = attrs.Factory(lambda: defaultdict(set))
    ran: dict[str, int] = attrs.Factory(lambda: defaultdict(int))
    took: dict[str, float] = attrs.Factory(lambda: defaultdict(float))
    seconds: float = 0.0
    exit_code: int = -1

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
        outcome = yield
        report = outcome.get_result()  # type: ignore[attr-defined]
        name = item.callspec.params["subject"].name  # type: ignore[attr-defined]
        self.took[name] += report.duration
        if report.when == "call":
            self.ran[name] += 1
        if report.failed:
            self.failed[name].add(item.originalname)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> Verdicts:
    """Run the contract once over every broken store and every control."""
    found = Verdicts()
    started = time.perf_counter()
    found.exit_code = int(
        pytest.main(
            [
                str(_RUN),
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "addopts=",
                "--tb=no",
                "--no-header",
                "-p",
                "no:legacypath",
                f"--basetemp={tmp_path_factory.mktemp('mutations')}",
            ],
            plugins=[found],
        )
    )
    found.seconds = time.perf_counter() - started
    return found


class TestMutations:
    def test_there_are_enough_broken_stores(self) -> None:
        """At least 30 broken stores, each with its bug described and its catching tests named."""
        assert len(SUBJECTS) >= 30
        assert len({s.name for s in SUBJECTS}) == len(SUBJECTS)
        assert all(s.bug and s.caught_by for s in SUBJECTS)

    @pytest.mark.parametrize("control", CONTROLS, ids=lambda s: s.name)
    def test_the_unmodified_stores_pass(self, verdicts: Verdicts, control: Subject) -> None:
        """Run exactly like the broken stores, the reference stores fail no contract test."""
        assert verdicts.ran[control.name] > 80
        assert set() == verdicts.failed.get(control.name, set())

    @pytest.mark.parametrize("subject", SUBJECTS, ids=lambda s: s.name)
    def test_every_broken_store_is_caught(self, verdicts: Verdicts, subject: Subject) -> None:
        """The contract fails the broken store, in a test meant for its bug."""
        failed = verdicts.failed.get(subject.name, set())
        assert failed, f"{subject.name} ({subject.bug}) passed the whole contract"
        meant = {t for t in failed if any(part in t for part in subject.caught_by)}
        assert meant, f"{subject.name} ({subject.bug}) failed only {sorted(failed)}, not {subject.caught_by}"

    def test_report(self, verdicts: Verdicts, capsys: pytest.CaptureFixture[str]) -> None:
        """Print which tests caught each store and how long its contract run took (pytest -s shows it)."""
        with capsys.disabled():
            if verdicts.exit_code not in (0, 1):
                pytest.fail(f"the inner contract session could not run (exit code {verdicts.exit_code})")
            lines = [f"contract over {len(SUBJECTS) + len(CONTROLS)} stores: {verdicts.seconds:.1f}s"]
            for s in [*CONTROLS, *SUBJECTS]:
                caught = sorted(verdicts.failed.get(s.name, set()))
                lines.append(
                    f"  {s.name:40} {verdicts.took[s.name]:5.2f}s  {len(caught):2} failed  {caught[:3]}"
                )
            if _SHOW:
                print("\n" + "\n".join(lines))
