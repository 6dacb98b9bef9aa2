import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        pytest.param("en", "Sign In", id="en"),
        pytest.param("pt-BR", "Entrar", id="pt-BR"),
        pytest.param("ro", "Conecteaza-te", id="ro"),
    ],
)
def test_the_login_page_speaks_the_browsers_language(
    client: Client, language: str, expected: str
) -> None:
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert expected in response.content.decode()


def test_our_own_strings_are_translated(acme, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.post("/accounts/login/", {"login": "owner@acme.example", "password": "s3cret-Pass!"})

    pt = client.get("/", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    ro = client.get("/", HTTP_ACCEPT_LANGUAGE="ro").content.decode()

    assert "Nenhum cliente ainda." in pt
    assert "Chaves de API" in pt
    assert "Niciun client încă." in ro


# The strings of recent features (intro phases, in-arrears billing, trial invoices,
# the plan's portal options, the packing list) come out in the merchant's language.
NEW_STRINGS = {
    "pt-br": {
        "plan": [
            "Preço promocional",
            "R$\xa09,90 nos primeiros 3 ciclos",
            "Momento da cobrança",
            "Pré-pago (no início de cada período)",
        ],
        "plan_form": [
            "Ciclos com preço promocional",
            "Pós-pago (no fim de cada período)",
            "Pós-pago: cada período é faturado no fim, pelo que foi usado.",
        ],
        "portal": ["Assinantes podem pausar", "Oferta de retenção", "Plano mais barato oferecido"],
        "settings": ["Fatura no início do período de teste", "Uma fatura zerada para o período"],
        "csv": "Início do período",
    },
    "ro": {
        "plan": [
            "Preț introductiv",
            "pentru primele 3 cicluri",
            "Momentul facturării",
            "Anticipat (la începutul fiecărei perioade)",
        ],
        "plan_form": [
            "Cicluri cu preț introductiv",
            "Ulterior (la sfârșitul fiecărei perioade)",
            "Ulterior: fiecare perioadă este facturată la sfârșitul ei, pentru ce s-a folosit.",
        ],
        "portal": ["Abonații pot suspenda", "Ofertă de retenție", "Plan mai ieftin oferit"],
        "settings": ["Factură la începutul perioadei de probă", "O factură cu valoare zero"],
        "csv": "Începutul perioadei",
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", list(NEW_STRINGS))
def test_new_dashboard_strings_are_translated(acme, language: str) -> None:  # type: ignore[no-untyped-def]
    from django.utils.html import escape

    from tests.dashboard.test_catalog import _owner, _plan, _product

    plan = _plan(acme, _product(acme), intro_amount_minor=990, intro_cycles=3)
    client = _owner(acme, language)
    expected = NEW_STRINGS[language]

    pages = {
        "plan": f"/dashboard/catalog/plans/{plan.public_id}/",
        "plan_form": "/dashboard/catalog/plans/new/",
        "portal": f"/dashboard/catalog/plans/{plan.public_id}/portal/",
        "settings": "/dashboard/settings/",
    }
    for page, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        missing = [s for s in expected[page] if escape(s) not in body and s not in body]
        assert not missing, f"{url} in {language}: {missing}"

    packing_list = client.get("/dashboard/fulfilment/packing-list/")
    assert packing_list.status_code == 200
    assert expected["csv"] in packing_list.content.decode().splitlines()[0]


@pytest.mark.parametrize(
    ("locale", "intro", "trial"),
    [
        (
            "pt-br",
            ["Preço promocional, 2 de 3", "Preço promocional, período parcial"],
            "Período de teste",
        ),
        (
            "ro",
            ["Preț introductiv, 2 din 3", "Preț introductiv, perioadă parțială"],
            "Perioadă de probă",
        ),
        ("en", ["Intro price, 2 of 3", "Intro price, partial period"], "Trial period"),
    ],
)
def test_invoice_line_labels_are_in_the_customers_language(
    locale: str, intro: list[str], trial: str
) -> None:
    from django.utils import translation

    from billing.models import InvoiceLine
    from billing.pricing import intro_label

    assert [intro_label((2, 3), locale), intro_label((0, 3), locale)] == intro
    with translation.override(locale):
        assert str(InvoiceLine.Kind.TRIAL.label) == trial
