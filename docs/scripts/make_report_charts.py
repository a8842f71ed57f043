"""Refresh the pictures and the sample of docs/how-to/monthly-report.md.

Runs the page's Python blocks (the same code the docs test runs) in a scratch folder,
copies the charts they save into ``docs/images/monthly-report-*.png``, and replaces the
sample between ``<!-- report:start -->`` and ``<!-- report:end -->`` with the beginning of
the report's Markdown. Run from anywhere: ``python docs/scripts/make_report_charts.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent.parent
PAGE = DOCS / "how-to" / "monthly-report.md"
IMAGES = DOCS / "images"
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
CHARTS = ("trend", "departments", "pareto", "csat")


SAMPLE = re.compile(r"(<!-- report:start -->\n)(.*?)(\n<!-- report:end -->)", re.DOTALL)


def sample_of(report: object) -> str:
    """The beginning of ``report``'s Markdown as the page shows it: up to the first shop's summary."""
    markdown = report.to_markdown(images={"trend": "../images/monthly-report-trend.png"})  # type: ignore[attr-defined]
    lines = markdown.splitlines()
    second_section = next(
        i for i, line in enumerate(lines) if line.startswith("## ") and i > 6 and "Overview" not in line
    )
    sample = "\n".join(lines[: second_section + 3])
    # headings inside the sample would clash with the page's own: push them down two levels
    return re.sub(r"^(#{1,4}) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", sample, flags=re.MULTILINE)


def sample_on_page(text: str) -> str:
    """The sample the page shows now."""
    found = SAMPLE.search(text)
    assert found is not None, "the page has no <!-- report:start --> ... <!-- report:end --> sample"
    return found.group(2)


def main() -> None:
    text = PAGE.read_text(encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "monthly_report_page"}
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            for i, block in enumerate(FENCE.findall(text)):
                exec(compile(block, f"{PAGE.name}[block {i}]", "exec"), namespace)
            IMAGES.mkdir(exist_ok=True)
            for name in CHARTS:
                shutil.copyfile(Path(tmp) / f"{name}.png", IMAGES / f"monthly-report-{name}.png")
        finally:
            os.chdir(here)
    sample = sample_of(namespace["report"])
    new = SAMPLE.sub(lambda m: m.group(1) + sample + m.group(3), text)
    PAGE.write_text(new, encoding="utf-8")
    print(f"wrote {len(CHARTS)} charts to {IMAGES} and the sample into {PAGE}")


if __name__ == "__main__":
    main()
