from django.db.models import QuerySet

from customers.models import Customer, PaymentMethod
from tenants.models import Tenant


def customer_list(*, tenant: Tenant) -> QuerySet[Customer]:
    return Customer.objects.for_tenant(tenant).order_by("-created_at", "-id")


def payment_method_list(*, tenant: Tenant, customer: Customer) -> QuerySet[PaymentMethod]:
    """The customer's attached (not detached) payment methods."""
    return (
        PaymentMethod.objects.for_tenant(tenant)
        .filter(customer=customer, detached_at__isnull=True)
        .select_related("customer")
        .order_by("-created_at", "-id")
    )
