"""Vendor Mermaid into the docs: ``docs/javascripts/mermaid.min.js`` from the npm package, pinned.

mkdocs-material draws Mermaid diagrams with a global ``mermaid`` when the page has one, and
loads it from a CDN otherwise; shipping the script makes the site work offline. This
fetches the pinned version with ``npm pack``, checks the tarball against the registry's
integrity hash pinned here, and copies the built script and its licence into the docs.

    python scripts/vendor_mermaid.py

To move to another version, change VERSION and INTEGRITY (``npm view mermaid@X
dist.integrity``), run this, and update SHA256 (printed) so tests/test_docs.py agrees.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import tarfile
import tempfile
from pathlib import Path

VERSION = "11.17.2"  # mkdocs-material 9.x expects mermaid 11
INTEGRITY = "sha512-V6K3C8EBdEsPFZXSKMJe6ppQOENxuHARr9GvHX4hh47lAbhMRD9qf4oEK7LoaRQxULMa80/qt5gHO73aCleBBg=="
SHA256 = "581ed7d74bd9048d0e3a91363927d72ef22942d7722546b27f7cc29e35390eb8"  # of mermaid.min.js
DEST = Path(__file__).resolve().parent.parent / "docs" / "javascripts"


def main() -> int:
    """Fetch, check and copy; print the script's SHA-256."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"mermaid@{VERSION}", "--silent"], cwd=tmp, check=True)
        tarball = Path(tmp) / f"mermaid-{VERSION}.tgz"
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            raise SystemExit(f"integrity mismatch for mermaid@{VERSION}: {digest} != {INTEGRITY}")
        with tarfile.open(tarball) as tar:
            script = tar.extractfile("package/dist/mermaid.min.js")
            licence = tar.extractfile("package/LICENSE")
            assert script is not None
            assert licence is not None
            data = script.read()
            DEST.mkdir(parents=True, exist_ok=True)
            (DEST / "mermaid.min.js").write_bytes(data)
            (DEST / "mermaid.LICENSE.txt").write_bytes(licence.read())
    print(f"mermaid {VERSION}: sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
