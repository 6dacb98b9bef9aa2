"""billing's models, one module per concept; every model is importable from ``billing.models``."""

from billing.models.catalog import (
    Coupon,
    CouponRedemption,
    PlanPortalOptions,
    Seller,
    SellerPlanCap,
    TaxRate,
)
from billing.models.commissions import Commission, CommissionKind, CommissionPlan, Sale
from billing.models.disputes import Dispute
from billing.models.documents import (
    INVOICE_TRANSITIONS,
    BalanceTransaction,
    CreditNote,
    CreditNoteLine,
    DocumentSequence,
    Installment,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PendingLine,
)
from billing.models.fulfilment import (
    FULFILMENT_TRANSITIONS,
    FulfilmentOrder,
    FulfilmentStatus,
)
from billing.models.payments import (
    BoletoReturnFile,
    BoletoReturnLine,
    CollectionSettings,
    GatewayAccount,
    GatewayCustomer,
    InboundWebhook,
    PaymentAttempt,
    Refund,
    SandboxCard,
    SandboxCharge,
)
from billing.models.pix_automatico import (
    MANDATE_TRANSITIONS,
    MandateStatus,
    PixInstruction,
    PixMandate,
)

__all__ = [
    "FULFILMENT_TRANSITIONS",
    "INVOICE_TRANSITIONS",
    "MANDATE_TRANSITIONS",
    "BalanceTransaction",
    "BoletoReturnFile",
    "BoletoReturnLine",
    "CollectionSettings",
    "Commission",
    "CommissionKind",
    "CommissionPlan",
    "Coupon",
    "CouponRedemption",
    "CreditNote",
    "CreditNoteLine",
    "Dispute",
    "DocumentSequence",
    "FulfilmentOrder",
    "FulfilmentStatus",
    "GatewayAccount",
    "GatewayCustomer",
    "InboundWebhook",
    "Installment",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "MandateStatus",
    "PaymentAttempt",
    "PendingLine",
    "PixInstruction",
    "PixMandate",
    "PlanPortalOptions",
    "Refund",
    "Sale",
    "SandboxCard",
    "SandboxCharge",
    "Seller",
    "SellerPlanCap",
    "TaxRate",
]
