"""E-mail (.eml via the standard library, .msg via extract-msg) with attachments as parts.

The first TEXT block holds the headers a reader cares about and the body; each attachment is
parsed as a file of its own and its blocks follow, tagged with ``part`` (its file name) and
``part_title``. An attachment that cannot be parsed becomes a note, never a failure.
"""

from __future__ import annotations

import dataclasses
import email
import email.utils
import mimetypes
from collections.abc import Iterable
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import extract_msg
from extract_msg.enums import AttachmentType

from ingest.errors import FileRejected, SkipFile
from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.encoding import decode_bytes, sniff_bom
from ingest.parsing.html_page import html_to_builder
from ingest.parsing.markdown import BlockBuilder
from ingest.parsing.registry import parse_bytes
from rag.types import Block, ParsedFile

_ENCRYPTED = "The e-mail is encrypted (S/MIME or PGP); ingest a decrypted copy if its content should be searchable."
_HEADERS = ("From", "To", "Cc", "Date", "Subject")


@dataclasses.dataclass
class _Mail:
    """What both e-mail formats boil down to before becoming blocks."""

    headers: dict[str, str]
    plain: str | None
    html: str | None
    attachments: list[tuple[str, bytes]]
    notes: list[str]


def _assemble(mail: _Mail, ctx: ParseContext, fmt: str) -> ParsedFile:
    has_body = bool((mail.plain or "").strip() or (mail.html or "").strip())
    if not any(mail.headers.values()) and not has_body and not mail.attachments:
        raise SkipFile("The e-mail is empty (no headers, body or attachments); nothing was ingested.")
    builder = BlockBuilder()
    for name in _HEADERS:
        if mail.headers.get(name):
            builder.line(f"{name}: {mail.headers[name]}")
    builder.line("")
    if mail.plain and mail.plain.strip():
        builder.paragraph(mail.plain)
    elif mail.html:
        html_to_builder(mail.html, builder)
    blocks = builder.blocks()
    notes = list(mail.notes)
    for name, data in mail.attachments:
        blocks += _attachment_blocks(name, data, ctx, notes)
    return ParsedFile(
        title=pick_title(mail.headers.get("Subject"), fallback=ctx.stem),
        blocks=tuple(blocks),
        format=fmt,
        notes=tuple(notes),
    )


def _attachment_blocks(name: str, data: bytes, ctx: ParseContext, notes: list[str]) -> list[Block]:
    try:
        parsed = parse_bytes(name, data, ctx.options, depth=ctx.depth + 1)
    except FileRejected as e:
        notes.append(f"Attachment '{name}' was not ingested: {e.reason}")
        return []
    notes += [f"Attachment '{name}': {note}" for note in parsed.notes]
    if parsed.ocr_pages:
        notes.append(f"Attachment '{name}': pages {list(parsed.ocr_pages)} were OCRed.")
    return [
        dataclasses.replace(
            block,
            part=f"{name}/{block.part}" if block.part else name,
            part_title=block.part_title or parsed.title,
        )
        for block in parsed.blocks
    ]


# -- .eml ------------------------------------------------------------------------------------


def _load_eml(raw: bytes) -> EmailMessage:
    # The email package parses bytes as ASCII-compatible; a UTF-16/32 file must become str first.
    if sniff_bom(raw) or raw[:200].count(0) > 20:
        message = email.message_from_string(decode_bytes(raw), policy=policy.default)
    else:
        message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # guaranteed by policy.default
    return message


def _is_encrypted(message: Message) -> bool:
    content_type = message.get_content_type()
    if content_type == "multipart/encrypted":
        return True
    if content_type in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        return message.get_param("smime-type") != "signed-data"
    if not message.is_multipart():
        payload = message.get_payload(decode=True)
        return isinstance(payload, bytes) and payload.lstrip().startswith(b"-----BEGIN PGP MESSAGE-----")
    return False


def _text_of(part: Message) -> str:
    """Decoded text of a text/* part, surviving unknown or wrong charset labels."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload())
    return decode_bytes(payload, declared=part.get_content_charset())


def _body_parts(message: EmailMessage) -> tuple[str | None, str | None]:
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (
        _text_of(plain) if plain is not None else None,
        _text_of(html) if html is not None else None,
    )


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError):  # malformed header the policy cannot parse
        value = message.get_all(name, failobj=[""])[0] if name in message else ""
    return " ".join(str(value or "").split())


def _eml_attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for index, part in enumerate(message.iter_attachments(), start=1):
        content_type = part.get_content_type()
        if part.get_content_maintype() == "image" and part.get_content_disposition() == "inline":
            continue  # pictures in the body (logos, signatures), not documents
        name = part.get_filename()
        if content_type == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else part.get_payload()
            data = inner.as_bytes() if isinstance(inner, Message) else b""
            name = name or f"attached-message-{index}.eml"
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            name = name or f"attachment-{index}{mimetypes.guess_extension(content_type) or ''}"
        found.append((name, data))
    return found


def parse_eml(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse an RFC 822 e-mail (any encoding, UTF-16 included), attachments included.

    Raises:
        SkipFile: Encrypted (S/MIME, PGP) or empty.
    """
    message = _load_eml(path.read_bytes())
    if _is_encrypted(message):
        raise SkipFile(_ENCRYPTED)
    plain, html = _body_parts(message)
    mail = _Mail(
        headers={name: _header(message, name) for name in _HEADERS},
        plain=plain,
        html=html,
        attachments=_eml_attachments(message),
        notes=[],
    )
    return _assemble(mail, ctx, "eml")


# -- .msg ------------------------------------------------------------------------------------


def _msg_date(value: Any) -> str:
    if isinstance(value, datetime):
        return email.utils.format_datetime(value)
    return str(value or "")


def _msg_attachments(attachments: Iterable[Any], notes: list[str]) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for index, attachment in enumerate(attachments, start=1):
        name = (
            getattr(attachment, "longFilename", None)
            or getattr(attachment, "shortFilename", None)
            or getattr(attachment, "displayName", None)
            or f"attachment-{index}"
        )
        if attachment.type == AttachmentType.DATA and isinstance(attachment.data, bytes):
            if getattr(attachment, "hidden", False):
                continue  # inline pictures of the body
            found.append((name, attachment.data))
        else:
            notes.append(
                f"Attachment '{name}' was not ingested: attachments of this kind "
                f"({attachment.type.name.lower()}) are not supported."
            )
    return found


def parse_msg(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse an Outlook .msg message, attachments included.

    Embedded Outlook items (a .msg inside a .msg) are listed in the notes, not parsed.

    Raises:
        SkipFile: Encrypted (S/MIME) or rights-protected, or empty.
    """
    message = extract_msg.openMsg(str(path), strict=False)
    try:
        class_type = (message.classType or "").lower()
        if class_type.endswith(".smime") or "rpmsg" in class_type:
            raise SkipFile(_ENCRYPTED)
        html_body = getattr(message, "htmlBody", None)
        notes: list[str] = []
        mail = _Mail(
            headers={
                "From": str(getattr(message, "sender", "") or ""),
                "To": str(getattr(message, "to", "") or ""),
                "Cc": str(getattr(message, "cc", "") or ""),
                "Date": _msg_date(getattr(message, "date", None)),
                "Subject": str(getattr(message, "subject", "") or ""),
            },
            plain=getattr(message, "body", None),
            html=decode_bytes(html_body) if isinstance(html_body, bytes) else None,
            attachments=_msg_attachments(message.attachments, notes),
            notes=notes,
        )
    finally:
        message.close()
    return _assemble(mail, ctx, "msg")
