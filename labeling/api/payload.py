"""Reading 003's request bodies and query strings into typed values, with its "json error" wording."""

import re

from labeling import conf
from labeling.errors import AccessDenied, CreateTaskFail, JsonError
from labeling.formatter import formatter_clean, has_nul
from labeling.models import TaskType
from labeling.timefmt import parse_time

_INTEGER = re.compile(r"-?[0-9]{1,30}")  # int() refuses (ValueError) past 4300 digits
# The columns' ranges: PositiveIntegerField (size, goal) and the 64-bit OFFSET a page turns into.
MAX_COUNT = 2**31 - 1
MAX_OFFSET = 2**63 - 1


def nul_check(value, what: str = "the body") -> None:
    """PostgreSQL text and jsonb cannot hold U+0000: refuse it as bad input rather than fail to store it."""
    if has_nul(value):
        raise JsonError(f"{what} contains a NUL character (\\u0000), which cannot be stored")


def body_data(request) -> dict:
    """The object under "data"; a body sent without the wrapper is read as the object itself."""
    body = request.data
    if not isinstance(body, dict):
        raise JsonError('the body must be a JSON object: {"data": {...}}')
    if "data" in body:
        if not isinstance(body["data"], dict):
            raise JsonError('"data" must be a JSON object')
        nul_check(body["data"])
        return body["data"]
    nul_check(body)
    return body


def int_field(
    data: dict, name: str, *, required: bool = False, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise JsonError(f"{name} can not be null")
        return None
    if isinstance(value, bool):
        raise JsonError(f"{name} must be an integer")
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if not isinstance(value, int):
        raise JsonError(f"{name} must be an integer")
    if minimum is not None and value < minimum:
        raise JsonError(f"{name} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise JsonError(f"{name} must be at most {maximum}")
    return value


def text_field(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise JsonError(f"{name} must be a string")
    nul_check(value, name)
    return value


def time_field(data: dict, name: str):
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise JsonError(f"{name} must be a time string")
    try:
        return parse_time(value)
    except ValueError as exc:
        raise JsonError(f"{name}: {exc}") from None


def type_field(data: dict, *, required: bool) -> int | None:
    value = int_field(data, "type", required=required)
    if value is not None and value not in TaskType.values:
        raise JsonError("type must be 0 (annotation) or 1 (collection)")
    return value


def caller_check(request, data: dict, *, required: bool = False) -> None:
    """user_id in a body names the caller; the server acts as the authenticated user.

    0 (003's examples send it) and absence mean "me"; another user's id is refused,
    since nobody may publish, apply or commit as someone else.
    """
    user_id = int_field(data, "user_id", required=required)
    if user_id not in (None, 0) and user_id != request.user.pk:
        raise AccessDenied("user_id names another user")


def task_fields(data: dict, *, partial: bool) -> dict:
    """The task fields present in the body, typed; ``partial`` (PATCH) leaves out what was not sent."""
    fields: dict = {}
    if "type" in data or not partial:
        fields["type"] = type_field(data, required=True)
    if "name" in data or not partial:
        name = text_field(data, "name")
        if name is None or not name.strip():
            if partial:
                raise JsonError("name can not be null")
            raise CreateTaskFail("name can not be null")
        if len(name.strip()) > 200:
            raise JsonError("name is longer than 200 characters")
        fields["name"] = name.strip()
    if "description" in data:
        fields["description"] = text_field(data, "description") or ""
    if "size" in data or not partial:
        size = int_field(data, "size", minimum=1, maximum=MAX_COUNT)
        if size is None and partial:
            raise JsonError("size can not be null")
        fields["size"] = size if size is not None else 10
    if "goal" in data:
        fields["goal"] = int_field(data, "goal", minimum=1, maximum=MAX_COUNT)
    for name in ("start_time", "deadline"):
        if name in data:
            fields[name] = time_field(data, name)
    if "formatter" in data and not partial:
        fields["formatter"] = formatter_clean(data["formatter"])
    return fields


def page_params(query) -> tuple[int, int]:
    """003's 0-based pageNum and pageSize: 21 items, pageNum=1, pageSize=5 are items 6 to 10."""
    page_num = int_field(query, "pageNum", minimum=0)
    page_size = int_field(query, "pageSize", minimum=1)
    limit = conf.max_page_size()
    if page_size is not None and page_size > limit:
        raise JsonError(f"pageSize must be at most {limit}")
    return page_num or 0, page_size or 10


def page(queryset, query):
    page_num, page_size = page_params(query)
    start = page_num * page_size
    if start + page_size > MAX_OFFSET:
        raise JsonError("pageNum is too large")
    return queryset[start : start + page_size]
