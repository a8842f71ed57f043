"""Open pages of the built docs in headless Chromium, offline, and check every Mermaid diagram is drawn.

    python scripts/check_mermaid_browser.py SITE_DIR [--chromium /usr/bin/chromium]

Serves SITE_DIR on 127.0.0.1, starts Chromium headless with the network blocked (every
host name resolves to nothing except 127.0.0.1, and any other address goes to a dead
proxy), opens the tutorial and the custom-workflow how-to, and waits until each page
holds as many rendered ``<svg>`` diagrams as its Markdown has ``mermaid`` fences; then
searches the site for a Chinese word (调休) and expects results.
mkdocs-material draws each diagram into a closed shadow root, so the DOM is read over the
DevTools protocol with ``pierce``; the WebSocket client is a few lines of the stdlib.

Exits 0 when every diagram is drawn and the pages asked for nothing off this machine;
1 otherwise (and when Chromium is missing: CI must not skip this check).
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"tutorial/": "docs/tutorial/index.md", "how-to/custom-workflow/": "docs/how-to/custom-workflow.md"}
FLAGS = [
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",  # anything not on loopback goes nowhere
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


class DevTools:
    """A minimal DevTools-protocol client over one WebSocket (text frames, client-masked)."""

    def __init__(self, url: str) -> None:
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        if m is None:
            raise ValueError(f"not a DevTools WebSocket URL: {url!r}")
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {m.group(3)} HTTP/1.1\r\nHost: {m.group(1)}:{m.group(2)}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"DevTools refused the WebSocket: {head[:200]!r}")
        self.buffer = head.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _frame(self) -> tuple[int, bytes]:
        b1, b2 = self._read(2)
        length = b2 & 0x7F
        if length == 126:
            length = struct.unpack(">H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", self._read(8))[0]
        return b1, self._read(length)

    def _message(self) -> dict[str, Any]:
        parts = []
        while True:
            b1, payload = self._frame()
            parts.append(payload)
            if b1 & 0x80:  # FIN
                message: dict[str, Any] = json.loads(b"".join(parts))
                return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self.next_id += 1
        payload = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)
        while True:
            message = self._message()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)


def rendered_diagrams(node: dict[str, Any], in_mermaid: bool = False) -> int:
    """How many <svg> elements sit directly in the shadow root of a div.mermaid."""
    count = 0
    is_mermaid = node.get("nodeName") == "DIV" and "mermaid" in dict(
        zip(node.get("attributes", [])[::2], node.get("attributes", [])[1::2], strict=True)
    ).get("class", "")
    for root in node.get("shadowRoots", []):
        for child in root.get("children", []):
            if is_mermaid and child.get("nodeName", "").lower() == "svg":
                count += 1
    for child in node.get("children", []):
        count += rendered_diagrams(child, in_mermaid)
    return count


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    """The site on 127.0.0.1, on a free port, in a daemon thread."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def check(site: Path, chromium: str, timeout: float = 60.0) -> list[str]:
    """The problems found (empty when every diagram is drawn offline)."""
    server, port = serve(site)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            ws_url = None
            assert proc.stderr is not None
            deadline = time.monotonic() + timeout
            while ws_url is None and time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line and proc.poll() is not None:
                    return [f"chromium exited with status {proc.returncode} before DevTools listened"]
                m = re.search(r"DevTools listening on (ws://\S+)", line)
                ws_url = m.group(1) if m else None
            if ws_url is None:
                return ["chromium did not start DevTools in time"]
            debug_port = int(re.search(r":(\d+)/", ws_url).group(1))  # type: ignore[union-attr]
            with urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json/list", timeout=30) as resp:
                targets = json.load(resp)
            page = next(t for t in targets if t.get("type") == "page")
            tools = DevTools(page["webSocketDebuggerUrl"])
            tools.call("Network.enable")
            tools.call("Page.enable")
            for path, source in PAGES.items():
                text = (ROOT / source).read_text(encoding="utf-8")
                expected = len(re.findall(r"^```mermaid$", text, re.MULTILINE))
                url = f"http://127.0.0.1:{port}/{path}"
                tools.call("Page.navigate", url=url)
                found = -1
                end = time.monotonic() + timeout
                while time.monotonic() < end:
                    doc = tools.call("DOM.getDocument", depth=-1, pierce=True)
                    found = rendered_diagrams(doc["root"])
                    if found >= expected:
                        break
                    time.sleep(0.5)
                status = "ok" if found == expected and expected > 0 else "FAILED"
                print(f"{status}: {path}: {found} of {expected} Mermaid diagrams drawn as SVG")
                if status != "ok":
                    problems.append(f"{path}: {found} of {expected} diagrams drawn")
            # Search, offline, finds a Chinese word (cut by jieba at build time).
            tools.call("Page.navigate", url=f"http://127.0.0.1:{port}/?q=%E8%B0%83%E4%BC%91")  # 调休
            hits = 0
            end = time.monotonic() + timeout
            while time.monotonic() < end and hits == 0:
                time.sleep(0.5)
                found_js = tools.call(
                    "Runtime.evaluate",
                    expression="document.querySelectorAll('.md-search-result__item').length",
                    returnByValue=True,
                )
                hits = int(found_js["result"].get("value") or 0)
            print(f"{'ok' if hits else 'FAILED'}: search for 调休: {hits} result(s)")
            if not hits:
                problems.append("search finds nothing for 调休")
            external = sorted(
                {
                    e["params"]["request"]["url"]
                    for e in tools.events
                    if e.get("method") == "Network.requestWillBeSent"
                    and not e["params"]["request"]["url"].startswith(
                        (f"http://127.0.0.1:{port}/", "data:", "blob:", "about:")
                    )
                }
            )
            problems.extend(f"the page asked for {u} (off this machine)" for u in external)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            server.shutdown()
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the site; print what was found."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the built site (mkdocs build --site-dir)")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"))
    args = parser.parse_args(argv)
    chromium = shutil.which(args.chromium)
    if chromium is None:
        print(f"error: no {args.chromium!r} browser found (apt-get install chromium)", file=sys.stderr)
        return 1
    problems = check(args.site, chromium)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
