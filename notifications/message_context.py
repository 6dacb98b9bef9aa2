"""What a message says: the subscriber an event concerns, and the plain values
(strings) its template is rendered with.

Templates, the merchant's included, only ever see the dictionary built here,
never a model instance: no attribute access can reach other data. Values are
read when the message is sent, so links are fresh and a boleto issued just
after the invoice is included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import formats, translation

from billing.selectors import invoice_payment_instructions
from core.money import Money
from customers.models import Customer
from customers.portal_links import payment_method_update_url, portal_url
from tenants.models import Event, Tenant


class NotReady(Exception):
    """The message needs data that is not there yet (a boleto still being
    issued); try again shortly."""


class NoLongerRelevant(Exception):
    """Sending the message now would mislead (the invoice it asks to pay was
    paid meanwhile); it is skipped."""


@dataclass(frozen=True, slots=True)
class Subjects:
    subscription: Any = None
    invoice: Any = None
    payment: Any = None


def _absolute(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return f"{settings.SITE_URL.rstrip('/')}/{url.lstrip('/')}"


def subjects_of(event: Event) -> Subjects:
    """The subscription, invoice and payment an event is about (as far as known)."""
    from billing.models import Invoice, PaymentAttempt
    from subscriptions.models import Subscription

    data = event.data if isinstance(event.data, dict) else {}
    tenant_id = event.tenant_id
    payment = invoice = sub = None
    if event.subject_type == "payment":
        payment = (
            PaymentAttempt.objects.filter(tenant_id=tenant_id, public_id=event.subject_id)
            .select_related("invoice", "payment_method")
            .first()
        )
    invoice_id = event.subject_id if event.subject_type == "invoice" else data.get("invoice")
    if isinstance(invoice_id, str) and invoice_id:
        invoice = Invoice.objects.filter(tenant_id=tenant_id, public_id=invoice_id).first()
    if invoice is None and payment is not None:
        invoice = payment.invoice
    sub_id = event.subject_id if event.subject_type == "subscription" else data.get("subscription")
    if isinstance(sub_id, str) and sub_id:
        sub = Subscription.objects.filter(tenant_id=tenant_id, public_id=sub_id).first()
    if sub is None and invoice is not None and invoice.subscription_id:
        sub = Subscription.objects.filter(pk=invoice.subscription_id).first()
    return Subjects(subscription=sub, invoice=invoice, payment=payment)


def customer_of(event: Event, subjects: Subjects | None = None) -> Customer | None:
    """The subscriber an event concerns, or None (a plan, a product, a test clock)."""
    data = event.data if isinstance(event.data, dict) else {}
    public_id = event.subject_id if event.subject_type == "customer" else data.get("customer")
    if isinstance(public_id, str) and public_id:
        found = Customer.objects.filter(tenant_id=event.tenant_id, public_id=public_id).first()
        if found is not None:
            return found
    subjects = subjects or subjects_of(event)
    for obj in (subjects.subscription, subjects.invoice):
        if obj is not None:
            return Customer.objects.filter(pk=obj.customer_id).first()
    return None


def language_of(customer: Customer, tenant: Tenant) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    for candidate in (customer.locale, tenant.locale, settings.LANGUAGE_CODE):
        if candidate and candidate.lower() in codes:
            return candidate.lower()
    return settings.LANGUAGE_CODE


def payment_kind_of(invoice: Any) -> str:
    """``card``, ``boleto``, ``pix`` or ``""``: how this invoice will be collected."""
    from billing.payments import default_payment_method
    from customers.models import PaymentMethod

    method = None
    if invoice.subscription_id:
        own = invoice.subscription.payment_method_id
        if own:
            method = PaymentMethod.objects.filter(pk=own, detached_at__isnull=True).first()
    if method is None:
        method = default_payment_method(customer_id=invoice.customer_id)
    return method.kind if method is not None else ""


def payment_details(invoice: Any) -> dict[str, str] | None:
    """What the payer needs for a boleto or Pix invoice (linha digitável and slip
    link, or the copy-paste code), from its issued, unpaid charge; None until
    the charge is issued."""
    instructions = invoice_payment_instructions(invoice=invoice)
    if instructions is None:
        return None
    details: dict[str, str] = {"pay_url": _absolute(instructions.action_url)}
    if instructions.boleto_line:
        details["boleto_line"] = instructions.boleto_line
        details["boleto_url"] = details["pay_url"]
    if instructions.pix_code:
        details["pix_code"] = instructions.pix_code
    return details


# Messages asking the subscriber to pay or fix a payment: pointless (and
# alarming) once the invoice is settled.
_ABOUT_AN_UNPAID_INVOICE = frozenset(
    {
        "invoice_available",
        "payment_failed",
        "payment_action_required",
        "dunning_reminder_before",
        "dunning_reminder_due",
        "dunning_reminder_overdue",
        "dunning_payment_failed",
        "subscription_suspended",
    }
)


# Values that only some messages have; the others get them empty.
_OPTIONAL_VALUES = (
    "plan_name",
    "plan_amount",
    "renewal_date",
    "trial_end_date",
    "ends_date",
    "invoice_number",
    "amount_due",
    "due_date",
    "pay_url",
    "boleto_line",
    "boleto_url",
    "pix_code",
    "payment_amount",
    "failure_reason",
    "action_url",
    "card_brand",
    "card_last4",
    "card_expiry",
    "new_amount",
    "effective_date",
    "days",
    "tracking_code",
    "carrier",
)


class _Formatter:
    def __init__(self, tenant: Tenant, language: str):
        self.tz = tenant.time_zone
        self.language = language

    def date(self, value: Any) -> str:
        if isinstance(value, str) and value:
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return ""
        if not isinstance(value, datetime):
            return ""
        from core.localtime import to_local

        return formats.date_format(to_local(value, self.tz).date(), "DATE_FORMAT")

    def money(self, minor: Any, currency: Any) -> str:
        if not isinstance(minor, int) or isinstance(minor, bool) or not isinstance(currency, str):
            return ""
        try:
            return Money(minor, currency).format(self.language)
        except ValueError:
            return ""


def build_context(
    *,
    event: Event,
    template: str,
    customer: Customer,
    tenant: Tenant,
    language: str,
    unsubscribe_url: str = "",
    wait_for_details: bool = True,
) -> dict[str, str]:
    """The plain values a message is rendered with."""
    from billing.models import Invoice

    data = event.data if isinstance(event.data, dict) else {}
    subjects = subjects_of(event)
    sub, invoice, payment = subjects.subscription, subjects.invoice, subjects.payment
    if invoice is None and sub is not None and template == "subscription_suspended":
        # Suspension names the subscription; the subscriber needs the unpaid invoice.
        invoice = (
            Invoice.objects.filter(subscription=sub, status=Invoice.Status.OPEN)
            .order_by("-issued_at", "-id")
            .first()
        )
    if (
        template in _ABOUT_AN_UNPAID_INVOICE
        and invoice is not None
        and invoice.status != Invoice.Status.OPEN
    ):
        raise NoLongerRelevant(f"the invoice is {invoice.status}")
    ctx: dict[str, str] = dict.fromkeys(_OPTIONAL_VALUES, "")
    with translation.override(language):
        fmt = _Formatter(tenant, language)
        ctx.update(
            customer_name=customer.name,
            merchant_name=tenant.name,
            support_email=tenant.support_email,
            portal_url=portal_url(customer),
            invoice_url=portal_url(customer, page="invoices"),
            update_payment_url=payment_method_update_url(customer),
            unsubscribe_url=unsubscribe_url,
        )
        ctx["pay_url"] = ctx["invoice_url"]
        if sub is not None:
            plan = sub.plan
            ctx.update(
                plan_name=plan.name,
                plan_amount=fmt.money(plan.amount_minor * sub.quantity, plan.currency),
                renewal_date=fmt.date(sub.current_period_end),
                trial_end_date=fmt.date(sub.trial_end),
                ends_date=fmt.date(sub.ended_at or sub.current_period_end),
            )
        if invoice is not None:
            ctx.update(
                invoice_number=invoice.number or "",
                amount_due=fmt.money(
                    invoice.amount_due_minor - invoice.amount_paid_minor, invoice.currency
                ),
                due_date=fmt.date(invoice.due_at),
                pay_url=ctx["invoice_url"],
            )
            if template in _ABOUT_AN_UNPAID_INVOICE and payment_kind_of(invoice) in (
                "boleto",
                "pix",
            ):
                details = payment_details(invoice)
                if details is None and wait_for_details:
                    raise NotReady("the boleto or Pix code is not issued yet")
                ctx.update(details or {})
        if payment is not None:
            ctx.update(
                payment_amount=fmt.money(payment.amount_minor, payment.currency),
                failure_reason=payment.failure_message,
                action_url=_absolute(payment.action_url),
            )
        # What the event itself says wins for the moments it announces.
        for key, name in (
            ("trial_end", "trial_end_date"),
            ("renews_at", "renewal_date"),
            ("ends_at", "ends_date"),
            ("cancel_at", "ends_date"),
            ("effective_at", "effective_date"),
        ):
            if data.get(key):
                ctx[name] = fmt.date(data[key]) or ctx[name]
        if event.type == "customer.payment_method_expiring":
            month, year = data.get("exp_month"), data.get("exp_year")
            ctx.update(
                card_brand=str(data.get("brand") or "").title(),
                card_last4=str(data.get("last4") or ""),
                card_expiry=f"{month:02d}/{year}"
                if isinstance(month, int) and isinstance(year, int)
                else "",
            )
        if event.type == "subscription.price_change_scheduled":
            # A period's total before and after (the recurring fee and the
            # add-ons), when the notice says them; else the recurring fee's.
            currency = data.get("currency")
            new = data.get("new_total", data.get("new_amount"))
            ctx["new_amount"] = fmt.money(new, currency)
            if "previous_total" in data:
                ctx["plan_amount"] = fmt.money(data["previous_total"], currency)
        if event.type == "pix_mandate.reauthorization_required":
            ctx["new_amount"] = fmt.money(data.get("amount"), data.get("currency"))
        if event.type == "fulfilment_order.shipped":
            ctx["tracking_code"] = str(data.get("tracking_code") or "")
            ctx["carrier"] = str(data.get("carrier") or "")
        if isinstance(data.get("offset_days"), int):
            ctx["days"] = str(abs(data["offset_days"]))
    return ctx
