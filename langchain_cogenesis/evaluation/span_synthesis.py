"""Span-labelled synthetic chat requests, to train and measure private-span detectors.

Real requests with annotated private units (PUPA, read by :mod:`.real_requests`) are few
and belong to measurement, so a detector is trained on generated ones. What carries over
to real traffic is coverage of the *kinds* of text people send: an instruction wrapped
around a pasted email, a resume in capitals, a cover letter, a business description,
meeting notes, names typed in lower case, code and data with names in it, requests in
German, French or Spanish, English mixed with Chinese, Japanese, Korean, Russian, Arabic
or Hindi. Just as important, most words of every case are public, capitalised public
words included (resume headings, weekdays, months, technologies, job titles, countries
in general statements), and about one case in six has no private unit at all, so a
detector learns what to leave alone as much as what to flag.

:func:`generate_span_cases` writes such requests from template families filled with
values from `faker <https://faker.readthedocs.io>`_ in some thirty locales. Each private
value is labelled with its span and one of :data:`CATEGORIES`.

Held-out measurement: families alternate between the ``"tune"`` and ``"test"`` halves
(by position; every shape has one family in each half), and every value (a given name, a
surname, a company, a street, a city, a postcode, an account number...) belongs to the
half a hash of its text picks. A test case thus shares neither its template family nor
any private value with training. Values built from others (an e-mail from a name, an
address from a street, postcode and city) inherit the half of their parts.

:func:`write_jsonl` and :func:`read_jsonl` store cases one JSON object a line.

Size: about 2,300 lines, nearly all of them data: the value lists and the templates of
each kind of request, kept next to the few functions that fill them so that a kind is
read and reviewed in one place. The logic is under 400 lines.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_cogenesis.evaluation.pii_cases import PiiCase, PrivateUnit

Split = Literal["tune", "test"]
CATEGORIES = ("PERSON", "ORG", "PLACE", "CONTACT", "ID", "HEALTH")
"""PERSON names; ORG companies, brands, products, schools; PLACE addresses, streets,
postcodes, cities, regions and countries tied to someone; CONTACT e-mails, phones,
handles, personal URLs; ID account, order and reference numbers; HEALTH a condition or
medication in a sentence about someone."""

Segment = tuple[str, str]
"""A piece of a case's text and its category ("" for public text)."""


def _half_of(value: str) -> Split:
    digest = zlib.crc32(b"span-synthesis:" + value.casefold().encode())
    return "tune" if digest % 2 == 0 else "test"


# -- locales ------------------------------------------------------------------------------

# Name locale -> the locale of the places and companies around that person. "+latn" asks
# for romanised names (Weijia Huang rather than 黄伟佳).
_EN_WORLD = (
    "en_US", "en_US", "en_GB", "en_GB", "en_IN", "en_IN", "en_CA", "en_AU", "en_NG", "en_PK",
    "en_IE", "yo_NG", "de_DE", "fr_FR", "es_ES", "es_MX", "it_IT", "pt_BR", "nl_NL", "pl_PL",
    "tr_TR", "id_ID", "sv_SE", "zh_CN+latn", "ja_JP+latn", "fil_PH",
)  # fmt: skip
_DE = ("de_DE", "de_DE", "de_AT", "de_CH")
_FR = ("fr_FR", "fr_FR", "fr_CH")
_ES = ("es_ES", "es_ES", "es_MX", "es_AR", "es_CO")
_NATIVE = ("zh_CN", "ja_JP", "ko_KR", "ru_RU", "ar_SA", "hi_IN")
_HOME = {
    "en_NG": "en_GB", "en_PK": "en_GB", "en_IE": "en_GB", "yo_NG": "en_GB", "fil_PH": "en_US",
    "tr_TR": "de_DE", "zh_CN+latn": "en_GB", "ja_JP+latn": "en_US", "ar_SA": "en_GB",
    "hi_IN": "en_IN",
}  # fmt: skip
_NATIVE_COMPANY = ("zh_CN", "ja_JP", "ko_KR", "ru_RU")
_FAMILY_FIRST = {"zh_CN": "fg0", "ko_KR": "fg0", "ja_JP": "fg"}
_FREE_MAIL = {
    "en": ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "proton.me"),
    "de": ("gmx.de", "web.de", "t-online.de", "gmail.com", "posteo.de"),
    "fr": ("orange.fr", "free.fr", "gmail.com", "laposte.net", "hotmail.fr"),
    "es": ("gmail.com", "hotmail.es", "yahoo.es", "outlook.es", "telefonica.net"),
    "zh": ("qq.com", "163.com", "126.com", "gmail.com"),
    "ja": ("yahoo.co.jp", "gmail.com", "docomo.ne.jp"),
    "ko": ("naver.com", "daum.net", "gmail.com"),
    "ru": ("mail.ru", "yandex.ru", "gmail.com"),
    "ar": ("gmail.com", "hotmail.com", "outlook.sa"),
    "hi": ("gmail.com", "rediffmail.com", "yahoo.co.in"),
}
_TITLES = {
    "en": (("Mr.", "Dr."), ("Ms.", "Mrs.", "Dr.")),
    "de": (("Herr", "Herr Dr."), ("Frau", "Frau Dr.")),
    "fr": (("M.", "Monsieur"), ("Mme", "Madame")),
    "es": (("Sr.", "don"), ("Sra.", "doña")),
}
_DEAR = {
    "en": (("Dear Mr.", "Dear Dr."), ("Dear Ms.", "Dear Mrs.")),
    "de": (("Sehr geehrter Herr",), ("Sehr geehrte Frau",)),
    "fr": (("Cher Monsieur", "Monsieur"), ("Chère Madame", "Madame")),
    "es": (("Estimado Sr.", "Estimado señor"), ("Estimada Sra.", "Estimada señora")),
}

# -- public vocabulary: capitalised words a detector must leave alone ------------------------

_TECH = (
    "Python", "Excel", "LinkedIn", "SQL", "JavaScript", "TypeScript", "React", "Java", "C++",
    "AWS", "Azure", "Docker", "Kubernetes", "Git", "GitHub", "Jira", "Confluence", "Slack",
    "Zoom", "Microsoft Teams", "Google Sheets", "PowerPoint", "Tableau", "Power BI",
    "Salesforce", "SAP", "Photoshop", "Figma", "AutoCAD", "MATLAB", "pandas", "TensorFlow",
    "Linux", "Android", "iOS", "WordPress", "Shopify", "HubSpot", "QuickBooks", "Canva",
    "Outlook", "Notion", "Trello", "PostgreSQL", "MongoDB", "Node.js", "Django", "Spark",
    "Snowflake", "Google Analytics",
)  # fmt: skip
_JOBS = (
    "Software Engineer", "Project Manager", "Data Analyst", "Sales Associate", "Office Assistant",
    "Teaching Assistant", "Registered Nurse", "Accountant", "Business Analyst",
    "Marketing Coordinator", "HR Manager", "Customer Support Manager", "Operations Manager",
    "Graphic Designer", "Research Assistant", "Financial Analyst", "Product Manager",
    "Civil Engineer", "Pharmacist", "Logistics Coordinator", "Receptionist", "Store Manager",
    "Administrative Assistant", "Quality Engineer", "Social Media Manager", "Procurement Officer",
    "Lab Technician", "Web Developer", "Supply Chain Analyst", "Executive Assistant",
    "Bookkeeper", "UX Designer", "Recruiter", "Mechanical Engineer", "Content Writer",
    "IT Support Specialist", "Site Supervisor", "Account Manager", "Sous Chef", "Electrician",
)  # fmt: skip
_DEPTS = (
    "Human Resources", "Finance", "Marketing", "Sales", "Operations", "IT Support",
    "Customer Service", "Procurement", "Legal", "Research and Development", "Quality Assurance",
    "Accounts Payable", "Administration", "Supply Chain", "Engineering", "Compliance",
    "Logistics", "Business Development", "Facilities", "Payroll",
)  # fmt: skip
_FIELDS = (
    "data analytics", "supply chain management", "digital marketing", "cybersecurity",
    "mechanical engineering", "public health", "accounting", "software development",
    "graphic design", "project management", "international relations", "biotechnology",
    "civil engineering", "early childhood education", "hospitality management",
    "renewable energy", "financial planning", "machine learning", "nursing",
    "business administration",
)  # fmt: skip
_DEGREES = (
    "Bachelor of Science", "Bachelor of Arts", "Master of Science", "MBA", "PhD", "B.Tech",
    "MSc", "BCom", "Diploma", "Associate Degree",
)  # fmt: skip
_LANGUAGES = (
    "English", "French", "Spanish", "German", "Mandarin", "Arabic", "Hindi", "Portuguese",
    "Russian", "Japanese", "Italian", "Turkish", "Korean", "Dutch", "Polish",
)  # fmt: skip
_COUNTRIES = (
    "France", "Germany", "Japan", "Brazil", "India", "Canada", "Mexico", "Egypt", "Kenya",
    "Nigeria", "Pakistan", "Turkey", "Vietnam", "Indonesia", "Italy", "Spain", "Poland",
    "Sweden", "Australia", "Argentina", "Chile", "Morocco", "South Africa", "Thailand",
    "Malaysia", "the Philippines", "Ireland", "Portugal", "Greece", "Norway", "Colombia",
    "Peru", "Saudi Arabia", "Qatar", "Ukraine", "Romania", "Bangladesh", "Sri Lanka", "Ghana",
    "Ethiopia",
)  # fmt: skip
_FAMOUS = (
    "Paris", "London", "Tokyo", "New York", "Rome", "Barcelona", "Dubai", "Sydney", "Berlin",
    "Istanbul", "Singapore", "Cairo", "Toronto", "Mumbai", "Seoul", "Lisbon", "Vienna",
)  # fmt: skip
_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado"),
}
_MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ),
    "de": ("Januar", "März", "April", "Mai", "Juni", "Juli", "September", "Oktober", "Dezember"),
    "fr": ("janvier", "mars", "avril", "mai", "juin", "septembre", "octobre", "décembre"),
    "es": ("enero", "marzo", "abril", "mayo", "junio", "septiembre", "octubre", "diciembre"),
}  # fmt: skip

# -- private vocabulary written here (faker has none): health facts and brand parts --------
# "article |term": the article stays public, the term is the unit.

_HEALTH = {
    "en": (
        "type 2 diabetes", "asthma", "epilepsy", "migraines", "depression",
        "an |anxiety disorder", "ADHD", "Crohn's disease", "celiac disease",
        "multiple sclerosis", "rheumatoid arthritis", "high blood pressure", "breast cancer",
        "leukemia", "long COVID", "a |slipped disc", "chronic insomnia", "psoriasis",
        "sleep apnea", "hypothyroidism", "kidney stones", "PTSD", "bipolar disorder",
        "chronic fatigue syndrome", "a |heart arrhythmia", "lupus", "glaucoma",
        "an |eating disorder",
    ),
    "de": (
        "Diabetes", "Asthma", "Migräne", "Depressionen", "eine |Angststörung",
        "einen |Bandscheibenvorfall", "Bluthochdruck", "Epilepsie", "Morbus Crohn", "Zöliakie",
        "Rheuma", "eine |Schilddrüsenunterfunktion", "Brustkrebs", "Long Covid", "ein |Burnout",
        "Tinnitus", "Neurodermitis", "eine |Gürtelrose", "Multiple Sklerose", "Arthrose",
    ),
    "fr": (
        "du |diabète", "de l'|asthme", "des |migraines", "une |dépression",
        "une |hernie discale", "de l'|hypertension", "une |épilepsie", "la |maladie de Crohn",
        "une |endométriose", "un |cancer du sein", "un |burn-out", "de l'|eczéma",
        "une |sclérose en plaques", "une |fibromyalgie", "un |covid long", "de l'|arthrose",
        "une |maladie cœliaque", "des |crises d'angoisse",
    ),
    "es": (
        "diabetes", "asma", "migrañas", "depresión", "una |hernia discal", "hipertensión",
        "epilepsia", "la |enfermedad de Crohn", "endometriosis", "cáncer de mama",
        "ansiedad", "artritis reumatoide", "celiaquía", "esclerosis múltiple", "fibromialgia",
        "covid persistente", "hipotiroidismo", "apnea del sueño",
    ),
}  # fmt: skip
_MEDS = {
    "en": (
        "insulin", "metformin", "sertraline", "levothyroxine", "methotrexate", "lithium",
        "prednisone", "an |inhaler", "blood thinners", "chemotherapy", "dialysis",
        "antidepressants", "Ritalin", "fluoxetine", "warfarin", "an |insulin pump",
    ),
    "de": (
        "Insulin", "Metformin", "Ibuprofen 800", "Cortison", "L-Thyroxin", "Ritalin",
        "Methotrexat", "Antidepressiva", "eine |Chemotherapie", "Blutverdünner",
    ),
    "fr": (
        "de l'|insuline", "du |Lévothyrox", "de la |metformine", "de la |cortisone",
        "des |antidépresseurs", "une |chimiothérapie", "des |anticoagulants", "du |méthotrexate",
    ),
    "es": (
        "insulina", "metformina", "ibuprofeno", "corticoides", "antidepresivos",
        "levotiroxina", "quimioterapia", "anticoagulantes", "metotrexato",
    ),
}  # fmt: skip
_BRAND_HEADS = (
    "Bright", "Fern", "Copper", "Lumen", "Nimbus", "Tide", "Maple", "Juniper", "Ember",
    "Cobalt", "Saffron", "Willow", "Pebble", "Harbor", "Nova", "Kiwi", "Orchid", "Sable",
    "Velvet", "Zephyr", "Quill", "Indigo", "Marigold", "Basalt", "Cedar", "Lark", "Opal",
    "Rook", "Tamarind", "Umber", "Wren", "Yarrow", "Aster", "Briar", "Clove", "Drift",
)  # fmt: skip
_BRAND_TAILS = (
    "wave", "leaf", "stone", "craft", "nest", "field", "works", "loop", "line", "ly", "hub",
    "box", "path", "forge", "bay", "spark", "well", "mint", "gate", "bloom", "ora", "io",
)  # fmt: skip
_SECTORS = (
    "Logistics", "Analytics", "Dental Clinic", "Consulting", "Foods", "Textiles",
    "Construction", "Solar", "Realty", "Pharma", "Motors", "Bakery", "Studios", "Travel",
    "Security Services", "Trading Co.", "Medical Center", "Packaging", "Software",
    "Interiors", "Catering", "Accounting Services", "Print Shop", "Fitness", "Auto Parts",
)  # fmt: skip
_SHOPS = (
    "General Store", "Bakery", "Garage", "Tailoring", "Pharmacy", "Kitchen", "Hardware",
    "Flowers", "Coffee House", "Bookshop",
)  # fmt: skip
_PRODUCT_TAILS = ("Pro", "Mini", "Sync", "Go", "Plus", "One", "Care", "X2", "Lite", "Connect")
_ORG_FORMS = ("Ltd", "LLC", "Inc.", "Group", "GmbH", "S.A.", "Pvt. Ltd.", "Co., Ltd.", "B.V.")


