"""The régua de cobrança: policies (steps as data), cases (one per unpaid
invoice) and step runs (each step of a case, exactly once).

A case's step runs are written when the case opens, each with the moment it is
due (the invoice's due date + the step's offset, at the policy's local hour; a
smart retry may move later within its window). The sweep runs them in order;
a unique (case, step) row and a conditional status change make each one run
exactly once, however many sweeps or workers race.
"""

from functools import partial

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.ids import new_public_id
from dunning.domain import ACTION_RANK  # steps on one day: tell, try, then act
from tenants.models import TenantOwned


def _pid(prefix: str) -> "models.CharField[str, str]":
    return models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, prefix)
    )


class MethodKind(models.TextChoices):
    CARD = "card", _("Card")
    BOLETO = "boleto", _("Boleto")
    PIX = "pix", _("Pix")
    PIX_AUTOMATICO = "pix_automatico", _("Pix Automático")


class Action(models.TextChoices):
    REMIND = "remind", _("Send a reminder")
    RETRY = "retry", _("Retry the charge")
    SUSPEND = "suspend", _("Suspend access")
    CANCEL = "cancel", _("Cancel the subscription")
    UNCOLLECTIBLE = "uncollectible", _("Mark the invoice uncollectible")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class DunningPolicy(TenantOwned):
    """One per tenant and payment-method kind."""

    public_id = _pid("dpol")
    payment_method_kind = models.CharField(
        _("payment method"), max_length=16, choices=MethodKind.choices
    )
    # The tenant's local hour (0–23) at which the steps of a day run.
    run_hour = models.PositiveSmallIntegerField(_("local hour the steps run"), default=9)
    smart_retry = models.BooleanField(_("smart retries"), default=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("dunning policy")
        verbose_name_plural = _("dunning policies")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "payment_method_kind"], name="dunningpolicy_one_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(run_hour__gte=0) & Q(run_hour__lte=23), name="dunningpolicy_hour"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "created_at", "id"], name="dunningpolicy_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_payment_method_kind_display()} dunning"

    def live_steps(self) -> list["DunningStep"]:
        steps = [s for s in self.steps.all() if s.retired_at is None]
        return sorted(steps, key=lambda s: (s.offset_days, ACTION_RANK[s.action], s.pk or 0))


class DunningStep(TenantOwned):
    """One action on a day relative to the due date (negative = before).

    Editing a policy retires its steps and writes new ones, so the runs of cases
    already open keep pointing at the steps they were planned with.
    """

    policy = models.ForeignKey(DunningPolicy, on_delete=models.CASCADE, related_name="steps")
    offset_days = models.SmallIntegerField(_("day relative to the due date"))
    action = models.CharField(_("action"), max_length=13, choices=Action.choices)
    # Remind: who to tell and with which template. Retry: the message sent when
    # the retry fails (empty = none).
    channels = models.JSONField(default=list, blank=True)
    template = models.CharField(_("template"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("dunning step")
        verbose_name_plural = _("dunning steps")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "offset_days", "action"],
                condition=Q(retired_at__isnull=True),
                name="dunningstep_unique_live",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "policy"], name="dunningstep_policy")]

    def __str__(self) -> str:
        return f"D{self.offset_days:+d} {self.action}"


class DunningCase(TenantOwned):
    """The dunning of one unpaid invoice, from the failed charge (card) or the
    issued slip (boleto, Pix) until it is paid, voided, written off or the
    policy has run its course."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class CloseReason(models.TextChoices):
        PAID = "paid", _("Paid")
        VOIDED = "voided", _("Voided")
        UNCOLLECTIBLE = "uncollectible", _("Uncollectible")
        CANCELED = "canceled", _("Subscription canceled")
        EXHAUSTED = "exhausted", _("Every step ran")

    public_id = _pid("dc")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(DunningPolicy, on_delete=models.PROTECT, related_name="cases")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    payment_method_kind = models.CharField(max_length=16, choices=MethodKind.choices)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField()
    opened_at = models.DateTimeField()
    # When the next step is due (the sweep's watermark); empty once closed.
    next_run_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=13, choices=CloseReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("dunning case")
        verbose_name_plural = _("dunning cases")
        constraints = [
            models.UniqueConstraint(fields=["invoice"], name="dunningcase_one_per_invoice"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "next_run_at"], name="dunningcase_due"),
            models.Index(fields=["tenant", "subscription", "status"], name="dunningcase_sub"),
            models.Index(fields=["tenant", "created_at", "id"], name="dunningcase_created"),
            # Reports: cases opened, and recovered, in a range.
            models.Index(fields=["tenant", "opened_at"], name="dunningcase_opened"),
            models.Index(
                fields=["tenant", "closed_at"],
                condition=Q(close_reason="paid"),
                name="dunningcase_recovered",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class DunningStepRun(TenantOwned):
    """One step of one case. Planned when the case opens; run once."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Running")
        EXECUTED = "executed", _("Executed")
        SKIPPED = "skipped", _("Skipped")
        CANCELED = "canceled", _("Canceled")

    case = models.ForeignKey(DunningCase, on_delete=models.CASCADE, related_name="runs")
    step = models.ForeignKey(DunningStep, on_delete=models.PROTECT, related_name="runs")
    position = models.PositiveSmallIntegerField()
    # The step as it was when the case opened.
    offset_days = models.SmallIntegerField()
    action = models.CharField(max_length=13, choices=Action.choices)
    channels = models.JSONField(default=list, blank=True)
    template = models.CharField(max_length=64, blank=True)
    scheduled_at = models.DateTimeField()
    smart = models.BooleanField(default=False)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.SCHEDULED)
    outcome = models.CharField(max_length=40, blank=True)
    attempt = models.ForeignKey(
        "billing.PaymentAttempt", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The invoice's attempt count when a retry was claimed: a worker that dies
    # mid-retry is recovered without charging twice.
    attempts_before = models.PositiveSmallIntegerField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["case", "step"], name="dunningrun_once"),
            models.UniqueConstraint(fields=["case", "position"], name="dunningrun_position"),
        ]
        indexes = [models.Index(fields=["tenant", "case"], name="dunningrun_case")]

    def __str__(self) -> str:
        return f"{self.case_id} D{self.offset_days:+d} {self.action} {self.status}"
