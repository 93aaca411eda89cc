"""Demo data: the 18 regions, 3,089 synthetic establishments, one account per role.

Idempotent: running it again adds only what is missing. Deterministic: the same names,
FINESS numbers, passwords and TOTP secrets every time, so the README can list them.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core.accounts import service as accounts
from esante.core.accounts.models import Role, User
from esante.core.audit import Actor
from esante.core.identifiers import finess_key
from esante.core.orgs import service as orgs
from esante.core.orgs.data import DEPARTMENTS
from esante.core.orgs.models import Establishment

ESTABLISHMENTS = 3089
DEMO_PASSWORD = "cyber-vigilance-hopital-2026"  # noqa: S105 - printed demo credential

# Share of health establishments per region (rounded from the national FINESS directory's
# order of magnitude; population-weighted, overseas regions small).
REGION_SHARE: dict[str, float] = {
    "11": 0.150, "84": 0.120, "93": 0.095, "76": 0.095, "75": 0.090, "32": 0.075,
    "44": 0.075, "52": 0.050, "53": 0.045, "28": 0.045, "27": 0.040, "24": 0.035,
    "94": 0.006, "04": 0.012, "01": 0.007, "02": 0.006, "03": 0.003, "06": 0.001,
}
CATEGORY_WEIGHTS = {"CH": 0.26, "CLINIQUE": 0.30, "ESPIC": 0.12, "SSR": 0.12, "CHS": 0.05,
                    "HAD": 0.06, "DIALYSE": 0.07, "CHU": 0.01, "CLCC": 0.01}
TOWNS: dict[str, str] = {
    "01": "Bourg-en-Bresse", "02": "Laon", "03": "Moulins", "04": "Digne-les-Bains",
    "05": "Gap", "06": "Nice", "07": "Privas", "08": "Charleville-Mézières", "09": "Foix",
    "10": "Troyes", "11": "Carcassonne", "12": "Rodez", "13": "Marseille", "14": "Caen",
    "15": "Aurillac", "16": "Angoulême", "17": "La Rochelle", "18": "Bourges", "19": "Tulle",
    "21": "Dijon", "22": "Saint-Brieuc", "23": "Guéret", "24": "Périgueux", "25": "Besançon",
    "26": "Valence", "27": "Évreux", "28": "Chartres", "29": "Brest", "2A": "Ajaccio",
    "2B": "Bastia", "30": "Nîmes", "31": "Toulouse", "32": "Auch", "33": "Bordeaux",
    "34": "Montpellier", "35": "Rennes", "36": "Châteauroux", "37": "Tours", "38": "Grenoble",
    "39": "Lons-le-Saunier", "40": "Mont-de-Marsan", "41": "Blois", "42": "Saint-Étienne",
    "43": "Le Puy-en-Velay", "44": "Nantes", "45": "Orléans", "46": "Cahors", "47": "Agen",
    "48": "Mende", "49": "Angers", "50": "Saint-Lô", "51": "Reims", "52": "Chaumont",
    "53": "Laval", "54": "Nancy", "55": "Bar-le-Duc", "56": "Vannes", "57": "Metz",
    "58": "Nevers", "59": "Lille", "60": "Beauvais", "61": "Alençon", "62": "Arras",
    "63": "Clermont-Ferrand", "64": "Pau", "65": "Tarbes", "66": "Perpignan",
    "67": "Strasbourg", "68": "Colmar", "69": "Lyon", "70": "Vesoul", "71": "Mâcon",
    "72": "Le Mans", "73": "Chambéry", "74": "Annecy", "75": "Paris", "76": "Rouen",
    "77": "Melun", "78": "Versailles", "79": "Niort", "80": "Amiens", "81": "Albi",
    "82": "Montauban", "83": "Toulon", "84": "Avignon", "85": "La Roche-sur-Yon",
    "86": "Poitiers", "87": "Limoges", "88": "Épinal", "89": "Auxerre", "90": "Belfort",
    "91": "Évry-Courcouronnes", "92": "Nanterre", "93": "Bobigny", "94": "Créteil",
    "95": "Pontoise", "971": "Pointe-à-Pitre", "972": "Fort-de-France", "973": "Cayenne",
    "974": "Saint-Denis", "976": "Mamoudzou",
}
SAINTS = ("Saint-Joseph", "Sainte-Anne", "Saint-Martin", "Sainte-Marie", "Saint-Louis",
          "Saint-Vincent", "Sainte-Thérèse", "Saint-Jean", "Saint-Augustin", "Sainte-Catherine",
          "du Parc", "des Cèdres", "de l'Espérance", "du Val", "des Tilleuls", "Pasteur",
          "Jules-Verne", "Bel-Air", "les Lilas", "Claude-Bernard")
PREFIX = {"CH": "Centre hospitalier", "CHU": "CHU", "CHS": "Centre hospitalier spécialisé",
          "CLCC": "Centre de lutte contre le cancer", "ESPIC": "Hôpital privé",
          "CLINIQUE": "Clinique", "SSR": "Centre de réadaptation", "HAD": "HAD",
          "DIALYSE": "Centre de dialyse"}

@dataclass(frozen=True)
class Persona:
    key: str
    email: str
    name: str
    role: Role
    scope_kind: str
    scope_ref: str = ""
    rpps: str | None = None


def _finess(dept: str, seq: int) -> str:
    head = (dept[:2] if not dept.startswith("97") else "97") + (
        f"{dept[2]}{seq:05d}" if dept.startswith("97") else f"{seq:06d}")
    return head + finess_key(head)


def anchor_finess() -> tuple[str, str]:
    return _finess("75", 1), _finess("69", 1)


def personas() -> list[Persona]:
    a, b = anchor_finess()
    return [
        Persona("admin", "admin@demo.esante.fr", "Alice Administratrice", Role.ADMIN, "nation"),
        Persona("citizen", "camille.martin@demo.esante.fr", "Camille Martin", Role.CITIZEN, "self"),
        Persona("doctor", "dr.bernard@demo.esante.fr", "Dr Louis Bernard", Role.PROFESSIONAL,
                "establishment", a, rpps="10003456786"),
        Persona("other_doctor", "dr.petit@demo.esante.fr", "Dr Inès Petit", Role.PROFESSIONAL,
                "establishment", b, rpps="10009876540"),
        Persona("rssi_a", "rssi@chu-paris.demo.esante.fr", "Hugo Leroy (RSSI)",
                Role.SECURITY_OFFICER, "establishment", a),
        Persona("rssi_b", "rssi@ch-lyon.demo.esante.fr", "Emma Moreau (RSSI)",
                Role.SECURITY_OFFICER, "establishment", b),
        Persona("director", "direction@chu-paris.demo.esante.fr", "Paul Girard (directeur)",
                Role.DIRECTOR, "establishment", a),
        Persona("ars", "cyber@ars-idf.demo.esante.fr", "Léa Fournier (ARS IDF)",
                Role.REGIONAL_OFFICER, "region", "11"),
        Persona("analyst", "analyste@cert-sante.demo.esante.fr", "Nora Lambert (CERT Santé)",
                Role.CYBER_ANALYST, "nation"),
        Persona("researcher", "chercheuse@demo.esante.fr", "Sofia Chevalier", Role.RESEARCHER,
                "nation"),
        Persona("hdh_reviewer", "evaluateur@hdh.demo.esante.fr", "Marc Rousseau",
                Role.DATAHUB_REVIEWER, "nation"),
        Persona("publisher", "editeur@demo.esante.fr", "Julie Blanc (éditrice)",
                Role.APP_PUBLISHER, "nation"),
        Persona("app_reviewer", "referencement@demo.esante.fr", "Thomas Garnier",
                Role.APP_REVIEWER, "nation"),
        Persona("identity_desk", "accueil@chu-paris.demo.esante.fr", "Chloé Robin (accueil)",
                Role.IDENTITY_CLERK, "establishment", a),
        Persona("identity_cell", "identitovigilance@chu-paris.demo.esante.fr",
                "Yanis Faure (identitovigilance)", Role.IDENTITY_VIGILANCE, "establishment", a),
    ]


def totp_secret_for(email: str) -> str:
    digest = hashlib.sha256(f"esante-demo-totp:{email}".encode()).digest()[:20]
    return base64.b32encode(digest).decode()


def seed_establishments(session: Session, progress: Callable[[int], None] | None = None) -> int:
    orgs.ensure_regions(session)
    have = session.scalar(select(func.count()).select_from(Establishment)) or 0
    if have >= ESTABLISHMENTS:
        return 0
    existing = set(session.scalars(select(Establishment.finess)))
    rng = random.Random(2019_11_28)
    actor = Actor.system("démo")
    created = 0
    counts = _split(ESTABLISHMENTS)
    cats, weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    for region, n in counts.items():
        deps = DEPARTMENTS[region]
        for i in range(n):
            dept = deps[i % len(deps)]
            finess = _finess(dept, 1 + i // len(deps))
            category = "CHU" if i == 0 and region not in ("06", "03") else rng.choices(cats, weights)[0]
            town = TOWNS[dept]
            name = _name(rng, category, town, i)
            ght = f"GHT {TOWNS[deps[(i // 7) % len(deps)]]}" if category in ("CH", "CHU", "CHS") else None
            if finess not in existing:
                orgs.create_establishment(session, actor=actor, finess=finess, name=name,
                                          category=category, department=dept, town=town,
                                          ght_name=ght, audited=False)
                created += 1
            if progress:
                progress(1)
    return created


def _split(total: int) -> dict[str, int]:
    raw = {r: int(total * s) for r, s in REGION_SHARE.items()}
    raw["11"] += total - sum(raw.values())  # rounding remainder to the largest region
    return raw


def _name(rng: random.Random, category: str, town: str, i: int) -> str:
    if category == "CHU":
        return f"CHU de {town}"
    if category in ("CH", "CHS", "HAD", "DIALYSE"):
        suffix = "" if i < 20 else f" — site {rng.choice(SAINTS)}"
        return f"{PREFIX[category]} de {town}{suffix}"
    return f"{PREFIX[category]} {rng.choice(SAINTS)} — {town}"


def seed_personas(session: Session) -> list[tuple[Persona, User, bool]]:
    actor = Actor.system("démo")
    out = []
    for persona in personas():
        user = accounts.get_user_by_email(session, persona.email)
        created = user is None
        if user is None:
            user = accounts.create_user(session, actor=actor, email=persona.email,
                                        password=DEMO_PASSWORD, display_name=persona.name,
                                        rpps=persona.rpps)
        accounts.grant_role(session, actor=actor, user=user, role=persona.role,
                            scope_kind=persona.scope_kind, scope_ref=persona.scope_ref)
        if persona.role != Role.CITIZEN and not user.totp_confirmed:
            accounts.start_totp_setup(session, user=user, secret=totp_secret_for(persona.email))
            user.totp_confirmed = True
        out.append((persona, user, created))
    session.flush()
    return out