# -- values of one half -------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    given: str
    family: str
    female: bool
    order: str  # "gf": given first; "fg": family first; "fg0": family first, no space

    def full(self) -> str:
        if self.order == "gf":
            return f"{self.given} {self.family}"
        return self.family + ("" if self.order == "fg0" else " ") + self.given


class _Values:
    """Faker draws kept only when the hashes of their distinctive words fall in the half.

    A value's distinctive words are its capitalised words (or words of a script without
    case) other than generic ones: street and company words that faker's providers list
    as prefixes and suffixes ("Street", "GmbH", "San"), this module's sector and school
    words. "Brittany" then belongs to one half as a given name and inside "Brittany Cove"
    alike. A value without such a word (an e-mail, a phone number) is hashed whole.
    """

    def __init__(self, faker_type: Any, split: Split, seed: int, rng: random.Random) -> None:
        self._faker_type = faker_type
        self._split = split
        self._seed = seed
        self._fakers: dict[str, Any] = {}
        self.rng = rng
        # every locale up front: the generic words must be the same for both halves
        generic = set(_GENERIC_WORDS)
        for locale in _ALL_LOCALES:
            for provider in self.faker(locale).providers:
                for name in dir(provider):
                    if name.startswith(_AFFIX_OWNERS) and ("fix" in name):
                        affixes = getattr(provider, name)
                        if isinstance(affixes, (tuple, list, dict, set, frozenset)):
                            generic.update(
                                word.casefold()
                                for affix in affixes
                                for word in _WORD_SPLIT.split(str(affix))
                            )
        self._generic = frozenset(generic)

    def faker(self, locale: str) -> Any:
        locale = locale.removesuffix("+latn")
        if locale not in self._fakers:
            fake = self._faker_type(locale)
            for provider in fake.providers:  # it_IT builds its city list from a set
                if isinstance(getattr(provider, "cities", None), list):
                    provider.cities = sorted(provider.cities)
            fake.seed_instance(f"{self._seed}:{self._split}:{locale}")
            self._fakers[locale] = fake
        return self._fakers[locale]

    def keys(self, value: str, *, name: bool = False) -> list[str]:
        """The words of ``value`` that decide its half (every word but particles of a name)."""
        words = [w.strip(".,;:'’\"") for w in _WORD_SPLIT.split(value.split("|")[-1])]
        words = [re.sub(r"['’]s$", "", w) for w in words if w]
        if name:
            keys = [w for w in words if w.casefold() not in _PARTICLES]
        else:
            keys = [
                w
                for w in words
                if len(w) > 1
                and any(char.isalpha() for char in w)
                and w.casefold() not in self._generic
                and (w[:1].isupper() or w.lower() == w.upper())
            ]
        return keys or [value.split("|")[-1]]

    def draw(self, make: Callable[[], str], *, name: bool = False) -> str:
        """A value from ``make`` whose distinctive words all hash into this half."""
        for _ in range(1000):
            value = make().strip()
            if value and all(_half_of(key) == self._split for key in self.keys(value, name=name)):
                return value
        raise RuntimeError("no value of this half after 1000 draws; the pool is too small")

    def pick(self, pool: Iterable[str]) -> str:
        return self.draw(lambda: self.rng.choice(tuple(pool)))

    def person(self, locale: str) -> _Person:
        fake = self.faker(locale)
        female = self.rng.random() < 0.5
        if locale.endswith("+latn"):
            given = self.draw(fake.first_romanized_name, name=True)
            family = self.draw(fake.last_romanized_name, name=True)
            return _Person(given, family, female, "gf")
        sex = "female" if female else "male"
        given = self.draw(getattr(fake, f"first_name_{sex}"), name=True)
        family = self.draw(getattr(fake, f"last_name_{sex}"), name=True)
        if locale.startswith("es_") and self.rng.random() < 0.4:
            family += " " + self.draw(getattr(fake, f"last_name_{sex}"), name=True)
        order = _FAMILY_FIRST.get(locale, "gf")
        if locale == "ru_RU" and self.rng.random() < 0.3:
            order = "fg"
        elif locale == "ja_JP" and self.rng.random() < 0.4:
            order = "fg0"
        return _Person(given, family, female, order)

    def city(self, home: str) -> str:
        fake = self.faker(home)

        def one() -> str:
            name = str(fake.city())
            if home == "ru_RU":
                name = re.sub(r"^[а-я]{1,4}\.? ", "", name)
            if home in ("zh_CN", "ja_JP") and self.rng.random() < 0.5:
                name = name.rstrip("市县")
            return re.sub(r"^(thành phố|Thành phố) ", "", name)

        return self.draw(one)

    def region(self, home: str) -> str:
        fake = self.faker(home)
        if home in ("en_US", "en_AU", "it_IT", "pt_BR", "es_MX") and self.rng.random() < 0.6:
            return self.draw(fake.state_abbr)
        if home == "en_CA":
            return self.draw(fake.province_abbr)
        return self.draw(fake.administrative_unit)

    def street(self, home: str) -> str:
        if home in ("zh_CN", "ja_JP", "ko_KR"):
            return self.draw(lambda: _strip_postcode(self.faker(home).address()))
        name = self.draw(self.faker(home).street_name)
        number = str(self.rng.choice((self.rng.randint(1, 60), self.rng.randint(1, 400))))
        if self.rng.random() < 0.1:
            number += self.rng.choice(("a", "b", "/2", "/14"))
        shape = _STREET_SHAPES.get(home, "{n} {s}")
        if home == "pl_PL" and not re.match(r"^(al|pl|ul|os)\.", name):
            name = "ul. " + name
        return shape.format(n=number, s=name)

    def postcode(self, home: str) -> str:
        fake = self.faker(home)

        def one() -> str:
            code = str(fake.postcode())
            if home == "es_MX":
                code = code[:5]
            if home == "nl_NL" and len(code) == 6:
                code = f"{code[:4]} {code[4:]}"
            if home == "sv_SE" and len(code) == 5:
                code = f"{code[:3]} {code[3:]}"
            return code

        return self.draw(one)

    def company(self, home: str) -> str:
        rng, fake = self.rng, self.faker(home)
        roll = rng.random()
        if home in _NATIVE_COMPANY or roll < 0.3:
            return self.draw(fake.company)
        if roll < 0.45:
            return f"{self.city(home)} {rng.choice(_SECTORS)}"
        if roll < 0.6:
            last = self.draw(fake.last_name, name=True)
            return rng.choice((f"{last}'s {rng.choice(_SHOPS)}", f"{last} {rng.choice(_SECTORS)}"))
        if roll < 0.85:
            return f"{self.brand()} {rng.choice(_SECTORS)}"

        def acronym() -> str:
            letters = "".join(rng.choice("ABCDEFGHIKLMNPRSTVWXZ") for _ in range(rng.randint(2, 4)))
            return f"{letters} {rng.choice(_ORG_FORMS)}"

        return self.draw(acronym)

    def brand(self) -> str:
        rng = self.rng
        return self.draw(
            lambda: (
                rng.choice(_BRAND_HEADS)
                + rng.choice((rng.choice(_BRAND_TAILS), rng.choice(_BRAND_HEADS)))
            )
        )

    def school(self, home: str, lang: str) -> str:
        rng, city = self.rng, self.city(home)
        if home in ("zh_CN", "ja_JP", "ko_KR"):  # stripped names could meet the other half's
            suffixes = ("대학교",) if home == "ko_KR" else ("大学", "理工大学", "师范大学")
            return self.draw(lambda: self.city(home).rstrip("市县시군") + rng.choice(suffixes))
        if home == "ru_RU":
            kind = rng.choice(("Государственный университет", "Политехнический институт"))
            return f"{kind} г. {city}"
        last = self.draw(self.faker(home).last_name, name=True)
        shapes = {
            "de": (f"Universität {city}", f"Hochschule {city}", f"{last}-Gymnasium {city}"),
            "fr": (f"Université de {city}", f"Lycée {last}", f"École de commerce de {city}"),
            "es": (f"Universidad de {city}", f"Colegio {last}", f"Instituto Tecnológico de {city}"),
        }.get(lang, ())
        return rng.choice(
            shapes
            or (
                f"University of {city}", f"{city} State University", f"{last} High School",
                f"{city} Community College", f"{city} Institute of Technology",
                f"St. {last}'s College", f"{city} Polytechnic",
            )
        )  # fmt: skip

    def acct(self) -> str:
        rng = self.rng

        def digits(n: int) -> str:
            return "".join(rng.choice("0123456789") for _ in range(n))

        def letters(n: int) -> str:
            return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))

        return self.draw(
            lambda: rng.choice(
                (
                    f"{letters(2)}-{digits(5)}", digits(8), f"ORD-{digits(4)}-{digits(6)}",
                    f"#{digits(7)}", f"{letters(2)}{digits(7)}",
                    f"{digits(4)} {digits(4)} {digits(4)}",
                    f"INV-{digits(5)}", f"CS{digits(7)}", f"{digits(3)}-{digits(6)}-{digits(2)}",
                    str(self.faker("de_DE").iban()), f"{letters(3)}{digits(6)}{letters(1)}",
                )
            )
        )  # fmt: skip

    def phone(self, home: str) -> str:
        fake = self.faker(home)
        return self.draw(lambda: re.sub(r"\s*x\d+$", "", str(fake.phone_number())))


_STREET_SHAPES = {
    "de_DE": "{s} {n}", "de_AT": "{s} {n}", "de_CH": "{s} {n}", "nl_NL": "{s} {n}",
    "sv_SE": "{s} {n}", "pl_PL": "{s} {n}", "es_ES": "{s}, {n}", "es_AR": "{s} {n}",
    "es_MX": "{s} {n}", "es_CO": "{s} # {n}", "it_IT": "{s}, {n}", "pt_BR": "{s}, {n}",
    "pt_PT": "{s}, {n}", "fr_FR": "{n} {s}", "fr_CH": "{s} {n}", "id_ID": "{s} No. {n}",
    "en_IN": "{n}, {s}", "ru_RU": "{s}, д. {n}", "vi_VN": "{n} {s}",
}  # fmt: skip
# How an address is written, in the slot language below; the index of the address is
# given to each part, so {address2} uses {street2}, {postcode2}, {city2}.
_ADDRESS_SHAPES = {
    "en_US": "{street}, {city}, {region} {postcode}", "en_GB": "{street}, {city} {postcode}",
    "en_IN": "{street}, {city}, {region} - {postcode}",
    "en_CA": "{street}, {city}, {region} {postcode}",
    "en_AU": "{street}, {city} {region} {postcode}",
    "pt_BR": "{street} - {city} - {region}, {postcode}",
    "es_MX": "{street}, {city}, C.P. {postcode}", "es_CO": "{street}, {city}",
    "es_AR": "{street}, {city} ({postcode})", "id_ID": "{street}, {city} {postcode}",
    "vi_VN": "{street}, {city}", "ru_RU": "{postcode}, г. {city}, {street}",
    "zh_CN": "{street}", "ja_JP": "〒{postcode} {street}", "ko_KR": "{street} ({postcode})",
    "it_IT": "{street}, {postcode} {city} ({region})",
}  # fmt: skip
_ADDRESS_HOMES = (
    "en_US", "en_GB", "en_IN", "en_CA", "en_AU", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CH",
    "es_ES", "es_MX", "es_AR", "it_IT", "pt_BR", "pt_PT", "nl_NL", "pl_PL", "sv_SE", "id_ID",
)  # fmt: skip


_PARTICLES = frozenset(
    ("de", "da", "do", "dos", "das", "del", "della", "di", "la", "le", "van", "von", "der",
     "den", "ten", "ter", "bin", "al", "el", "y", "e")
)  # fmt: skip
_WORD_SPLIT = re.compile(r"[\s\-,/()]+")
_AFFIX_OWNERS = ("city_", "company_", "street_", "sub_street_", "region_", "province_")
_GENERIC_WORDS = frozenset(
    word.casefold()
    for phrase in (
        *_SECTORS, *_SHOPS, *_ORG_FORMS, *_PRODUCT_TAILS, *_PARTICLES, "The", "and", "Sons",
        "Group", "Company", "University", "State", "College", "Community", "Institute",
        "Technology", "High", "School", "Polytechnic", "St", "Universität", "Hochschule",
        "Gymnasium", "Université", "Lycée", "École", "commerce", "Universidad", "Colegio",
        "Instituto", "Tecnológico", "Государственный", "университет", "Политехнический",
        "институт", "North", "South", "East", "West", "New", "Port", "Lake", "Saint", "San",
        "Santa", "Nueva", "Nuevo", "Vieja", "Viejo", "Calle", "Avenida", "Via", "Rua",
    )
    for word in _WORD_SPLIT.split(phrase)
    if word
)  # fmt: skip


_ALL_LOCALES = tuple(
    dict.fromkeys(
        locale.removesuffix("+latn")
        for locale in (*_EN_WORLD, *_DE, *_FR, *_ES, *_NATIVE, *_HOME.values(), *_ADDRESS_HOMES)
    )
)


def _strip_postcode(address: str) -> str:
    return re.sub(r"\s*\d{3}-?\d{3,4}$|^〒?\d{3}-\d{4}\s*", "", address.strip())


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


# -- one case: slots filled from the values of the half ------------------------------------

