"""What every converter declares (a ConversionService, in the 000 contract's word), and the job its run function works on."""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from kernel.errors import DomainError, TaskFailed

STREAM, JSON, WEBSITE = "STREAM", "JSON", "WEBSITE"


class ConversionError(TaskFailed):
    """The input cannot be converted (bad file, unsupported format); the message is shown to the client.

    Another attempt cannot fix a bad input, so the runner fails the task at once.
    """


def safe_name(name: str, *, default: str = "file") -> str:
    """A client's file name reduced to one harmless path component (for result names and ZIP members)."""
    name = unicodedata.normalize("NFKC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\- ]", "_", name).strip(" .")
    name = re.sub(r"\.{2,}", ".", name)
    if not name:
        return default
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) <= 10:
        return f"{stem[:100]}.{ext}" if stem else f"{default}.{ext}"
    return name[:110]


def extension_of(name: str) -> str:
    """Lowercase extension without the dot ('' when there is none or it is not a plain word)."""
    _, dot, ext = safe_name(name).rpartition(".")
    ext = ext.lower()
    return ext if dot and re.fullmatch(r"[a-z0-9]{1,10}", ext) else ""


def replace_extension(name: str, ext: str) -> str:
    stem = safe_name(name)
    if extension_of(stem):
        stem = stem.rsplit(".", 1)[0]
    return f"{stem}.{ext}"


@dataclass
class InputFile:
    name: str
    path: Path
    attributes: dict = field(default_factory=dict)

    @property
    def extension(self) -> str:
        return extension_of(self.name)


@dataclass
class Output:
    name: str
    path: Path
    content_type: str


@dataclass
class Job:
    """One run of a converter: local input files in, files (or a JSON value) out, progress reported."""

    inputs: list[InputFile]
    params: dict
    out_dir: Path
    report: Callable[[float, str | None], None] = lambda fraction, text=None: None
    outputs: list[Output] = field(default_factory=list)
    json_result: Any = None
    website_entry: str | None = None

    def progress(self, fraction: float, text: str | None = None) -> None:
        """fraction is 0..1 of the conversion itself."""
        self.report(max(0.0, min(1.0, fraction)), text)

    def output_path(self, name: str, content_type: str = "application/octet-stream", *, folder: str = "") -> Path:
        """A fresh path in the output folder for a file called ``name`` (made safe and unique)."""
        base = safe_name(name)
        taken = {output.name for output in self.outputs}
        candidate, counter = base, 1
        prefix = f"{folder}/" if folder else ""
        while f"{prefix}{candidate}" in taken:
            stem, dot, ext = base.rpartition(".")
            candidate = f"{stem}-{counter}.{ext}" if dot else f"{base}-{counter}"
            counter += 1
        path = self.out_dir / folder / candidate if folder else self.out_dir / candidate
        path.parent.mkdir(parents=True, exist_ok=True)
        self.outputs.append(Output(f"{prefix}{candidate}", path, content_type))
        return path


@dataclass(frozen=True)
class ConversionService:
    name: str
    title: str
    version: str
    description: str
    params_schema: dict
    accepts: tuple[str, ...]
    run: Callable[[Job], None]
    result_type: str = STREAM
    attributes: tuple[str, ...] = ()
    result_type_for: Callable[[dict], str] | None = None

    def result_type_of(self, params: dict) -> str:
        return self.result_type_for(params) if self.result_type_for else self.result_type

    def validate_params(self, params: Any) -> dict:
        """Check params against the schema (DomainError naming the parameter) and fill in defaults."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise DomainError("params must be a JSON object", field="params")
        validator = jsonschema.Draft202012Validator(self.params_schema)
        error = next(iter(sorted(validator.iter_errors(params), key=lambda e: list(e.path))), None)
        if error is not None:
            where = ".".join(str(part) for part in error.path) or _unexpected_name(error) or "params"
            raise DomainError(f"{self.name}: parameter {where!r}: {error.message}", field=f"params.{where}")
        filled = dict(params)
        for name, spec in self.params_schema.get("properties", {}).items():
            if name not in filled and "default" in spec:
                filled[name] = spec["default"]
        return filled

    def describe(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "version": self.version,
            "description": self.description,
            "params_schema": self.params_schema,
            "accepts": list(self.accepts),
            "attributes": list(self.attributes),
            "result_type": self.result_type,
        }


def _unexpected_name(error) -> str | None:
    if error.validator == "additionalProperties":
        match = re.search(r"'([^']+)' was unexpected", error.message)
        return match.group(1) if match else None
    return None


# No NUL character (PostgreSQL cannot store one in JSON); the same regex in JSON Schema, OpenAPI and Python.
NO_NUL_PATTERN = "^[^\\u0000]*$"


def _no_nul(spec: dict) -> dict:
    kinds = spec.get("type")
    is_string = kinds == "string" or (isinstance(kinds, list) and "string" in kinds)
    if is_string and "enum" not in spec and "pattern" not in spec:
        return {**spec, "pattern": NO_NUL_PATTERN}
    return spec


def object_schema(properties: dict, required: tuple = ()) -> dict:
    """A service's params schema: only the named parameters; free-text ones cannot hold a NUL character."""
    properties = {name: _no_nul(spec) for name, spec in properties.items()}
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}
