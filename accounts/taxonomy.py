"""Reference data: specialties (with families and close relations), interests, languages.

Loaded by data migrations through ``sync_taxonomy`` so every database, fresh or
old, holds the same vocabulary. ``slug`` is the stable key; names may be edited.
"""

from __future__ import annotations

from typing import Any

# (slug, name, family)
SPECIALTIES: list[tuple[str, str, str]] = [
    # Surgical
    ("general-surgery", "General surgery", "surgical"),
    ("orthopaedic-surgery", "Orthopaedic surgery", "surgical"),
    ("orthopaedic-trauma", "Orthopaedic trauma surgery", "surgical"),
    ("hand-surgery", "Hand surgery", "surgical"),
    ("neurosurgery", "Neurosurgery", "surgical"),
    ("otolaryngology", "Otolaryngology (ENT)", "surgical"),
    ("plastic-surgery", "Plastic and reconstructive surgery", "surgical"),
    ("urology", "Urology", "surgical"),
    ("vascular-surgery", "Vascular surgery", "surgical"),
    ("cardiothoracic-surgery", "Cardiothoracic surgery", "surgical"),
    ("colorectal-surgery", "Colorectal surgery", "surgical"),
    ("surgical-oncology", "Surgical oncology", "surgical"),
    ("trauma-acute-care-surgery", "Trauma and acute care surgery", "surgical"),
    ("paediatric-surgery", "Paediatric surgery", "surgical"),
    ("ophthalmology", "Ophthalmology", "surgical"),
    # Internal medicine and subspecialties
    ("internal-medicine", "Internal medicine", "medical"),
    ("cardiology", "Cardiology", "medical"),
    ("gastroenterology", "Gastroenterology", "medical"),
    ("nephrology", "Nephrology", "medical"),
    ("pulmonology-critical-care", "Pulmonology and critical care", "medical"),
    ("endocrinology", "Endocrinology", "medical"),
    ("infectious-disease", "Infectious disease", "medical"),
    ("haematology-oncology", "Haematology and oncology", "medical"),
    ("rheumatology", "Rheumatology", "medical"),
    ("geriatric-medicine", "Geriatric medicine", "medical"),
    ("allergy-immunology", "Allergy and immunology", "medical"),
    ("hospital-medicine", "Hospital medicine", "medical"),
    # Paediatrics
    ("paediatrics", "Paediatrics", "paediatric"),
    ("neonatology", "Neonatology", "paediatric"),
    ("paediatric-cardiology", "Paediatric cardiology", "paediatric"),
    ("paediatric-emergency-medicine", "Paediatric emergency medicine", "paediatric"),
    ("paediatric-haematology-oncology", "Paediatric haematology and oncology", "paediatric"),
    # Obstetrics and gynaecology
    ("obstetrics-gynaecology", "Obstetrics and gynaecology", "womens_health"),
    ("maternal-fetal-medicine", "Maternal–fetal medicine", "womens_health"),
    ("reproductive-endocrinology", "Reproductive endocrinology and infertility", "womens_health"),
    ("gynaecologic-oncology", "Gynaecologic oncology", "womens_health"),
    # Neurology and psychiatry
    ("psychiatry", "Psychiatry", "mind_brain"),
    ("child-adolescent-psychiatry", "Child and adolescent psychiatry", "mind_brain"),
    ("addiction-medicine", "Addiction medicine", "mind_brain"),
    ("neurology", "Neurology", "mind_brain"),
    # Acute and critical care
    ("emergency-medicine", "Emergency medicine", "acute_care"),
    ("anaesthesiology", "Anaesthesiology", "acute_care"),
    ("critical-care-medicine", "Critical care medicine", "acute_care"),
    ("pain-medicine", "Pain medicine", "acute_care"),
    # Primary care and public health
    ("family-medicine", "Family medicine", "primary_care"),
    ("sports-medicine", "Sports medicine", "primary_care"),
    ("preventive-medicine", "Preventive medicine and public health", "primary_care"),
    ("palliative-care", "Hospice and palliative medicine", "primary_care"),
    # Diagnostic
    ("diagnostic-radiology", "Diagnostic radiology", "diagnostic"),
    ("interventional-radiology", "Interventional radiology", "diagnostic"),
    ("nuclear-medicine", "Nuclear medicine", "diagnostic"),
    ("pathology", "Pathology", "diagnostic"),
    # Other
    ("dermatology", "Dermatology", "other"),
    ("physical-medicine-rehabilitation", "Physical medicine and rehabilitation", "other"),
    ("radiation-oncology", "Radiation oncology", "other"),
    ("medical-genetics", "Medical genetics and genomics", "other"),
]

