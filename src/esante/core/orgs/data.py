"""Reference lists: the 18 French regions (INSEE codes) with their ARS, departments,
and establishment categories."""

from __future__ import annotations

# The national cyber cell: it triages incidents, publishes advisories and shares indicators.
# Its members hold the ``cyber_analyst`` role with a national scope.
NATIONAL_CELL = (
    "CERT Santé",
    "Cellule nationale de cybersécurité des structures de santé, opérée par l'Agence du "
    "numérique en santé",
)

REGIONS: dict[str, tuple[str, str]] = {
    "01": ("Guadeloupe", "ARS Guadeloupe, Saint-Martin et Saint-Barthélemy"),
    "02": ("Martinique", "ARS Martinique"),
    "03": ("Guyane", "ARS Guyane"),
    "04": ("La Réunion", "ARS La Réunion"),
    "06": ("Mayotte", "ARS Mayotte"),
    "11": ("Île-de-France", "ARS Île-de-France"),
    "24": ("Centre-Val de Loire", "ARS Centre-Val de Loire"),
    "27": ("Bourgogne-Franche-Comté", "ARS Bourgogne-Franche-Comté"),
    "28": ("Normandie", "ARS Normandie"),
    "32": ("Hauts-de-France", "ARS Hauts-de-France"),
    "44": ("Grand Est", "ARS Grand Est"),
    "52": ("Pays de la Loire", "ARS Pays de la Loire"),
    "53": ("Bretagne", "ARS Bretagne"),
    "75": ("Nouvelle-Aquitaine", "ARS Nouvelle-Aquitaine"),
    "76": ("Occitanie", "ARS Occitanie"),
    "84": ("Auvergne-Rhône-Alpes", "ARS Auvergne-Rhône-Alpes"),
    "93": ("Provence-Alpes-Côte d'Azur", "ARS Provence-Alpes-Côte d'Azur"),
    "94": ("Corse", "ARS Corse"),
}

DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "01": ("971",), "02": ("972",), "03": ("973",), "04": ("974",), "06": ("976",),
    "11": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "24": ("18", "28", "36", "37", "41", "45"),
    "27": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "28": ("14", "27", "50", "61", "76"),
    "32": ("02", "59", "60", "62", "80"),
    "44": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "52": ("44", "49", "53", "72", "85"),
    "53": ("22", "29", "35", "56"),
    "75": ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"),
    "76": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "84": ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    "93": ("04", "05", "06", "13", "83", "84"),
    "94": ("2A", "2B"),
}

CATEGORIES: dict[str, str] = {
    "CHU": "Centre hospitalier universitaire",
    "CH": "Centre hospitalier",
    "CHS": "Centre hospitalier spécialisé en psychiatrie",
    "CLCC": "Centre de lutte contre le cancer",
    "ESPIC": "Établissement de santé privé d'intérêt collectif",
    "CLINIQUE": "Clinique privée",
    "SSR": "Soins médicaux et de réadaptation",
    "HAD": "Hospitalisation à domicile",
    "DIALYSE": "Centre de dialyse",
}


def region_of_department(department: str) -> str | None:
    for region, deps in DEPARTMENTS.items():
        if department in deps:
            return region
    return None
