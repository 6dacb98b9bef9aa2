from django.db.models import QuerySet

from customers.models import Customer
from tenants.models import Tenant


def customer_list(*, tenant: Tenant) -> QuerySet[Customer]:
    return Customer.objects.for_tenant(tenant).order_by("-created_at", "-id")
