"""Images: format conversion, resize, thumbnails, metadata stripping (Pillow)."""

from PIL import Image, ImageOps, UnidentifiedImageError

from conversions.converters.base import ConversionError, ConversionService, Job, object_schema, replace_extension

FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
    "gif": ("GIF", "image/gif"),
    "bmp": ("BMP", "image/bmp"),
    "tiff": ("TIFF", "image/tiff"),
}
ACCEPTS = ("png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff")
# Decompression bombs: Pillow refuses images above this many pixels.
Image.MAX_IMAGE_PIXELS = 120_000_000


def open_image(path, name: str) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ConversionError(f"{name}: not a readable image ({exc})") from exc
    return image


def convert_one(image: Image.Image, params: dict) -> Image.Image:
    image = ImageOps.exif_transpose(image) if params["auto_orient"] else image
    if params.get("width") or params.get("height"):
        width = params.get("width") or round(image.width * params["height"] / image.height)
        height = params.get("height") or round(image.height * params["width"] / image.width)
        image = image.resize((max(1, width), max(1, height)), Image.Resampling.LANCZOS)
    if params.get("thumbnail"):
        image = image.copy()
        image.thumbnail((params["thumbnail"], params["thumbnail"]), Image.Resampling.LANCZOS)
    return image


def save_image(image: Image.Image, path, fmt: str, *, strip: bool, quality: int, source_info: dict) -> None:
    pil_format, _ = FORMATS[fmt]
    if pil_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    options = {}
    if pil_format in ("JPEG", "WEBP"):
        options["quality"] = quality
    if not strip:
        for key in ("exif", "icc_profile"):
            if source_info.get(key):
                options[key] = source_info[key]
    else:
        # Rebuilding from pixels drops EXIF, XMP, comments and text chunks in every format.
        clean = Image.frombytes(image.mode, image.size, image.tobytes())
        if image.mode == "P":
            clean.putpalette(image.getpalette())
        image = clean
    image.save(path, pil_format, **options)


def run(job: Job) -> None:
    params = job.params
    for index, item in enumerate(job.inputs):
        image = open_image(item.path, item.name)
        fmt = params["format"] or _format_of(image, item.extension)
        converted = convert_one(image, params)
        out = job.output_path(replace_extension(item.name, "jpg" if fmt == "jpeg" else fmt), FORMATS[fmt][1])
        save_image(converted, out, fmt, strip=params["strip_metadata"], quality=params["quality"], source_info=image.info)
        job.progress((index + 1) / len(job.inputs), f"{item.name}: {converted.width}x{converted.height} {fmt}")


def _format_of(image: Image.Image, extension: str) -> str:
    name = (image.format or extension or "png").lower()
    name = {"jpg": "jpeg", "tif": "tiff", "mpo": "jpeg"}.get(name, name)
    return name if name in FORMATS else "png"


SERVICE = ConversionService(
    name="image",
    title="Image conversion",
    version="1.0",
    description="Converts images between PNG, JPEG, WebP, GIF, BMP and TIFF; resizes, makes thumbnails, strips metadata.",
    params_schema=object_schema(
        {
            "format": {"type": ["string", "null"], "enum": [*sorted(FORMATS), None], "default": None},
            "width": {"type": "integer", "minimum": 1, "maximum": 20000},
            "height": {"type": "integer", "minimum": 1, "maximum": 20000},
            "thumbnail": {"type": "integer", "minimum": 8, "maximum": 4096, "description": "longest side"},
            "strip_metadata": {"type": "boolean", "default": True},
            "auto_orient": {"type": "boolean", "default": True},
            "quality": {"type": "integer", "minimum": 1, "maximum": 100, "default": 85},
        }
    ),
    accepts=ACCEPTS,
    run=run,
)
