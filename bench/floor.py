"""The floor: a bare DRF view that reads one row by primary key.

No authentication, permission, tenant or pagination of its own: what is left
is Django's middleware stack, DRF's dispatch and one indexed ``SELECT`` of a
row serialized to JSON. Every API read pays this plus its own work.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.models import Tenant


class FloorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "default_currency", "time_zone", "locale"]


class FloorView(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request: Request, pk: int) -> Response:
        return Response(FloorSerializer(Tenant.objects.get(pk=pk)).data)
