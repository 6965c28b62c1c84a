"""File answers with Range support, and the absolute URLs results are published at."""

import re

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from conversions import files

CHUNK = 256 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def absolute_url(request, path: str) -> str:
    if settings.D2D_PUBLIC_URL:
        return settings.D2D_PUBLIC_URL + path
    return request.build_absolute_uri(path)


def _chunks(handle, start: int, length: int):
    try:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def stored_file_response(request, stored_name: str, *, filename: str, content_type: str, attachment: bool = True):
    """Serve a stored file; a single ``Range: bytes=a-b`` gets 206, an unsatisfiable one 416."""
    store = files.storage()
    size = store.size(stored_name)
    start, end, status = 0, size - 1, 200
    header = request.headers.get("Range", "").strip()
    match = RANGE.match(header) if header else None
    if header and match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        else:
            start, end = max(0, size - int(last)), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        status = 206
    length = max(0, end - start + 1)
    response = StreamingHttpResponse(_chunks(store.open(stored_name, "rb"), start, length), status=status, content_type=content_type)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Disposition"] = content_disposition_header(attachment, filename)
    return response


def primary_result(task):
    """The archive when there are several result files, else the single file."""
    results = list(task.results.all())
    archive = next((result for result in results if result.is_archive), None)
    if archive is not None:
        return archive
    return results[0] if results else None
