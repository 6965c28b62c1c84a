"""URLs of compute, included at the site root by d2d/urls.py (each path is written out in full)."""

from django.urls import path

from compute.api import provider_views, views

urlpatterns = [
    path("api/v1/services/nonce", views.NonceView.as_view(), name="compute-nonce"),
    path("api/v1/services/encrypt", views.EncryptView.as_view(), name="compute-encrypt"),
    path("api/v1/services/initialize", views.InitializeView.as_view(), name="compute-initialize"),
    path("api/v1/services/fileinfo", provider_views.FileinfoView.as_view(), name="compute-fileinfo"),
    path("api/v1/services/computeEnvironments", provider_views.ComputeEnvironmentsView.as_view(), name="compute-environments"),
    path("api/v1/services/orders", provider_views.OrdersView.as_view(), name="compute-orders"),
    path("api/v1/services/download", views.DownloadView.as_view(), name="compute-download"),
    path("api/v1/services/compute", views.ComputeView.as_view(), name="compute-jobs"),
    path("api/v1/services/computeResult", views.ComputeResultView.as_view(), name="compute-result"),
    path("api/v1/services/ddo/<str:did>", views.DdoView.as_view(), name="compute-ddo"),
    path("api/v1/services/datasets", views.DatasetListView.as_view(), name="compute-datasets"),
    path("api/v1/services/datasets/<str:did>", views.DatasetDetailView.as_view(), name="compute-dataset"),
    path("api/v1/services/algorithms", views.AlgorithmListView.as_view(), name="compute-algorithms"),
    path("api/v1/services/algorithms/<str:did>", views.AlgorithmDetailView.as_view(), name="compute-algorithm"),
    path("api/v1/services/orders/<int:order_id>/paid", views.OrderPaidView.as_view(), name="compute-order-paid"),
]
