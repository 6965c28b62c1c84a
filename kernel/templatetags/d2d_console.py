"""The dashboard tag of the admin index page: every section the apps registered, built for this request."""

from django import template

from kernel.dashboard import dashboard_build

register = template.Library()


@register.inclusion_tag("admin/kernel/dashboard.html", takes_context=True)
def d2d_dashboard(context):
    request = context["request"]
    return {"sections": dashboard_build(request), "request": request}
