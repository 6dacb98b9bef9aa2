"""The ``discount`` object of the API (a coupon applied to a subscription or a
customer), shown in the subscription and customer objects, and the input of
``POST /subscriptions/{id}/discount`` and ``POST /customers/{id}/discount``.

One discount applies to an invoice: a subscription's own discount wins over
its customer's (as in Stripe); the customer's applies to the invoices of the
customer's subscriptions that have none in force.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from billing import discounts
from billing.models import CouponRedemption
from core.api import ObjectField, StrictSerializer


class DiscountSerializer(serializers.Serializer):
    object = ObjectField("discount")
    coupon = serializers.CharField(source="coupon.code", help_text="The coupon's code.")
    coupon_id = serializers.CharField(source="coupon.public_id", help_text="co_…")
    subscription = serializers.SerializerMethodField(
        help_text="The subscription (sub_…) it applies to; null: the customer's discount."
    )
    start = serializers.DateTimeField(source="redeemed_at", help_text="When it was applied.")
    cycles_left = serializers.IntegerField(
        allow_null=True,
        help_text="Invoices (periods) it still discounts; null: forever. A customer's "
        "discount counts the customer's invoices, whichever subscription.",
    )
    carried_minor = serializers.IntegerField(
        help_text="An amount-off coupon's remainder not used yet: it discounts the next "
        "invoices until spent."
    )

    def get_subscription(self, obj: CouponRedemption) -> str | None:
        return obj.subscription.public_id if obj.subscription is not None else None


def discount_data(redemption: CouponRedemption | None) -> dict[str, Any] | None:
    return DiscountSerializer(redemption).data if redemption is not None else None


class DiscountApplySerializer(StrictSerializer):
    coupon = serializers.CharField(max_length=64, help_text="The coupon's code.")
    proration = serializers.ChoiceField(
        choices=list(discounts.PRORATIONS),
        default=discounts.NEXT_INVOICE,
        help_text="next_invoice: from the next invoice; now: the rest of the current period "
        "is credited and charged again at the new discount, invoiced at once.",
    )


class CustomerDiscountApplySerializer(StrictSerializer):
    coupon = serializers.CharField(max_length=64, help_text="The coupon's code.")
