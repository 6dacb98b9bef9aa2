from functools import partial

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.ids import new_public_id

# Event lives in tenants (the outbox writer sits low, in tenants/outbox.py); it is
# re-exported here for the apps and tests that read events through notifications.
from tenants.models import Event, TenantOwned

__all__ = ["Event"]


# --- Outbound webhooks (notifications/webhooks/) -----------------------------


class WebhookEndpoint(TenantOwned):
    """A merchant's URL that receives the events it subscribed to, signed per
    the Standard Webhooks specification with its own secret."""

    class Status(models.TextChoices):
        ENABLED = "enabled", _("Enabled")
        DISABLED = "disabled", _("Disabled")

    class DisabledReason(models.TextChoices):
        MANUAL = "manual", _("Disabled by the merchant")
        FAILING = "failing", _("Disabled after failing for three days")

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "we")
    )
    url = models.CharField(_("URL"), max_length=2048)
    description = models.CharField(_("description"), max_length=500, blank=True)
    # Exact types ("invoice.paid"), prefixes ("invoice.*") or "*".
    enabled_events = models.JSONField(_("events"), default=list)
    # {"current": "whsec_…", "previous": "whsec_…", "previous_until": ISO-8601}, encrypted.
    secrets_encrypted = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ENABLED)
    disabled_reason = models.CharField(max_length=8, choices=DisabledReason.choices, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The first failed attempt since the last success (None while healthy).
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [models.Index(fields=["tenant", "created_at", "id"], name="whendpoint_created")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(TenantOwned):
    """One event to one endpoint: sent until a 2xx answer or the retries run out.

    The unique (event, endpoint) pair is what makes delivery "once per id": the
    receiver may see an attempt twice (at least once), never two deliveries.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "wd")
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # Pending: when to try next. Sending: when the claim lapses (the worker died).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # A replay asked for the next attempt (marked manual in the log).
    replay_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "event", "endpoint"], name="whdelivery_once_per_event"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "endpoint", "created_at", "id"], name="whdelivery_endpoint"
            ),
            models.Index(
                fields=["tenant", "next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="whdelivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"


class WebhookAttempt(TenantOwned):
    """One HTTP request of a delivery: recorded before it is sent, settled after."""

    class Outcome(models.TextChoices):
        SENDING = "sending", _("Sending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        # The worker stopped mid-request; whether the receiver got it is unknown.
        INTERRUPTED = "interrupted", _("Interrupted")

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    manual = models.BooleanField(default=False)
    outcome = models.CharField(max_length=11, choices=Outcome.choices, default=Outcome.SENDING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "delivery", "number"], name="whattempt_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number} {self.outcome}"


# --- Subscriber messages: email and SMS (issue 5) -------------------------------
# Written by ``notifications.messages.plan_messages`` from outbox events, sent
# by ``notifications.messages.deliver``; tenants' own wording lives in
# ``MessageTemplate``; ``Notice`` marks the sweep's one-per-period notices.


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class MessageDelivery(TenantOwned):
    """One message to one recipient for one event, sent at least once.

    The state is written before the send (``sending``, with the attempt number
    and a deadline in ``next_attempt_at``) and after it (``sent`` with the
    provider's id, or ``failed`` with the error). Rows whose ``next_attempt_at``
    has passed are due: new ones, failed ones waiting for a retry, and
    ``sending`` ones whose worker died mid-send.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "msg")
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="message_deliveries")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template = models.CharField(_("template"), max_length=48)
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=10)
    # Legally required notices ignore the marketing opt-out.
    required = models.BooleanField(default=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "template", "channel", "recipient"], name="message_once"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sending"], next_attempt_at__isnull=False)
                | ~models.Q(status__in=["pending", "sending"]),
                name="message_in_flight_is_due",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(next_attempt_at__isnull=False),
                name="message_due",
            ),
            models.Index(fields=["tenant", "created_at", "id"], name="message_tenant_created"),
            models.Index(fields=["tenant", "customer"], name="message_tenant_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.template}/{self.channel} {self.status}"


class MessageTemplate(TenantOwned):
    """A tenant's own wording of one message, in one channel and language.

    Rendered in a sandbox (plain values only, a short list of tags and
    filters, HTML escaped), so a merchant cannot reach other data through it.
    """

    key = models.CharField(_("message"), max_length=48)
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"), max_length=10_000)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "key", "channel", "language"], name="message_template_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}/{self.channel}/{self.language}"


class Notice(TenantOwned):
    """A scheduled notice (trial ending, renewal upcoming) emitted for one
    subscription period: the unique constraint makes it exactly once."""

    subscription = models.ForeignKey(
        "subscriptions.Subscription", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=32)
    # The moment announced: the trial's end or the renewal's period end.
    period_end = models.DateTimeField()
    event_public_id = models.CharField(max_length=32)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "period_end"], name="notice_once_per_period"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "subscription"], name="notice_tenant_sub")]

    def __str__(self) -> str:
        return f"{self.kind} {self.subscription_id} {self.period_end}"


class SmsAccount(TenantOwned):
    """A tenant's own SMS provider account (Twilio); without one the platform's
    settings apply. Credentials are encrypted at rest."""

    provider = models.CharField(max_length=16, choices=[("twilio", "Twilio")], default="twilio")
    credentials_encrypted = models.TextField()
    from_number = models.CharField(_("sender number"), max_length=20)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="sms_account_one")]

    def __str__(self) -> str:
        return f"{self.provider} {self.from_number}"
