"""The project's URLs plus the benchmark's floor (``bench/floor/<pk>``)."""

from django.urls import path

from bench.floor import FloorView
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("bench/floor/<int:pk>", FloorView.as_view()), *project_urlpatterns]
