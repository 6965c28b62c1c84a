"""GeoJSON: images placed by their longitude and latitude attributes (or EXIF GPS) as a FeatureCollection."""

from PIL import Image, UnidentifiedImageError

from conversions.converters.base import JSON, ConversionError, ConversionService, Job, object_schema

GPS_IFD = 0x8825


def _number(value, name: str, file_name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConversionError(f"{file_name}: attribute {name} is not a number: {value!r}") from exc
    return number


def _exif_position(path) -> tuple[float, float] | None:
    """(longitude, latitude) from EXIF GPS tags, when the image has them."""
    try:
        with Image.open(path) as image:
            gps = image.getexif().get_ifd(GPS_IFD)
    except (UnidentifiedImageError, OSError):
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None

    def degrees(values, ref) -> float:
        d, m, s = (float(v) for v in values)
        sign = -1 if str(ref).upper() in ("S", "W") else 1
        return sign * (d + m / 60 + s / 3600)

    return degrees(gps[4], gps.get(3, "E")), degrees(gps[2], gps.get(1, "N"))


def position_of(item) -> tuple[float, float] | None:
    attributes = item.attributes or {}
    if attributes.get("longitude") is not None and attributes.get("latitude") is not None:
        longitude = _number(attributes["longitude"], "longitude", item.name)
        latitude = _number(attributes["latitude"], "latitude", item.name)
        if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
            raise ConversionError(f"{item.name}: longitude/latitude out of range: {longitude}, {latitude}")
        return longitude, latitude
    return _exif_position(item.path)


def run(job: Job) -> None:
    features, unplaced = [], []
    for index, item in enumerate(job.inputs):
        position = position_of(item)
        if position is None:
            unplaced.append(item.name)
        else:
            extra = {k: v for k, v in (item.attributes or {}).items() if k not in ("longitude", "latitude")}
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [position[0], position[1]]},
                    "properties": {"file_name": item.name, **extra},
                }
            )
        job.progress((index + 1) / len(job.inputs), f"placed {len(features)} of {index + 1}")
    if not features and job.params["require_position"]:
        raise ConversionError("no input has longitude and latitude attributes or EXIF GPS tags")
    job.json_result = {"type": "FeatureCollection", "features": features, "unplaced": unplaced}


SERVICE = ConversionService(
    name="geojson",
    title="Images to a GeoJSON map layer",
    version="1.0",
    description="Each image becomes a Point feature at its longitude/latitude attributes, or at its EXIF GPS position.",
    params_schema=object_schema({"require_position": {"type": "boolean", "default": True}}),
    accepts=("jpg", "jpeg", "png", "tif", "tiff", "webp", "heic"),
    attributes=("longitude", "latitude"),
    result_type=JSON,
    run=run,
)
