"""The registry of converter plug-ins (the "services" of the 000 contract): one module each, looked up by name."""

from conversions.converters.base import ConversionService
from d2d.kernel.errors import DomainError


def _load() -> dict[str, ConversionService]:
    from conversions.converters import gallery, geojson, image, ocr, pdf, tabular

    converters = [ocr.SERVICE, tabular.SERVICE, image.SERVICE, pdf.SERVICE, geojson.SERVICE, gallery.SERVICE]
    return {converter.name: converter for converter in converters}


_registry: dict[str, ConversionService] | None = None


def all_services() -> dict[str, ConversionService]:
    global _registry
    if _registry is None:
        _registry = _load()
    return _registry


def service_get(name: str) -> ConversionService:
    """The service called ``name``, or a 400 that names it."""
    service = all_services().get(name)
    if service is None:
        known = ", ".join(sorted(all_services()))
        raise DomainError(f"unknown service {name!r}; known services: {known}", field="service")
    return service
