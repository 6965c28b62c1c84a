"""The change history (django-simple-history) of configuration models: who made a change, and its admin."""

from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin


def history_user(instance=None, request=None, **kwargs):
    """The request's user (session, API token or OIDC: DRF sets it on the request), else the row's updated_by.

    simple-history's middleware hands over the request only when its user is authenticated; a
    change made without one (a worker, manage.py) is credited to the user the service recorded on
    the row, when the model keeps one.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return getattr(instance, "updated_by", None)


class HistoryAdmin(SimpleHistoryAdmin):
    """simple-history's admin with its history read-only: a past version can be viewed, not saved back.

    Its revert saves the old version straight through the model form, past the services that
    every change goes through (and past the change permission: it asks only for view), so the
    admin refuses that POST; SIMPLE_HISTORY_REVERT_DISABLED hides the button.
    """

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied("the history is read-only; change the object from its own page")
        return super().history_form_view(request, object_id, version_id, extra_context=extra_context)
