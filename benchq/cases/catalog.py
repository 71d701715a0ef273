"""The synthetic generator's catalogue: codes, prices, uncoded lines, names.

Codes, descriptions and reference prices are illustrative (roughly the size of
US self-pay prices), not a fee schedule. The generator plants issues relative
to these prices and pairs. Nothing else reads this module: the rule baseline
(`benchq.providers.baseline`) carries its own, separately compiled reference
knowledge, so a synthetic suite is not an answer key for it. Each facility
also prices at its own level (`PRICE_LEVELS`), as real ones do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """One billable code: CPT/HCPCS (medical), CDT (dental) or NDC (pharmacy)."""

    code: str
    description: str
    reference_price: float
    """Typical price in dollars; pharmacy prices are for `quantity` units."""
    quantity: int = 1
    per_tooth: bool = False
    """Dental codes billed per tooth; the same code on two teeth is not a duplicate."""
    lab: bool = False
    """Repeatable lab tests, where modifier -91 marks a legitimate repeat."""


def _table(*codes: Code) -> dict[str, Code]:
    return {c.code: c for c in codes}


MEDICAL: dict[str, Code] = _table(
    Code("99202", "Office visit, new patient, straightforward", 110.00),
    Code("99203", "Office visit, new patient, low complexity", 165.00),
    Code("99204", "Office visit, new patient, moderate complexity", 250.00),
    Code("99205", "Office visit, new patient, high complexity", 330.00),
    Code("99211", "Office visit, established patient, minimal", 45.00),
    Code("99212", "Office visit, established patient, straightforward", 85.00),
    Code("99213", "Office visit, established patient, low complexity", 130.00),
    Code("99214", "Office visit, established patient, moderate complexity", 190.00),
    Code("99215", "Office visit, established patient, high complexity", 260.00),
    Code("80053", "Comprehensive metabolic panel", 45.00, lab=True),
    Code("80048", "Basic metabolic panel", 32.00, lab=True),
    Code("82947", "Glucose, quantitative, blood", 12.00, lab=True),
    Code("85025", "Complete blood count with automated differential", 28.00, lab=True),
    Code("85027", "Complete blood count, automated", 22.00, lab=True),
    Code("80061", "Lipid panel", 40.00, lab=True),
    Code("82465", "Cholesterol, serum, total", 15.00, lab=True),
    Code("83036", "Hemoglobin A1c", 30.00, lab=True),
    Code("84443", "Thyroid stimulating hormone (TSH)", 45.00, lab=True),
    Code("81001", "Urinalysis, automated, with microscopy", 18.00, lab=True),
    Code("81003", "Urinalysis, automated, without microscopy", 10.00, lab=True),
    Code("36415", "Routine venipuncture", 12.00),
    Code("36416", "Capillary blood collection (finger stick)", 8.00),
    Code("93000", "Electrocardiogram, routine, with interpretation and report", 60.00),
    Code("93005", "Electrocardiogram, tracing only", 35.00),
    Code("93010", "Electrocardiogram, interpretation and report only", 25.00),
    Code("71046", "Chest X-ray, 2 views", 95.00),
    Code("87880", "Rapid strep test", 25.00, lab=True),
    Code("87804", "Rapid influenza test", 30.00, lab=True),
    Code("90471", "Immunization administration", 25.00),
    Code("90686", "Influenza vaccine, quadrivalent, preservative free", 40.00),
    Code("96372", "Therapeutic injection, subcutaneous or intramuscular", 35.00),
    Code("J1100", "Injection, dexamethasone sodium phosphate, 1 mg", 6.00),
    Code("99283", "Emergency department visit, moderate severity", 420.00),
    Code("99284", "Emergency department visit, high severity", 680.00),
    Code("73030", "X-ray, shoulder, minimum of two views", 110.00),
    Code("73610", "X-ray, ankle, complete, minimum of three views", 105.00),
    Code("72148", "MRI, lumbar spine, without contrast", 850.00),
    Code("20610", "Arthrocentesis, aspiration or injection, major joint", 190.00),
    Code("97110", "Therapeutic exercise, each 15 minutes", 55.00),
    Code("12001", "Simple repair of superficial wound, 2.5 cm or less", 210.00),
    Code("96374", "IV push, single or initial drug", 160.00),
)

DENTAL: dict[str, Code] = _table(
    Code("D0120", "Periodic oral evaluation", 55.00),
    Code("D0140", "Limited oral evaluation, problem focused", 75.00),
    Code("D0150", "Comprehensive oral evaluation", 95.00),
    Code("D0210", "Intraoral complete series of radiographic images", 140.00),
    Code("D0220", "Intraoral periapical, first radiographic image", 30.00),
    Code("D0272", "Bitewings, two radiographic images", 45.00),
    Code("D0274", "Bitewings, four radiographic images", 65.00),
    Code("D1110", "Prophylaxis, adult", 105.00),
    Code("D1120", "Prophylaxis, child", 75.00),
    Code("D1206", "Topical application of fluoride varnish", 40.00),
    Code("D4341", "Periodontal scaling and root planing, four or more teeth", 260.00),
    Code("D2140", "Amalgam, one surface, primary or permanent", 150.00, per_tooth=True),
    Code("D2391", "Resin-based composite, one surface, posterior", 185.00, per_tooth=True),
    Code("D2740", "Crown, porcelain/ceramic", 1250.00, per_tooth=True),
    Code("D3330", "Endodontic therapy, molar tooth", 1100.00, per_tooth=True),
    Code("D7140", "Extraction, erupted tooth or exposed root", 210.00, per_tooth=True),
    Code("D2950", "Core buildup, including any pins", 260.00, per_tooth=True),
    Code("D1351", "Sealant, per tooth", 50.00, per_tooth=True),
    Code("D0330", "Panoramic radiographic image", 120.00),
)

PHARMACY: dict[str, Code] = _table(
    Code("00093-4155-73", "Amoxicillin 500 mg capsule", 14.00, quantity=30),
    Code("00378-0018-01", "Metoprolol tartrate 25 mg tablet", 12.00, quantity=60),
    Code("00071-0155-23", "Atorvastatin 20 mg tablet", 18.00, quantity=30),
    Code("00093-1048-01", "Lisinopril 10 mg tablet", 9.00, quantity=30),
    Code("68180-0513-01", "Metformin 500 mg tablet", 10.00, quantity=60),
    Code("00054-4297-25", "Prednisone 10 mg tablet", 8.00, quantity=21),
    Code("59762-3304-01", "Sertraline 50 mg tablet", 15.00, quantity=30),
    Code("00173-0682-20", "Fluticasone propionate 50 mcg nasal spray", 28.00, quantity=1),
    Code("00186-5020-31", "Omeprazole 20 mg capsule", 16.00, quantity=30),
    Code("65862-0008-01", "Azithromycin 250 mg tablet", 20.00, quantity=6),
    Code("00310-0751-39", "Albuterol sulfate 90 mcg inhaler", 55.00, quantity=1),
    Code("00006-0277-31", "Montelukast 10 mg tablet", 22.00, quantity=30),
)

#: Lines billed without any code, by document type: (description, typical price).
UNCODED: dict[str, tuple[tuple[str, float], ...]] = {
    "medical": (
        ("Facility Fee", 20.00),
        ("Facility fee - clinic visit", 45.00),
        ("Medical supplies", 18.50),
        ("Supplies (dressing, bandage)", 22.00),
        ("Pharmacy - general", 35.75),
    ),
    "dental": (
        ("Lab fee", 120.00),
        ("Infection control fee", 15.00),
    ),
    "pharmacy": (
        ("Acetaminophen 500 mg, 100 count", 8.99),
        ("Ibuprofen 200 mg, 50 count", 6.49),
        ("Adhesive bandages, 30 count", 4.49),
        ("Saline nasal spray", 3.29),
        ("Digital thermometer", 12.99),
        ("Cough drops, 30 count", 3.79),
    ),
}

#: Every code, by code string (the three tables do not overlap).
ALL_CODES: dict[str, Code] = {**MEDICAL, **DENTAL, **PHARMACY}

#: (comprehensive, component): the component is included in the comprehensive
#: code, so billing both for the same date of service is unbundling.
UNBUNDLED_PAIRS: tuple[tuple[str, str], ...] = (
    ("80053", "80048"),
    ("80053", "82947"),
    ("80048", "82947"),  # glucose is part of the basic panel too
    ("85025", "85027"),
    ("80061", "82465"),
    ("81001", "81003"),
    ("36415", "36416"),
    ("93000", "93005"),
    ("93000", "93010"),
    ("D0210", "D0274"),
    ("D0210", "D0272"),
    ("D0210", "D0220"),
    ("D0150", "D0120"),
    ("D0150", "D0140"),  # two oral evaluations on one day
    ("D4341", "D1110"),
)

#: E/M office visits by typical total time (minutes, inclusive), 2021 AMA rules.
EM_ESTABLISHED: dict[str, tuple[int, int]] = {
    "99212": (10, 19),
    "99213": (20, 29),
    "99214": (30, 39),
    "99215": (40, 54),
}
EM_NEW: dict[str, tuple[int, int]] = {
    "99202": (15, 29),
    "99203": (30, 44),
    "99204": (45, 59),
    "99205": (60, 74),
}


#: Name pools for synthetic documents (the baseline never uses them).
FIRST = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Carlos", "Maria", "Wei", "Aisha", "Omar", "Priya", "Daniel", "Grace", "Luis",
    "Fatima", "Kenji", "Olga",
]  # fmt: skip
LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Nguyen", "Patel", "Kim", "Okafor", "Kowalski",
    "Schmidt", "O'Brien", "Rossi", "Haddad",
]  # fmt: skip
#: Insurers named on EOBs and on bills that list the patient's plan.
INSURERS = (
    "BlueHarbor Health Plan", "Evergreen Insurance", "Keystone Health", "Pioneer Health Plan",
    "Unity Insurance", "Northstar Health",
)  # fmt: skip
#: Physician practices bill under the doctor's name, not a facility's.
SPECIALTIES = (
    "Internal Medicine", "Family Medicine", "Cardiology", "Orthopaedics", "Pediatrics",
    "Dermatology",
)  # fmt: skip
#: A facility prices at this multiple of the reference (real price lists differ by place).
PRICE_LEVELS = (0.85, 0.9, 1.0, 1.0, 1.1, 1.2)

PLACES = [
    "Riverside", "Lakeview", "Summit", "Oak Park", "Maple Grove", "Harbor", "Cedar Valley",
    "Northside", "Westfield", "Pine Ridge", "Brookside", "Fairview", "Highland", "Sunset",
]  # fmt: skip


def em_level(code: str) -> tuple[dict[str, tuple[int, int]], int] | None:
    """The E/M family a code belongs to and its level index, or None if not E/M."""
    for family in (EM_ESTABLISHED, EM_NEW):
        if code in family:
            return family, list(family).index(code)
    return None


def em_code_for_minutes(minutes: int, *, new_patient: bool) -> str:
    """The highest E/M code whose time threshold the documented minutes reach."""
    family = EM_NEW if new_patient else EM_ESTABLISHED
    best = next(iter(family))
    for code, (low, _high) in family.items():
        if minutes >= low:
            best = code
    return best


def to_cents(amount: float) -> int:
    """Dollars to integer cents; all money arithmetic is done in cents to stay exact."""
    return round(amount * 100)
