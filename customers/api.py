"""Customers over the REST API (read side for now; issue 6 adds the writes)."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from customers.models import Customer
from customers.selectors import customer_list


class CustomerSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    object = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "object",
            "name",
            "email",
            "phone",
            "tax_id",
            "locale",
            "metadata",
            "created_at",
        ]

    def get_object(self, obj: Customer) -> str:
        return "customer"


@extend_schema_view(
    retrieve=extend_schema(
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="cus_…")]
    )
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CustomerSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "id"

    def get_queryset(self) -> QuerySet[Customer]:
        return customer_list(tenant=self.request.tenant)


def register(router) -> None:  # type: ignore[no-untyped-def]
    router.register("customers", CustomerViewSet, basename="customer")
