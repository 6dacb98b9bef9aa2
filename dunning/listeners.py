"""Dunning listens to billing (``settings.BILLING_LISTENERS``): a settled invoice
closes its case, an unsettled payment opens one."""

from __future__ import annotations

from datetime import datetime

from billing.models import Invoice, PaymentAttempt
from dunning.services import (
    dunning_case_open,
    dunning_invoice_settled,
    dunning_payment_unsettled,
)
from tenants.models import Tenant


class DunningListener:
    def invoice_settled(self, *, tenant: Tenant, invoice: Invoice, now: datetime) -> None:
        dunning_invoice_settled(tenant=tenant, invoice=invoice, now=now)

    def payment_unsettled(self, *, tenant: Tenant, attempt: PaymentAttempt, now: datetime) -> None:
        dunning_payment_unsettled(tenant=tenant, attempt=attempt, now=now)

    def payment_method_missing(
        self, *, tenant: Tenant, invoice: Invoice, payment_method_kind: str, now: datetime
    ) -> None:
        dunning_case_open(
            tenant=tenant, invoice_id=invoice.pk, payment_method_kind=payment_method_kind, now=now
        )
