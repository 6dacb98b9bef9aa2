"""Outbound webhooks: the merchant's endpoints, the fan-out from the outbox, the sender.

One module per concept:

- ``signing``: Standard Webhooks signatures, the endpoints' secrets and their rotation;
- ``urlguard``: the SSRF guard on endpoint URLs, when saved and at connect time;
- ``filters``: the event filters an endpoint subscribes with;
- ``payload``: an event as the JSON body a webhook carries;
- ``endpoints``: the endpoint services (create, update, rotate, disable, enable, delete);
- ``fanout``: planning deliveries for the outbox's events;
- ``enqueue``: handing deliveries to the send task;
- ``delivery``: sending, retries, the attempts log, replays and the automatic disabling.

The names callers use are re-exported here.
"""

from __future__ import annotations

from notifications.webhooks.delivery import (
    BODY_EXCERPT_CHARS,
    JITTER,
    RETRY_DELAYS,
    SEND_CHUNK,
    SEND_THREADS,
    SendStats,
    deliveries_send,
    delivery_list,
    due_tenant_ids,
    http_client,
    webhook_delivery_replay,
    webhook_event_replay,
)
from notifications.webhooks.endpoints import (
    EndpointWithSecret,
    endpoint_get,
    endpoint_list,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from notifications.webhooks.fanout import plan_deliveries, plan_deliveries_many
from notifications.webhooks.filters import MAX_EVENT_FILTERS, event_matches, validate_event_filters
from notifications.webhooks.payload import event_body, event_data, event_payload, iso
from notifications.webhooks.signing import new_secret, sign, signing_secrets
from notifications.webhooks.urlguard import MAX_URL_LENGTH, UnsafeAddress, validate_url

__all__ = [
    "BODY_EXCERPT_CHARS",
    "JITTER",
    "MAX_EVENT_FILTERS",
    "MAX_URL_LENGTH",
    "RETRY_DELAYS",
    "SEND_CHUNK",
    "SEND_THREADS",
    "EndpointWithSecret",
    "SendStats",
    "UnsafeAddress",
    "deliveries_send",
    "delivery_list",
    "due_tenant_ids",
    "endpoint_get",
    "endpoint_list",
    "event_body",
    "event_data",
    "event_matches",
    "event_payload",
    "http_client",
    "iso",
    "new_secret",
    "plan_deliveries",
    "plan_deliveries_many",
    "sign",
    "signing_secrets",
    "validate_event_filters",
    "validate_url",
    "webhook_delivery_replay",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_disable",
    "webhook_endpoint_enable",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_update",
    "webhook_event_replay",
]
