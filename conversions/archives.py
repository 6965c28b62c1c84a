"""ZIP in and out, safely: members cannot escape their folder, and counts, sizes and ratios are capped."""

import zipfile
from pathlib import Path

from django.conf import settings

from conversions.converters.base import ConversionError, safe_name

CHUNK = 1 << 20


def zip_limits() -> dict:
    return {
        "max_members": settings.D2D_CONVERSIONS_ZIP_MAX_MEMBERS,
        "max_bytes": settings.D2D_CONVERSIONS_ZIP_MAX_BYTES,
        "max_ratio": settings.D2D_CONVERSIONS_ZIP_MAX_RATIO,
    }


def safe_extract(archive: Path, dest: Path, *, max_members: int, max_bytes: int, max_ratio: int) -> list[tuple[str, Path]]:
    """Extract regular files flat into ``dest``; returns (member name, path) pairs.

    Each member lands at a name we build (never the member's path), so nothing escapes
    ``dest``. Declared sizes are checked first, then the bytes actually written, since a
    crafted archive can lie about its sizes.
    """
    try:
        source = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise ConversionError(f"{archive.name}: not a ZIP archive") from exc
    with source:
        members = [info for info in source.infolist() if not info.is_dir()]
        if len(members) > max_members:
            raise ConversionError(f"ZIP has {len(members)} files; the limit is {max_members}")
        declared = sum(info.file_size for info in members)
        if declared > max_bytes:
            raise ConversionError(f"ZIP expands to {declared} bytes; the limit is {max_bytes}")
        dest.mkdir(parents=True, exist_ok=True)
        extracted, written = [], 0
        for index, info in enumerate(members):
            if info.compress_size and info.file_size / info.compress_size > max_ratio:
                raise ConversionError(f"ZIP member {info.filename!r} compresses more than {max_ratio}:1")
            target = dest / f"{index:05d}-{safe_name(info.filename)}"
            member_written = 0
            with source.open(info) as reader, open(target, "wb") as sink:
                while chunk := reader.read(CHUNK):
                    member_written += len(chunk)
                    written += len(chunk)
                    if written > max_bytes or member_written > max(info.compress_size, 1) * max_ratio:
                        raise ConversionError("ZIP expands beyond its limits")
                    sink.write(chunk)
            extracted.append((info.filename, target))
        return extracted


def write_zip(target: Path, files: list[tuple[str, Path]]) -> Path:
    """A ZIP of (member name, path) pairs; member names are made safe, one folder level at most."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True) as archive:
        for name, path in files:
            parts = [safe_name(part) for part in name.split("/") if part not in ("", ".", "..")]
            archive.write(path, "/".join(parts) or safe_name(path.name))
    return target
