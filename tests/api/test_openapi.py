import re

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate


def test_the_openapi_document_describes_the_api(client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["title"].startswith("Lianxin")
    assert "/readyz" in spec["paths"]
    assert "503" in spec["paths"]["/readyz"]["get"]["responses"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_openapi_document_is_valid_openapi(app: Flask, client: FlaskClient) -> None:
    # A generated spec can still break the standard (a Decimal bound rendered as a
    # string did); the mini-program team generates clients from it.
    spec = client.get("/api/openapi.json").get_json()
    validate(spec)  # raises on the first breach of the standard
    # …and it is the whole API: every route the app serves under /api/v1 is in it.
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    served = {
        # A converter may take arguments: <any(problems, tasks):which>.
        (method, re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert len(served) > 100
    assert served - documented == set()


def test_the_docs_page_loads_swagger_ui_from_this_server(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/static/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    with client.get("/api/docs/static/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
        assert len(asset.get_data()) > 100_000


def test_a_missing_docs_asset_is_a_404_in_our_format(client: FlaskClient) -> None:
    response = client.get("/api/docs/static/../../pyproject.toml")
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"
