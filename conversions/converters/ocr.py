"""OCR: images and PDFs to text with Tesseract, as plain text or JSON with per-word boxes and confidence."""

import subprocess
import tempfile
from pathlib import Path

import pytesseract
from PIL import Image

from conversions.converters.base import JSON, STREAM, ConversionError, ConversionService, Job, object_schema, replace_extension
from conversions.converters.image import open_image

LANGUAGES = ("eng", "rus", "eng+rus")
IMAGE_TYPES = ("png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif", "webp")
PDF_DPI = 200
PDF_MAX_PAGES = 500


def _pdf_pages(path: Path, workdir: Path) -> list[Path]:
    """Render each PDF page to PNG with pdftoppm (poppler-utils)."""
    try:
        subprocess.run(
            ["pdftoppm", "-r", str(PDF_DPI), "-l", str(PDF_MAX_PAGES), "-png", str(path), str(workdir / "page")],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except FileNotFoundError as exc:
        raise ConversionError("pdftoppm (poppler-utils) is not installed") from exc
    except subprocess.CalledProcessError as exc:
        raise ConversionError(f"not a readable PDF: {exc.stderr.decode(errors='replace')[:300]}") from exc
    return sorted(workdir.glob("page-*.png"))


def _page_result(image: Image.Image, lang: str) -> dict:
    data = pytesseract.image_to_data(image, lang=lang, output_type=pytesseract.Output.DICT)
    words = []
    for index, text in enumerate(data["text"]):
        if not text.strip():
            continue
        words.append(
            {
                "text": text,
                "left": data["left"][index],
                "top": data["top"][index],
                "width": data["width"][index],
                "height": data["height"][index],
                "confidence": float(data["conf"][index]),
                "line": [data["block_num"][index], data["par_num"][index], data["line_num"][index]],
            }
        )
    return {"text": pytesseract.image_to_string(image, lang=lang).strip(), "width": image.width, "height": image.height, "words": words}


def recognise(path: Path, name: str, extension: str, lang: str, *, with_words: bool) -> list[dict]:
    """One entry per page: {text, words?}."""
    pages = []
    if extension == "pdf":
        with tempfile.TemporaryDirectory() as workdir:
            for page_path in _pdf_pages(path, Path(workdir)):
                with Image.open(page_path) as page:
                    pages.append(_page_result(page, lang) if with_words else {"text": _text(page, lang)})
        return pages
    image = open_image(path, name)
    frames = getattr(image, "n_frames", 1)
    for frame in range(min(frames, PDF_MAX_PAGES)):
        image.seek(frame)
        page = image.convert("RGB")
        pages.append(_page_result(page, lang) if with_words else {"text": _text(page, lang)})
    return pages


def _text(image: Image.Image, lang: str) -> str:
    try:
        return pytesseract.image_to_string(image, lang=lang).strip()
    except pytesseract.TesseractError as exc:
        raise ConversionError(f"tesseract failed: {exc}") from exc


def run(job: Job) -> None:
    lang, fmt = job.params["lang"], job.params["format"]
    documents = []
    for index, item in enumerate(job.inputs):
        if item.extension not in (*IMAGE_TYPES, "pdf"):
            raise ConversionError(f"{item.name}: OCR reads images and PDFs, not {item.extension or 'this file'}")
        job.progress(index / len(job.inputs), f"recognising {item.name}")
        pages = recognise(item.path, item.name, item.extension, lang, with_words=fmt == "json")
        if fmt == "json":
            documents.append({"file_name": item.name, "pages": pages})
        else:
            text = "\n\f\n".join(page["text"] for page in pages)
            job.output_path(replace_extension(item.name, "txt"), "text/plain; charset=utf-8").write_text(text + "\n")
        job.progress((index + 1) / len(job.inputs), f"recognised {item.name}")
    if fmt == "json":
        job.json_result = {"lang": lang, "documents": documents}


SERVICE = ConversionService(
    name="ocr",
    title="Text recognition (OCR)",
    version="1.0",
    description="Recognises text in images and PDFs with Tesseract (English and Russian). "
    "format=text gives a .txt per input (a ZIP when several); format=json gives per-word boxes and confidence.",
    params_schema=object_schema(
        {
            "lang": {"type": "string", "enum": list(LANGUAGES), "default": "eng"},
            "format": {"type": "string", "enum": ["text", "json"], "default": "text"},
        }
    ),
    accepts=(*IMAGE_TYPES, "pdf"),
    run=run,
    result_type=STREAM,
    result_type_for=lambda params: JSON if params.get("format") == "json" else STREAM,
)
