"""Reference distributions of the synthetic data: approximate, public orders of magnitude.

- Age pyramid: INSEE population estimates at 1 January 2024 (France, Mayotte included),
  five-year bands, millions, rounded; the share of women per band rises with age.
- Department populations: INSEE legal populations (2021), thousands, rounded.
- Hospital stays: roughly 0.26 stays (MCO, sessions excluded) per inhabitant and year,
  higher with age (ATIH, PMSI activity reports, orders of magnitude).
- Diagnoses, acts and drugs: frequent codes with Zipf-like weights chosen to look like the
  PMSI and the SNDS open data (Open Medic), not copied from them.

The list of communes is synthetic: codes have the INSEE format (department + 3 digits)
and sizes follow a Zipf law inside each department, but not every code exists in the COG.
"""

from __future__ import annotations

# (lower age of the band, millions of people, share of women)
AGE_BANDS: tuple[tuple[int, float, float], ...] = (
    (0, 3.45, 0.488), (5, 3.85, 0.488), (10, 4.15, 0.488), (15, 4.20, 0.488),
    (20, 3.95, 0.495), (25, 3.70, 0.505), (30, 4.00, 0.510), (35, 4.25, 0.512),
    (40, 4.25, 0.510), (45, 4.20, 0.508), (50, 4.45, 0.510), (55, 4.40, 0.515),
    (60, 4.20, 0.525), (65, 3.95, 0.535), (70, 3.65, 0.545), (75, 2.95, 0.570),
    (80, 1.95, 0.600), (85, 1.35, 0.650), (90, 0.68, 0.720), (95, 0.18, 0.790),
    (100, 0.03, 0.850),
)

# INSEE code → thousands of inhabitants
DEPARTMENT_POPULATION: dict[str, int] = {
    "01": 660, "02": 530, "03": 335, "04": 165, "05": 141, "06": 1095, "07": 330, "08": 270,
    "09": 155, "10": 310, "11": 375, "12": 280, "13": 2045, "14": 695, "15": 144, "16": 350,
    "17": 655, "18": 300, "19": 240, "2A": 160, "2B": 182, "21": 535, "22": 605, "23": 115,
    "24": 415, "25": 545, "26": 520, "27": 600, "28": 430, "29": 918, "30": 750, "31": 1435,
    "32": 192, "33": 1650, "34": 1200, "35": 1095, "36": 218, "37": 612, "38": 1275,
    "39": 258, "40": 420, "41": 328, "42": 767, "43": 228, "44": 1460, "45": 685, "46": 174,
    "47": 331, "48": 76, "49": 820, "50": 495, "51": 565, "52": 170, "53": 307, "54": 732,
    "55": 182, "56": 760, "57": 1045, "58": 200, "59": 2610, "60": 830, "61": 278,
    "62": 1465, "63": 662, "64": 690, "65": 230, "66": 480, "67": 1150, "68": 770,
    "69": 1890, "70": 235, "71": 550, "72": 565, "73": 440, "74": 835, "75": 2135,
    "76": 1255, "77": 1425, "78": 1450, "79": 375, "80": 568, "81": 390, "82": 262,
    "83": 1085, "84": 565, "85": 695, "86": 440, "87": 372, "88": 362, "89": 335, "90": 141,
    "91": 1305, "92": 1625, "93": 1660, "94": 1410, "95": 1255, "971": 384, "972": 360,
    "973": 285, "974": 870, "976": 300,
}

# Born abroad: INSEE country codes of the NIR (99 + 3 digits), weights.
BIRTH_COUNTRIES: tuple[tuple[str, float], ...] = (
    ("352", 18.0), ("350", 16.0), ("351", 8.0), ("139", 8.0), ("127", 4.0), ("134", 3.5),
    ("208", 3.0), ("109", 2.5), ("341", 2.5), ("322", 2.0), ("131", 2.0), ("216", 1.5),
)
BORN_ABROAD_SHARE = 0.10
BORN_IN_DEPARTMENT_OF_RESIDENCE = 0.60

# Hospital stays per person and year, by lower age of band (a step function).
STAY_RATES: tuple[tuple[int, float], ...] = (
    (0, 0.30), (1, 0.10), (5, 0.07), (15, 0.13), (45, 0.22), (65, 0.36), (75, 0.52),
    (85, 0.62),
)
PREGNANCY_STAY_SHARE = 0.35  # of the stays of women aged 15 to 44
AMBULATORY_SHARE = 0.45  # stays without a night

