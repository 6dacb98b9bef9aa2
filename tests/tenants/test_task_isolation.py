"""A Celery task, in a real worker process, sees only its own tenant."""

import pytest

from customers.models import Customer
from tenants.context import tenant_context
from tenants.tasks import count_visible_rows
from tests.conftest import make_tenant
from tests.support.workers import celery_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.mark.django_db(transaction=True)
def test_each_task_sees_only_its_tenant_in_a_reused_worker_process() -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    for setup in (acme, globex):
        with tenant_context(setup.tenant):
            Customer.objects.create(name=setup.tenant.slug)

    with celery_worker() as worker:
        results = [
            count_visible_rows.apply_async(
                kwargs={"tenant_id": setup.tenant.pk, "table": "customers_customer"},
                queue=worker.queue,
            ).get(timeout=30)
            for setup in (acme, globex, acme)
        ]
        # A task without its tenant is refused before it reaches the broker.
        with pytest.raises(TypeError, match="tenant_id"):
            count_visible_rows.apply_async(
                kwargs={"table": "customers_customer"}, queue=worker.queue
            )

    assert results == [
        {"tenant_ids": [acme.tenant.pk], "setting": str(acme.tenant.pk), "user": "ciclo_app"},
        {"tenant_ids": [globex.tenant.pk], "setting": str(globex.tenant.pk), "user": "ciclo_app"},
        {"tenant_ids": [acme.tenant.pk], "setting": str(acme.tenant.pk), "user": "ciclo_app"},
    ]
