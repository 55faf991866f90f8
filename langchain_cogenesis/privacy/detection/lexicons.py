"""Word lists for :mod:`langchain_cogenesis.privacy.detection.entities`.

Health terms are what a person says about their own body: a condition, a medicine,
a device, a procedure. They count only in a sentence about someone ("my", "her", a
name); "a podcast about sleep and health" names none of them.
"""

from __future__ import annotations

# fmt: off
HEALTH_TERMS: tuple[str, ...] = (
    "diabetes", "type 1 diabetes", "type 2 diabetes", "prediabetes", "asthma", "COPD",
    "epilepsy", "seizure", "migraine", "cancer", "leukemia", "lymphoma", "melanoma", "tumor",
    "tumour", "chemo", "chemotherapy", "radiotherapy", "HIV", "AIDS", "hepatitis", "depression",
    "anxiety", "panic attack", "PTSD", "OCD", "ADHD", "autism", "bipolar", "schizophrenia",
    "eating disorder", "anorexia", "bulimia", "insomnia", "sleep apnea", "dementia",
    "Alzheimer's", "Parkinson's", "multiple sclerosis", "lupus", "arthritis", "rheumatoid",
    "fibromyalgia", "Crohn's", "colitis", "IBS", "celiac", "coeliac", "gluten intolerance",
    "lactose intolerance", "allergy", "hypertension", "high blood pressure", "cholesterol",
    "heart attack", "stroke", "arrhythmia", "atrial fibrillation", "heart condition",
    "kidney disease", "dialysis", "liver disease", "cirrhosis", "thyroid", "hypothyroidism",
    "hyperthyroidism", "PCOS", "endometriosis", "infertility", "IVF", "miscarriage",
    "pregnancy", "pregnant", "postpartum", "menopause", "concussion", "ACL", "torn ligament",
    "fracture", "broken leg", "broken arm", "herniated disc", "slipped disc", "back pain",
    "chronic pain", "long COVID", "COVID", "tinnitus", "hearing loss", "glaucoma", "cataract",
    "dyslexia", "stutter", "psoriasis", "eczema", "acne", "obesity", "addiction", "alcoholism",
    "sobriety", "relapse", "rehab", "therapist", "psychiatrist", "counseling", "counselling",
    "biopsy", "MRI", "CT scan", "physiotherapy", "physical therapy", "prosthetic", "disability",
    "wheelchair", "hearing aid", "blood sugar", "blood test", "STD", "STI", "herpes",
    "chlamydia", "mental health", "burnout", "suicidal", "self-harm", "grief counseling",
    "diabetic", "asthmatic", "epileptic", "autistic", "strep", "strep throat", "flu",
    "pneumonia", "bronchitis", "UTI", "mono", "shingles", "chickenpox", "oncology",
    "cardiology", "psychiatric", "psych ward", "ICU", "maternity ward", "NICU", "hospice",
    "insulin", "metformin", "Ozempic", "Wegovy", "Mounjaro", "semaglutide", "Omnipod", "Dexcom",
    "insulin pump", "glucose monitor", "CGM", "inhaler", "EpiPen", "epinephrine", "pacemaker",
    "CPAP", "Adderall", "Ritalin", "Concerta", "Vyvanse", "Prozac", "Zoloft", "sertraline",
    "fluoxetine", "Lexapro", "escitalopram", "Wellbutrin", "bupropion", "Xanax", "alprazolam",
    "Valium", "lithium", "Lamictal", "lamotrigine", "Seroquel", "quetiapine", "Abilify",
    "antidepressant", "antidepressants", "SSRI", "SSRIs", "benzodiazepine", "opioid",
    "oxycodone", "methadone", "Suboxone", "ibuprofen", "statin", "statins", "Lipitor",
    "atorvastatin", "lisinopril", "amlodipine", "warfarin", "Eliquis", "levothyroxine",
    "Synthroid", "prednisone", "Humira", "methotrexate", "PrEP", "Truvada", "birth control",
    "contraceptive", "hormone therapy", "HRT", "testosterone", "estrogen", "antibiotics",
    "chemo port", "stoma", "colostomy", "hearing implant",
)
# fmt: on

NAME_CUES: tuple[str, ...] = (
    r"[Mm]y\s+(?:name\s+is|wife|husband|partner|son|daughter|sister|brother|mom|mother|"
    r"dad|father|grandma|grandmother|grandpa|grandfather|aunt|uncle|cousin|niece|nephew|"
    r"friend|best\s+friend|boss|manager|colleague|coworker|neighbor|neighbour|fiancée?|"
    r"boyfriend|girlfriend|doctor|teacher|coach|landlord|client|mentor|roommate|dog|cat)",
    r"[Ii]'m",
    r"I\s+am",
    r"named",
    r"called",
    r"[Dd]ear",
    r"[Hh]i",
    r"[Hh]ello",
    # the same cues in German, French, Spanish and Italian: greetings, "my name is", "I am"
    r"[Hh]allo",
    r"[Ll]iebe[r]?(?!\s+Gr[üu])",  # not the closing "Liebe Grüße"
    r"[Hh]ola",
    r"[Qq]uerid[oa]",
    r"[Ee]stimad[oa]",
    r"[Bb]onjour",
    r"[Bb]onsoir",
    r"[Ss]alut",
    r"[Cc]h[eè]re?",
    r"[Cc]iao",
    r"[Cc]ar[oa]",
    r"[Ii]ch\s+(?:heiße|bin)",
    r"[Mm]ein\s+Name\s+ist",
    r"[Jj]e\s+m['’]appelle",
    r"[Jj]e\s+suis",
    r"[Mm]e\s+llamo",
    r"[Mm]i\s+nombre\s+es",
    r"[Ss]oy",
    r"[Mm]i\s+chiamo",
    r"[Ss]ono",
)

ORG_SUFFIXES: tuple[str, ...] = (
    "Inc",
    "Corp",
    "Corporation",
    "LLC",
    "Ltd",
    "GmbH",
    "Co",
    "Company",
    "Group",
    "Partners",
    "Labs",
    "Bank",
    "University",
    "College",
    "School",
    "Hospital",
    "Clinic",
    "Institute",
    "Foundation",
    "Agency",
    "Studio",
    "Studios",
    "Solutions",
    "Systems",
    "Technologies",
    "Analytics",
    "Consulting",
    "Associates",
)