_SLOT = re.compile(r"\{([a-z]+)(\d?)(?::([a-z_]+))?\}")
_PRIVATE = {
    "p": "PERSON", "org": "ORG", "school": "ORG", "brand": "ORG", "product": "ORG",
    "city": "PLACE", "region": "PLACE", "homeland": "PLACE", "street": "PLACE",
    "postcode": "PLACE", "email": "CONTACT", "phone": "CONTACT", "handle": "CONTACT",
    "url": "CONTACT", "site": "CONTACT", "acct": "ID", "health": "HEALTH", "med": "HEALTH",
}  # fmt: skip
_PUBLIC = (
    "job", "tech", "dept", "field", "degree", "lang", "country", "famous", "day", "month",
    "year", "date", "time", "num", "money", "pro", "pos", "obj", "dear", "kin",
)  # fmt: skip
_COMPOSITE = ("address",)  # street, postcode, city and region, each its own unit
_PUBLIC_POOLS: dict[str, tuple[str, ...] | dict[str, tuple[str, ...]]] = {
    "job": _JOBS, "tech": _TECH, "dept": _DEPTS, "field": _FIELDS, "degree": _DEGREES,
    "lang": _LANGUAGES, "famous": _FAMOUS, "day": _DAYS, "month": _MONTHS,
}  # fmt: skip
_KIN = {
    "en": {"child": ("my son", "my daughter"), "parent": ("my dad", "my mum"),
           "sibling": ("my brother", "my sister")},
    "de": {"child": ("mein Sohn", "meine Tochter"), "parent": ("mein Vater", "meine Mutter"),
           "sibling": ("mein Bruder", "meine Schwester")},
    "fr": {"child": ("mon fils", "ma fille"), "parent": ("mon père", "ma mère"),
           "sibling": ("mon frère", "ma sœur")},
    "es": {"child": ("mi hijo", "mi hija"), "parent": ("mi padre", "mi madre"),
           "sibling": ("mi hermano", "mi hermana")},
}  # fmt: skip


class _Case:
    """The values one case refers to: ``{p2:first}`` is the given name of its person 2."""

    def __init__(self, values: _Values, locale: str, lang: str, split: Split) -> None:
        self.values = values
        self.split = split
        self.rng = values.rng
        self.locale = locale
        self.home = _HOME.get(locale, locale)
        self.lang = lang
        self.casing = ""
        self._cache: dict[tuple[str, int], Any] = {}
        self._homes: dict[int, str] = {1: self.home}
        self._orders: dict[str, list[str]] = {}

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    def half(self, pool: tuple[str, ...]) -> tuple[str, ...]:
        """Every other phrase of a pool shared by families, so the halves share no phrase."""
        return pool[0 if self.split == "tune" else 1 :: 2]

    def part(self, pool: tuple[str, ...]) -> str:
        return self.rng.choice(self.half(pool))

    def maybe(self, chance: float, text: str, otherwise: str = "") -> str:
        return text if self.rng.random() < chance else otherwise

    def person(self, index: int) -> _Person:
        key = ("p", index)
        if key not in self._cache:
            locale = self.locale
            if index > 1 and self.rng.random() < 0.3 and locale in _EN_WORLD:
                locale = self.rng.choice(_EN_WORLD)
            self._cache[key] = self.values.person(locale)
        person: _Person = self._cache[key]
        return person

    def _value(self, kind: str, index: int) -> str:
        key = (kind, index)
        if key not in self._cache:
            self._cache[key] = self._make(kind, index)
        value: str = self._cache[key]
        return value

    def _make(self, kind: str, index: int) -> str:
        if kind in _PUBLIC_POOLS:  # distinct values for {tech}, {tech2}, {tech3}...
            if kind not in self._orders:
                pool = _PUBLIC_POOLS[kind]
                pool = pool.get(self.lang, pool["en"]) if isinstance(pool, dict) else pool
                self._orders[kind] = self.rng.sample(pool, len(pool))
            order = self._orders[kind]
            return order[(index - 1) % len(order)]
        values, rng, home = self.values, self.rng, self._home(index)
        makers: dict[str, Callable[[], str]] = {
            "org": lambda: values.company(home),
            "school": lambda: values.school(home, self.lang),
            "brand": values.brand,
            "product": lambda: values.draw(
                lambda: f"{values.brand()} {rng.choice(_PRODUCT_TAILS)}"
            ),
            "city": lambda: values.city(home),
            "region": lambda: values.region(home),
            "homeland": lambda: values.pick(_COUNTRIES),
            "street": lambda: values.street(home),
            "postcode": lambda: values.postcode(home),
            "phone": lambda: values.phone(home),
            "acct": values.acct,
            # built from names of this half, yet "José" and "Jose" give the same address
            "email": lambda: values.draw(lambda: self._email(self.person(index), index)),
            "handle": lambda: values.draw(lambda: "@" + self._user(self.person(index))),
            "url": lambda: values.draw(lambda: self._url(self.person(index))),
            "site": lambda: (
                "www."
                + _slug(self._value("brand", index))
                + rng.choice((".com", ".co", ".shop", ".store", ".net", ".io"))
            ),
            "health": lambda: values.pick(_HEALTH[self._health_lang()]),
            "med": lambda: values.pick(_MEDS[self._health_lang()]),
            "country": lambda: values.pick(_COUNTRIES),
            "year": lambda: str(rng.randint(2008, 2024)),
            "date": lambda: self._date(),
            "time": lambda: rng.choice(("9:00", "10:30", "2pm", "3:30 pm", "11am", "16:00")),
            "num": lambda: str(rng.choice((2, 3, 4, 5, 6, 7, 8, 10, 12, 15))),
            "money": lambda: (
                rng.choice(("$", "€", "£", "USD ", "EUR ")) + f"{rng.randint(2, 950) * 10:,}"
            ),
        }
        return makers[kind]()

    def _home(self, index: int) -> str:
        """Places and companies of index 2 and up are now and then in another country."""
        if index not in self._homes:
            abroad = self.home in _ADDRESS_HOMES and self.rng.random() < 0.15
            self._homes[index] = self.rng.choice(_ADDRESS_HOMES) if abroad else self.home
        return self._homes[index]

    def _health_lang(self) -> str:
        return self.lang if self.lang in _HEALTH else "en"

    def _date(self) -> str:
        day, month = self.rng.randint(1, 28), self.rng.choice(_MONTHS.get(self.lang, _MONTHS["en"]))
        if self.lang == "en":
            return self.pick(
                f"{month} {day}", f"{day} {month}", f"{day:02d}/{self.rng.randint(1, 12):02d}"
            )
        return f"{day}. {month}" if self.lang == "de" else f"{day} {month}"

    def _user(self, person: _Person) -> str:
        given, family = _slug(person.given), _slug(person.family)
        if not given or not family:
            return self.values.draw(self.values.faker(self.locale).user_name)
        return self.pick(
            f"{given}.{family}", f"{given}_{family[:1]}",
            f"{given}{family}{self.rng.randint(1, 99)}", f"{given[:1]}{family}",
            f"{family}.{given}", f"the{given}", f"{given}_{self.rng.randint(80, 2005)}",
        )  # fmt: skip

    def _email(self, person: _Person, index: int) -> str:
        if self.rng.random() < 0.3:
            domain = (_slug(self._value("org", index)) or "mail")[:18] + ".com"
        else:
            domain = self.rng.choice(_FREE_MAIL.get(self.lang, _FREE_MAIL["en"]))
        return f"{self._user(person).lstrip('@')}@{domain}"

    def _url(self, person: _Person) -> str:
        user = self._user(person).replace(".", "-")
        return self.pick(
            f"linkedin.com/in/{user}",
            f"https://www.linkedin.com/in/{user}-{self.rng.randint(100, 999)}b",
            f"https://github.com/{user}", f"https://{_slug(person.given)}{_slug(person.family)}.dev",
            f"instagram.com/{user}", f"https://www.behance.net/{user}",
        )  # fmt: skip

    def segments(self, kind: str, index: int, form: str) -> list[Segment]:
        """The text of one slot, split into labelled and public pieces."""
        if kind == "p":
            return self._person_segments(self.person(index), form)
        if kind == "address":
            shape = _ADDRESS_SHAPES.get(self._home(index), "{street}, {postcode} {city}")
            return _fill(shape.replace("}", f"{index if index > 1 else ''}}}"), self)
        if kind in ("pro", "pos", "obj"):
            female = self.person(index).female
            word = {"pro": ("he", "she"), "pos": ("his", "her"), "obj": ("him", "her")}[kind]
            return [(_cased(word[female], form), "")]
        if kind == "kin":
            relation, _, casing = form.partition("_")
            words = _KIN.get(self.lang, _KIN["en"])[relation or "child"]
            return [(_cased(words[self.person(index).female], casing), "")]
        if kind == "dear":
            options = _DEAR.get(self.lang, _DEAR["en"])[self.person(index).female]
            return [(self.rng.choice(options), "")]
        value = self._value(kind, index)
        if form == "a":
            value = ("an " if value[:1].lower() in "aeiou" else "a ") + value
        if form == "bare":  # without its article: "my {health:bare} flared up"
            value = value.split("|", 1)[-1]
        value = _cased(value, form)
        category = _PRIVATE.get(kind, "")
        if category and "|" in value:
            article, term = value.split("|", 1)
            return [(article, ""), (term, category)]
        return [(value, category)]

    def _person_segments(self, person: _Person, form: str) -> list[Segment]:
        part, _, casing = form.partition("_")
        if part in ("upper", "lower"):
            part, casing = "full", part
        if part == "formal":
            title = self.rng.choice(_TITLES.get(self.lang, _TITLES["en"])[person.female])
            gap = "" if title.endswith(".") and self.rng.random() < 0.15 else " "
            return [(title + gap, ""), (_cased(person.family, casing), "PERSON")]
        text = {
            "first": person.given,
            "last": person.family,
            "initial": f"{person.given[:1]}. {person.family}",
            "rev": f"{person.family}, {person.given}",
        }.get(part, person.full())
        return [(_cased(text, casing), "PERSON")]


def _cased(text: str, casing: str) -> str:
    if casing == "upper":
        return text.upper()
    if casing == "lower":
        return text.lower()
    if casing == "cap":
        return text[:1].upper() + text[1:]
    return text


def _fill(template: str, case: _Case) -> list[Segment]:
    segments: list[Segment] = []
    last = 0
    for match in _SLOT.finditer(template):
        kind, index, form = match.group(1), match.group(2), match.group(3) or ""
        if kind not in _PRIVATE and kind not in _PUBLIC and kind not in _COMPOSITE:
            continue  # a brace of code, such as {x}, stays as it is
        segments.append((template[last : match.start()], ""))
        segments.extend(case.segments(kind, int(index or 1), form))
        last = match.end()
    segments.append((template[last:], ""))
    return segments


def _assemble(segments: list[Segment], casing: str, source: str) -> PiiCase:
    text = ""
    units: list[PrivateUnit] = []
    for piece, category in segments:
        piece = _cased(piece, casing)
        if not category and units and units[-1].end == len(text) and text.endswith("."):
            piece = piece[1:] if piece.startswith(".") and not piece.startswith("..") else piece
        if category and piece:
            units.append(PrivateUnit(len(text), len(text) + len(piece), category, piece))
        text += piece
    return PiiCase(text, tuple(units), source)


# -- shared phrase pools: each half uses every other entry (see _Case.part) -----------------

