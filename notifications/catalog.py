"""The messages Ciclo sends to subscribers: one registry, one entry per template key.

Each entry says which outbox events trigger it, on which channels, whether it
is legally required (sent even to subscribers who opted out of marketing) or
optional, and the call to action its HTML part shows. Dunning names its
reminder keys itself in ``dunning.reminder`` events (``data["template"]``), so
those entries have no trigger of their own.

The variables a template may use are plain values (strings), listed in
``VARIABLES``; ``sample_context`` fills them for the dashboard's preview.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

EMAIL = "email"
SMS = "sms"


@dataclass(frozen=True, slots=True)
class MessageKind:
    key: str
    label: str | Promise
    events: tuple[str, ...]
    channels: tuple[str, ...]
    required: bool
    # (button label, context variable holding the URL) for the HTML part.
    action: tuple[str | Promise, str] | None = None
    # Named by dunning in ``dunning.reminder`` events.
    dunning: bool = False
    # Only for events whose ``data["status"]`` is one of these (empty: any).
    statuses: tuple[str, ...] = ()


KINDS: tuple[MessageKind, ...] = (
    MessageKind(
        "welcome",
        _("Welcome"),
        ("subscription.created",),
        (EMAIL,),
        required=False,
        action=(_("Open your account"), "portal_url"),
    ),
    MessageKind(
        "trial_ending",
        _("Trial ending (3 days before)"),
        ("subscription.trial_will_end",),
        (EMAIL,),
        required=True,
        action=(_("Manage your subscription"), "portal_url"),
    ),
    MessageKind(
        "renewal_upcoming",
        _("Renewal upcoming (7 days before, annual plans)"),
        ("invoice.upcoming",),
        (EMAIL,),
        required=True,
        action=(_("Manage your subscription"), "portal_url"),
    ),
    MessageKind(
        "payment_succeeded",
        _("Payment receipt"),
        ("payment.succeeded",),
        (EMAIL,),
        required=True,
        action=(_("See your invoices"), "invoice_url"),
    ),
    MessageKind(
        "payment_failed",
        _("Payment failed"),
        ("payment.failed",),
        (EMAIL, SMS),
        required=True,
        action=(_("Update your payment method"), "update_payment_url"),
    ),
    MessageKind(
        "payment_action_required",
        _("Payment needs your confirmation"),
        ("payment.requires_action",),
        (EMAIL,),
        required=True,
        action=(_("Confirm the payment"), "action_url"),
    ),
    MessageKind(
        "invoice_available",
        _("Invoice available (with boleto or Pix)"),
        ("invoice.finalized",),
        (EMAIL,),
        required=True,
        action=(_("See your invoice"), "pay_url"),
    ),
    MessageKind(
        "dunning_reminder_before",
        _("Reminder: payment due soon"),
        (),
        (EMAIL, SMS),
        required=True,
        action=(_("Pay now"), "pay_url"),
        dunning=True,
    ),
    MessageKind(
        "dunning_reminder_due",
        _("Reminder: payment due today"),
        (),
        (EMAIL, SMS),
        required=True,
        action=(_("Pay now"), "pay_url"),
        dunning=True,
    ),
    MessageKind(
        "dunning_reminder_overdue",
        _("Reminder: payment overdue"),
        (),
        (EMAIL, SMS),
        required=True,
        action=(_("Pay now"), "pay_url"),
        dunning=True,
    ),
    MessageKind(
        "dunning_payment_failed",
        _("Payment failed, update your card (dunning)"),
        (),
        (EMAIL, SMS),
        required=True,
        action=(_("Update your payment method"), "update_payment_url"),
        dunning=True,
    ),
    MessageKind(
        "subscription_paused",
        _("Subscription paused"),
        ("subscription.paused",),
        (EMAIL,),
        required=True,
        action=(_("Manage your subscription"), "portal_url"),
    ),
    MessageKind(
        "subscription_resumed",
        _("Subscription resumed"),
        ("subscription.resumed",),
        (EMAIL,),
        required=True,
        action=(_("Manage your subscription"), "portal_url"),
    ),
    MessageKind(
        "subscription_canceled",
        _("Subscription cancelled"),
        ("subscription.canceled",),
        (EMAIL,),
        required=True,
    ),
    MessageKind(
        "subscription_ending_soon",
        _("Subscription ending soon"),
        ("subscription.term_ending", "subscription.cancel_scheduled"),
        (EMAIL,),
        required=True,
        action=(_("Manage your subscription"), "portal_url"),
    ),
    MessageKind(
        "subscription_suspended",
        _("Subscription suspended"),
        ("subscription.suspended",),
        (EMAIL, SMS),
        required=True,
        action=(_("Pay now"), "pay_url"),
    ),
    MessageKind(
        "subscription_reactivated",
        _("Subscription reactivated"),
        ("subscription.reactivated",),
        (EMAIL,),
        required=True,
        action=(_("Open your account"), "portal_url"),
    ),
    MessageKind(
        # Emitted when a readjustment is decided (subscriptions/services/readjustment.py);
        # its data: subscription, customer, previous_amount, new_amount, currency,
        # factor, due_on, effective_at, index_months.
        "price_change",
        _("Price change (readjustment notice)"),
        ("subscription.price_change_scheduled",),
        (EMAIL,),
        required=True,
        action=(_("Manage your subscription"), "portal_url"),
    ),
    MessageKind(
        # Emitted when the merchant ships a physical subscription's box
        # (billing/fulfilment.py); its data: fulfilment_order, subscription,
        # customer, invoice, carrier, tracking_code.
        "order_shipped",
        _("Box shipped (with its tracking code)"),
        ("fulfilment_order.shipped",),
        (EMAIL,),
        required=True,
        action=(_("Open your account"), "portal_url"),
    ),
    MessageKind(
        # Emitted when a Pix Automático mandate ends (billing/pix_automatico.py); the
        # subscriber is told only when the payer cancelled it or it expired, not when
        # the merchant replaced it with a new authorisation.
        "pix_mandate_ended",
        _("Pix Automático stopped (cancelled by the payer or expired)"),
        ("pix_mandate.cancelled", "pix_mandate.expired"),
        (EMAIL,),
        required=True,
        action=(_("Choose how to pay"), "update_payment_url"),
        statuses=("cancelled_by_payer", "expired"),
    ),
    MessageKind(
        # Emitted when a cycle costs more than the Pix Automático mandate allows (a
        # readjustment); a new authorisation awaits the subscriber in the portal.
        "pix_mandate_reauthorize",
        _("Pix Automático: authorise the new amount"),
        ("pix_mandate.reauthorization_required",),
        (EMAIL,),
        required=True,
        action=(_("Authorise the new amount"), "portal_url"),
    ),
    MessageKind(
        "card_expiring",
        _("Card expiring"),
        ("customer.payment_method_expiring",),
        (EMAIL,),
        required=False,
        action=(_("Update your payment method"), "update_payment_url"),
    ),
)

BY_KEY: dict[str, MessageKind] = {kind.key: kind for kind in KINDS}
DUNNING_KEYS: frozenset[str] = frozenset(k.key for k in KINDS if k.dunning)


def kinds_for_event(event_type: str, status: object = None) -> list[MessageKind]:
    """The messages an event of this type (and ``data["status"]``) calls for."""
    return [
        kind
        for kind in KINDS
        if event_type in kind.events and (not kind.statuses or status in kind.statuses)
    ]


def get(key: str) -> MessageKind | None:
    return BY_KEY.get(key)


# The variables templates may use. Every value is a string (money and dates
# already formatted in the message's language and the merchant's time zone);
# a variable that does not apply to a message is empty.
VARIABLES: dict[str, str | Promise] = {
    "customer_name": _("The subscriber's name"),
    "merchant_name": _("Your business's name"),
    "support_email": _("Your support email"),
    "portal_url": _("A signed link into the subscriber's portal"),
    "plan_name": _("The plan's name"),
    "plan_amount": _("The plan's price per period"),
    "renewal_date": _("When the current period ends (renewal date)"),
    "trial_end_date": _("When the trial ends"),
    "ends_date": _("When the subscription ends"),
    "invoice_number": _("The invoice's number"),
    "amount_due": _("The amount due on the invoice"),
    "due_date": _("The invoice's due date"),
    "invoice_url": _("Link to the subscriber's invoices"),
    "pay_url": _("Where to pay: the boleto slip, the Pix page or the invoices"),
    "boleto_line": _("The boleto's linha digitável"),
    "boleto_url": _("Link to the printable boleto"),
    "pix_code": _("The Pix copy-paste code"),
    "payment_amount": _("The payment's amount"),
    "failure_reason": _("Why the payment failed"),
    "update_payment_url": _("Link to update the payment method"),
    "action_url": _("Link to confirm a payment (3-D Secure)"),
    "card_brand": _("The card's brand"),
    "card_last4": _("The card's last four digits"),
    "card_expiry": _("The card's expiry (MM/YYYY)"),
    "new_amount": _("The new price"),
    "effective_date": _("When the new price applies"),
    "days": _("Days until (or since) the due date"),
    "tracking_code": _("The shipped box's tracking code"),
    "carrier": _("Who carries the shipped box"),
    "unsubscribe_url": _("One-click unsubscribe link (optional messages)"),
}


def sample_context(merchant_name: str, support_email: str) -> Mapping[str, str]:
    """Made-up values for the preview: no real subscriber's data."""
    site = "https://example.com"
    return {
        "customer_name": "Ana Souza",
        "merchant_name": merchant_name,
        "support_email": support_email or "support@example.com",
        "portal_url": f"{site}/portal",
        "plan_name": "Pro",
        "plan_amount": "R$ 99,90",
        "renewal_date": "15/03/2027",
        "trial_end_date": "15/03/2027",
        "ends_date": "15/03/2027",
        "invoice_number": "ACME-2027-000123",
        "amount_due": "R$ 99,90",
        "due_date": "15/03/2027",
        "invoice_url": f"{site}/portal/invoices",
        "pay_url": f"{site}/boleto",
        "boleto_line": "99990.00002 01234.567890 12345.678901 1 99990000009990",
        "boleto_url": f"{site}/boleto",
        "pix_code": "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
        "520400005303986540699.905802BR5913CICLO SANDBOX6009SAO PAULO62070503***6304ABCD",
        "payment_amount": "R$ 99,90",
        "failure_reason": "Your card has insufficient funds.",
        "update_payment_url": f"{site}/portal/payment-methods",
        "action_url": f"{site}/authenticate",
        "card_brand": "Visa",
        "card_last4": "4242",
        "card_expiry": "03/2027",
        "new_amount": "R$ 109,90",
        "effective_date": "15/03/2027",
        "days": "5",
        "tracking_code": "BR123456789BR",
        "carrier": "Correios",
        "unsubscribe_url": f"{site}/unsubscribe",
    }
