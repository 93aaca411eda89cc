"""Identity pages through the real login: creation with duplicate candidates, the status
badge and its reason, document check and directory call, Carte Vitale entry, the
vigilance queue side by side."""

from __future__ import annotations

import re

from sqlalchemy import select

from esante.identity.models import LocalIdentity, VigilancePair
from tests.core.test_auth import csrf_of, login
from tests.identity.conftest import PARENT

FORM = {"birth_name": "Martin", "first_names": "Jeanne Marie", "sex": "F",
        "birth_date": "1980-05-12", "birth_place": "75056", "used_name": "", "nir": "",
        "used_first_name": "", "document": "", "attribute": "", "local_id": ""}


def _new(client, personas, **change):
    page = client.get("/identite/nouvelle")
    data = {**FORM, "csrf_token": csrf_of(page.text), "finess": personas.est["A"].finess,
            **change}
    return client.post("/identite/nouvelle", data=data, follow_redirects=False)


def test_desk_flow(client, personas, db, ref):
    login(client, personas, "clerk_a")
    r = _new(client, personas, action="save")
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Identité provisoire" in page.text and "aucune pièce" in page.text
    # same traits again: the preview shows the existing record before saving
    preview = _new(client, personas, action="preview", first_names="Jeanne")
    assert preview.status_code == 200 and 'id="candidates"' in preview.text
    assert "même date de naissance" in preview.text
    # document check, then the directory: qualified, and the INS may go outward
    identity_url = r.headers["location"]
    for data in ({"action": "document", "document": "CNI"}, {"action": "directory"}):
        client.post(identity_url + "/action", data={**data, "csrf_token": csrf_of(page.text)})
    page = client.get(identity_url)
    assert "Identité qualifiée" in page.text and ref.jeanne.matricule in page.text
    assert re.search(r'id="outward-ins">' + ref.jeanne.matricule, page.text)
    # search
    found = client.get("/identite", params={"nom": "martin"})
    assert identity_url in found.text


def test_bad_form_says_why_and_saves_nothing(client, personas, db):
    login(client, personas, "clerk_a")
    r = _new(client, personas, action="save", birth_name="Mart1n")
    assert r.status_code == 422 and "caractère « 1 » non autorisé" in r.text
    assert db.scalar(select(LocalIdentity.id)) is None


def test_carte_vitale_page(client, personas, db, ref):
    login(client, personas, "clerk_a")
    page = client.get("/identite/carte-vitale")
    data = {"csrf_token": csrf_of(page.text), "finess": personas.est["A"].finess,
            "holder_nir": PARENT, "birth_name": "", "first_name": "", "birth_date": "2015-03-03"}
    several = client.post("/identite/carte-vitale", data=data)
    assert "plusieurs identités trouvées (code 02)" in several.text
    one = client.post("/identite/carte-vitale", data={**data, "first_name": "Léa"},
                      follow_redirects=False)
    assert one.status_code == 303
    assert "Identité récupérée" in client.get(one.headers["location"]).text


def test_vigilance_queue_side_by_side(client, personas, db, ref):
    login(client, personas, "idv_a")
    _new(client, personas, action="save")
    _new(client, personas, action="save", first_names="Jeanne")
    pair = db.scalars(select(VigilancePair)).one()
    page = client.get("/identite/vigilance")
    assert f'id="pair-{pair.id}"' in page.text and "JEANNE MARIE" in page.text
    r = client.post(f"/identite/vigilance/{pair.id}", data={
        "csrf_token": csrf_of(page.text), "action": "merge", "surviving_id": str(pair.first_id)},
        follow_redirects=False)
    assert r.status_code == 303 and "etat=merge" in r.headers["location"]
    assert db.get(LocalIdentity, pair.second_id).merged_into_id == pair.first_id
    done = client.get(r.headers["location"])
    assert "Annuler la décision" in done.text
