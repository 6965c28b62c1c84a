"""The registry of converter plug-ins (the "services" of the 000 contract): one module each, looked up by name."""

from conversions.converters import gallery, geojson, image, ocr, pdf, tabular
from conversions.converters.base import ConversionService
from kernel.errors import DomainError

_registry: dict[str, ConversionService] = {
    converter.name: converter
    for converter in (ocr.SERVICE, tabular.SERVICE, image.SERVICE, pdf.SERVICE, geojson.SERVICE, gallery.SERVICE)
}


def all_services() -> dict[str, ConversionService]:
    return _registry


def service_get(name: str) -> ConversionService:
    """The service called ``name``, or a 400 that names it."""
    service = all_services().get(name)
    if service is None:
        known = ", ".join(sorted(all_services()))
        raise DomainError(f"unknown service {name!r}; known services: {known}", field="service")
    return service
