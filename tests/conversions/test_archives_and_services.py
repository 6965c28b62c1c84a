"""ZIP safety, and the image, PDF and geojson services on local files; the convert command."""

import io
import zipfile

import pytest
from django.core.management import call_command
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from conversions.archives import safe_extract, write_zip
from conversions.converters import service_get
from conversions.converters.base import ConversionError, InputFile, Job, safe_name


def run_service(name, inputs, params, out_dir):
    service = service_get(name)
    out_dir.mkdir()
    job = Job(inputs, service.validate_params(params), out_dir)
    service.run(job)
    return job


def test_it_extracts_zip_members_flat_inside_the_folder(tmp_path):
    source = tmp_path / "in.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("../../outside.txt", "a")
        archive.writestr("/abs/path.txt", "b")
        archive.writestr("dir/", "")
    extracted = safe_extract(source, tmp_path / "out", max_members=10, max_bytes=1000, max_ratio=100)
    assert [member for member, _ in extracted] == ["../../outside.txt", "/abs/path.txt"]
    assert all(path.parent == tmp_path / "out" for _, path in extracted)
    assert not (tmp_path / "outside.txt").exists()


def test_it_refuses_zip_bombs_and_too_many_members(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * 2_000_000)
    with pytest.raises(ConversionError, match="compresses more than"):
        safe_extract(bomb, tmp_path / "a", max_members=10, max_bytes=10**9, max_ratio=100)
    with pytest.raises(ConversionError, match="expands to"):
        safe_extract(bomb, tmp_path / "b", max_members=10, max_bytes=1000, max_ratio=10**6)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for index in range(5):
            archive.writestr(f"{index}.txt", "x")
    with pytest.raises(ConversionError, match="5 files"):
        safe_extract(many, tmp_path / "c", max_members=4, max_bytes=1000, max_ratio=100)


def test_it_writes_zip_members_with_safe_names(tmp_path):
    (tmp_path / "f").write_text("x")
    target = write_zip(tmp_path / "out.zip", [("../evil/../x.txt", tmp_path / "f"), ("thumbs/a.jpg", tmp_path / "f")])
    assert zipfile.ZipFile(target).namelist() == ["evil/x.txt", "thumbs/a.jpg"]
    assert safe_name("../../etc/passwd") == "passwd" and safe_name("..") == "file" and "/" not in safe_name("a/b\\c")


def test_it_converts_resizes_and_strips_metadata(tmp_path):
    source = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    Image.new("RGB", (400, 200), "green").save(source, "JPEG", exif=exif.tobytes())
    job = run_service("image", [InputFile("photo.jpg", source)], {"format": "png", "width": 100}, tmp_path / "a")
    with Image.open(job.outputs[0].path) as out:
        assert out.format == "PNG" and out.size == (100, 50) and not out.getexif()
    job = run_service("image", [InputFile("photo.jpg", source)], {"thumbnail": 64, "strip_metadata": False}, tmp_path / "b")
    with Image.open(job.outputs[0].path) as out:
        assert out.format == "JPEG" and out.size == (64, 32) and out.getexif().get(0x010F) == "SpyCam"


def _pdf(path, pages):
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def _text_pdf(path, text: str):
    writer = PdfWriter()
    page = writer.add_blank_page(width=300, height=200)
    font = DictionaryObject(
        {NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"), NameObject("/BaseFont"): NameObject("/Helvetica")}
    )
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 18 Tf 20 100 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(content)
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def test_it_extracts_pdf_text(tmp_path):
    source = _text_pdf(tmp_path / "letter.pdf", "Hello from a PDF")
    job = run_service("pdf", [InputFile("letter.pdf", source)], {"operation": "text"}, tmp_path / "t")
    assert job.outputs[0].name == "letter.txt" and job.outputs[0].path.read_text().strip() == "Hello from a PDF"


def test_it_merges_and_splits_pdfs(tmp_path):
    one, two = _pdf(tmp_path / "one.pdf", 2), _pdf(tmp_path / "two.pdf", 3)
    job = run_service("pdf", [InputFile("one.pdf", one), InputFile("two.pdf", two)], {"operation": "merge"}, tmp_path / "m")
    assert len(PdfReader(job.outputs[0].path).pages) == 5
    job = run_service("pdf", [InputFile("two.pdf", two)], {"operation": "split"}, tmp_path / "s")
    assert [output.name for output in job.outputs] == ["two-page-0001.pdf", "two-page-0002.pdf", "two-page-0003.pdf"]
    with pytest.raises(ConversionError, match="not a readable PDF"):
        (tmp_path / "fake.pdf").write_bytes(b"hello")
        run_service("pdf", [InputFile("fake.pdf", tmp_path / "fake.pdf")], {"operation": "text"}, tmp_path / "t")


def test_it_places_images_by_exif_gps(tmp_path):
    source = tmp_path / "gps.jpg"
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (55.0, 45.0, 0.0), 3: "W", 4: (0.0, 30.0, 0.0)}
    Image.new("RGB", (10, 10)).save(source, "JPEG", exif=exif.tobytes())
    job = run_service("geojson", [InputFile("gps.jpg", source)], {}, tmp_path / "g")
    assert job.json_result["features"][0]["geometry"]["coordinates"] == [-0.5, 55.75]


def test_it_runs_a_service_from_the_command_line(tmp_path):
    source = tmp_path / "table.csv"
    source.write_text("a,b\n1,x\n2,y\n")
    out = io.StringIO()
    call_command("convert", "tabular", str(source), "--param", "to=jsonl", "--out", str(tmp_path / "out"), stdout=out, verbosity=0)
    assert (tmp_path / "out" / "table.jsonl").read_text() == '{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n'
    assert out.getvalue().strip().endswith("table.jsonl")
