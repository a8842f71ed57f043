"""Rewrite Sphinx roles in ``src/`` docstrings as Markdown cross-references the docs render.

``:class:`~ticketkit.Team``` becomes ``[`Team`][ticketkit.Team]`` (an mkdocstrings/autorefs
cross-reference) when the reference site documents that object, and plain ```Team``` when
it does not (so the strict docs build never meets a link it cannot resolve). Short targets
(``:meth:`from_dict```, ``:class:`Query```) are resolved against the enclosing class and
the public namespaces, in that order, and against the documented objects.

What the site documents is read from the ``objects.inv`` that mkdocstrings writes: by
default the script builds the site into a temporary folder first (needs the ``docs``
extra); ``--inventory`` names an ``objects.inv`` to use instead.

Idempotent: text without roles is left as it is, so it can be run again after merges.
Lines that grow past the project's line length are wrapped at a space (a Markdown
paragraph joins them again).

    python scripts/convert_sphinx_roles.py            # rewrite the files in src/
    python scripts/convert_sphinx_roles.py --check    # list leftover roles, exit 1 if any
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
LINE_LENGTH = 110
ROLE = re.compile(
    r":(?:py:)?(?P<role>class|meth|func|attr|mod|data|exc|obj|const|ref|term)"
    r":`(?P<body>[^`]+)`"
)
# reStructuredText's "\\ s" (or " s") after a role made a plural: Markdown needs no space.
PLURAL = re.compile(r"\0(?:\\\\ |\\ | )s\b")
QUOTES = '"' * 3
NAMESPACES = (
    "ticketkit",
    "ticketkit.storage",
    "ticketkit.analytics",
    "ticketkit.testing",
    "ticketkit.errors",
)


def read_inventory(path: Path) -> set[str]:
    """The object names a Sphinx-style ``objects.inv`` lists."""
    data = path.read_bytes()
    header_end = 0
    for _ in range(4):
        header_end = data.index(b"\n", header_end) + 1
    body = zlib.decompress(data[header_end:]).decode("utf-8")
    return {line.split(" ", 1)[0] for line in body.splitlines() if line.strip()}


def build_inventory() -> set[str]:
    """Build the site into a temporary folder and read its inventory."""
    with tempfile.TemporaryDirectory() as site:
        subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", site],
            cwd=ROOT,
            check=True,
        )
        return read_inventory(Path(site) / "objects.inv")


def public(names: Iterable[str]) -> set[str]:
    """The names whose every part is public (no ``_private`` module or member)."""
    return {n for n in names if not any(part.startswith("_") for part in n.split("."))}


def enclosing_classes(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, class name) for every class in the module."""
    return [
        (node.lineno, node.end_lineno or node.lineno, node.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    ]


def class_at(classes: list[tuple[int, int, str]], line: int) -> str | None:
    """The innermost class whose body holds ``line``."""
    inside = [c for c in classes if c[0] <= line <= c[1]]
    return min(inside, key=lambda c: c[1] - c[0])[2] if inside else None


def resolve(target: str, cls: str | None, known: set[str]) -> str | None:
    """The documented identifier ``target`` means, seen from class ``cls``; None if there is none."""
    target = target.strip().lstrip("~!.").removesuffix("()")
    candidates: list[str] = []
    if target.startswith("ticketkit."):
        candidates.append(target)
        # a private path spelled out: try the public name of its last part(s)
        tail = [p for p in target.split(".") if not p.startswith("_")][1:]
        for i in range(len(tail)):
            candidates.extend(f"{ns}.{'.'.join(tail[i:])}" for ns in NAMESPACES)
    else:
        if cls is not None:
            candidates.extend(f"{ns}.{cls}.{target}" for ns in NAMESPACES)
        candidates.extend(f"{ns}.{target}" for ns in NAMESPACES)
    for candidate in candidates:
        if candidate in known:
            return candidate
    # last resort: a single documented object whose name ends with the target
    ending = sorted(n for n in known if n.endswith("." + target))
    return ending[0] if len(ending) == 1 else None


def replacement(match: re.Match[str], cls: str | None, known: set[str]) -> str:
    """The Markdown for one role."""
    body = match.group("body").strip()
    title_target = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^<>]+)>", body)
    if title_target:
        title, target = title_target.group("title"), title_target.group("target")
    else:
        target = body
        shown = body.lstrip("!")
        title = shown.lstrip("~").rsplit(".", 1)[-1] if shown.startswith("~") else shown.lstrip("~")
    identifier = resolve(target, cls, known) if match.group("role") not in ("ref", "term") else None
    code = f"`{title}`"
    return f"[{code}][{identifier}]" if identifier else code