_GREETINGS = (
    "Hi {p2:first},", "Hello {p2:first},", "Dear {p2:first},", "{dear2} {p2:last},",
    "Good morning {p2:first},", "Hey {p2:first},", "Dear {p2},", "Hi {p2:first} and {p3:first},",
    "Hello {p2:first}!", "Good afternoon {p2:first},", "Hi {p2:first_lower},", "Dear all,",
)  # fmt: skip
_OPENERS = (
    "I hope this email finds you well.", "I hope you had a relaxing weekend.",
    "Thanks for getting back to me so quickly.", "Following up on our call from {day}.",
    "Sorry for the slow reply, this week has been busy.", "Thank you for your email.",
    "Quick update from my side.", "As promised, here are the details.",
)  # fmt: skip
_BODY = (
    "The signed contract from {org} arrived this morning, and {p3:first} in {dept} will check "
    "it before {day}.",
    "Could we move our call to {day} at {time}? I have a site visit in {city} that morning.",
    "I have attached the {month} figures in {tech}; the {dept} numbers are a little behind plan.",
    "{p3:first} will be on leave from next week, so please send anything urgent for {org} to me.",
    "As discussed, the training on the new {tech} system will run on {day} in the main room.",
    "The invoice for the {city} project is still open. Could you ask {p3:formal} to confirm the "
    "payment date?",
    "Thanks again for introducing me to {p3}. Our meeting at {org} went really well.",
    "Please find the updated schedule below and let me know if {day} works for your team.",
    "I spoke with {p3:first} about the delivery delays, and we agreed to switch suppliers in "
    "{month}.",
    "The new office on {street} opens on {date}, and the {dept} team moves in first.",
    "Our client {org} asked for a shorter proposal, so I cut the appendix and kept the {tech} "
    "charts.",
    "I will be out of office until {day}; for anything urgent you can reach me on {phone}.",
    "If you have questions, write to {email} or ask {p3:first} at the front desk.",
    "The workshop with {org2} is confirmed for {date} in {city2}.",
    "We still need the purchase order number before we can ship the samples to {org}.",
    "{p3} from {org} will join the {dept} review on {day} to present the {tech} migration.",
    "I reviewed the draft and left a few comments in the margins.",
    "Let me know if anything is unclear or if you need the {tech} file as well.",
    "The numbers look fine overall, but the forecast for the next quarter is optimistic.",
    "We should finalise the plan before the end of the month so that Finance can approve it.",
    "Please check the attached spreadsheet and correct any figures that look wrong to you.",
    "The customer survey closed on Friday and the response rate was higher than last year.",
    "I think we need one more round of testing before we announce anything publicly.",
    "The new process should save everyone a few hours every week once it is running.",
    "Could you also share the slides from the last quarterly review?",
    "We agreed to keep the budget flat and review it again in the autumn.",
)  # fmt: skip
_NOTES = (
    "Keep it under 200 words.", "Use a friendly but professional tone.", "Add a subject line.",
    "Please use British English.", "Make it sound natural, not like a robot.",
    "Use bullet points where it helps.", "Don't change the meaning.", "Keep the same structure.",
    "It is for a formal context.", "Write it in the first person.", "Thanks in advance!",
    "Please also explain what you changed.", "Make it concise and clear.",
    "Use simple words, English is not my first language.",
    "Give me two versions, one short and one long.", "Avoid jargon.",
    "Add a call to action at the end.", "Format it as an email.", "Use American spelling.",
    "The deadline is next {day}.", "This is for a job in the {dept} department.",
    "The reader is a senior manager.", "It will be posted on LinkedIn.",
    "We use {tech} and {tech2} at work.", "The audience is mostly new customers.",
    "I have an interview on {day} morning.", "The meeting is on Microsoft Teams.",
    "It should mention the results from {month}.", "Please keep all the names as they are.",
    "Make it sound confident but not arrogant.",
    "English is my second language, so please correct any mistakes.",
    "My first attempt was too long and too formal.", "This is important for my career.",
    "I have been struggling with the wording for a while.",
    "It's for a company with about 200 employees.", "Please keep the key facts unchanged.",
    "The tone should be respectful but direct.", "I will send it by email tomorrow morning.",
    "Please don't make it sound like a template.", "Use short paragraphs.",
    "I want to send it before the end of the week.", "Could you also suggest a better title?",
    "My manager will read it first, so it has to be clear.", "Keep the original meaning.",
    "Please write it in a way that a non-native speaker can understand.",
)  # fmt: skip
_OPENING_NOTES = (
    "Hi!", "Hello ChatGPT,", "Quick question.", "I need help with something.", "Please help.",
    "Good morning,", "Hey,", "Can you help me?",
)  # fmt: skip
_NATIVE_NOTES = {
    "de": (
        "Bitte nicht zu lang.", "Der Ton soll freundlich, aber bestimmt sein.",
        "Danke im Voraus!", "Bitte in der Sie-Form.", "Ich brauche das bis Freitag.",
        "Bitte ohne Fachbegriffe.", "Der Empfänger ist mein Vorgesetzter.",
        "Ich bin mir bei der Grammatik nicht sicher.", "Es soll professionell klingen.",
        "Bitte kurze Sätze verwenden.", "Die Nachricht geht morgen früh raus.",
    ),
    "fr": (
        "Merci d'avance !", "Pas trop long, s'il te plaît.", "Le ton doit rester poli.",
        "Garde le vouvoiement.", "C'est assez urgent.", "Évite les formules trop lourdes.",
        "Je ne suis pas sûr de la grammaire.", "Il faut que ça reste professionnel.",
        "Utilise des phrases courtes.", "Je dois l'envoyer demain matin.",
    ),
    "zh": (
        "谢谢！", "语气正式一点。", "字数在200字左右。", "请用简单的英文。", "不要改变原意。",
        "麻烦快一点，谢谢。",
    ),
    "ja": (
        "よろしくお願いします。", "丁寧な表現でお願いします。", "200字くらいでお願いします。",
        "意味は変えないでください。",
    ),
    "ko": (
        "감사합니다!", "너무 길지 않게 써 주세요.", "정중한 표현으로 부탁드려요.",
        "의미는 바꾸지 마세요.",
    ),
    "ru": ("Спасибо!", "Не слишком длинно.", "Тон должен быть официальным.", "Смысл не меняй."),
    "ar": ("شكرا لك!", "اجعلها قصيرة.", "بأسلوب رسمي من فضلك.", "لا تغير المعنى."),
    "hi": ("धन्यवाद!", "थोड़ा formal रखना।", "ज़्यादा लंबा मत करना।", "मतलब मत बदलना।"),
    "es": (
        "¡Gracias de antemano!", "Que no sea muy largo.", "Con un tono cordial.",
        "Usa el usted.", "Es bastante urgente.", "Evita las frases demasiado formales.",
        "No estoy seguro de la gramática.", "Tiene que sonar profesional.",
        "Usa frases cortas, por favor.", "Lo tengo que enviar mañana por la mañana.",
    ),
}  # fmt: skip
_CODE_NOTES = (
    "I'm using Python 3.11.", "There is no error, just empty output.",
    "It worked yesterday on my laptop.", "Please explain step by step.",
    "The table has about 2 million rows.", "I am new to programming.",
    "We deploy with Docker on AWS.", "Keep the same variable names.",
)  # fmt: skip
_JOB_POSTING = (
    "Responsibilities include preparing weekly reports and presenting them to stakeholders.",
    "You will work closely with the {dept} and {dept2} teams.",
    "Requirements: {num}+ years of relevant experience and excellent communication skills.",
    "Experience with {tech} and {tech2} is an advantage.",
    "The role is hybrid, with three days a week in the office.",
    "We offer a competitive salary, private health insurance and 25 days of annual leave.",
    "Candidates must be able to work independently and manage several priorities.",
    "A degree in {field} or a related discipline is required.",
    "Fluent English is essential; {lang} is a plus.",
    "The successful candidate will report to the Head of {dept}.",
    "Applications close at the end of {month}.",
    "Strong attention to detail, problem-solving skills and a high level of professionalism.",
)  # fmt: skip
_CLOSINGS = (
    "Best regards,", "Kind regards,", "Thanks,", "Regards,", "Cheers,", "Best,", "Sincerely,",
    "Warm regards,", "Many thanks,", "Thanks and regards,", "With best wishes,", "All the best,",
)  # fmt: skip
_SIGNATURES = (
    "{p}", "{p:first}", "{p}\n{job}\n{org}", "{p} | {job} | {dept}\n{org}\n{phone}",
    "{p:first}\n{job}, {org}", "{p}\n{org} | {city}\n{email}", "{p:initial}",
    "{p}\nSent from my iPhone", "{p:first}\n{phone}", "{p}\n{job}, {dept}",
)  # fmt: skip
_REWRITE_ASKS = (
    "Rewrite this email:", "Rewrite this email so it sounds more professional:",
    "Please make this more formal:", "fix grammar:", "Can you fix the grammar in this?",
    "Make it shorter:", "improve:", "Correct this email:", "Make this sound friendlier:",
    "Polish this message for me:", "check grammar:", "edit:",
    "Proofread the text below and keep the tone:", "Translate this into Chinese:",
    "translate to Spanish please:", "Can you respond to this email?",
)  # fmt: skip
_BULLETS = (
    "Managed weekly reporting for the {dept} team using {tech} and {tech2}",
    "Reduced processing time by {num}% by automating manual checks",
    "Trained {num} new hires on internal tools and safety procedures",
    "Prepared monthly invoices and reconciled accounts with the finance team",
    "Built dashboards in {tech} to track sales and customer feedback",
    "Coordinated schedules, travel and meetings for senior management",
    "Handled {num}+ customer calls per day with a satisfaction score above 90%",
    "Led the migration of legacy spreadsheets to {tech}",
    "Supported the onboarding process for new employees",
    "Maintained inventory records and placed orders with suppliers",
    "Designed social media campaigns that grew followers by {num}%",
    "Collaborated with teachers to support students with diverse learning needs",
    "Wrote technical documentation and test plans for {tech} releases",
    "Negotiated contracts with vendors and cut costs by {num}%",
    "Answered phone and email enquiries and scheduled appointments",
    "Prepared presentations and reports for monthly management meetings",
    "Monitored project budgets and flagged risks to the project manager",
    "Processed payroll for {num}0 employees every month",
    "Improved the onboarding checklist, cutting ramp-up time by two weeks",
    "Tested new features and reported bugs in Jira",
    "Organised company events and team-building days",
    "Kept the CRM up to date and cleaned duplicate customer records",
)  # fmt: skip


def _periods(c: _Case, count: int) -> list[tuple[str, str]]:
    """Employment periods, newest first, as resumes write them ("03/2021", "May 2019")."""
    months = _MONTHS["en"]
    end_year, periods = 2024, []
    for number in range(count):
        start_year = end_year - c.rng.randint(1, 4)
        numeric = c.rng.random() < 0.4
        start = (
            f"{c.rng.randint(1, 12):02d}/{start_year}"
            if numeric
            else f"{c.rng.choice(months)} {start_year}"
        )
        end = (
            c.pick("Present", "Till Date", "Current")
            if number == 0
            else (
                f"{c.rng.randint(1, 12):02d}/{end_year}"
                if numeric
                else f"{c.rng.choice(months)} {end_year}"
            )
        )
        periods.append((start, end))
        end_year = start_year
    return periods


_BUSINESS_LINES = (
    "We focus on quality and fast delivery.", "Most of our customers are young families.",
    "We want to grow our online sales by 30% this year.", "Our prices are in the mid range.",
    "We have a small team of {num} people.", "We offer free delivery for orders over $50.",
    "Our best sellers are seasonal gift boxes.", "We are active on Instagram and TikTok.",
    "We are planning to open a second location next year.",
    "Sustainability is important to us, so all packaging is recyclable.",
    "We sell mainly through our website and a few local markets.",
    "Customer reviews on Google are very positive.",
)  # fmt: skip


_ARTICLE = (
    "Remote work has changed how teams communicate and plan their week.",
    "Many small companies now use cloud tools instead of servers in the office.",
    "Customer expectations for fast delivery keep rising every year.",
    "Good documentation saves time for everyone who joins a project later.",
    "The report covers sales, hiring and the main risks for the next quarter.",
    "Most applicants send the same generic letter to every company.",
    "Recruiters usually spend less than a minute on the first read of a resume.",
    "A clear subject line makes it more likely that an email is opened.",
    "The company plans to reduce its carbon footprint by half before 2030.",
    "Training programmes help new employees become productive faster.",
    "The new policy applies to all departments from the first of next month.",
    "Prices for raw materials went up sharply during the last two years.",
    "Online reviews have a strong influence on what people buy.",
    "The project was delayed because two suppliers could not deliver on time.",
    "Students are expected to submit their assignments through the online portal.",
    "The committee meets once a month to review the budget and open issues.",
    "Health and safety rules must be followed on every site.",
    "The survey showed that most employees want more flexible hours.",
    "Our team works across three time zones, so meetings are kept short.",
    "Clear goals and regular feedback are the basis of a good performance review.",
)  # fmt: skip


def _with_context(c: _Case, text: str) -> str:
    """A pasted public paragraph before or after the request, as people add background."""
    pool = c.half(_ARTICLE) + c.half(_JOB_POSTING) + c.half(_BUSINESS_LINES)
    paragraph = " ".join(c.rng.sample(pool, c.rng.randint(2, 5)))
    head = c.part(("Background:", "For context:", "Some context first.", "Here is the text:", ""))
    block = f"{head} {paragraph}".strip()
    return c.pick(f"{block}\n\n{text}", f"{text}\n\n{block}")


def _notes(c: _Case, text: str, *, most: int, code: bool) -> str:
    """``text`` with a few public instructions around it, as people write them."""
    pool = _CODE_NOTES if code else _NATIVE_NOTES.get(c.lang, _NOTES)
    notes = c.rng.sample(c.half(pool), c.rng.randint(0, most))
    if notes:
        gap = "\n\n" if "\n" in text else c.pick(" ", "\n", "\n\n")
        text = f"{text}{gap}{' '.join(notes)}"
    if c.lang == "en" and c.rng.random() < 0.15:
        text = f"{c.part(_OPENING_NOTES)} {text}"
    return text


def _email(c: _Case, *, flat: float = 0.3) -> str:
    body = " ".join(c.rng.sample(c.half(_BODY), c.rng.randint(1, 3)))
    parts = [c.part(_GREETINGS), c.maybe(0.6, c.part(_OPENERS)), body]
    parts += [c.part(_CLOSINGS) + "\n" + c.part(_SIGNATURES)]
    text = "\n\n".join(part for part in parts if part)
    return text.replace("\n\n", " ").replace("\n", " ") if c.rng.random() < flat else text


# -- template families: each writes a template; pairs of the same shape stand side by side --


def _rewrite_wrap(c: _Case) -> str:
    ask, text = c.part(_REWRITE_ASKS), _email(c)
    if c.rng.random() < 0.25:
        text = f'"{text}"'
    return c.pick(f"{ask}\n\n{text}", f"{ask} {text}", f"{text}\n\n{ask}")


def _paraphrase_wrap(c: _Case) -> str:
    message = c.pick(
        "{p2:first}, can you send me the {tech} export before {day}? {org} is asking for it.",
        "Got the samples from {brand} today, they look great. Tell {p2:first} thanks!",
        "Hi {p2:first}, the courier will pick up the laptop for {p3:first} on {day} morning.",
        "I'm at the {org} office in {city} until {time}, call me on {phone} if needed.",
        "{p2:first} and I finished the {dept} budget, only the {month} travel costs are missing.",
        "Since {p2:first} is going on parental leave, who takes over {pos2} clients at {org}?",
        "Reminder: the team lunch with {p2} and {p3} is on {day} at {time}, near the {city} "
        "office.",
        "Good news, {org} approved our proposal! {p2:first} will send the contract to {email}.",
    )
    ask = c.pick(
        "Paraphrase this text message:", "paraphrase:", "Say this more politely:",
        "Rephrase this please -", "Write in a better way -", "make this sound more professional",
        "Can you make this clearer?", "Reword this for a work chat:",
    )  # fmt: skip
    quoted = c.pick(f'"{message}"', message, f"'{message}'")
    return c.pick(f"{ask} {quoted}", f"{quoted} {ask}", f"{ask}\n{quoted}")


def _email_standalone(c: _Case) -> str:
    subject = c.pick(
        "Subject: Follow-up on {org} proposal\n\n", "Subject: Meeting on {day}\n\n",
        "RE: {dept} update\n\n", "Subject: Invoice {acct}\n\n", "", "",
    )  # fmt: skip
    return subject + _email(c, flat=0.15)


def _email_reply_request(c: _Case) -> str:
    ask = c.pick(
        "can you respond to this email?", "Help me reply to this email and accept the offer:",
        "I got this email, how should I answer?", "Write a short reply saying I'm not available:",
        "i want to reply to this", "Draft a polite answer to this message from my client:",
    )  # fmt: skip
    me = c.pick("", " I am {p3:first}.", " My name is {p3}, reply as me.")
    return f"{ask}{me}\n\n{_email(c, flat=0.4)}"


