"""A tenant's gateway credentials: validated, encrypted at rest, never audited in clear."""

import pytest
from django.db import connection

from billing.models import GatewayAccount
from billing.payments import gateway_account_set
from core.errors import ValidationFailed
from tenants.models import AuditEntry
from tests.support.billing import ACTOR, utc, world

NOW = utc(2026, 6, 1, 15)
GOOD = {"api_key": "sk_test_51Abcdefghijklmnop", "webhook_secret": "whsec_abcdefghijkl"}


def test_credentials_are_encrypted_at_rest_and_read_back(db: None) -> None:
    with world(NOW) as w:
        account = gateway_account_set(
            tenant=w.tenant, gateway="stripe", credentials=GOOD, actor=ACTOR, now=NOW
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT credentials_encrypted FROM billing_gatewayaccount")
            [(stored,)] = cursor.fetchall()
        entry = AuditEntry.objects.get(action="gateway_account.set")

    assert GOOD["api_key"] not in stored
    assert GOOD["webhook_secret"] not in stored
    assert account.credentials == GOOD
    assert entry.changes == {"fields": ["api_key", "webhook_secret"], "mode": "test"}
    assert "sk_test" not in str(entry.changes)


@pytest.mark.parametrize(
    ("credentials", "mode", "param"),
    [
        pytest.param(
            {**GOOD, "api_key": "pk_test_51Abcdefghijk"}, "test", "api_key", id="publishable"
        ),
        pytest.param(
            {**GOOD, "webhook_secret": "secret"}, "test", "webhook_secret", id="bad-secret"
        ),
        pytest.param({"api_key": GOOD["api_key"]}, "test", "credentials", id="missing-field"),
        pytest.param({**GOOD, "extra": "x"}, "test", "credentials", id="extra-field"),
        pytest.param(GOOD, "live", "api_key", id="test-key-in-live-mode"),
        pytest.param(GOOD, "prod", "mode", id="unknown-mode"),
        pytest.param({**GOOD, "api_key": 123}, "test", "api_key", id="not-a-string"),
    ],
)
def test_bad_credentials_are_refused_and_store_nothing(
    db: None, credentials: dict, mode: str, param: str
) -> None:
    with world(NOW) as w:
        with pytest.raises(ValidationFailed) as caught:
            gateway_account_set(
                tenant=w.tenant,
                gateway="stripe",
                credentials=credentials,
                actor=ACTOR,
                now=NOW,
                mode=mode,
            )
        assert caught.value.param == param
        assert not GatewayAccount.objects.exists()


def test_setting_again_replaces_the_credentials(db: None) -> None:
    with world(NOW) as w:
        gateway_account_set(
            tenant=w.tenant, gateway="stripe", credentials=GOOD, actor=ACTOR, now=NOW
        )
        newer = {**GOOD, "api_key": "sk_test_51Zyxwvutsrqponm"}
        account = gateway_account_set(
            tenant=w.tenant, gateway="stripe", credentials=newer, actor=ACTOR, now=NOW
        )
        assert GatewayAccount.objects.count() == 1
        assert account.credentials["api_key"] == "sk_test_51Zyxwvutsrqponm"
