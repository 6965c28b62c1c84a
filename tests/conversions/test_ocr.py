"""OCR reads back a sentence the test renders, as text and as JSON with word boxes."""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from conversions.converters import service_get
from conversions.converters.base import InputFile, Job

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # fonts-dejavu-core (scripts/system-deps)
SENTENCE = "The quick brown fox jumps over the lazy dog"


def render(path: Path, text: str) -> Path:
    font = ImageFont.truetype(FONT, 36)
    image = Image.new("RGB", (1100, 120), "white")
    ImageDraw.Draw(image).text((30, 35), text, fill="black", font=font)
    image.save(path)
    return path


def run_service(name, inputs, params, out_dir):
    service = service_get(name)
    out_dir.mkdir()
    job = Job(inputs, service.validate_params(params), out_dir)
    service.run(job)
    return job


def test_it_recognises_a_rendered_sentence_as_text(tmp_path):
    image = render(tmp_path / "sentence.png", SENTENCE)
    job = run_service("ocr", [InputFile("sentence.png", image)], {"lang": "eng"}, tmp_path / "out")
    assert [output.name for output in job.outputs] == ["sentence.txt"]
    assert job.outputs[0].path.read_text().strip() == SENTENCE


def test_it_gives_words_with_boxes_and_confidence_as_json(tmp_path):
    image = render(tmp_path / "sentence.png", SENTENCE)
    job = run_service("ocr", [InputFile("sentence.png", image)], {"format": "json"}, tmp_path / "out")
    page = job.json_result["documents"][0]["pages"][0]
    assert page["text"] == SENTENCE
    assert [word["text"] for word in page["words"]] == SENTENCE.split()
    first = page["words"][0]
    assert first["left"] > 0 and first["width"] > 0 and first["confidence"] > 50


def test_it_reads_russian(tmp_path):
    image = render(tmp_path / "ru.png", "Съешь же ещё этих мягких булок")
    job = run_service("ocr", [InputFile("ru.png", image)], {"lang": "rus"}, tmp_path / "out")
    assert job.outputs[0].path.read_text().strip() == "Съешь же ещё этих мягких булок"


def test_it_reads_a_pdf_page(tmp_path):
    image = render(tmp_path / "page.png", SENTENCE)
    Image.open(image).save(tmp_path / "doc.pdf", "PDF", resolution=100)
    job = run_service("ocr", [InputFile("doc.pdf", tmp_path / "doc.pdf")], {}, tmp_path / "out")
    assert job.outputs[0].path.read_text().strip() == SENTENCE