def _resume_caps(c: _Case) -> str:
    lines = [c.pick("{p:upper}", "{p:upper}", "{p}"), c.maybe(0.4, "{job:upper}")]
    lines.append(
        c.pick(
            "{phone} | {email} | {city}, {region}", "Phone: {phone}  Email: {email}",
            "{address} · {phone} · {email}", "{email} | {url} | {city}",
        )
    )  # fmt: skip
    lines += [c.pick("PROFESSIONAL SUMMARY", "SUMMARY", "PROFILE", "OBJECTIVE")]
    lines.append(
        c.pick(
            "{job} with {num} years of experience in {field}. Skilled in {tech}, {tech2} and "
            "{tech3}.",
            "Motivated graduate in {field} looking for {job:a} role. Fluent in English and {lang}.",
            "Detail-oriented professional with a background in {field} and {dept}.",
        )
    )
    lines += [c.pick("WORK EXPERIENCE", "PROFESSIONAL EXPERIENCE", "EXPERIENCE", "EMPLOYMENT")]
    for job, (start, end) in enumerate(_periods(c, c.rng.randint(1, 3)), start=1):
        n = "" if job == 1 else str(job)
        lines.append(
            c.pick(
                f"{{org{n}}}, {{city{n}}}",
                f"{{job{n}:upper}} | {{org{n}}} | {{city{n}}}",
                f"{{org{n}:upper}} – {{city{n}}}, {{region{n}}}",
            )
        )
        lines.append(c.pick(f"{{job{n}}} | {start} – {end}", f"{start} – {end}", f"{start}-{end}"))
        lines += ["• " + bullet for bullet in c.rng.sample(c.half(_BULLETS), c.rng.randint(2, 4))]
    lines += [c.pick("EDUCATION", "EDUCATION AND TRAINING", "ACADEMIC BACKGROUND")]
    lines.append(c.pick("{school}, {city3}", "{school:upper}", "{degree} in {field} – {school}"))
    lines.append(c.pick("{degree} in {field}, {year}", "{degree}, GPA 3.{num}", "{year}"))
    lines += [
        c.pick("SKILLS", "TECHNICAL SKILLS", "KEY SKILLS"),
        "{tech}, {tech2}, {tech3}, {tech4}",
    ]
    lines += [c.maybe(0.5, "LANGUAGES\nEnglish (fluent), {lang} (native)")]
    if c.rng.random() < 0.35:  # Title Case headings instead of capitals
        lines = [line.title() if line.isupper() and "{" not in line else line for line in lines]
    resume = "\n".join(line for line in lines if line)
    ask = c.pick(
        "create a resume with this", "improve resume by rewriting it in a professional tone.",
        "Make my resume fit {field} positions with the information I have:", "",
        "Can you format this CV better?", "Write a LinkedIn summary from this resume:",
    )  # fmt: skip
    if c.rng.random() < 0.35:
        resume = resume.replace("\n", " ")
    return f"{ask}\n{resume}" if ask else resume


def _resume_flat(c: _Case) -> str:
    header = c.pick(
        "{p} {phone} | {email} | {city}, {region} {postcode} | LinkedIn Profile",
        "{p:upper} {phone} | {email} | {city}, {region} {postcode}",
        "{p:upper}\n{address}\n{phone}",
        "{p}, {address}, Tel: {phone}, E-mail: {email}", "Name: {p} Mobile: {phone} {url}",
    )  # fmt: skip
    jobs = " ".join(
        c.pick(
            f"{{job{n}}} | {{org{n}}} {start} – {end}",
            f"{{org{n}}}, {{city{n}}} – {{job{n}}} ({start} - {end})",
        )
        + " "
        + c.part(_BULLETS)
        + "."
        for n, (start, end) in zip(("", "2", "3"), _periods(c, c.rng.randint(1, 3)), strict=False)
    )
    parts = [
        header,
        c.pick("Objective:", "Career Objective:", "About me:")
        + c.pick(
            " Eager to bring my experience in {field} to the {job} program at {org4}.",
            " Looking for an entry-level position in {dept} where I can use {tech} daily.",
        ),
        c.pick("Job Experience:", "Work History:", "Experience:") + " " + jobs,
        c.pick("Education:", "EDUCATION") + " " + c.pick("{school} {city2}", "{school}")
        + " {degree}, {field}, {year}.",
        c.pick("Certifications:", "Skills:") + " {tech}, {tech2} ({year}), {tech3}.",
    ]  # fmt: skip
    ask = c.pick(
        "this is my resume:", "Make my resume better for {job:a} job:", "rewrite my cv:",
        "Summarize my experience in 3 lines:",
    )  # fmt: skip
    return f"{ask} {' '.join(parts)}"


def _cover_request(c: _Case) -> str:
    ask = c.pick(
        "Write a cover letter for the {job} position at {org}.",
        "create a cover letter for this job at {org} in {city}",
        "Write me a motivation letter for {job:a} internship at {org}.",
        "I need a cover letter of 250 words for {org}, applying as {job}.",
    )  # fmt: skip
    about = c.pick(
        " My name is {p}. I worked {num} years as {job2:a} at {org2} in {city2}.",
        " I'm {p}, currently {job2:a} at {org2}, and I studied {field} at {school}.",
        " About me: {p:first}, {num} years in {dept}, based in {city2}, fluent in {lang}.",
        " I am from {homeland} and moved to {city2} last year; before that I was at {org2}.",
    )  # fmt: skip
    posting = ""
    if c.rng.random() < 0.7:
        lines = c.rng.sample(c.half(_JOB_POSTING), c.rng.randint(2, 5))
        head = c.pick(
            "Job description: ", "About the role: Location: {city}. Contract type: Full-time. ",
            "Here is the posting: {org} is hiring! ", "JD: ",
        )  # fmt: skip
        posting = "\n\n" + head + c.pick(" ", "\n• ").join(lines)
    return ask + about + posting


def _cover_pasted(c: _Case) -> str:
    letter = (
        c.pick("Dear Hiring Manager,", "Dear {p2:formal},", "To whom it may concern,")
        + "\n\n"
        + c.pick(
            "I am writing to apply for the {job} role at {org}. ",
            "I was excited to see the opening for {job:a} at {org} on {tech}. ",
        )
        + c.pick(
            "For the past {num} years I have worked at {org2} in {city}, where I ",
            "Since graduating from {school}, I have ",
        )
        + c.pick(
            "managed the {dept} budget and introduced {tech} reporting. ",
            "supported {num} clients a week and trained new colleagues. ",
        )
        + c.pick(
            "I would welcome the chance to discuss how I can contribute to your team.",
            "Thank you for considering my application.",
        )
        + "\n\n"
        + c.pick("Sincerely,", "Yours faithfully,", "Best regards,")
        + "\n"
        + c.pick("{p}", "{p}\n{phone} | {email}", "{p}\n{address}", "{p:upper}")
    )
    ask = c.pick(
        "Can you improve my cover letter?", "make this cover letter stronger:",
        "Shorten this to 150 words:", "Fix the tone of my letter, it sounds too stiff:",
    )  # fmt: skip
    return f"{ask}\n\n{letter}"


def _business_about(c: _Case) -> str:
    intro = c.pick(
        "I run a small {field} business called {org} in {city}.",
        "My company {org} (based in {city}, {region}) sells {product} and related accessories.",
        "We are {brand}, a family bakery started by my mother {p2} in {year}.",
        "i own a shop named {brand} in {city}, we sell handmade clothes on Instagram ({handle}).",
    )  # fmt: skip
    ask = c.pick(
        " Please write an About Us page, a mission statement and our values.",
        " Write {num} Instagram captions to promote our {month} sale.",
        " Suggest a marketing plan for {tech} and Facebook ads with a small budget.",
        " Can you write a product description for our website {site}?",
    )  # fmt: skip
    extra = c.maybe(0.5, c.pick(" Our main competitor is {org2}.", " Contact: {email}, {phone}."))
    context = " " + " ".join(c.rng.sample(c.half(_BUSINESS_LINES), c.rng.randint(1, 3)))
    return intro + context + ask + extra


def _business_profile(c: _Case) -> str:
    profile = (
        c.pick("Company Description: ", "About us - ", "Company brief: ")
        + c.pick(
            "{org} is an e-commerce platform founded in {year} by {p} and {p2}. ",
            "{org} is a {field} consultancy with {num} employees. ",
            "{brand} makes {product}, a low-cost device for small farms. ",
        )
        + c.pick(
            "Our main office is in {city}, {homeland}, and we have a branch in {famous}. ",
            "We are registered in {city} and serve customers across {country} and {country2}. ",
        )
        + " ".join(c.rng.sample(c.half(_BUSINESS_LINES), c.rng.randint(1, 3)))
        + " "
        + c.pick(
            "Our clients include {org2} and several schools. ",
            "Follow us on Instagram: {handle} or visit {site}. ",
        )
    )
    ask = c.pick(
        "Use this company brief to write a LinkedIn post:", "write a SWOT analysis:",
        "Make short post review for LinkedIn on this case:", "Turn this into a one-page pitch:",
    )  # fmt: skip
    return c.pick(f"{ask} {profile}", f"{profile}\n{ask}")


def _meeting_notes(c: _Case) -> str:
    lines = [
        c.pick("Summarize these meeting notes:", "Turn these notes into an email to the team:"),
        c.pick("Meeting: {dept} weekly sync – {day} {date}", "{tech} rollout – kickoff ({date})"),
        c.pick("Attendees: {p}, {p2}, {p3:first}, {p4}", "Present: {p2:first}, {p3}, {p4:first}"),
        "Agenda: budget for {month}, hiring, {tech} licences",
        "Action items:",
        "- {p2:first}: send the {tech2} dashboard to {org} by {day}",
        "- {p3:first}: book the venue in {city} for the offsite",
        c.pick("- {p4}: follow up with {org2} about the contract", "- everyone: update Jira"),
        c.pick("Next meeting: {day} at {time}", "Notes taken by {p:first}"),
    ]
    return "\n".join(lines)


def _status_update(c: _Case) -> str:
    update = (
        c.pick("Progress report, {month}. ", "Weekly update: ", "")
        + c.pick(
            "This week the {dept} team finished the {tech} migration. ",
            "We interviewed {num} sellers from {org} to understand their challenges. ",
        )
        + c.pick(
            "{p2} from {org2} joined us on {day} and shared feedback on the pilot. ",
            "Thanks to {p2:first} and {p3:first}, the {city} warehouse is now live. ",
        )
        + c.pick(
            "Next week {p3} will present the results to the board.",
            "Open issue: the supplier in {city2} has not confirmed delivery dates.",
        )
    )
    ask = c.pick(
        "make this status update clearer:", "make it shorter:", "improve:",
        "is this grammatically correct?", "Rewrite for a newsletter:",
    )  # fmt: skip
    return c.pick(f"{ask} {update}", f"{update}\n\n{ask}")


def _lower_intro(c: _Case) -> str:
    c.casing = "lower"
    intro = c.pick(
        "my name is {p:first} and i work at {org} as {job:a}, i live in {city}. ",
        "hi im {p} from {city}, {homeland}. ",
        f"i am {{p:first}}, {c.rng.randint(17, 45)} years old, studying {{field}} at {{school}}. ",
        "this is {p} , i have been with {org} for {num} years in the {dept} team. ",
    )  # fmt: skip
    ask = c.pick(
        "can you write a short bio for my linkedin",
        "write an email to my manager {p2:first} asking for a raise",
        "help me write a message to the landlord, my address is {address}",
        "please write a cover letter for {org2}",
        "tell me how to improve my english for interviews",
    )  # fmt: skip
    return intro + ask


def _lower_texting(c: _Case) -> str:
    c.casing = "lower"
    return c.pick(
        "hey can u write a msg to {p2:first} telling {obj2} i cant come on {day}, "
        "my {health:bare} is bad again",
        "write a funny reply to {p2:first} who asked if im coming to {p3:first}'s party in {city}",
        "how do i tell my boss {p2} that i want to leave {org} without sounding rude",
        "make this nicer: {p2:first} u still owe me for the {brand} order, pls send it",
        "write a birthday wish for my bestie {p2:first}, {pro2} loves {famous} and pizza",
        "reply to {p2:first} that the meeting with {org} moved to {time}",
        "tell my landlord {p2:first} im flying back to {homeland} on {day} and the keys are with "
        "{p3:first}",
    )


def _bio_request(c: _Case) -> str:
    c.casing = "upper" if c.rng.random() < 0.25 else ""
    return c.pick(
        "Write a short bio for me: I'm {p}, {job:a} at {org} based in {city}. I studied {field} "
        "at {school}.",
        "write a bio for me with name {p} post graduated in {field}. i work as {job} in {org} "
        "for {num} years and also volunteer with {org2}",
        "Make me a presentation of {p}, currently working at {org}, based in {city}.",
        "Write an 'about me' for my portfolio. Name: {p}. From: {homeland}. Skills: {tech}, "
        "{tech2}. Website: {url}",
    )


def _recommendation(c: _Case) -> str:
    return c.pick(
        "Write a recommendation letter for my student {p2}, who took my {field} course at "
        "{school}. {pro2:cap} was always well prepared.",
        "I am {p}, professor at {school}. Help me write a reference for {p2:first} {p2:last}, "
        "who is applying for a master's program.",
        "Write a LinkedIn recommendation for my former colleague {p2} from {org}, we worked "
        "together in {dept} for {num} years.",
        "Draft a reference for {p2:formal}, who rented my flat on {street} in {city}.",
        "Write a reference for {p2}, who moved here from {homeland} and worked with me at "
        "{org} as {job:a}.",
    )


def _transcript(c: _Case) -> str:
    lines = [
        c.pick("Explain this conversation:", "Continue this dialogue:", "Who is right here?"),
        "{p2:first}: " + c.pick("Did you finish the report for {org}?", "Are you coming {day}?"),
        "{p3:first}: " + c.pick("Not yet, {tech} keeps crashing.", "Only if {p4:first} drives."),
        "{p2:first}: " + c.pick("Then ask IT before the deadline.", "Fine, I'll ask her."),
        "{p3:first}: " + c.pick("Okay, see you at {time}.", "Thanks, you're the best."),
    ]
    return "\n".join(lines)


