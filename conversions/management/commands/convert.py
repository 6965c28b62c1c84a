"""manage.py convert SERVICE FILE... --param k=v --out DIR: run a conversion service in the foreground."""

import json
import shutil
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from conversions.archives import safe_extract, zip_limits
from conversions.converters import all_services, service_get
from conversions.converters.base import ConversionError, InputFile, Job
from kernel.errors import DomainError


def parse_param(text: str) -> tuple[str, object]:
    """k=v; v is read as JSON when it parses (numbers, booleans, lists), else kept as a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise CommandError(f"--param takes key=value, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


class Command(BaseCommand):
    help = "Convert local files with a conversion service, showing a progress bar. Services: " + ", ".join(sorted(all_services()))

    def add_arguments(self, parser):
        parser.add_argument("service")
        parser.add_argument("files", nargs="+")
        parser.add_argument("--param", action="append", default=[], help="a service parameter, key=value (repeatable)")
        parser.add_argument("--out", default=".", help="folder for the results (default: here)")

    def handle(self, *args, service, files, param, out, **options):
        try:
            declared = service_get(service)
            params = declared.validate_params(dict(parse_param(item) for item in param))
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="d2d-convert-"))
        try:
            inputs = []
            for name in files:
                path = Path(name)
                if not path.is_file():
                    raise CommandError(f"{name}: no such file")
                if path.suffix.lower() == ".zip" and "zip" not in declared.accepts:
                    inputs += [InputFile(member, extracted) for member, extracted in safe_extract(path, scratch / path.stem, **zip_limits())]
                else:
                    inputs.append(InputFile(path.name, path))
            (scratch / "out").mkdir()
            with tqdm(total=100, unit="%", desc=declared.name, disable=options["verbosity"] == 0) as bar:

                def report(fraction, text=None):
                    bar.update(round(fraction * 100) - bar.n)
                    if text:
                        bar.set_postfix_str(text[:60])

                job = Job(inputs, params, scratch / "out", report=report)
                declared.run(job)
                bar.update(100 - bar.n)
            written = self._write(job, out_dir)
        except ConversionError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for path in written:
            self.stdout.write(str(path))

    def _write(self, job: Job, out_dir: Path) -> list[Path]:
        written = []
        if job.json_result is not None:
            target = out_dir / "result.json"
            target.write_text(json.dumps(job.json_result, ensure_ascii=False, indent=2))
            written.append(target)
        for output in job.outputs:
            target = out_dir / output.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(output.path, target)
            written.append(target)
        return written
