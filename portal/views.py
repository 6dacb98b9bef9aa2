from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """The subscriber's area of one merchant, in the merchant's branding."""
    return render(request, "portal/home.html")