def _comments(c: _Case) -> str:
    comments = []
    for i in ("2", "3", "4")[: c.rng.randint(2, 3)]:
        comments.append(
            f"{{p{i}}}"
            + c.pick(
                f" {{day}}, {{month}} {c.rng.randint(1, 28)}, {{year}} at {{time}}",
                " · {num}h",
                " replied:",
            )
            + " "
            + c.pick(
                "I had a lot of fun with this, the {tech} part was tricky though.",
                "Great post! Could you share the template?",
                "This did not work for me on {tech}.",
                "Thanks, exactly what I needed. Reply",
            )
        )
    ask = c.pick(
        "gather the main points from these comments:", "Summarize the feedback below:",
        "Which of these comments are negative?",
    )  # fmt: skip
    return ask + " " + " ".join(comments)


def _complaint_order(c: _Case) -> str:
    return c.pick(
        "Write a complaint to {org} about my order {acct}. It arrived broken on {day}. "
        "You can reach me at {email}.",
        "Help me write an email to {org} support: I paid {money} for order {acct} and nothing "
        "came. My phone is {phone}.",
        "Draft a refund request for ticket {acct}; the technician {p2:first} never showed up at "
        "{address}.",
        "write a polite complaint about account {acct}, they keep charging me after I cancelled",
    )


def _bank_dispute(c: _Case) -> str:
    return c.pick(
        "Reply to my bank: the transfer of {money} from account {acct} to {org} was not "
        "authorised by me, {p}.",
        "Write an email to Ms. {p2:last} at the bank saying I sent {money} to IBAN {acct} and "
        "attached the receipt.",
        "Explain to my landlord {p2} that the rent for {street} will be late; my account number "
        "is {acct}.",
        "Write a letter disputing invoice {acct} from {org}, signed {p}, {address}.",
    )


def _health_note(c: _Case) -> str:
    return c.pick(
        "Write a message to my manager {p2:first} that I have {health} and need to work from "
        "home on {day}.",
        "{kin3:child_cap} {p3:first} has {health} and takes {med} at lunch. Write a note to "
        "{pos3} teacher {p2:formal} at {school}.",
        "Write a text to {p2:first} saying I can't make it to the gym, my {health:bare} flared up.",
        "help me tell HR at {org} that I started {med} and may need a few days off in {month}",
        "Write a thank-you card to the nurses at {org} who looked after {kin3:parent} {p3} "
        "during {pos3} {health:bare} treatment.",
    )


def _health_letter(c: _Case) -> str:
    letter = c.pick(
        "Patient: {p}, Member ID: {acct}. Diagnosis: {health}. Current medication: {med}. "
        "Request: coverage for a specialist visit at {org}.",
        "Dear {p2:formal}, I am writing about {kin3:child} {p3:first}, who was diagnosed with "
        "{health} in {month}. {pro3:cap} now takes {med}.",
        f"To the clinic: {{p}} (born {c.rng.randint(1940, 2004)}) has had {{health}} since "
        f"{c.rng.randint(2005, 2023)} and needs a referral to {{org}}.",
    )
    ask = c.pick(
        "Rephrase this for my insurer:", "improve this letter:", "Make this more formal:",
        "translate to French:",
    )  # fmt: skip
    return f"{ask} {letter}"


def _code_python(c: _Case) -> str:
    rows = ",\n".join(
        c.pick(
            f'    {{"name": "{{p{i}}}", "email": "{{email{i}}}", "city": "{{city{i}}}"}}',
            f'    {{"first": "{{p{i}:first}}", "last": "{{p{i}:last}}", "age": {{num{i}}}}}',
            f'    ("{{p{i}}}", "{{phone{i}}}", "{{org{i}}}")',
        )
        for i in ("", "2", "3")[: c.rng.randint(1, 3)]
    )
    code = (
        c.pick(
            "import json\n\n",
            "from pathlib import Path\n\n",
            "# test data for the signup flow\n",
            "",
        )
        + "users = [\n"
        + rows
        + "\n]\n\n"
        "for user in users:\n"
        + c.pick(
            "    print(user['name'].upper())\n", "    send_welcome(user)\n", "    print(user)\n"
        )
        + c.pick(
            "\ndef send_welcome(user):\n    message = f\"Welcome, {user['name']}!\"\n"
            "    return mailer.send(user['email'], message)\n",
            "\nusers.sort(key=lambda user: user['name'])\nprint(len(users), 'users loaded')\n",
            "",
        )
    )
    ask = c.pick(
        "Fix this Python code, it raises a KeyError:", "Why is this list not sorted?",
        "Convert this to a pandas DataFrame:", "How do I write this list to Excel?",
    )  # fmt: skip
    return f"{ask}\n\n```python\n{code}```"


def _code_json(c: _Case) -> str:
    records = ",\n".join(
        "  {\n"
        + f'    "id": {{num{i}}},\n    "customer": "{{p{i}}}",\n'
        + c.pick(f'    "address": "{{address{i}}}",\n', f'    "company": "{{org{i}}}",\n')
        + f'    "contact": "{{email{i}}}",\n    "status": "'
        + c.pick("active", "pending", "closed")
        + '"\n  }'
        for i in ("", "2")[: c.rng.randint(1, 2)]
    )
    ask = c.pick(
        "Validate this JSON:", "Convert this JSON into a table:", "Write a TypeScript type for:",
        "Why does JSON.parse fail on this?",
    )  # fmt: skip
    return f"{ask}\n[\n{records}\n]"


def _code_sql_insert(c: _Case) -> str:
    rows = ",\n  ".join(
        f"({{num{i}}}, '{{p{i}:first}}', '{{p{i}:last}}', '{{email{i}}}', '{{city{i}}}')"
        for i in ("", "2", "3")[: c.rng.randint(1, 3)]
    )
    ask = c.pick(
        "Why does this INSERT fail in PostgreSQL?", "Rewrite this for MySQL:",
        "Add a created_at column to this:", "optimize:",
    )  # fmt: skip
    table = c.pick(
        "",
        "CREATE TABLE customers (\n  id INT PRIMARY KEY,\n  first_name VARCHAR(50),\n"
        "  last_name VARCHAR(50),\n  email VARCHAR(120),\n  city VARCHAR(80)\n);\n\n",
        "-- seed data for the staging database\n",
    )
    insert = "INSERT INTO customers (id, first_name, last_name, email, city)"
    return f"{ask}\n\n{table}{insert}\nVALUES\n  {rows};"


def _code_sql_select(c: _Case) -> str:
    query = c.pick(
        "SELECT * FROM employees WHERE last_name = '{p2:last}' AND department = '{dept}';",
        "SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id\n"
        "WHERE c.email = '{email2}' AND o.created_at > '2024-01-01';",
        "UPDATE accounts SET status = 'closed' WHERE account_no = '{acct}';",
        "DELETE FROM contacts WHERE phone = '{phone2}' OR name LIKE '%{p2:last}%';",
    )
    ask = c.pick(
        "This query returns nothing, why?", "Explain this SQL:", "Is this query safe?",
        "Turn this into a stored procedure:",
    )  # fmt: skip
    return f"{ask}\n\n{query}"


def _code_csv(c: _Case) -> str:
    header = c.pick("name,email,phone,city", "Name;Company;City;Phone", "first_name,last_name,org")
    columns = {
        "name,email,phone,city": "{p{i}},{email{i}},{phone{i}},{city{i}}",
        "Name;Company;City;Phone": "{p{i}};{org{i}};{city{i}};{phone{i}}",
        "first_name,last_name,org": "{p{i}:first},{p{i}:last},{org{i}}",
    }[header]
    rows = "\n".join(columns.replace("{i}", i) for i in ("", "2", "3", "4")[: c.rng.randint(2, 4)])
    ask = c.pick(
        "Sort this CSV by city:", "Import this into Excel, what is wrong?", "Remove duplicates:",
        "Write pandas code to load this:",
    )  # fmt: skip
    return f"{ask}\n{header}\n{rows}"


def _code_yaml(c: _Case) -> str:
    config = (
        "service: billing-api\n"
        "owner:\n  name: {p}\n  email: {email}\n"
        + c.pick('  phone: "{phone}"\n', "  team: {dept}\n")
        + "database:\n  host: db.internal\n  port: 5432\n"
        + c.pick("notify:\n  - {email2}\n", "region: eu-west-1\n")
    )
    ask = c.pick(
        "Is this YAML valid?", "Convert this YAML to JSON:",
        "Add a staging section to this config:",
    )  # fmt: skip
    return f"{ask}\n\n{config}"


def _code_logs(c: _Case) -> str:
    lines = [
        "2024-03-11 10:15:22 INFO login ok user={email}",
        c.pick(
            "2024-03-11 10:15:40 WARN payment failed for customer {p2} (acct {acct})",
            "2024-03-11 10:16:02 ERROR timeout calling /api/orders for {email2}",
        ),
        "2024-03-11 10:16:05 INFO retry 1/3",
        c.pick("2024-03-11 10:17:00 DEBUG shipping to {address}", "2024-03-11 10:17:00 INFO done"),
    ]
    ask = c.pick("What went wrong in these logs?", "Explain these log lines:", "Parse this log:")
    return ask + "\n" + "\n".join(lines)


def _code_script(c: _Case) -> str:
    return (
        c.pick(
            "How do I filter this DataFrame by city?\n\nimport pandas as pd\n"
            "df = pd.DataFrame({{'name': ['{p}', '{p2}'], 'city': ['{city}', '{city2}']}})\n",
            'Fix this JavaScript:\n\nconst user = {{ name: "{p}", email: "{email}" }};\n'
            "console.log(user.Name);",
            'Explain this Java code:\n\nCustomer c = new Customer("{p}", "{phone}");\n'
            'c.setCompany("{org}");\nrepository.save(c);',
            "Write a unit test for this function:\n\n"
            "def greet():\n    return 'Hello {p2:first}!'\n",
        )
        .replace("{{", "{")
        .replace("}}", "}")
    )


_LETTER_LINES = {
    "de": (
        "Ich habe bereits zweimal telefonisch versucht, Sie zu erreichen.",
        "Für eine kurze Rückmeldung wäre ich Ihnen sehr dankbar.",
        "Bitte teilen Sie mir mit, welche Unterlagen Sie noch benötigen.",
        "Vielen Dank für Ihr Verständnis.",
        "Eine Kopie des Vertrags liegt diesem Schreiben bei.",
        "Ich bitte um eine schriftliche Bestätigung bis Ende des Monats.",
        "Selbstverständlich stehe ich für Rückfragen gerne zur Verfügung.",
        "Leider habe ich auf meine letzte E-Mail keine Antwort erhalten.",
    ),
    "fr": (
        "J'ai déjà essayé de vous joindre deux fois par téléphone.",
        "Je vous remercie par avance de votre réponse rapide.",
        "Vous trouverez ci-joint une copie du contrat.",
        "Merci de m'indiquer les documents qui vous manquent.",
        "Je reste à votre disposition pour tout renseignement complémentaire.",
        "Je n'ai malheureusement reçu aucune réponse à mon dernier courrier.",
        "Je vous prie de bien vouloir me confirmer la bonne réception de ce courrier.",
    ),
    "es": (
        "Ya he intentado contactar con ustedes dos veces por teléfono.",
        "Les agradecería una respuesta lo antes posible.",
        "Adjunto una copia del contrato y de la última factura.",
        "Quedo a su disposición para cualquier aclaración.",
        "Por favor, indíquenme qué documentos necesitan.",
        "Lamentablemente no he recibido respuesta a mi último correo.",
        "Les ruego que me confirmen la recepción de esta carta.",
    ),
}


def _letter_lines(c: _Case) -> str:
    pool = c.half(_LETTER_LINES[c.lang])
    return " " + " ".join(c.rng.sample(pool, c.rng.randint(2, 3)))


def _de_letter(c: _Case) -> str:
    subject, body = c.rng.choice(
        (
            (
                "Kündigung meines Vertrags, Kundennummer {acct}",
                "hiermit kündige ich meinen Vertrag mit der Kundennummer {acct} fristgerecht "
                "zum nächstmöglichen Termin. Bitte bestätigen Sie mir die Kündigung schriftlich.",
            ),
            (
                "Krankmeldung",
                "leider bin ich seit {day} wegen {health:bare} krankgeschrieben. Die Bescheinigung "
                "meiner Hausärztin {p3:formal} reiche ich nach.",
            ),
            (
                "Mängel in der Wohnung",
                "in meiner Wohnung ist seit {month} Schimmel im Bad. Da ich {health} habe, "
                "bitte ich Sie dringend um einen Termin.",
            ),
            (
                "Befreiung vom Sportunterricht",
                "{kin3:child} {p3:first} hat {health} und nimmt {med}. Bitte befreien Sie "
                "{p3:first} bis Ende {month} vom Sportunterricht.",
            ),
        )
    )
    letter = (
        "{p}\n{street}\n{postcode} {city}\n\n{org}\n"
        + c.pick("Kundenservice\n\n", "z. Hd. {p2}\n\n", "\n")
        + "{city}, {date}\n\nBetreff: "
        + subject
        + "\n\n"
        + c.pick("{dear2} {p2:last},", "Sehr geehrte Damen und Herren,")
        + "\n\n"
        + body
        + _letter_lines(c)
        + "\n\nMit freundlichen Grüßen\n{p}"
    )
    ask = c.pick(
        "Kannst du diesen Brief verbessern?", "Bitte korrigiere Rechtschreibung und Grammatik:",
        "Mach den Brief etwas höflicher:", "Translate this letter into English:", "",
    )  # fmt: skip
    return f"{ask}\n\n{letter}" if ask else letter


def _de_request(c: _Case) -> str:
    return c.pick(
        "Schreib mir eine E-Mail an {p2:formal} von {org}. Ich möchte den Termin am {day} "
        "absagen, weil ich {health} habe.",
        "Ich heiße {p} und wohne in der {street}, {postcode} {city}. Hilf mir, eine Bewerbung "
        "als {job} bei {org} zu schreiben.",
        "Formuliere das bitte freundlicher: Hallo {p2:first}, die Rechnung {acct} ist immer "
        "noch offen. Zahl bitte bis {day}. Gruß {p:first}",
        "Übersetze ins Englische: Hallo {p2:first}, danke für die Einladung nach {city}! Leider "
        "kann ich nicht kommen, mein Arzt hat {health} festgestellt.",
        "{kin3:parent_cap} {p3} nimmt {med} wegen {health:bare}. Schreib eine kurze Nachricht an "
        "den Pflegedienst {org}, Telefon {phone}.",
    )