# Pairs that are close in practice even across families (symmetric).
RELATED_SPECIALTIES: list[tuple[str, str]] = [
    ("orthopaedic-surgery", "sports-medicine"),
    ("orthopaedic-surgery", "orthopaedic-trauma"),
    ("orthopaedic-surgery", "hand-surgery"),
    ("orthopaedic-surgery", "physical-medicine-rehabilitation"),
    ("orthopaedic-trauma", "trauma-acute-care-surgery"),
    ("plastic-surgery", "hand-surgery"),
    ("plastic-surgery", "dermatology"),
    ("general-surgery", "colorectal-surgery"),
    ("general-surgery", "trauma-acute-care-surgery"),
    ("general-surgery", "surgical-oncology"),
    ("general-surgery", "vascular-surgery"),
    ("general-surgery", "paediatric-surgery"),
    ("cardiothoracic-surgery", "cardiology"),
    ("vascular-surgery", "interventional-radiology"),
    ("neurosurgery", "neurology"),
    ("neurology", "physical-medicine-rehabilitation"),
    ("internal-medicine", "hospital-medicine"),
    ("internal-medicine", "geriatric-medicine"),
    ("internal-medicine", "family-medicine"),
    ("cardiology", "paediatric-cardiology"),
    ("pulmonology-critical-care", "critical-care-medicine"),
    ("anaesthesiology", "critical-care-medicine"),
    ("anaesthesiology", "pain-medicine"),
    ("emergency-medicine", "paediatric-emergency-medicine"),
    ("emergency-medicine", "trauma-acute-care-surgery"),
    ("emergency-medicine", "critical-care-medicine"),
    ("haematology-oncology", "radiation-oncology"),
    ("haematology-oncology", "surgical-oncology"),
    ("haematology-oncology", "paediatric-haematology-oncology"),
    ("haematology-oncology", "gynaecologic-oncology"),
    ("haematology-oncology", "palliative-care"),
    ("paediatrics", "neonatology"),
    ("paediatrics", "paediatric-emergency-medicine"),
    ("paediatrics", "family-medicine"),
    ("obstetrics-gynaecology", "maternal-fetal-medicine"),
    ("obstetrics-gynaecology", "reproductive-endocrinology"),
    ("obstetrics-gynaecology", "gynaecologic-oncology"),
    ("maternal-fetal-medicine", "neonatology"),
    ("psychiatry", "child-adolescent-psychiatry"),
    ("psychiatry", "addiction-medicine"),
    ("family-medicine", "sports-medicine"),
    ("family-medicine", "preventive-medicine"),
    ("family-medicine", "geriatric-medicine"),
    ("infectious-disease", "preventive-medicine"),
    ("diagnostic-radiology", "interventional-radiology"),
    ("diagnostic-radiology", "nuclear-medicine"),
    ("pathology", "medical-genetics"),
    ("dermatology", "rheumatology"),
    ("rheumatology", "allergy-immunology"),
    ("pain-medicine", "physical-medicine-rehabilitation"),
    ("otolaryngology", "plastic-surgery"),
    ("endocrinology", "reproductive-endocrinology"),
]