# (ICD-10 code, label, weight)
DIAGNOSES_ADULT: tuple[tuple[str, str, float], ...] = (
    ("H25.9", "Cataracte sénile", 7.0), ("K63.5", "Polype du côlon", 6.0),
    ("Z51.1", "Séance de chimiothérapie", 5.0), ("I48.9", "Fibrillation auriculaire", 4.0),
    ("I50.9", "Insuffisance cardiaque", 4.0), ("J18.9", "Pneumopathie", 4.0),
    ("K40.9", "Hernie inguinale", 3.0), ("K80.2", "Lithiase vésiculaire", 3.0),
    ("M17.1", "Gonarthrose", 2.5), ("R07.4", "Douleur thoracique", 2.5),
    ("I63.9", "Infarctus cérébral", 2.5), ("C50.9", "Cancer du sein", 2.5),
    ("I21.9", "Infarctus du myocarde", 2.0), ("C34.9", "Cancer du poumon", 2.0),
    ("M16.1", "Coxarthrose", 2.0), ("S72.0", "Fracture du col du fémur", 2.0),
    ("G47.3", "Apnée du sommeil", 2.0), ("J44.1", "BPCO avec exacerbation", 2.0),
    ("N39.0", "Infection urinaire", 2.0), ("D12.6", "Tumeur bénigne du côlon", 2.0),
    ("C18.9", "Cancer du côlon", 1.5), ("N20.0", "Calcul du rein", 1.5),
    ("E11.9", "Diabète de type 2", 1.5), ("F10.2", "Dépendance à l'alcool", 1.5),
    ("R55", "Syncope", 1.5), ("K57.3", "Diverticulose du côlon", 1.5),
    ("M51.1", "Atteinte discale avec radiculopathie", 1.2), ("N40", "Hyperplasie de la prostate", 1.2),
    ("C61", "Cancer de la prostate", 1.2), ("F32.9", "Épisode dépressif", 1.0),
    ("I83.9", "Varices des membres inférieurs", 1.0), ("A09", "Gastro-entérite", 1.0),
    ("K35.8", "Appendicite aiguë", 1.0), ("U07.1", "COVID-19", 1.0),
    ("Z45.0", "Réglage d'un dispositif cardiaque", 0.8),
)
DIAGNOSES_CHILD: tuple[tuple[str, str, float], ...] = (
    ("J21.9", "Bronchiolite aiguë", 4.0), ("A09", "Gastro-entérite", 3.0),
    ("J35.3", "Hypertrophie des amygdales et des végétations", 3.0),
    ("K35.8", "Appendicite aiguë", 2.0), ("S06.0", "Commotion cérébrale", 2.0),
    ("J45.9", "Asthme", 1.5), ("H66.9", "Otite moyenne", 1.0), ("N39.0", "Infection urinaire", 1.0),
    ("R56.0", "Convulsions fébriles", 1.0),
)
DIAGNOSES_NEWBORN: tuple[tuple[str, str, float], ...] = (
    ("Z38.0", "Enfant unique né à l'hôpital", 8.0), ("P59.9", "Ictère néonatal", 1.5),
    ("P07.3", "Prématurité", 0.7), ("J21.9", "Bronchiolite aiguë", 1.0),
)
DIAGNOSES_PREGNANCY: tuple[tuple[str, str, float], ...] = (
    ("O80", "Accouchement unique et spontané", 5.0), ("O82", "Accouchement par césarienne", 1.3),
    ("O04.9", "Interruption médicale de grossesse", 1.5), ("O47.0", "Faux travail", 1.0),
    ("O42.0", "Rupture prématurée des membranes", 1.0), ("O24.4", "Diabète gestationnel", 0.5),
)

# CCAM-like acts (format of the CCAM: 4 letters + 3 digits), per group of diagnoses.
ACTS_ADULT: tuple[tuple[str, float], ...] = (
    ("DEQP003", 10.0), ("ZBQK002", 8.0), ("ZCQK004", 5.0), ("HHQE002", 5.0), ("BFGA004", 5.0),
    ("YYYY015", 4.0), ("EBQM001", 3.0), ("NFKA006", 2.0), ("NEKA020", 2.0), ("HMFC004", 2.0),
    ("LHQK001", 2.0), ("DDQH009", 2.0), ("JGFE023", 1.0), ("QEFA020", 1.0),
)
ACTS_CHILD: tuple[tuple[str, float], ...] = (
    ("ZBQK002", 6.0), ("FAFA014", 3.0), ("HHFA016", 2.0), ("ACQK001", 2.0), ("YYYY015", 1.0),
)
ACTS_PREGNANCY: tuple[tuple[str, float], ...] = (
    ("JQGD010", 6.0), ("JQGA002", 1.5), ("JNQM001", 3.0), ("JNJD002", 1.0),
)

# Outpatient drug dispensations per person and year, by lower age of band.
CLAIM_RATES: tuple[tuple[int, float], ...] = (
    (0, 4.0), (15, 3.5), (45, 6.0), (65, 11.0), (75, 15.0),
)
# (ATC code, weight): the most dispensed substances in town pharmacies.
DRUGS: tuple[tuple[str, float], ...] = (
    ("N02BE01", 30.0), ("M01AE01", 6.0), ("J01CA04", 6.0), ("A02BC01", 5.0),
    ("C10AA05", 4.0), ("N02AJ13", 4.0), ("B01AC06", 3.5), ("A10BA02", 3.5),
    ("C09AA05", 3.0), ("C07AB07", 3.0), ("R06AE07", 3.0), ("N05BA12", 2.5),
    ("H03AA01", 2.5), ("C08CA01", 2.5), ("J01CR02", 2.5), ("R03AK06", 2.0),
    ("A12CC06", 2.0), ("N06AB10", 2.0), ("C03CA01", 2.0), ("B01AF01", 2.0),
    ("A06AD15", 1.5), ("N05CF01", 1.5), ("M04AA01", 1.5), ("C10AA07", 1.5),
    ("R05DA20", 1.0), ("D07AC01", 1.0), ("S01XA20", 1.0), ("G03AA07", 1.0),
)
PRESENTATIONS_PER_DRUG = 3  # CIP13 codes per substance (box sizes, makers)

STUDY_YEARS = (2023, 2024)  # hospital stays cover both years; claims the last one
REFERENCE_DATE = "2025-01-01"  # ages are counted at this date
