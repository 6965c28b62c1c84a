"""The OLake web UI, served as its own Go server serves it, from a build an operator points D2D_OLAKE_UI_DIR at.

d2d neither ships nor builds the UI: it is another project's code. The build asks for
``/assets/...`` absolutely and routes on the client, so d2d answers its assets under
``/assets/`` and its page (index.html) on every client-side route; the API it talks to is
d2d's own, same origin. With the setting empty every one of these paths is the 404 it was.
"""

import functools
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.views.static import serve

# Vite names every asset by its content hash, so a name never changes meaning.
ASSET_CACHE = "public, max-age=31536000, immutable"
SAFE_METHODS = ("GET", "HEAD")


def ui_dir() -> Path | None:
    configured = settings.D2D_OLAKE_UI_DIR
    return Path(configured) if configured else None


def _served_dir() -> Path:
    folder = ui_dir()
    if folder is None:
        raise Http404("the OLake UI is not served here (D2D_OLAKE_UI_DIR is empty)")
    return folder


def asset(request, path: str):
    """A file under the build's assets/; django.views.static refuses paths that leave that folder."""
    folder = _served_dir()
    if request.method not in SAFE_METHODS:
        return HttpResponseNotAllowed(SAFE_METHODS)
    response = serve(request, path, document_root=folder / "assets")
    response["Cache-Control"] = ASSET_CACHE
    return response


def page(request, rest: str = ""):
    """index.html, for the UI's client-side routes; the UI's router picks the screen from the URL."""
    folder = _served_dir()
    if request.method not in SAFE_METHODS:
        return HttpResponseNotAllowed(SAFE_METHODS)
    response = HttpResponse((folder / "index.html").read_bytes(), content_type="text/html; charset=utf-8")
    # The page names the current build's hashed assets: always ask again, so a new build shows.
    response["Cache-Control"] = "no-cache"
    return response


def page_on_get(api_view):
    """``api_view`` with GET and HEAD answered by the UI's page when it is served (the UI's /login is both)."""

    @functools.wraps(api_view)
    def view(request, *args, **kwargs):
        if request.method in SAFE_METHODS and ui_dir() is not None:
            return page(request)
        return api_view(request, *args, **kwargs)

    return view