# (slug, name, kind)
INTERESTS: list[tuple[str, str, str]] = [
    ("clinical-trials", "Clinical trials", "research"),
    ("basic-science", "Basic science and lab research", "research"),
    ("outcomes-research", "Outcomes research", "research"),
    ("health-services-research", "Health services research", "research"),
    ("epidemiology", "Epidemiology", "research"),
    ("genetics-genomics", "Genetics and genomics", "research"),
    ("neuroscience", "Neuroscience", "research"),
    ("cancer-research", "Cancer research", "research"),
    ("cardiovascular-research", "Cardiovascular research", "research"),
    ("sports-medicine-research", "Sports-medicine research", "research"),
    ("surgical-innovation", "Surgical innovation and devices", "research"),
    ("health-equity", "Health equity and disparities", "research"),
    ("maternal-health", "Maternal and child health", "research"),
    ("addiction-research", "Addiction research", "research"),
    ("ai-in-medicine", "AI and machine learning in medicine", "research"),
    ("imaging-research", "Imaging research", "research"),
    ("quality-improvement", "Quality improvement and patient safety", "research"),
    ("medical-education-research", "Medical education research", "research"),
    ("medical-education", "Medical education and teaching", "path"),
    ("health-policy", "Health policy", "path"),
    ("global-health", "Global health", "path"),
    ("informatics", "Clinical informatics", "path"),
    ("entrepreneurship", "Entrepreneurship and innovation", "path"),
    ("advocacy", "Advocacy", "path"),
    ("physician-scientist", "Physician-scientist (MD-PhD)", "path"),
    ("leadership", "Leadership and administration", "path"),
    ("ethics-humanities", "Ethics and medical humanities", "path"),
    ("rural-health", "Rural and underserved care", "path"),
    ("military-medicine", "Military medicine", "path"),
    ("wellness-burnout", "Physician wellness and burnout", "path"),
    ("lgbtq-health", "LGBTQ+ health", "path"),
    ("public-health-practice", "Public health practice", "path"),
]

# (code, name): ISO 639 codes, plus American Sign Language.
LANGUAGES: list[tuple[str, str]] = [
    ("en", "English"),
    ("es", "Spanish"),
    ("zh", "Chinese (Mandarin)"),
    ("yue", "Chinese (Cantonese)"),
    ("hi", "Hindi"),
    ("ur", "Urdu"),
    ("bn", "Bengali"),
    ("ar", "Arabic"),
    ("fr", "French"),
    ("ht", "Haitian Creole"),
    ("pt", "Portuguese"),
    ("vi", "Vietnamese"),
    ("ko", "Korean"),
    ("tl", "Tagalog"),
    ("ru", "Russian"),
    ("pl", "Polish"),
    ("de", "German"),
    ("ja", "Japanese"),
    ("fa", "Persian"),
    ("yo", "Yoruba"),
    ("am", "Amharic"),
    ("ase", "American Sign Language"),
]


def sync_taxonomy(apps: Any) -> None:
    """Create or update every reference row; safe to run any number of times."""
    specialty_model = apps.get_model("accounts", "Specialty")
    interest_model = apps.get_model("accounts", "Interest")
    language_model = apps.get_model("accounts", "Language")

    by_slug = {}
    for order, (slug, name, family) in enumerate(SPECIALTIES):
        specialty, _ = specialty_model.objects.update_or_create(
            slug=slug, defaults={"name": name, "family": family, "sort_order": order}
        )
        by_slug[slug] = specialty
    for left, right in RELATED_SPECIALTIES:
        # Historical models in migrations do not mirror a symmetrical relation: add both ways.
        by_slug[left].related.add(by_slug[right])
        by_slug[right].related.add(by_slug[left])
    for order, (slug, name, kind) in enumerate(INTERESTS):
        interest_model.objects.update_or_create(
            slug=slug, defaults={"name": name, "kind": kind, "sort_order": order}
        )
    for order, (code, name) in enumerate(LANGUAGES):
        language_model.objects.update_or_create(
            code=code, defaults={"name": name, "sort_order": order}
        )