def _fr_letter(c: _Case) -> str:
    subject, body = c.rng.choice(
        (
            (
                "Résiliation de mon abonnement n° {acct}",
                "Je vous informe par la présente de ma décision de résilier mon abonnement "
                "n° {acct} à compter du {date}.",
            ),
            (
                "Arrêt de travail",
                "Je vous informe que je suis en arrêt de travail jusqu'au {date} : mon médecin, "
                "le Dr {p3:last}, a diagnostiqué {health}.",
            ),
            (
                "Traitement médical",
                "{kin3:child_cap} {p3:first} a {health} et prend {med} à midi. Pourriez-vous "
                "prévenir l'infirmière de l'établissement {school} ?",
            ),
            (
                "Chauffage en panne",
                "Depuis le mois de {month}, le chauffage de mon appartement au {street} ne "
                "fonctionne plus, malgré mes appels à {org}.",
            ),
        )
    )
    letter = (
        "{p}\n{street}\n{postcode} {city}\n\nObjet : "
        + subject
        + "\n\n"
        + c.pick("{dear2} {p2:last},", "Madame, Monsieur,")
        + "\n\n"
        + body
        + _letter_lines(c)
        + "\n\n"
        + c.pick(
            "Je vous prie d'agréer l'expression de mes salutations distinguées.", "Cordialement,"
        )
        + "\n{p}"
    )
    ask = c.pick(
        "Peux-tu corriger cette lettre ?", "corrigez cet email:", "Rends ce texte plus formel :",
        "Translate this into English:", "",
    )  # fmt: skip
    return f"{ask}\n\n{letter}" if ask else letter


def _fr_request(c: _Case) -> str:
    return c.pick(
        "Écris un e-mail à {p2:formal} de la société {org} pour reporter notre rendez-vous de "
        "{day}.",
        "Je m'appelle {p}, j'habite au {street} à {city} ({postcode}). Aide-moi à rédiger une "
        "lettre de motivation pour un poste de {job} chez {org}.",
        "Reformule ce message : Salut {p2:first}, je ne pourrai pas venir samedi, j'ai {health} "
        "et je commence {med} demain. Bises, {p:first}",
        "{kin3:parent_cap} {p3} a {health}. Écris un message à son médecin, le Dr {p2:last}, pour "
        "demander un rendez-vous à la clinique {org}.",
        "prière de m'écrire un mail pour {org} : mon numéro de client est {acct} et je "
        "n'ai pas reçu ma facture de {month}.",
    )


def _es_letter(c: _Case) -> str:
    subject, body = c.rng.choice(
        (
            (
                "Baja del servicio, cliente n.º {acct}",
                "Por medio de la presente solicito la baja de mi contrato con número de cliente "
                "{acct} a partir del {date}.",
            ),
            (
                "Baja médica",
                "Le informo que estaré de baja hasta el {date}, ya que me han diagnosticado "
                "{health}.",
            ),
            (
                "Medicación",
                "{kin3:child_cap} {p3:first} tiene {health} y toma {med}. Les ruego que lo "
                "tengan en cuenta durante las excursiones del colegio {school}.",
            ),
            (
                "Humedad en el piso",
                "Desde {month} hay humedad en el piso de {street} y nadie del servicio técnico "
                "de {org} ha venido.",
            ),
        )
    )
    letter = (
        "{p}\n{street}\n{postcode} {city}\n\nAsunto: "
        + subject
        + "\n\n"
        + c.pick("{dear2} {p2:last}:", "Estimados señores:")
        + "\n\n"
        + body
        + _letter_lines(c)
        + "\n\n"
        + c.pick("Atentamente,", "Un saludo,")
        + "\n{p}"
        + c.maybe(0.5, "\n{phone}")
    )
    ask = c.pick(
        "¿Puedes corregir esta carta?", "Mejora la redacción de este correo:", "Hazlo más formal:",
        "Translate to English:", "",
    )  # fmt: skip
    return f"{ask}\n\n{letter}" if ask else letter


def _es_request(c: _Case) -> str:
    return c.pick(
        "Escribe un correo a {p2:formal} de {org} para cambiar la cita del {day}.",
        "Me llamo {p}, vivo en {street}, {city}. Ayúdame a escribir una carta de presentación "
        "para el puesto de {job} en {org}.",
        "Reescribe este mensaje: Hola {p2:first}, no puedo ir el sábado porque tengo {health}, "
        "el médico me dio {med}. Un abrazo, {p:first}",
        "{kin3:parent_cap} {p3} tiene {health}. Redacta un mensaje para la clínica {org} "
        "pidiendo una cita con la doctora {p2:last}.",
        "necesito un email para {org}, mi número de pedido es {acct} y el paquete no llegó a "
        "{address}",
    )


_NATIVE_INTRO = {
    "zh": (
        "我叫{p}，在{org}做{job}，现在住在{city}。请帮我写一段英文自我介绍，用在面试上。",
        "你好，我是{p}，毕业于{school}，目前在{org}工作了{num}年。帮我写一封求职信，申请{job}的职位。",
        "帮我把这段话翻译成英文：我叫{p}，家住{address}，手机号是{phone}，邮箱是{email}。",
        "我是{p}，下个月要从{city}搬到{city2}，帮我给房东写一封退租的邮件。",
    ),
    "ja": (
        "はじめまして、{p}と申します。{org}で{job}として働いています。英語の自己紹介文を書いてください。",
        "{city}在住の{p}です。{school}を卒業しました。履歴書の志望動機を手伝ってください。",
        "次の文を英語に訳してください：私は{p}です。住所は{address}、電話番号は{phone}です。",
    ),
    "ko": (
        "안녕하세요, 저는 {p}입니다. {org}에서 {job}로 일하고 있고 {city}에 살고 있어요. "
        "영어 자기소개서를 써 주세요.",
        "저는 {school} 졸업생 {p}입니다. 이력서에 넣을 경력 요약을 영어로 만들어 주세요.",
        "제 주소는 {address}이고 이름은 {p}입니다. 택배 분실 신고 메일을 써 주세요.",
    ),
    "ru": (
        "Меня зовут {p}, я работаю в компании {org}, город {city}. Помоги написать "
        "сопроводительное письмо на английском.",
        "Привет! Я {p}, живу по адресу: {address}. Напиши, пожалуйста, письмо арендодателю "
        "о ремонте.",
        "Я {p:first}, учусь в вузе «{school}». Составь резюме на позицию {job}.",
    ),
    "ar": (
        "اسمي {p} وأعمل في شركة {org}. اكتب لي رسالة تعريفية باللغة الإنجليزية.",
        "أنا {p}، رقم هاتفي {phone}. ساعدني في كتابة سيرة ذاتية لوظيفة {job}.",
        "أنا {p} من {city}، أريد رسالة إلى مديري {p2} أطلب فيها إجازة.",
    ),
    "hi": (
        "मेरा नाम {p} है, मेरी job {org} में है। मेरे लिए एक cover letter लिखो।",
        "मैं {p} हूँ, {city} से। मुझे {job} की job के लिए resume बनाना है।",
        "मेरी बहन {p2} की शादी {city} में है, उसके लिए एक speech लिखो।",
    ),
}
_NATIVE_MESSAGE = {
    "zh": (
        "帮我给{p2}写一封邮件，告诉{p2:last}总下周三的会议改到{org}的会议室。",
        "{p2:first}，你好！附件是上个月的报告，请查收。如有问题请发邮件到{email}。——帮我改得更正式一点",
        "请帮我回复这条消息：“{p2}你好，我是{org}的{p3}，想跟你确认一下周五的面试时间。”",
    ),
    "ja": (
        "{p2:last}さんへのお礼のメールを書いてください。先週{city}でお会いしたときに、{org}の資料をいただきました。",
        "{p2:last}部長に、明日の打ち合わせを欠席するという連絡を丁寧な日本語で書いてください。",
        "{org}の{p2}様への見積もり依頼メールを作成してください。",
    ),
    "ko": (
        "{p2}님에게 보낼 감사 메일을 써 주세요. 지난주 {org} 회의에서 많이 도와주셨어요.",
        "{p2:first}에게 생일 축하 메시지를 보내고 싶어요. 재미있게 써 주세요.",
        "{org} {p2} 팀장님께 회의 일정 변경을 요청하는 메일을 써 주세요.",
    ),
    "ru": (
        "Напиши письмо коллеге {p2}: встреча переносится на пятницу, офис {org} находится по "
        "адресу {address}.",
        "Ответь вежливо на сообщение: «{p2:first}, добрый день! Это {p3} из {org}, жду "
        "документы до конца недели».",
        "Перепиши это сообщение для {p2:first} более вежливо: пришли отчёт сегодня.",
    ),
    "ar": (
        "اكتب رسالة شكر إلى {p2} على المساعدة في مشروع شركة {org}.",
        "ساعدني في الرد على هذه الرسالة من {p2}: هل يمكننا تأجيل الاجتماع إلى يوم الأحد؟",
        "اكتب بريدا إلكترونيا إلى {p2} في {org} لتأكيد الطلب رقم {acct}.",
    ),
    "hi": (
        "{p2} को एक धन्यवाद मेसेज लिखो, उन्होंने {org} वाले project में मेरी बहुत मदद की।",
        "मेरे दोस्त {p2:first} का जन्मदिन है, उसके लिए एक मज़ेदार message लिखो।",
        "{p2} जी को email लिखो कि meeting अब {time} बजे होगी।",
    ),
}
_TRANSLATE_ASKS = {
    "zh": (
        "请将以上句子翻译成中文",
        "请翻译一下内容：",
        "帮我用地道的英文润色一下：",
        "这段话是什么意思？",
    ),
    "ja": ("以下の文章を日本語に翻訳してください。", "この英文を自然な日本語にしてください："),
    "ko": ("아래 영어를 한글로 번역해주세요.", "이 이메일을 자연스럽게 다듬어 주세요:"),
    "ru": ("Переведи на русский:", "Исправь ошибки в тексте:", "Перепиши это письмо вежливее:"),
    "ar": ("ترجم هذا النص إلى العربية:", "صحح الأخطاء في هذه الرسالة:"),
    "hi": ("इसे हिंदी में अनुवाद करो:", "इस email को अच्छा बनाओ:"),
}
_NATIVE_NOTICES = {
    "zh": (
        "{p}老师，您好！我是{org}的{p2}，想请您下个月来参加我们的活动。",
        "我们公司{org}的地址是{address}，联系人是{p}，电话{phone}。",
    ),
    "ja": (
        "{org}の{p}です。来月{city}で開催されるセミナーについてご案内いたします。",
        "{p}様、ご注文番号{acct}の商品を本日発送いたしました。",
    ),
    "ko": (
        "{org} 인사팀 {p}입니다. 면접 일정은 다음 주 화요일 오전 10시입니다.",
        "{p} 고객님, 주문번호 {acct} 상품이 {city}로 배송 중입니다.",
    ),
    "ru": (
        "Уважаемый(ая) {p}! Компания {org} приглашает вас на собеседование в городе {city}.",
        "{p2:first}, привет! Деньги уже на счёте {acct}, проверь, пожалуйста.",
    ),
    "ar": (
        "السيد {p}، نود إبلاغكم بأن طلبكم رقم {acct} قد تم شحنه.",
        "مرحبا {p2}، أنا {p} من قسم الموارد البشرية في {org}.",
    ),
    "hi": (
        "प्रिय {p}, आपका order {acct} कल तक पहुँच जाएगा।",
        "नमस्ते {p2} जी, {org} की ओर से {p} का संदेश।",
    ),
}


def _native_intro(c: _Case) -> str:
    return c.rng.choice(_NATIVE_INTRO[c.lang])


def _native_message(c: _Case) -> str:
    return c.rng.choice(_NATIVE_MESSAGE[c.lang])


def _translate_into(c: _Case) -> str:
    text = c.pick(
        "{p} works as {job:a} at {org} in {city}. Next week {pro} will visit a supplier with "
        "{pos} manager {p2}, and {pro} has to book a hotel for both of them.",
        "Thank you for your message, {p2:first}. {p3} from our {dept} team will contact you "
        "about the {tech} licence before {day}.",
        "Hi, this is your teaching assistant {p2}. The first assignment is now on the course "
        "page; please write to {email2} if you cannot open the {tech} notebook.",
        _email(c, flat=0.5),
    )
    ask = c.rng.choice(_TRANSLATE_ASKS[c.rng.choice(tuple(_TRANSLATE_ASKS))])
    return c.pick(f"{text} {ask}", f"{ask} {text}", f"{ask}\n{text}")


def _translate_from(c: _Case) -> str:
    ask = c.pick(
        "Please translate this into English:", "What does this mean?", "translate pls:",
        "Translate to English and make it formal:", "Can you reply to this in English?",
    )  # fmt: skip
    return f"{ask} {c.rng.choice(_NATIVE_NOTICES[c.lang])}"


