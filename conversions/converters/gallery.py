"""Gallery: images to a static web page of thumbnails, published at a permanent URL."""

import html

from PIL import Image

from conversions.converters.base import WEBSITE, ConversionService, Job, object_schema, replace_extension
from conversions.converters.image import open_image


def run(job: Job) -> None:
    size = job.params["thumbnail"]
    cards = []
    for index, item in enumerate(job.inputs):
        image = open_image(item.path, item.name).convert("RGB")
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        name = replace_extension(f"{index + 1:04d}-{item.name}", "jpg")
        path = job.output_path(name, "image/jpeg", folder="thumbs")
        image.save(path, "JPEG", quality=82)
        caption = html.escape(item.name)
        cards.append(f'<figure><img src="thumbs/{html.escape(path.name)}" alt="{caption}" loading="lazy"><figcaption>{caption}</figcaption></figure>')
        job.progress((index + 1) / len(job.inputs), f"thumbnail {index + 1} of {len(job.inputs)}")
    title = html.escape(job.params["title"])
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}}main{{display:flex;flex-wrap:wrap;gap:1em}}
figure{{margin:0;width:{size}px}}img{{max-width:100%}}figcaption{{font-size:.8em;overflow-wrap:anywhere}}</style>
</head><body><h1>{title}</h1><main>
{chr(10).join(cards)}
</main></body></html>
"""
    job.output_path("index.html", "text/html; charset=utf-8").write_text(page)
    job.website_entry = "index.html"


SERVICE = ConversionService(
    name="gallery",
    title="Image gallery web page",
    version="1.0",
    description="Makes a static page of thumbnails of the input images, served at a permanent URL.",
    params_schema=object_schema(
        {
            "title": {"type": "string", "maxLength": 200, "default": "Gallery"},
            "thumbnail": {"type": "integer", "minimum": 32, "maximum": 1024, "default": 256},
        }
    ),
    accepts=("jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff"),
    result_type=WEBSITE,
    run=run,
)