def _cut(line: str, limit: int) -> int | None:
    """The last space at or before ``limit`` outside code spans and links (None if none)."""
    indent = len(line) - len(line.lstrip())
    cut = None
    depth, code = 0, False
    for i, ch in enumerate(line[: limit + 1]):
        if ch == "`":
            code = not code
        elif ch == "[" and not code:
            depth += 1
        elif ch == "]" and not code:
            depth = max(0, depth - 1)
        elif ch == " " and not code and depth == 0 and i > indent:
            cut = i
    return cut


def _joinable(line: str, indent: str) -> bool:
    """True if ``line`` continues the paragraph of a line indented by ``indent``."""
    body = line.lstrip()
    return (
        bool(body)
        and line[: len(line) - len(body)] == indent
        and not body.startswith((">>>", "...", "- ", "* ", "#", "```", QUOTES, "'" * 3))
        and not re.match(r"\d+\. ", body)
        and not re.match(r"[\w*]+( \(.*\))?:( |$)", body)  # a Google-style item or section
        and QUOTES not in body
    )


def reflow(lines: list[str], limit: int = LINE_LENGTH) -> list[str]:
    """Carry the words of over-long lines onto the next line of the same paragraph (or a new one)."""
    out = list(lines)
    i = 0
    while i < len(out):
        line = out[i]
        cut = _cut(line, limit) if len(line) > limit else None
        if cut is None:
            i += 1
            continue
        head, rest = line[:cut].rstrip(), line[cut + 1 :].lstrip()
        indent = line[: len(line) - len(line.lstrip())]
        if line.lstrip().startswith("#"):
            indent += "# "
        elif re.match(r"\s*[\w*]+( \(.*\))?: ", head) and not head.lstrip().startswith(">>>"):
            indent += "    "  # a Google-style item ("name: text"): continue one level deeper
        out[i] = head
        if i + 1 < len(out) and QUOTES not in rest and _joinable(out[i + 1], indent):
            out[i + 1] = indent + rest + " " + out[i + 1].lstrip()
        else:
            out.insert(i + 1, indent + rest)
        i += 1
    return out


def convert_text(text: str, known: set[str]) -> str:
    """The module source with every role replaced."""
    if not ROLE.search(text):
        return text
    classes = enclosing_classes(ast.parse(text))
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    changed: set[int] = set()
    for index, line in enumerate(lines):
        if ROLE.search(line):
            cls = class_at(classes, index + 1)
            marked = ROLE.sub(lambda m, c=cls: replacement(m, c, known) + "\0", line)
            new = PLURAL.sub("s", marked).replace("\0", "")
            if len(new) > LINE_LENGTH and QUOTES in line:
                # a docstring's summary (or last) line keeps to one line: code, not links
                marked = ROLE.sub(lambda m: replacement(m, None, set()) + "\0", line)
                new = PLURAL.sub("s", marked).replace("\0", "")
            lines[index] = new
            changed.add(index)
    out: list[str] = []
    index = 0
    while index < len(lines):  # reflow a changed line with the lines that follow in its paragraph
        if index in changed and len(lines[index]) > LINE_LENGTH:
            end = index + 1
            indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
            item = re.match(r"\s*[\w*]+( \(.*\))?: ", lines[index])
            follow = indent + "    " if item else indent
            while QUOTES not in lines[end - 1] and end < len(lines) and _joinable(lines[end], follow):
                end += 1
            out.extend(reflow(lines[index:end]))
            index = end
        else:
            out.append(lines[index])
            index += 1
    return newline.join(out) + (newline if text.endswith("\n") else "")


def leftovers(paths: Iterable[Path]) -> list[str]:
    """``path:line: role`` for every Sphinx role still in the files."""
    found = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            found.extend(f"{path}:{number}: {m.group(0)}" for m in ROLE.finditer(line))
    return found


def main(argv: list[str] | None = None) -> int:
    """Convert (or with ``--check`` only list) the roles in ``src/``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list leftover roles; exit 1 if any")
    parser.add_argument("--inventory", type=Path, help="objects.inv of a built site (default: build one)")
    parser.add_argument("paths", nargs="*", type=Path, help="files to convert (default: src/**/*.py)")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(SRC.rglob("*.py"))
    if args.check:
        found = leftovers(paths)
        print("\n".join(found) or "no Sphinx roles left")
        return 1 if found else 0
    if not leftovers(paths):
        return 0
    known = public(read_inventory(args.inventory) if args.inventory else build_inventory())
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new = convert_text(text, known)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"converted {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
