"""Result websites (WEBSITE result type): a permanent, unguessable URL per task, served from storage."""

from django.http import Http404, HttpResponseRedirect

from conversions.api.responses import stored_file_response
from conversions.models import ConversionTask, ResultFile


def site_file(request, token: str, name: str = ""):
    if not name:
        if not request.path.endswith("/"):
            return HttpResponseRedirect(request.path + "/")
        name = "index.html"
    task = ConversionTask.objects.filter(site_token=token, status=ConversionTask.Status.SUCCEEDED).first()
    if task is None or task.files_purged_at:
        raise Http404("no such site")
    result = ResultFile.objects.filter(task=task, name=name, is_archive=False).first()
    if result is None:
        raise Http404("no such page")
    response = stored_file_response(request, result.file.name, filename=result.name.rsplit("/", 1)[-1], content_type=result.content_type, attachment=False)
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
