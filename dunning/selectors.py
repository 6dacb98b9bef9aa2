"""Reads of the régua; every one takes the tenant."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from dunning.models import DunningCase, DunningPolicy, DunningStepRun
from tenants.models import Tenant


def policy_list(*, tenant: Tenant) -> QuerySet[DunningPolicy]:
    return DunningPolicy.objects.filter(tenant=tenant).prefetch_related("steps")


def policy_get(*, tenant: Tenant, public_id: str) -> DunningPolicy | None:
    if not isinstance(public_id, str) or not public_id.startswith("dpol_"):
        return None
    return policy_list(tenant=tenant).filter(public_id=public_id).first()


def case_list(*, tenant: Tenant) -> QuerySet[DunningCase]:
    return (
        DunningCase.objects.filter(tenant=tenant)
        .select_related("invoice", "customer", "subscription", "policy")
        .prefetch_related(Prefetch("runs", queryset=DunningStepRun.objects.order_by("position")))
        .order_by("-opened_at", "-id")
    )


def case_get(*, tenant: Tenant, public_id: str) -> DunningCase | None:
    if not isinstance(public_id, str) or not public_id.startswith("dc_"):
        return None
    return case_list(tenant=tenant).filter(public_id=public_id).first()