_PUBLIC_ASKS = (
    "Explain the history of {country} in five paragraphs.",
    "What is the capital of {country}, and what is it known for?",
    "Write a blog post with travel tips for {famous}.",
    "Compare {tech} and {tech2} for a complete beginner.",
    "Plan a {num}-day itinerary for {famous} on a budget.",
    "What does {job:a} do in the {dept} department?",
    "How do I add a dropdown list in Excel?",
    "Write a LinkedIn post about the benefits of remote work.",
    "Explain the causes of inflation in {country} since {year}.",
    "Give me {num} interview questions for {job:a} role and good answers.",
    "What is the difference between {degree:a} and {degree2:a}?",
    "Summarize the main events of {month} {year} in world news.",
    "Write a short story set in {famous} during the winter.",
    "How do I learn {lang} in six months while working full time?",
    "Create a study plan for the {tech} certification exam.",
    "Write a poem about Monday mornings.",
    "Why is the economy of {country} growing so fast?",
    "Describe the culture and food of {country} for a school project.",
    "Which is better for data analysis, {tech} or {tech2}?",
    "What skills does {job:a} need in {year}?",
    "Write an essay about the role of the United Nations.",
    "Explain how the stock market works in simple terms.",
)
_PUBLIC_TIPS = (
    "Give me {num} tips to improve my {tech} skills.",
    "Summarize the pros and cons of working in {dept}.",
    "How can a small business start selling in {country}?",
    "What are the best practices for {field} in {year}?",
    "Explain {tech} to a ten-year-old.",
    "Write a product description for a stainless steel water bottle.",
    "What are the visa requirements to study in {country}?",
    "List the main exports of {country} and {country2}.",
    "Suggest names for a coffee shop near the university.",
    "Write an essay on climate policy in Europe.",
    "How do I prepare for a job interview in {field}?",
    "What should I pack for a week in {famous} in {month}?",
    "Make a weekly meal plan for a vegetarian family.",
    "Explain the difference between a Roth IRA and a traditional IRA.",
    "Write a motivational quote for {day} morning.",
    "How does the electoral system in {country} work?",
    "Recommend {num} books about {field}.",
    "What are common mistakes in business emails?",
)
_PUBLIC_WRITING = (
    "What should go under WORK EXPERIENCE and what under PROJECTS on a resume for {job:a}?",
    "Write a resume template with the sections SUMMARY, EDUCATION, SKILLS and LANGUAGES.",
    "Write an email template to HR asking for leave: Dear [Manager Name], I would like to "
    "request leave from [Start Date] to [End Date]. Best regards, [Your Name]",
    "Rewrite this bullet point: Managed the {dept} team and improved {tech} reporting.",
    "How long should a cover letter for {job:a} position be?",
    "Write a cover letter for this job: {jd}",
    "Which skills from this posting should I highlight? {jd}",
    "Improve this sentence for my resume: Responsible for handling customer complaints.",
    "Write a professional summary for {job:a} with {num} years of experience in {field}.",
    "Turn this job description into five interview questions: {jd}",
)
_PUBLIC_CODE = (
    "Write a Python function that reads an Excel file and returns the rows as dicts.",
    "Why is this SQL slow?\n\nSELECT * FROM orders WHERE status = 'open' ORDER BY created_at;",
    "Fix this:\n\nfor i in range(10)\n    print(i)",
    "How do I center a div with CSS?",
    "Explain what this does:\n\nconst total = items.reduce((sum, x) => sum + x.price, 0);",
    "Write a YAML GitHub Actions workflow that runs pytest on every push.",
    "What is the difference between a list and a tuple in Python?",
    "Write a SQL query that counts orders per month from the orders table.",
    "How do I merge two DataFrames in pandas on a key column?",
    'Convert this JSON to CSV:\n[{"product": "pen", "price": 2}, {"product": "cup", "price": 5}]',
    "Explain Docker volumes with an example.",
    "Write a bash script that backs up a folder every night.",
    "Why does my React component render twice?",
    "How do I read a CSV with a semicolon separator in Excel?",
)
_PUBLIC_FOREIGN = (
    "Wie erstelle ich eine Pivot-Tabelle in Excel?",
    "Erkläre mir den Unterschied zwischen SQL und NoSQL.",
    "Schreib ein Gedicht über den Herbst in den Bergen.",
    "Was sind die Vorteile von Homeoffice?",
    "Explique-moi l'histoire de la Révolution française.",
    "Donne-moi des idées de noms pour une agence de photographie.",
    "Comment rédiger une lettre de motivation efficace ?",
    "Quels sont les avantages du télétravail ?",
    "¿Cuáles son las ventajas de aprender Python?",
    "Escribe un poema sobre el mar en invierno.",
    "¿Cómo se calcula el IVA en una factura?",
    "Dame ideas para una fiesta de cumpleaños infantil.",
    "请解释一下什么是机器学习。",
    "帮我写一篇关于环境保护的作文。",
    "Объясни, как работает блокчейн.",
    "機械学習とは何ですか？簡単に説明してください。",
    "인공지능의 장단점을 알려 주세요.",
    "اشرح لي كيف يعمل الذكاء الاصطناعي.",
)
_PUBLIC_TEMPLATES = (
    "Write a generic thank-you email to a customer after a purchase.",
    "Draft an out-of-office message for the holidays, back on {day} {date}.",
    "Write a polite reminder to the team about the meeting on {day} at {time}.",
    "Write a job posting for {job:a} in our {dept} team.",
    "Write a welcome message for new employees joining in {month}.",
    "Write an announcement that the office will be closed on {day}.",
    "Draft a survey with {num} questions about employee satisfaction.",
    "Write a newsletter intro for our {month} edition.",
    "Write a short apology to customers for a delayed delivery.",
    "Write an agenda for a {num}-hour workshop on {field}.",
)


def _public_general(c: _Case) -> str:
    return " ".join(c.rng.sample(_PUBLIC_ASKS, c.rng.randint(1, 2)))


def _public_tips(c: _Case) -> str:
    return " ".join(c.rng.sample(_PUBLIC_TIPS, c.rng.randint(1, 2)))


def _public_writing(c: _Case) -> str:
    posting = " ".join(c.rng.sample(c.half(_JOB_POSTING), c.rng.randint(2, 4)))
    return c.rng.choice(_PUBLIC_WRITING).replace("{jd}", posting)


def _public_code(c: _Case) -> str:
    return c.rng.choice(_PUBLIC_CODE)


def _public_foreign(c: _Case) -> str:
    return c.rng.choice(_PUBLIC_FOREIGN)


def _public_template(c: _Case) -> str:
    return " ".join(c.rng.sample(_PUBLIC_TEMPLATES, c.rng.randint(1, 2)))


@dataclass(frozen=True)
class _Family:
    name: str
    shape: str
    write: Callable[[_Case], str]
    locales: tuple[str, ...] = _EN_WORLD
    lang: str = "en"  # "native": the language of the locale
    lower: float = 0.06  # chance the whole case is typed in lower case
    upper: float = 0.02
    notes: int = 3  # at most this many public instructions added around the case


# Pairs of one shape side by side: even positions are the "tune" half, odd the "test" half.
_FAMILIES = (
    _Family("rewrite_wrap", "chat", _rewrite_wrap),
    _Family("paraphrase_wrap", "chat", _paraphrase_wrap),
    _Family("email_standalone", "email", _email_standalone),
    _Family("email_reply_request", "email", _email_reply_request),
    _Family("resume_caps", "resume", _resume_caps, lower=0.0, upper=0.0),
    _Family("resume_flat", "resume", _resume_flat, lower=0.02, upper=0.03),
    _Family("cover_request", "cover", _cover_request),
    _Family("cover_pasted", "cover", _cover_pasted),
    _Family("business_about", "business", _business_about),
    _Family("business_profile", "business", _business_profile),
    _Family("meeting_notes", "notes", _meeting_notes),
    _Family("status_update", "notes", _status_update),
    _Family("lower_intro", "lower", _lower_intro),
    _Family("lower_texting", "lower", _lower_texting),
    _Family("bio_request", "bio", _bio_request),
    _Family("recommendation", "bio", _recommendation),
    _Family("transcript", "dialogue", _transcript),
    _Family("comments", "dialogue", _comments),
    _Family("complaint_order", "support", _complaint_order),
    _Family("bank_dispute", "support", _bank_dispute),
    _Family("health_note", "health", _health_note),
    _Family("health_letter", "health", _health_letter),
    _Family("python_records", "code", _code_python, lower=0.0, upper=0.0),
    _Family("json_records", "code", _code_json, lower=0.0, upper=0.0),
    _Family("sql_insert", "code", _code_sql_insert, lower=0.0, upper=0.0),
    _Family("sql_select", "code", _code_sql_select, lower=0.0, upper=0.0),
    _Family("csv_rows", "code", _code_csv, lower=0.0, upper=0.0),
    _Family("yaml_config", "code", _code_yaml, lower=0.0, upper=0.0),
    _Family("log_lines", "code", _code_logs, lower=0.0, upper=0.0),
    _Family("script_snippet", "code", _code_script, lower=0.0, upper=0.0),
    _Family("de_letter", "de", _de_letter, _DE, "de", lower=0.03),
    _Family("de_request", "de", _de_request, _DE, "de", lower=0.08),
    _Family("fr_letter", "fr", _fr_letter, _FR, "fr", lower=0.03),
    _Family("fr_request", "fr", _fr_request, _FR, "fr", lower=0.08),
    _Family("es_letter", "es", _es_letter, _ES, "es", lower=0.03),
    _Family("es_request", "es", _es_request, _ES, "es", lower=0.08),
    _Family("native_intro", "mixed", _native_intro, _NATIVE, "native", 0.0, 0.0, notes=2),
    _Family("native_message", "mixed", _native_message, _NATIVE, "native", 0.0, 0.0, notes=2),
    _Family("translate_into", "mixed", _translate_into),
    _Family("translate_from", "mixed", _translate_from, _NATIVE, "native", 0.0, 0.0, notes=1),
    _Family("public_general", "public", _public_general),
    _Family("public_tips", "public", _public_tips),
    _Family("public_writing", "public", _public_writing),
    _Family("public_code", "public", _public_code, lower=0.0, upper=0.0),
    _Family("public_foreign", "public", _public_foreign, lower=0.0, upper=0.0, notes=0),
    _Family("public_template", "public", _public_template),
)
_PUBLIC_SHARE = 0.15


def generate_span_cases(count: int, *, seed: int = 0, split: Split = "tune") -> list[PiiCase]:
    """``count`` span-labelled requests from the ``split`` half of families and values.

    Each case's ``source`` is ``"span-synth:<shape>:<family>"``; about 15% of cases are
    public requests with no unit. Deterministic for a ``seed``.

    Raises:
        ImportError: faker is not installed (``pip install faker``).
    """
    try:
        from faker import Faker
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "span synthesis draws its values from faker: pip install faker"
        ) from error
    if split not in ("tune", "test"):
        raise ValueError(f"split must be 'tune' or 'test', not {split!r}")
    rng = random.Random(f"span-synthesis:{seed}:{split}")
    values = _Values(Faker, split, seed, rng)
    families = _FAMILIES[0 if split == "tune" else 1 :: 2]
    public = [family for family in families if family.shape == "public"]
    private = [family for family in families if family.shape != "public"]
    cases = []
    for _ in range(count):
        family = rng.choice(public if rng.random() < _PUBLIC_SHARE else private)
        locale = rng.choice(family.locales)
        lang = locale[:2] if family.lang == "native" else family.lang
        case = _Case(values, locale, lang, split)
        template = family.write(case)
        if family.shape not in ("code", "public") and lang == "en" and rng.random() < 0.3:
            template = _with_context(case, template)
        if family.notes and (lang == "en" or lang in _NATIVE_NOTES):
            code = family.shape == "code" or family.name == "public_code"
            template = _notes(case, template, most=family.notes, code=code)
        casing = case.casing
        if not casing and rng.random() < family.lower:
            casing = "lower"
        elif not casing and rng.random() < family.upper:
            casing = "upper"
        source = f"span-synth:{family.shape}:{family.name}"
        cases.append(_assemble(_fill(template, case), casing, source))
    return cases


def write_jsonl(cases: Iterable[PiiCase], path: str | Path) -> None:
    """Write ``cases`` one JSON object a line.

    Each line is ``{"text": ..., "units": [[start, end, category], ...], "source": ...}``.
    """
    with Path(path).open("w", encoding="utf-8") as out:
        for case in cases:
            units = [[unit.start, unit.end, unit.category] for unit in case.units]
            record = {"text": case.text, "units": units, "source": case.source}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_jsonl(path: str | Path) -> list[PiiCase]:
    """Cases written by :func:`write_jsonl` (each unit's text is taken from the case's text)."""
    cases = []
    with Path(path).open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            text = record["text"]
            units = tuple(
                PrivateUnit(start, end, category, text[start:end])
                for start, end, category in record["units"]
            )
            cases.append(PiiCase(text, units, record.get("source", "")))
    return cases


# --- public lines: what a detector must leave alone ------------------------------

_PUBLIC_LOCALES = ("de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "ru_RU", "en_US")
_PUBLIC_LINE_ASKS: dict[str, tuple[str, ...]] = {
    "de_DE": ("Schreib", "Übersetze", "Korrigiere", "Fasse zusammen", "Formuliere um"),
    "fr_FR": ("Corrige", "Traduis", "Écris", "Résume", "Reformule"),
    "es_ES": ("Traduce", "Escribe", "Corrige", "Resume", "Reescribe"),
    "it_IT": ("Traduci", "Scrivi", "Correggi", "Riassumi"),
    "nl_NL": ("Vertaal", "Schrijf", "Verbeter", "Vat samen"),
    "pl_PL": ("Przetłumacz", "Napisz", "Popraw", "Streść"),
    "ru_RU": ("Переведи", "Напиши", "Исправь", "Перескажи"),
    "en_US": ("Write an essay on", "Draft a talk about", "Summarize", "Explain"),
}


def generate_public_lines(count: int, *, seed: int = 0) -> list[PiiCase]:
    """Requests with no private unit: everyday words of eight languages, an instruction
    verb first, and English Title Case topics ("Write an essay on Expanded
    Bandwidth-Monitored Matrix"), for a detector to learn what it must leave alone.

    Needs ``faker`` (its word lists); deterministic for a seed and a faker version.
    """
    try:
        from faker import Faker
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "generate_public_lines needs faker: pip install faker (or the train extra)"
        ) from error
    rng = random.Random(seed)
    fakers = {}
    for locale in _PUBLIC_LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        fakers[locale] = fake
    cases = []
    for _ in range(count):
        locale = rng.choice(_PUBLIC_LOCALES)
        fake = fakers[locale]
        ask = rng.choice(_PUBLIC_LINE_ASKS[locale])
        if locale == "en_US" and rng.random() < 0.6:
            topic = fake.catch_phrase()
            body = topic.title() if rng.random() < 0.5 else topic
        else:
            body = " ".join(fake.sentences(nb=rng.randint(1, 3)))
        separator = rng.choice((": ", " ", ":\n"))
        cases.append(PiiCase(f"{ask}{separator}{body}", (), "span-synth:public-lines"))
    return cases
