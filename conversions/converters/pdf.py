"""PDF: merge several into one, split into pages, or extract the text (pypdf)."""

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from conversions.converters.base import ConversionError, ConversionService, Job, object_schema, replace_extension, safe_name


def _reader(item) -> PdfReader:
    try:
        reader = PdfReader(item.path)
        if reader.is_encrypted:
            raise ConversionError(f"{item.name}: encrypted PDFs are not supported")
        return reader
    except (PdfReadError, ValueError, OSError) as exc:
        raise ConversionError(f"{item.name}: not a readable PDF ({exc})") from exc


def run(job: Job) -> None:
    operation = job.params["operation"]
    total = len(job.inputs)
    if operation == "merge":
        writer = PdfWriter()
        for index, item in enumerate(job.inputs):
            writer.append(_reader(item))
            job.progress((index + 1) / total * 0.9, f"added {item.name}")
        with open(job.output_path(job.params["output_name"], "application/pdf"), "wb") as handle:
            writer.write(handle)
        return
    for index, item in enumerate(job.inputs):
        reader = _reader(item)
        if operation == "split":
            stem = safe_name(item.name).rsplit(".", 1)[0]
            for number, page in enumerate(reader.pages, start=1):
                writer = PdfWriter()
                writer.add_page(page)
                with open(job.output_path(f"{stem}-page-{number:04d}.pdf", "application/pdf"), "wb") as handle:
                    writer.write(handle)
        else:
            text = "\n\f\n".join((page.extract_text() or "").strip() for page in reader.pages)
            job.output_path(replace_extension(item.name, "txt"), "text/plain; charset=utf-8").write_text(text + "\n")
        job.progress((index + 1) / total, f"{operation}: {item.name} ({len(reader.pages)} pages)")


SERVICE = ConversionService(
    name="pdf",
    title="PDF merge, split and text extraction",
    version="1.0",
    description="merge: all inputs into one PDF in upload order; split: one PDF per page; text: the text of each PDF.",
    params_schema=object_schema(
        {
            "operation": {"type": "string", "enum": ["merge", "split", "text"], "default": "merge"},
            "output_name": {"type": "string", "minLength": 1, "maxLength": 100, "default": "merged.pdf"},
        }
    ),
    accepts=("pdf",),
    run=run,
)
