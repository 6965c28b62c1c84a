"""Who made a change, for the change history (django-simple-history) of configuration models."""


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
