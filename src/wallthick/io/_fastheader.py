"""A minimal reader for the common case of CT slice headers, for fast discovery.

Handles Part 10 files whose dataset is explicit VR little endian (uncompressed
or any encapsulated syntax) and whose text is ASCII, Latin-1 or UTF-8. It
collects the top-level elements before the pixel data as raw bytes and decodes
only the few values discovery needs. Anything else (implicit VR, big endian,
deflate, other character sets, multi-frame functional groups, any
inconsistency) returns ``None`` and the caller falls back to pydicom.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from pydicom.datadict import tag_for_keyword

__all__ = ["RawHeader", "parse_header", "EXPLICIT_LE_SYNTAXES"]

_LONG_VRS = {
    b"OB",
    b"OW",
    b"OF",
    b"OD",
    b"OL",
    b"OV",
    b"SQ",
    b"UT",
    b"UN",
    b"UC",
    b"UR",
    b"SV",
    b"UV",
}
_BINARY = {b"UL", b"SL", b"SS", b"FD", b"AT", b"OF", b"OD", b"OL", b"OV", b"SV", b"UV"}
_META_VRS = {b"UL", b"OB", b"UI", b"SH", b"AE"}
_PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_MAX_DEPTH = 16
_CHARSETS = {"": "ascii", "ISO_IR 6": "ascii", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
_TS_TAG = 0x00020010
_CHARSET_TAG = 0x00080005
_HEADER = struct.Struct("<HH2s")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_TAG_LEN = struct.Struct("<II")

#: Transfer syntaxes whose dataset is explicit VR little endian (not deflated).
EXPLICIT_LE_SYNTAXES = {
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
    "1.2.840.10008.1.2.5",
}


class _Truncated(Exception):
    """The buffer ends inside the header."""


class _Unsupported(Exception):
    """Something this reader does not handle: fall back to pydicom."""


@dataclass(frozen=True)
class RawHeader:
    """Top-level elements before the pixel data: tag -> (VR, value bytes)."""

    transfer_syntax: str
    media_sop_class: str
    elements: dict[int, tuple[bytes, bytes]]
    has_pixel_data: bool
    encoding: str

    def get(self, keyword: str, default: Any = None) -> Any:
        """pydicom-like access: str, list of str (multiple values), int (US), float (FL)."""
        tag = tag_for_keyword(keyword)
        found = self.elements.get(tag) if tag is not None else None
        if found is None or tag is None:
            return default
        vr, raw = found
        if vr == b"US":
            return self.u16(tag)
        if vr == b"FL":
            return self.f32(tag)
        if vr in (b"SQ", b"OB", b"OW", b"UN") or vr in _BINARY:
            return default
        text = raw.decode(self.encoding, errors="replace").strip("\x00 ")
        return [v.strip("\x00 ") for v in text.split("\\")] if "\\" in text else text

    def __contains__(self, keyword: str) -> bool:
        tag = tag_for_keyword(keyword)
        return tag is not None and tag in self.elements

    def text(self, tag: int) -> str | None:
        """The value as text (multiple values joined by backslash), or None."""
        found = self.elements.get(tag)
        if found is None:
            return None
        return found[1].decode(self.encoding, errors="replace").strip("\x00 ")

    def u16(self, tag: int) -> int | None:
        found = self.elements.get(tag)
        if found is None or found[0] != b"US" or len(found[1]) != 2:
            return None
        return int(_U16.unpack(found[1])[0])

    def f32(self, tag: int) -> float | None:
        found = self.elements.get(tag)
        if found is None or found[0] != b"FL" or len(found[1]) != 4:
            return None
        return float(struct.unpack("<f", found[1])[0])


def parse_header(buffer: bytes, complete: bool) -> RawHeader | None:
    """Parse ``buffer`` (the start of a file, or all of it when ``complete``).

    Returns ``None`` when pydicom must be used instead; raises nothing.
    """
    try:
        return _parse(buffer, complete)
    except (_Unsupported, _Truncated, struct.error, UnicodeDecodeError, IndexError):
        return None


def _parse(buf: bytes, complete: bool) -> RawHeader:
    if len(buf) < 132 or buf[128:132] != b"DICM":
        raise _Unsupported
    meta, pos = _read_elements(buf, 132, only_group=0x0002)
    ts = meta.get(_TS_TAG, (b"", b""))[1].decode("ascii").strip("\x00 ")
    if ts not in EXPLICIT_LE_SYNTAXES:
        raise _Unsupported
    sop = meta.get(0x00020002, (b"", b""))[1].decode("ascii").strip("\x00 ")
    elements: dict[int, tuple[bytes, bytes]] = {}
    has_pixels = False
    end = len(buf)
    last = -1
    while pos < end:
        if pos + 8 > end:
            raise _Truncated
        group, elem, vr = _HEADER.unpack_from(buf, pos)
        tag = group << 16 | elem
        if tag in _PIXEL_TAGS:
            has_pixels = True
            break
        if group == 0x0002 or tag <= last:
            raise _Unsupported  # meta in the body, or tags out of order
        last = tag
        value, pos = _read_value(buf, pos, vr, 0)
        elements[tag] = (vr, b"" if value is None else value)
    else:
        if not complete:
            raise _Truncated
    charset = elements.get(_CHARSET_TAG, (b"", b""))[1].decode("ascii").strip("\x00 ")
    if charset not in _CHARSETS:
        raise _Unsupported
    return RawHeader(ts, sop, elements, has_pixels, _CHARSETS[charset])


def _read_elements(
    buf: bytes, pos: int, only_group: int
) -> tuple[dict[int, tuple[bytes, bytes]], int]:
    out: dict[int, tuple[bytes, bytes]] = {}
    while pos + 8 <= len(buf):
        group, elem, vr = _HEADER.unpack_from(buf, pos)
        if group != only_group:
            return out, pos
        if vr not in _META_VRS:
            raise _Unsupported
        value, pos = _read_value(buf, pos, vr, 0)
        if value is not None:
            out[group << 16 | elem] = (vr, value)
    raise _Truncated


def _read_value(buf: bytes, pos: int, vr: bytes, depth: int) -> tuple[bytes | None, int]:
    """Value of the explicit-VR element at ``pos``; sequences are skipped (None)."""
    if not vr.isalpha() or not vr.isupper():
        raise _Unsupported
    if vr in _LONG_VRS:
        if pos + 12 > len(buf):
            raise _Truncated
        length = _U32.unpack_from(buf, pos + 8)[0]
        start = pos + 12
    else:
        length = _U16.unpack_from(buf, pos + 6)[0]
        start = pos + 8
    if length == _UNDEFINED:
        if vr not in (b"SQ", b"UN", b"OB"):
            raise _Unsupported
        if vr != b"SQ":
            raise _Unsupported  # undefined-length UN/OB outside pixel data: leave it to pydicom
        return None, _skip_sequence(buf, start, depth + 1)
    stop = start + length
    if stop > len(buf):
        raise _Truncated
    return (None if vr == b"SQ" else buf[start:stop]), stop


def _skip_sequence(buf: bytes, pos: int, depth: int) -> int:
    """Position after an undefined-length sequence starting at ``pos``."""
    if depth > _MAX_DEPTH:
        raise _Unsupported
    while True:
        if pos + 8 > len(buf):
            raise _Truncated
        tag_hi_lo, length = _TAG_LEN.unpack_from(buf, pos)
        tag = (tag_hi_lo & 0xFFFF) << 16 | tag_hi_lo >> 16
        pos += 8
        if tag == _SEQ_END:
            return pos
        if tag != _ITEM:
            raise _Unsupported
        if length != _UNDEFINED:
            pos += length
            continue
        pos = _skip_item(buf, pos, depth)


def _skip_item(buf: bytes, pos: int, depth: int) -> int:
    """Position after an undefined-length item (its elements, then the delimiter)."""
    while True:
        if pos + 8 > len(buf):
            raise _Truncated
        group, elem, vr = _HEADER.unpack_from(buf, pos)
        if (group << 16 | elem) == _ITEM_END:
            return pos + 8
        _, pos = _read_value(buf, pos, vr, depth)
