"""The TAXII 2.1 read endpoint: discovery, API root, collections, objects under the TLP rule,
pagination and filters; objects validate with the stix2 parser."""

from __future__ import annotations

import stix2

from esante.cyber.indicators.taxii import COLLECTION_ID, MEDIA
from tests.cyber.test_indicators import STRICT, share

ROOT = "/api/taxii2"
OBJECTS = f"{ROOT}/cyber/collections/{COLLECTION_ID}/objects/"


def get(client, personas, who: str, path: str, **params):  # type: ignore[no-untyped-def]
    return client.get(path, params=params, headers={**personas.auth(who), "Accept": MEDIA})


def test_discovery_root_and_collections(client, personas) -> None:
    r = get(client, personas, "rssi_b", f"{ROOT}/")
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/taxii+json")
    assert r.json()["api_roots"] == ["https://testserver/api/taxii2/cyber/"]
    assert get(client, personas, "rssi_b", f"{ROOT}/cyber/").json()["versions"] == [MEDIA]
    cols = get(client, personas, "rssi_b", f"{ROOT}/cyber/collections/").json()["collections"]
    assert [c["id"] for c in cols] == [COLLECTION_ID] and cols[0]["can_write"] is False
    assert get(client, personas, "rssi_b",
               f"{ROOT}/cyber/collections/nope/").status_code == 404
    assert client.get(f"{ROOT}/").status_code == 401
    assert get(client, personas, "doctor", f"{ROOT}/").status_code == 403
    bad = client.get(f"{ROOT}/", headers={**personas.auth("rssi_b"), "Accept": "text/html"})
    assert bad.status_code == 406


def test_objects_follow_the_tlp_rule_and_page(client, personas) -> None:
    share(client, personas, **STRICT)
    share(client, personas, title="Nationale 1", tlp="green", scope="national")
    share(client, personas, title="Nationale 2", tlp="clear", scope="national",
          indicators=[{"value": "second.example.net"}])
    first = get(client, personas, "rssi_b", OBJECTS, limit=1)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["more"] is True and body["next"]
    assert "X-TAXII-Date-Added-First" in first.headers
    second = get(client, personas, "rssi_b", OBJECTS, limit=1, next=body["next"]).json()
    assert second["more"] is False
    names = {o["name"] for page in (body, second) for o in page["objects"]
             if o["type"] == "report"}
    assert names == {"Nationale 1", "Nationale 2"}  # not A's AMBER+STRICT event
    text = str(body) + str(second)
    assert "91.203.5.77" not in text
    bundle = stix2.parse({"type": "bundle", "id": "bundle--6f1c9e1e-2b7a-4c55-9a43-0d1e5e5a7c01",
                          "objects": body["objects"]})
    assert any(o.type == "indicator" for o in bundle.objects)
    only = get(client, personas, "rssi_a", OBJECTS, **{"match[type]": "indicator"}).json()
    assert {o["type"] for o in only["objects"]} == {"indicator"}
    assert any("91.203.5.77" in o["pattern"] for o in only["objects"])  # A sees its own
    later = get(client, personas, "rssi_a", OBJECTS, added_after="2100-01-01T00:00:00Z").json()
    assert later == {"more": False, "objects": []}
