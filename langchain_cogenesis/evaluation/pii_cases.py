"""Span-labelled writing requests with private facts typed in, to measure detectors.

Two sources:

- :func:`generate_pii_cases`: one-part writing requests built from templates and
  value lists written for this purpose (people, employers, places, dates, health,
  money, credentials, ID numbers, contacts), each value labelled with its span.
  Templates and values are split in two halves, ``"tune"`` and ``"test"``, so a
  detector tuned on one is measured on text it has never seen.
- :func:`paper_one_part_cases`: the tasks of the paper's dev split rewritten as a
  person types them, one string with the personal part first and no colon; the
  labelled units are the user's name and city and the named things of their private
  details (a pet's or a café's name) that the task mentions. Users alternate between
  the two halves.

:func:`unit_leaks` tells whether a labelled unit would reach the cloud once the
given spans are redacted; :func:`over_redaction` counts the public words redacted.

Size: a little over 400 lines, most of them the templates and value lists.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Split = Literal["tune", "test"]


@dataclass(frozen=True)
class PrivateUnit:
    """One private fact in a request: its span and category."""

    start: int
    end: int
    category: str
    text: str


@dataclass(frozen=True)
class PiiCase:
    """A request with its labelled private units."""

    text: str
    units: tuple[PrivateUnit, ...]
    source: str


# fmt: off
_FIRST = (
    "Lena", "Tomasz", "Aiyana", "Ravi", "Chiamaka", "Björn", "Mei", "Joaquín", "Priya",
    "Declan", "Fatima", "Oskar", "Yuki", "Amara", "Hamish", "Ines", "Kwame", "Sunniva",
    "Dmitri", "Leilani", "Anders", "Zainab", "Ciaran", "Marisol", "Tobias", "Nkechi", "Hollis",
    "Ayesha", "Rafferty", "Solveig", "Emeka", "Wren", "Margaux", "Tariq", "Greta", "Kofi",
    "Imogen", "Santiago", "Hana", "Bastian",
)
_LAST = (
    "Moss", "Okafor", "Lindqvist", "Vasquez", "Brennan", "Nakamura", "Adeyemi", "Kowalski",
    "Harcourt", "Iyer", "Fairweather", "Delacroix", "Mbeki", "Thorsen", "Castellanos",
    "Pemberton", "Hashemi", "Quigley", "Abernathy", "Szabo", "Rutherford", "Oyelaran",
    "Blackwood", "Ferreira", "Ellingsen", "Mahmoud", "Whitcombe", "Baptiste", "Kerrigan",
    "Zielinski",
)
_ORGS = (
    "Brightwave Analytics", "Deloitte", "St. Brigid's Hospital", "Northgate Logistics",
    "Halvorsen & Pike LLP", "the University of Leeds", "Kestrel Bank", "Meridian Health",
    "Greenfield Elementary", "Amazon", "Tidewater Credit Union", "Copperleaf Studios",
    "Ridgeway Insurance", "Pinecrest Dental", "Accenture", "Harbor View Clinic",
)
_CITIES = (
    "Leeds", "Tulsa", "Gdańsk", "Ballarat", "Eindhoven", "Boise", "Wexford", "Chiang Mai",
    "Hamilton", "Aarhus", "Pune", "Fresno", "Cork", "Tampere", "Savannah", "Kraków",
)
_VENUES = (
    "Ostwick Hall", "the Larkspur Community Center", "Millbrook Park", "Café Rosalind",
    "the Old Granary", "Whitmore Library", "Fernhill Golf Club", "the Copper Kettle",
    "Sable Point Marina", "Harrow Lane Studios", "St. Aidan's Church", "Birchwood Lodge",
)
_DATES = (
    "14 December", "March 3rd", "June 21, 2025", "the 9th of May", "October 12", "02/11/2024",
    "August 30th", "1 April", "next Thursday", "January 17, 2026", "September 5",
    "the 28th of February",
)
_HEALTH = (
    "type 1 diabetes", "Hashimoto's", "ADHD", "a torn ACL", "gastroparesis", "panic attacks",
    "sickle cell disease", "endometriosis", "Tourette's", "long COVID", "an Omnipod", "Keppra",
    "bipolar II", "my Dexcom", "sertraline", "a herniated disc", "Jardiance",
    "early-onset Parkinson's", "tinnitus", "my CPAP machine",
)
_MONEY = (
    "$4,200", "£1,150", "€780", "$85,000", "$312.40", "2,500 dollars", "£19k", "$1.2 million",
    "600 euros", "$49.99", "CAD 3,000", "$15,750",
)
_PASSWORDS = (
    "Tr0ub4dor&3", "kestrel!Moon77", "hunter2024!", "BlueFinch#19", "p@ssW0rd-lakes",
    "Otter$Lamp42", "zebra_crossing_9", "M!ntJulep88",
)
_KEYS = (
    "sk-proj-7fJk29LmQpX4vB8nR2sT", "ghp_8Hs2kLq9ZxV4mN7pR3tY6wB1cD5eF0gJ",
    "AKIAIOSFODNN7EXAMPLE", "xoxb-2041-88213-Xq7LmPz", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStU",
)
_IDS = (
    "48213377", "AC-99173-B", "123-45-6789", "PX4471029", "7730 1182 0045", "HX-2219",
    "GB29NWBK60161331926819", "0048812", "K9-331-872", "RE55810042",
)
_ID_NAMES = (
    "account number", "policy number", "member ID", "patient ID", "order", "claim number",
    "passport number", "employee ID", "booking reference", "student number",
)
_CONTACTS = (
    "lena.moss84@gmail.com", "+44 7700 900431", "(503) 555-0182", "@wrenbakes",
    "tomasz.k@brightwave.io", "+1 415 555 0139", "@kofi_runs", "okafor.family@outlook.com",
)

# fmt: on

# One slot per private unit: {person}, {person2}, {org}, {city}, {venue}, {date},
# {health}, {money}, {password}, {key}, {id_name} {id}, {contact}.
_TEMPLATES = (
    "Write a thank-you note to {person} for driving me to my appointments after my "
    "{health} diagnosis.",
    "Write an invitation to {person}'s piano recital at {venue} on {date}.",
    "Help me write a cover letter for a data role at {org}; I've been in {city} for six years.",
    "Draft an email to my landlord {person} saying the rent of {money} will be late this month.",
    "Compose a message to my bank about a charge of {money} on my {id_name} {id}.",
    "Write a short bio for the conference: I'm {person}, a nurse at {org} in {city}.",
    "Write a note for our babysitter: the wifi password is {password} and my number is {contact}.",
    "Draft a complaint to {org} about {id_name} {id}, which I paid {money} for on {date}.",
    "Write a toast for my brother {person}'s wedding in {city} on {date}.",
    "Write a message to my manager explaining I started {health} and may need a few days off.",
    "Write a LinkedIn recommendation for my former colleague {person} from {org}.",
    "Help me ask HR for leave: my {id_name} is {id} and my {health} treatment starts on {date}.",
    "Write an email to {person} at {contact} confirming our meeting at {venue}.",
    "Write a setup section for our README that shows how to export my key {key}.",
    "Write a letter to my insurer about {id_name} {id}; the surgery at {org} cost {money}.",
    "Write a eulogy for my grandmother {person}, who grew up in {city} and worked at {org}.",
    "Draft a text to {person} reminding her that her {health} refill is due on {date}.",
    "Write a birthday poem for my daughter {person}, who turns seven on {date}.",
    "Write a speech for my retirement party at {venue}; I spent 30 years at {org}.",
    "Write a message to my sister {person} about splitting the {money} vet bill.",
    "Draft an email to the school about my son {person}, who has {health}.",
    "Write a post for the neighbourhood group about the lost cat; call {contact} if seen "
    "near {venue}.",
    "Write a note to IT: my login is {password}, please reset it before {date}.",
    "Write a reference letter for {person}, who rented my flat in {city} for {money} a month.",
)

_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "my",
        "her",
        "his",
        "our",
        "your",
        "is",
        "was",
        "be",
        "by",
        "with",
        "from",
        "as",
    ]
)
_WORD = re.compile(r"[^\W_]+")


def _half(items: Sequence[Any], split: Split) -> list[Any]:
    """Even positions tune, odd positions test."""
    return list(items[0 if split == "tune" else 1 :: 2])


def generate_pii_cases(count: int, *, split: Split = "test", seed: int = 0) -> list[PiiCase]:
    """``count`` labelled requests from the ``split`` half of templates and values."""
    rng = random.Random(f"{seed}:{split}")
    values: dict[str, tuple[str, list[str]]] = {
        "person": (
            "PERSON",
            [f"{first} {last}" for first in _half(_FIRST, split) for last in _LAST[:6]],
        ),
        "org": ("ORG", _half(_ORGS, split)),
        "city": ("PLACE", _half(_CITIES, split)),
        "venue": ("PLACE", _half(_VENUES, split)),
        "date": ("DATE", _half(_DATES, split)),
        "health": ("HEALTH", _half(_HEALTH, split)),
        "money": ("MONEY", _half(_MONEY, split)),
        "password": ("CREDENTIAL", _half(_PASSWORDS, split)),
        "key": ("CREDENTIAL", _half(_KEYS, split)),
        "id": ("ID", _half(_IDS, split)),
        "contact": ("CONTACT", _half(_CONTACTS, split)),
    }
    first_names = _half(_FIRST, split)
    templates = _half(_TEMPLATES, split)
    cases = []
    for _ in range(count):
        template = rng.choice(templates)
        fill: dict[str, tuple[str, str]] = {
            slot: (category, rng.choice(pool)) for slot, (category, pool) in values.items()
        }
        if rng.random() < 0.4:  # first names alone, as people often write them
            fill["person"] = ("PERSON", rng.choice(first_names))
        fill["id_name"] = ("", rng.choice(_ID_NAMES))
        cases.append(_fill(template, fill, "generated"))
    return cases


def _fill(template: str, fill: dict[str, tuple[str, str]], source: str) -> PiiCase:
    text, units, last = "", [], 0
    for match in re.finditer(r"\{(\w+)\}", template):
        category, value = fill[match.group(1)]
        text += template[last : match.start()]
        if category:
            units.append(PrivateUnit(len(text), len(text) + len(value), category, value))
        text += value
        last = match.end()
    return PiiCase(text + template[last:], tuple(units), source)


_PHRASINGS = (
    "{personal} {general}. For context, I'm {name} and I live in {city}.",
    "I'm {name} from {city}. {personal} Please {general_lower}.",
    "{first} here, {occupation} in {city}: {general_lower}. {personal}",
    "As {name} ({city}), {personal_lower} {general}.",
)


def paper_one_part_cases(users: Iterable[dict[str, Any]], *, split: Split) -> list[PiiCase]:
    """One-string tasks from the paper's dev split (items as in its ``dev.json``).

    The task "general: personal" is rewritten the way a person types it, with the
    user's name and city; the named things of ``Privacy_info`` (quoted names, such as a
    pet's) that the task mentions are labelled too.
    """
    cases = []
    for number, user in enumerate(users):
        if (number % 2 == 0) != (split == "tune"):
            continue
        profile = dict(
            line.split(": ", 1) for line in user["additional_profile"].splitlines() if ": " in line
        )
        task = user["conversations"][0]["value"]
        general, _, personal = task.partition(": ")
        name = re.sub(r"^(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+", "", profile["Name"].strip())
        city = profile["Location"].split(",")[0].strip()
        personal = personal.strip().rstrip(".") + "."
        fill = {
            "personal": ("", personal),
            "personal_lower": ("", personal[:1].lower() + personal[1:]),
            "general": ("", general.strip()),
            "general_lower": ("", general.strip()[:1].lower() + general.strip()[1:]),
            "name": ("PERSON", name),
            "first": ("PERSON", name.split()[0]),
            "city": ("PLACE", city),
            "occupation": ("", profile.get("Occupation", "writer").strip().lower()),
        }
        case = _fill(_PHRASINGS[number // 2 % len(_PHRASINGS)], fill, "paper-dev")
        named = re.findall(r"'([A-Z][^']{2,30})'", profile.get("Privacy_info", ""))
        extra = [
            PrivateUnit(m.start(), m.end(), "PRIVATE_DETAIL", m.group())
            for value in named
            for m in re.finditer(re.escape(value), case.text)
        ]
        cases.append(PiiCase(case.text, case.units + tuple(extra), case.source))
    return cases


HANDWRITTEN_REQUESTS = (
    "hey can u help me write a msg to [[PERSON:Marcus]] telling him i cant make it to "
    "[[PERSON:Jess]]'s bday on saturday, my [[HEALTH:migraines]] are back",
    "I need a cover letter. I worked 6 years as a barista at [[ORG:Grindhouse Coffee]] in "
    "[[PLACE:Asheville]] and now I'm applying to be a receptionist at [[ORG:Blue Ridge "
    "Pediatrics]].",
    "rewrite this so it sounds more professional: hi [[PERSON:Karen]], the invoice for "
    "[[MONEY:$2,340]] is still unpaid, pls wire it to acct [[ID:0041-7729-15]] by friday",
    "Write a funny best man speech for my buddy [[PERSON:Dev Patel]], we met at "
    "[[ORG:Rutgers]] and he proposed to [[PERSON:Aisha]] in [[PLACE:Lisbon]] last spring.",
    "my landlord [[PERSON:Mr. Kaczmarek]] won't return my deposit of [[MONEY:1800 dollars]], "
    "write a firm letter citing the lease that ended [[DATE:July 31]]",
    "Can you write an email to my professor [[PERSON:Dr. Hallworth]] asking for an extension? "
    "I had a [[HEALTH:panic attack]] before the exam and I'm seeing a [[HEALTH:therapist]] now.",
    "Help me write a LinkedIn summary. I'm a [[ORG:Siemens]] field engineer based in "
    "[[PLACE:Kitchener]], before that 4 years at [[ORG:Bombardier]].",
    "Draft a text to my ex [[PERSON:Tyler]] about switching custody weekends, [[PERSON:Noah]] "
    "has a tournament in [[PLACE:Red Deer]] on [[DATE:the 14th]].",
    "write a product description for my etsy shop [[ORG:FernAndFable]], ships from "
    "[[PLACE:Bend, Oregon]]",
    "Please write a polite complaint to [[ORG:Comcast]] about ticket [[ID:CR-558120]], I've been "
    "without internet since [[DATE:March 2]] and I work from home.",
    "Write an obituary for my father [[PERSON:Harold James Whitby]], born in [[PLACE:Sheffield]] "
    "in [[DATE:1941]], retired machinist at [[ORG:Firth Brown]].",
    "I'm applying for a mortgage, write a letter explaining the [[MONEY:$14,000]] gift from my "
    "mom [[PERSON:Linda]] into my [[ORG:Chase]] account.",
    "Write a short bio for our church newsletter: [[PERSON:Grace Oyelowo]], nurse at "
    "[[ORG:Mercy General]], mother of three, [[HEALTH:breast cancer]] survivor.",
    "help me reply to this recruiter from [[ORG:Stripe]], tell them my current base is "
    "[[MONEY:165k]] and I want at least [[MONEY:190k]]",
    "write a birthday poem for my wife [[PERSON:Ingrid]] who turns 40 on [[DATE:November 9]], "
    "we live in [[PLACE:Duluth]] and love ice fishing",
    "Can you make this sound nicer: [[PERSON:Tom]], the wifi password is "
    "[[CREDENTIAL:Marigold2019!]] and the door code is [[CREDENTIAL:4471]].",
    "Write an appeal to [[ORG:Aetna]] for claim [[ID:W8831-0042]], they denied my "
    "[[HEALTH:Humira]] for [[HEALTH:Crohn's]].",
    "write a cute instagram caption for me and [[PERSON:Sofi]] at [[PLACE:Lake Bled]] for our "
    "3rd anniversary",
    "Draft a resignation letter to my manager [[PERSON:Priyanka Rao]] at [[ORG:Infosys]], last "
    "day [[DATE:June 28]].",
    "Write a message to the [[ORG:Oakwood Elementary]] office that [[PERSON:Lily]] "
    "(grade 2, Ms. Ferreira's class) has [[HEALTH:strep throat]] and will be out.",
    "I need a speech for my grandma [[PERSON:Rosa Delgado]]'s 90th at [[PLACE:Casa Amalia]] "
    "in [[PLACE:San Antonio]].",
    "write an email to [[CONTACT:j.whitaker@dunmore-law.com]] confirming the deposition for "
    "case [[ID:2024-CV-1187]]",
    "help me write my dating profile, 34, [[PLACE:Boulder]], nurse at [[ORG:Foothills "
    "Hospital]], [[HEALTH:type 1 diabetic]] so no late nights lol",
    "Write a note to my neighbour [[PERSON:Gary]] at [[CONTACT:14 Alder Close]] about his "
    "dog barking all night.",
    "Write a thank you card to [[PERSON:Nurse Okonkwo]] from the [[ORG:St. Luke's]] "
    "[[HEALTH:oncology]] ward.",
    "Please write a reference for [[PERSON:Bartek Nowak]] who worked for me at "
    "[[ORG:Nowak & Sons Roofing]] from 2019 to 2023.",
    "my github token is [[CREDENTIAL:ghp_T4kq8ZbLw2Xr9VnM3sYp6QeD1fHj0uKc7aGi]], write a "
    "readme section telling contributors how to set up CI",
    "write a toast for [[PERSON:Meera]] and [[PERSON:Arjun]]'s engagement party at "
    "[[PLACE:The Grove Hotel]] on [[DATE:Oct 5]]",
    "Write a letter to the [[ORG:DVLA]] about my licence [[ID:MORGA657054SM9IJ]] that "
    "never arrived.",
    "Help me write a post announcing I'm leaving [[ORG:Deloitte]] after 8 years to start my "
    "own firm in [[PLACE:Leeds]].",
)
"""Requests written by hand in the style of real chat requests, never used for tuning;
``[[TYPE:value]]`` marks each private unit."""


def handwritten_cases() -> list[PiiCase]:
    """:data:`HANDWRITTEN_REQUESTS` with their labelled units (held out: ``test`` only)."""
    cases = []
    for marked in HANDWRITTEN_REQUESTS:
        text, units, last = "", [], 0
        for match in re.finditer(r"\[\[(\w+):(.+?)\]\]", marked):
            text += marked[last : match.start()]
            value = match.group(2)
            units.append(PrivateUnit(len(text), len(text) + len(value), match.group(1), value))
            text += value
            last = match.end()
        cases.append(PiiCase(text + marked[last:], tuple(units), "handwritten"))
    return cases


PUBLIC_REQUESTS = (
    "Write a blog post about Paris travel tips",
    "Write a speech for a wedding",
    "Write an essay on Abraham Lincoln's Gettysburg Address",
    "Summarize the history of Microsoft for a school report",
    "Plan a three-day itinerary for Tokyo on a budget",
    "Write a product review of a noise-cancelling headset",
    "Explain how the Federal Reserve sets interest rates",
    "Write an article about the causes of the 2008 financial crisis",
    "Compose a poem about the Amazon river at dawn",
    "Write a short story set in Victorian London",
    "Draft a lesson plan on the French Revolution for ninth graders",
    "Write a blog post comparing Python and JavaScript for beginners",
    "Write a eulogy template for a beloved grandparent",
    "Create a study guide on World War II for high school students",
    "Write a review of Shakespeare's Hamlet",
    "Write a guide to visiting the national parks of Utah",
    "Write a birthday message for a coworker",
    "Draft a cover letter for a marketing internship",
    "Write a persuasive essay about climate change policy in Europe",
    "Write a LinkedIn post about the benefits of remote work",
    "Explain the rules of cricket to an American audience",
    "Write a toast for a retirement party",
    "Write a newsletter about healthy eating during the holidays",
    "Write an article on how diabetes affects the body",
    "Draft a speech about Martin Luther King Jr.'s legacy",
    "Write a travel guide to Barcelona's architecture",
    "Compose a letter of recommendation template for a student",
    "Write a blog post about budgeting on a $3,000 monthly income",
    "Write a summary of the Apollo 11 mission",
    "Draft an email announcing a company holiday party in December",
)
"""Writing requests with no private fact: public places, famous people, topics."""


def _words(text: str, start: int = 0) -> list[tuple[int, int]]:
    return [
        (start + m.start(), start + m.end())
        for m in _WORD.finditer(text)
        if m.group().casefold() not in _STOP and m.group() != "s"
    ]


def _covered(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(a <= start and end <= b for a, b in spans)


def unit_leaks(unit: PrivateUnit, redacted: Sequence[tuple[int, int]]) -> bool:
    """Whether any word of ``unit`` stays outside the ``redacted`` spans."""
    words = _words(unit.text, unit.start) or [(unit.start, unit.end)]
    return not all(_covered(start, end, redacted) for start, end in words)


def over_redaction(
    text: str, units: Sequence[PrivateUnit], redacted: Sequence[tuple[int, int]]
) -> tuple[int, int]:
    """Public words of ``text`` (outside every unit) redacted, and public words in all."""
    public = [
        (start, end)
        for start, end in _words(text)
        if not any(u.start < end and start < u.end for u in units)
    ]
    return sum(_covered(s, e, redacted) or _touched(s, e, redacted) for s, e in public), len(public)


def _touched(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(a < end and start < b for a, b in spans)
