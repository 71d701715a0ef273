"""The rule baseline's own reference knowledge: fees, bundled code pairs, visit times.

Where each part comes from, plainly:

- **Fees** (`FEES`, `DRUG_UNIT_PRICES`): hand-compiled approximations of
  typical US self-pay (cash) prices around 2023-2024, written from general
  knowledge for this baseline. They are *not* a published fee schedule, not
  Medicare's Physician Fee Schedule and not any payer's allowed amounts, and
  nobody has checked them against one. Real prices vary several-fold by
  region and setting (a hospital's chargemaster is far above a clinic's), so
  the overbilling rule only flags prices well above these figures. A real
  deployment should replace this table with the fee schedule it audits
  against.
- **Bundled pairs** (`BUNDLED`): pairs where the second code is part of the
  first when billed for the same patient on the same day, compiled by hand
  from the composition of laboratory panels as CPT defines them (a
  comprehensive metabolic panel contains the basic one), from codes that
  describe a whole and its parts (an ECG with tracing and interpretation
  contains each), and from common dental bundling rules. A short hand list in
  the spirit of the CMS National Correct Coding Initiative edits, not an
  extract of them.
- **Visit times** (`EM_MINUTES`): the minimum total time of each office
  visit level under the AMA's CPT office E/M guidelines in force since 2021
  (new patient 99202-99205: 15, 30, 45, 60 minutes; established 99212-99215:
  10, 20, 30, 40), as tabulated for instance by the AAFP
  (https://www.aafp.org/pubs/fpm/blogs/gettingpaid/entry/total_time_tips.html).

This module is deliberately independent of the synthetic generator's
catalogue (`benchq.cases.catalog`): the baseline must not know what the
generator plants.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fee:
    """A reference price for one code."""

    price: float
    """Dollars for one unit of the service."""
    repeatable: bool = False
    """Lab tests and similar: a repeat marked with a distinct-service modifier is legitimate."""
    per_tooth: bool = False
    """Dental procedures priced per tooth: the same code on two teeth is two services."""


#: Reference prices by CPT/HCPCS/CDT code (hand-compiled approximations, see above).
FEES: dict[str, Fee] = {
    # Office visits, new and established patients
    "99202": Fee(120.0), "99203": Fee(170.0), "99204": Fee(260.0), "99205": Fee(340.0),
    "99211": Fee(50.0), "99212": Fee(90.0), "99213": Fee(135.0), "99214": Fee(200.0),
    "99215": Fee(270.0),
    # Preventive visits and consultations
    "99385": Fee(260.0), "99386": Fee(280.0), "99395": Fee(230.0), "99396": Fee(250.0),
    "99243": Fee(230.0), "99244": Fee(310.0),
    # Emergency department (facility and professional charges vary most of all)
    "99283": Fee(550.0), "99284": Fee(900.0), "99285": Fee(1400.0),
    # Laboratory
    "80048": Fee(35.0, repeatable=True), "80053": Fee(50.0, repeatable=True),
    "80061": Fee(45.0, repeatable=True), "82947": Fee(15.0, repeatable=True),
    "82565": Fee(15.0, repeatable=True), "82465": Fee(18.0, repeatable=True),
    "83718": Fee(20.0, repeatable=True), "84478": Fee(18.0, repeatable=True),
    "83036": Fee(35.0, repeatable=True), "84443": Fee(50.0, repeatable=True),
    "84484": Fee(60.0, repeatable=True), "85025": Fee(32.0, repeatable=True),
    "85027": Fee(25.0, repeatable=True), "81001": Fee(20.0, repeatable=True),
    "81003": Fee(12.0, repeatable=True), "87880": Fee(30.0, repeatable=True),
    "87804": Fee(35.0, repeatable=True), "87635": Fee(100.0, repeatable=True),
    "88142": Fee(60.0),
    # Specimen collection
    "36415": Fee(15.0), "36416": Fee(10.0),
    # Cardiology
    "93000": Fee(70.0), "93005": Fee(40.0), "93010": Fee(30.0),
    # Imaging
    "71045": Fee(90.0), "71046": Fee(110.0), "73030": Fee(120.0), "73610": Fee(115.0),
    "73630": Fee(115.0), "72148": Fee(1100.0), "70450": Fee(900.0), "74177": Fee(1500.0),
    # Procedures, injections, immunisations, therapy
    "20610": Fee(220.0), "20611": Fee(280.0), "12001": Fee(250.0), "96372": Fee(40.0),
    "96374": Fee(180.0), "90471": Fee(30.0), "90686": Fee(45.0), "90715": Fee(60.0),
    "97110": Fee(60.0), "97140": Fee(60.0), "95004": Fee(10.0),
    # Drugs billed per unit (the price is for one unit as the code defines it)
    "J1100": Fee(7.0), "J2405": Fee(5.0), "J3301": Fee(8.0), "J1885": Fee(6.0),
    # Dental (CDT)
    "D0120": Fee(60.0), "D0140": Fee(80.0), "D0150": Fee(100.0), "D0210": Fee(150.0),
    "D0220": Fee(35.0), "D0230": Fee(25.0), "D0272": Fee(50.0), "D0274": Fee(70.0),
    "D0330": Fee(130.0), "D1110": Fee(110.0), "D1120": Fee(80.0), "D1206": Fee(45.0),
    "D1351": Fee(55.0, per_tooth=True), "D2140": Fee(160.0, per_tooth=True),
    "D2391": Fee(200.0, per_tooth=True), "D2740": Fee(1300.0, per_tooth=True),
    "D2750": Fee(1200.0, per_tooth=True), "D2950": Fee(280.0, per_tooth=True),
    "D3330": Fee(1200.0, per_tooth=True), "D4341": Fee(280.0), "D4342": Fee(200.0),
    "D7140": Fee(220.0, per_tooth=True),
}  # fmt: skip

#: Cash price per tablet, capsule or package of common generics, keyed by words of the
#: drug's name and strength as receipts print them (hand-compiled approximations).
DRUG_UNIT_PRICES: dict[tuple[str, ...], float] = {
    ("amoxicillin", "500"): 0.50,
    ("metoprolol", "25"): 0.20,
    ("atorvastatin", "20"): 0.60,
    ("atorvastatin", "40"): 0.70,
    ("lisinopril", "10"): 0.30,
    ("lisinopril", "20"): 0.35,
    ("metformin", "500"): 0.18,
    ("prednisone", "10"): 0.40,
    ("sertraline", "50"): 0.50,
    ("fluticasone",): 30.0,
    ("omeprazole", "20"): 0.55,
    ("azithromycin", "250"): 3.50,
    ("albuterol",): 60.0,
    ("montelukast", "10"): 0.75,
    ("amlodipine", "5"): 0.25,
    ("levothyroxine",): 0.40,
}

#: (whole, part): `part` is included in `whole` on the same day of service.
BUNDLED: tuple[tuple[str, str], ...] = (
    # Laboratory panels contain their component tests.
    ("80053", "80048"), ("80053", "82947"), ("80053", "82565"), ("80048", "82947"),
    ("80048", "82565"), ("80061", "82465"), ("80061", "83718"), ("80061", "84478"),
    ("85025", "85027"), ("81001", "81003"),
    # A whole service contains its parts.
    ("93000", "93005"), ("93000", "93010"), ("36415", "36416"), ("20611", "20610"),
    ("71046", "71045"),
    # Dental: a full-mouth series contains its films; one exam and one cleaning a visit.
    ("D0210", "D0220"), ("D0210", "D0230"), ("D0210", "D0272"), ("D0210", "D0274"),
    ("D0150", "D0120"), ("D0150", "D0140"), ("D4341", "D1110"), ("D4342", "D1110"),
)  # fmt: skip

#: Minimum total minutes of each office visit level (AMA CPT E/M guidelines, 2021).
EM_MINUTES: dict[str, dict[str, int]] = {
    "new": {"99202": 15, "99203": 30, "99204": 45, "99205": 60},
    "established": {"99212": 10, "99213": 20, "99214": 30, "99215": 40},
}

#: Modifiers that mark a repeated service as distinct, so a repeat is not a duplicate.
DISTINCT_MODIFIERS: frozenset[str] = frozenset({"59", "76", "77", "91", "XE", "XP", "XS", "XU"})

#: A price more than this many times the reference is flagged as overbilling.
OVERBILLING_FACTOR = 1.6


def em_family(code: str) -> dict[str, int] | None:
    """The office-visit family (`code -> minimum minutes`) a code belongs to, or None."""
    for family in EM_MINUTES.values():
        if code in family:
            return family
    return None


def supported_level(family: dict[str, int], minutes: int) -> str:
    """The highest visit level of `family` whose minimum time the documented minutes reach."""
    best = next(iter(family))
    for code, least in family.items():
        if minutes >= least:
            best = code
    return best


def drug_unit_price(description: str) -> float | None:
    """The reference price per unit of the drug a description names, or None if unknown."""
    words = description.lower().replace("mg", " ").replace("mcg", " ").split()
    for key, price in DRUG_UNIT_PRICES.items():
        # Strengths must match exactly (5 mg is not 50 mg); names by their start.
        if all(any(w == k if k.isdigit() else w.startswith(k) for w in words) for k in key):
            return price
    return None
