"""Collecting invoices, one module per concept:

- ``methods``: payment methods kept on a customer (gateway tokens, boleto, Pix);
- ``charges``: the charge protocol (DESIGN.md invariant 5: the attempt recorded
  before the call, the gateway called outside any transaction with backoff,
  the answer settled after) and the reconciliation of attempts left pending;
- ``inbound_webhooks``: gateways' webhooks, verified, stored and processed once;
- ``refunds``: refunds of successful payments, with their credit notes;
- ``installments``: an invoice split into parts (parcelamento), each charged
  through the charge protocol;
- ``gateway_accounts``: the tenant's own gateway credentials.

Callers import from ``billing.payments``; the names below are its public surface.
"""

from billing.payments.charges import invoice_charge, payment_attempt_reconcile
from billing.payments.gateway_accounts import gateway_account_deactivate, gateway_account_set
from billing.payments.inbound_webhooks import webhook_receive
from billing.payments.installments import (
    ScheduledInstallment,
    installment_limit,
    invoice_installment_schedule,
    invoice_installments_create,
)
from billing.payments.methods import (
    default_payment_method,
    payment_method_attach,
    payment_method_attach_offline,
)
from billing.payments.refunds import payment_refund

__all__ = [
    "ScheduledInstallment",
    "default_payment_method",
    "gateway_account_deactivate",
    "gateway_account_set",
    "installment_limit",
    "invoice_charge",
    "invoice_installment_schedule",
    "invoice_installments_create",
    "payment_attempt_reconcile",
    "payment_method_attach",
    "payment_method_attach_offline",
    "payment_refund",
    "webhook_receive",
]
