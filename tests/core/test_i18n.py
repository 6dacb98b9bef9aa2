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
