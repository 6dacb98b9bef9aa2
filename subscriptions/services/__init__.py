"""Writes for the catalog and the subscription lifecycle, one module per concept:

- ``catalog``: products, plans and their price versions, the checks on amounts and tiers;
- ``lifecycle``: open, change, cancel (and undo), pause and resume, activation on the
  first paid invoice, and the lock the billing commands take (``lock_subscription``);
- ``access``: dunning's moves, past due, suspended and reactivated.

Every public name is re-exported here, so ``from subscriptions import services`` keeps
working for its callers.
"""

from subscriptions.services.access import (
    subscription_mark_past_due,
    subscription_reactivate,
    subscription_suspend,
)
from subscriptions.services.catalog import (
    MAX_AMOUNT_MINOR,
    check_amount,
    is_whole,
    plan_change_price,
    plan_create,
    plan_set_active,
    plan_update,
    product_archive,
    product_create,
    product_update,
)
from subscriptions.services.lifecycle import (
    CHANGEABLE,
    AnchorChoice,
    PauseUnused,
    ProrationBehavior,
    Status,
    cancel_at_period_end,
    cancel_now_begin,
    cancel_now_finish,
    cancel_reason_record,
    change_schedule,
    change_validate,
    lock_subscription,
    pause_call_off,
    subscription_cancel_undo,
    subscription_invoice_paid,
    subscription_open,
    subscription_pause,
    subscription_payment_method_set,
)
from subscriptions.services.readjustment import (
    index_series_create,
    index_values_import_csv,
    index_values_set,
    readjustment_policy_set,
    readjustment_policy_turn_off,
    readjustment_schedule,
    readjustments_schedule_many,
    readjustments_sweep,
)

__all__ = [
    "CHANGEABLE",
    "MAX_AMOUNT_MINOR",
    "AnchorChoice",
    "PauseUnused",
    "ProrationBehavior",
    "Status",
    "cancel_at_period_end",
    "cancel_now_begin",
    "cancel_now_finish",
    "cancel_reason_record",
    "change_schedule",
    "change_validate",
    "check_amount",
    "index_series_create",
    "index_values_import_csv",
    "index_values_set",
    "is_whole",
    "lock_subscription",
    "pause_call_off",
    "plan_change_price",
    "plan_create",
    "plan_set_active",
    "plan_update",
    "product_archive",
    "product_create",
    "product_update",
    "readjustment_policy_set",
    "readjustment_policy_turn_off",
    "readjustment_schedule",
    "readjustments_schedule_many",
    "readjustments_sweep",
    "subscription_cancel_undo",
    "subscription_invoice_paid",
    "subscription_mark_past_due",
    "subscription_open",
    "subscription_pause",
    "subscription_payment_method_set",
    "subscription_reactivate",
    "subscription_suspend",
]
