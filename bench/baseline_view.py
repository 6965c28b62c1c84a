"""The one view both reference servers of bench/load.py answer with (no side effects on import)."""

from django.http import JsonResponse


def task_status(request):
    """GET /api/v1/task?id= in the Common API's shape, constant: the floor of a Django JSON answer."""
    return JsonResponse(
        {
            "success": True,
            "message": "ok",
            "data": {"task_id": request.GET.get("id", ""), "status": "COMPLETED", "assets_downloaded": 100,
                     "result_id": None, "result_type": None, "reason": None},
        }
    )
