"""The `Attachment` value: a file on a comment or a message, its metadata and blob key.

It lives in the core so a `Comment` can carry attachments; its one public path is
``ticketkit.channels.Attachment`` (the channels re-export it), where the messages that
bring files in are made.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

from ticketkit.errors import ErrorDetail, ValidationError

__all__ = ["Attachment"]

_SHA256: Final = re.compile(r"^[0-9a-f]{64}$")


def _text(p: list[ErrorDetail], path: str, value: object, limit: int, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not isinstance(value, str):
        p.append(ErrorDetail(path, f"expected a string, got {value!r}"))
    elif not value.strip():
        p.append(ErrorDetail(path, "must not be empty"))
    elif len(value) > limit:
        p.append(ErrorDetail(path, f"is {len(value)} characters long; the limit is {limit}"))


@attrs.frozen(kw_only=True)
class Attachment:
    """A file that came with a message: its metadata and where its bytes are stored.

    ``sha256`` is the hex digest of the bytes (64 lower-case hex digits) and, in a
    `BlobStore`, also their key; ``storage_key`` is None while the bytes are not stored.
    ``inline`` marks images shown in the body (``content_id`` is what the HTML refers to
    as ``cid:...``). Comments carry attachments too (``Comment.attachments``).

    Examples:
        >>> import hashlib
        >>> a = Attachment(
        ...     name="发票.pdf",
        ...     content_type="application/pdf",
        ...     size=3,
        ...     sha256=hashlib.sha256(b"pdf").hexdigest(),
        ... )
        >>> a.inline, a.storage_key
        (False, None)
    """

    name: str
    content_type: str
    size: int
    sha256: str
    storage_key: str | None = None
    inline: bool = False
    content_id: str | None = None

    def __attrs_post_init__(self) -> None:
        p: list[ErrorDetail] = []
        _text(p, "name", self.name, 255)
        _text(p, "content_type", self.content_type, 255)
        if isinstance(self.content_type, str) and self.content_type.strip() and "/" not in self.content_type:
            p.append(
                ErrorDetail(
                    "content_type", f"expected a MIME type such as 'image/png', got {self.content_type!r}"
                )
            )
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 0:
            p.append(ErrorDetail("size", f"expected a whole number >= 0, got {self.size!r}"))
        if not isinstance(self.sha256, str) or not _SHA256.match(self.sha256):
            p.append(ErrorDetail("sha256", f"expected 64 lower-case hex digits, got {self.sha256!r}"))
        _text(p, "storage_key", self.storage_key, 1024, optional=True)
        inline: object = self.inline
        if not isinstance(inline, bool):
            p.append(ErrorDetail("inline", f"expected true or false, got {inline!r}"))
        _text(p, "content_id", self.content_id, 998, optional=True)
        if p:
            raise ValidationError(p)
