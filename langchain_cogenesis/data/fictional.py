# ruff: noqa: E501  (the table of people is data, one person a line)
"""The recipe of the bundled fictional dataset (``bundled.jsonl``): 40 users, 3 tasks each.

Every person, place and detail here is invented for this project. The texts are
composed from hand-written parts, so references are plainer than human writing; they
are there to exercise the pipeline, train the combiner and give a quick evaluation.
Regenerate with ``python -m langchain_cogenesis.data.fictional OUT.jsonl``; a test
checks that the shipped file matches this recipe.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from langchain_cogenesis.data.dataset import DatasetRow, Split, write_jsonl
from langchain_cogenesis.schema import (
    ContextAwareInstruction,
    ContextAwareTask,
    UserContext,
    UserProfile,
    Writing,
)


@dataclass(frozen=True)
class Person:
    """One fictional user: who they are, and the private facts their texts draw on."""

    first: str
    last: str
    pronoun: str  # "she", "he" or "they"
    age: int
    job: str
    workplace: str
    town: str
    trait: str
    style: str
    topic: str  # what they write about in public
    relative: str
    relative_name: str
    condition: str
    debt: str
    plan: str
    event: str
    street: str
    hobby: str


# fmt: off
PEOPLE = [
    Person("Ines", "Carvalho", "she", 41, "pastry chef", "the Almond Lane bakery", "Porto Velho", "exacting and generous", "warm sentences, sensory detail, a recipe tip at the end", "sourdough baking", "mother", "Graça", "early-stage glaucoma", "4,200 euros on a new deck oven", "open a second shop by the harbour", "the bakery's tenth anniversary on 12 March", "14 Rua das Flores", "open-water swimming"),
    Person("Tobias", "Lindqvist", "he", 29, "bicycle mechanic", "Spoke & Chain repairs", "Umeå", "patient and blunt", "short, practical, numbered steps", "winter cycling", "brother", "Anders", "a knee reconstruction", "a 9,000-krona loan from his uncle", "ride from Umeå to Trondheim in June", "his sister's wedding on 3 August", "8 Storgatan", "ice fishing"),
    Person("Amara", "Nwosu", "she", 36, "pediatric nurse", "St. Columba's children's ward", "Leeds", "calm, funny under pressure", "plain words, one anecdote, no jargon", "caring for sick children", "son", "Kelechi", "asthma", "a 2,300-pound overdraft after a boiler failure", "apply for a nurse practitioner course", "her night-shift rota change on 1 May", "27 Harehills Road", "choir singing"),
    Person("Rafael", "Quintero", "he", 52, "high-school chemistry teacher", "Escuela Monte Azul", "Guadalajara", "dry-humoured and curious", "questions to the reader, analogies from the kitchen", "teaching science", "daughter", "Lucía", "type 1 diabetes", "a 60,000-peso car repair", "retire early and build a school garden", "his 25th teaching anniversary on 9 September", "Calle Hidalgo 112", "restoring old radios"),
    Person("Hana", "Sato", "she", 27, "UX designer", "a small studio called Paperlantern", "Osaka", "meticulous and shy", "clean structure, headings, gentle tone", "accessible design", "grandfather", "Kenji", "early dementia", "a 400,000-yen student loan", "leave the studio to freelance", "a portfolio review on 18 November", "3-9 Nakazaki", "bouldering"),
    Person("Declan", "Byrne", "he", 45, "dairy farmer", "Byrne's farm near Clonmel", "Clonmel", "stubborn and kind", "long sentences, weather, a proverb now and then", "small family farming", "wife", "Siobhán", "a back injury", "18,000 euros owed to the co-op", "convert half the herd to organic", "the county show on 22 July", "Knocklofty Road", "hurling"),
    Person("Priya", "Raman", "she", 33, "data analyst", "the city transport office", "Pune", "direct and warm", "crisp bullet points, one chart described in words", "public transport data", "father", "Venkat", "a heart bypass", "a 3-lakh rupee personal loan", "move to Bengaluru for a new team", "her father's surgery on 6 February", "Flat 5, Koregaon Park Lane 2", "Carnatic violin"),
    Person("Mateo", "Ferreyra", "he", 38, "tango teacher", "the Salón Esquina dance school", "Rosario", "theatrical and loyal", "rhythmic sentences, vivid verbs", "social dancing", "partner", "Julián", "a torn Achilles tendon", "six months of unpaid studio rent", "host a free milonga for seniors", "the studio's lease renewal on 30 April", "Pasaje Santa Cruz 455", "vinyl collecting"),
    Person("Elif", "Demir", "she", 49, "public librarian", "the Kadıköy branch library", "Istanbul", "quietly stubborn, bookish", "measured paragraphs, a quotation to close", "reading for children", "husband", "Murat", "kidney stones", "a 70,000-lira renovation loan", "start a night reading room for shift workers", "the branch budget hearing on 15 October", "Moda Caddesi 21", "ebru marbling"),
    Person("Jonas", "Weber", "he", 31, "software engineer", "a logistics startup", "Leipzig", "curious and restless", "informal, self-deprecating, code-free explanations", "remote work", "mother", "Ute", "multiple sclerosis", "12,000 euros of credit-card debt", "quit and bike across the Balkans", "his mother's MRI on 2 December", "Karl-Liebknecht-Straße 88", "board games"),
    Person("Lucía", "Paredes", "she", 58, "midwife", "the Valle Sagrado clinic", "Cusco", "steady and tender", "simple, warm, addressed to 'you'", "maternal health", "granddaughter", "Killa", "a cleft palate surgery", "a loan for her roof of 5,000 soles", "train two young midwives from her village", "Killa's surgery on 11 January", "Calle Tullumayo 340", "weaving"),
    Person("Samuel", "Osei", "he", 26, "junior architect", "Adinkra Studio", "Kumasi", "ambitious and playful", "energetic, with sketches described in words", "affordable housing", "sister", "Abena", "sickle cell disease", "a 15,000-cedi laptop loan", "enter a design competition in Lisbon", "the competition deadline on 28 February", "House 12, Asokwa Road", "football"),
    Person("Margit", "Horváth", "she", 63, "retired postal worker", "the Szeged main post office", "Szeged", "chatty and precise", "letters with a greeting and a PS", "local history", "husband", "Gábor", "Parkinson's disease", "a 900,000-forint funeral loan for her brother", "write a book on the 1879 flood", "her golden wedding anniversary on 4 June", "Kárász utca 7", "paprika gardening"),
    Person("Kwame", "Mensah", "he", 40, "sound engineer", "the Osu Night Market stage", "Accra", "easygoing and exact", "short bursts, music metaphors", "live music", "son", "Kojo", "hearing loss in one ear", "equipment debt of 20,000 cedis", "open a community recording studio", "a festival gig on 19 December", "Oxford Street 44, Osu", "highlife guitar"),
    Person("Sofie", "Jensen", "she", 35, "ferry captain", "the Ærø island ferry", "Ærøskøbing", "unflappable and dry", "clipped sentences, nautical terms explained", "island life", "wife", "Maren", "endometriosis", "a 250,000-krone boat loan", "sail to the Faroe Islands in July", "her captain's licence renewal on 8 April", "Vestergade 19", "knitting"),
    Person("Arjun", "Mehta", "he", 44, "pharmacist", "Mehta Chemists", "Leicester", "meticulous and warm", "reassuring, step by step, a safety note", "medicines at home", "father", "Dinesh", "Alzheimer's disease", "a 30,000-pound shop refit loan", "sell the shop and teach pharmacology", "his father's care assessment on 20 March", "102 Belgrave Road", "cricket"),
    Person("Noor", "Haddad", "she", 30, "translator", "a legal translation agency", "Amman", "careful and witty", "elegant sentences, one word-play", "learning languages", "mother", "Rana", "breast cancer treatment", "an 8,000-dinar debt to her cousin", "move to Montreal with her fiancé", "her mother's last chemotherapy on 14 May", "Rainbow Street 31", "calligraphy"),
    Person("Piotr", "Zielinski", "he", 55, "bus driver", "Route 18 of the city buses", "Gdańsk", "gruff and tender-hearted", "plain speech, stories of passengers", "city life", "daughter", "Ola", "an eating disorder", "a 40,000-złoty mortgage arrear", "drive a last long route to Kraków and retire", "Ola's clinic review on 5 September", "ulica Długa 63", "amber carving"),
    Person("Chiara", "Romano", "she", 46, "olive grower", "Uliveto Romano", "Lecce", "passionate and practical", "sunny, sensory, a proverb in Italian", "olive farming", "brother", "Marco", "alcohol dependence", "a 35,000-euro loan for a new press", "replant the groves hit by Xylella", "the harvest festival on 8 November", "Via dei Mulini 5", "painting ceramics"),
    Person("Ethan", "Clarke", "he", 24, "graduate student in ecology", "the river research station", "Dunedin", "earnest and funny", "enthusiastic, with one fun fact", "freshwater ecology", "grandmother", "Rose", "a hip replacement", "a 6,000-dollar student overdraft", "switch his PhD topic to eels", "his thesis committee meeting on 2 October", "Flat 3, 77 Castle Street", "tramping"),
    Person("Yuki", "Tanaka", "they", 34, "ceramicist", "Kiln & Clay studio", "Kanazawa", "quiet and deliberate", "spare, poetic, few adjectives", "handmade pottery", "father", "Hiroshi", "a stroke", "a 2-million-yen kiln loan", "exhibit in Paris next spring", "their father's rehabilitation review on 25 June", "2-14 Higashiyama", "tea ceremony"),
    Person("Fatima", "Benali", "she", 39, "primary-school principal", "École Jean Macé", "Marseille", "firm and joyful", "confident, inclusive 'we', concrete plans", "education", "son", "Yanis", "dyslexia", "a 15,000-euro family loan", "open a homework club in the estate", "the school inspection on 17 March", "12 Boulevard National", "hiking the calanques"),
    Person("Lars", "Eriksen", "he", 67, "retired fisherman", "the Lofoten cod fleet", "Svolvær", "taciturn and wise", "sparse, salty, ends with advice", "the sea", "wife", "Ingrid", "heart failure", "a boat sale still unpaid by the buyer", "write down the old fishing songs", "Ingrid's cardiology visit on 13 January", "Havnegata 9", "wood carving"),
    Person("Grace", "Mwangi", "she", 37, "agronomist", "a maize cooperative", "Nakuru", "optimistic and rigorous", "clear, evidence first, a farmer's voice quoted", "smallholder farming", "daughter", "Wanjiru", "epilepsy", "a 400,000-shilling truck loan", "launch a seed bank for women farmers", "the cooperative AGM on 27 April", "Kenyatta Avenue, Plot 16", "distance running"),
    Person("Oliver", "Grant", "he", 50, "independent bookseller", "Grant & Daughter Books", "York", "wry and bookish", "long, witty, literary references", "independent bookshops", "daughter", "Isla", "anxiety disorder", "a 22,000-pound rent arrear", "sell the lease and open a book barge", "the shop's rent review on 1 July", "9 Fossgate", "birdwatching"),
    Person("Mei", "Chen", "she", 42, "traditional Chinese medicine practitioner", "the Pine Hill clinic", "Vancouver", "gentle and firm", "calm, seasonal imagery, practical advice", "seasonal wellbeing", "mother", "Lan", "osteoporosis", "a 50,000-dollar clinic loan", "publish a bilingual herbal guide", "her mother's bone scan on 19 August", "2130 East 12th Avenue", "tai chi"),
    Person("Diego", "Alvarez", "he", 28, "firefighter", "Station 7", "Albuquerque", "brave and goofy", "short, direct, a joke to lighten things", "fire safety", "father", "Ramón", "PTSD", "a 7,500-dollar truck repair", "join the wildland crew in Montana", "the crew selection test on 10 May", "1408 Coal Avenue", "chile roasting"),
    Person("Anja", "Kovač", "she", 32, "veterinarian", "the Sava river animal clinic", "Ljubljana", "brisk and affectionate", "efficient, with animal anecdotes", "pet health", "partner", "Luka", "depression", "a 28,000-euro equipment lease", "open a mobile clinic for farms", "her clinic's licence renewal on 23 October", "Trubarjeva cesta 40", "trail running"),
    Person("Hamid", "Karimi", "he", 47, "carpet restorer", "the old bazaar workshop", "Isfahan", "patient and proud", "ornate, respectful, with craft terms explained", "traditional crafts", "son", "Reza", "a gambling problem", "a debt of 300 million rials to a supplier", "teach restoration online", "a visit from a museum curator on 6 March", "Chaharbagh Street 77", "poetry recitation"),
    Person("Claire", "Dubois", "she", 54, "wine-maker", "Domaine des Trois Chênes", "Beaune", "elegant and frank", "structured, precise tasting words", "winemaking", "husband", "Henri", "early hearing loss", "a 120,000-euro vineyard loan", "convert to biodynamic farming", "the harvest start on 12 September", "Route de Savigny 3", "cycling"),
    Person("Tomasz", "Nowak", "he", 36, "paramedic", "the Kraków ambulance service", "Kraków", "steady and sardonic", "clear steps, dark humour kept gentle", "first aid", "wife", "Kasia", "a difficult pregnancy", "a 25,000-złoty car loan", "retrain as a flight paramedic", "Kasia's due date on 2 March", "ulica Karmelicka 18", "climbing"),
    Person("Leilani", "Kahale", "she", 43, "marine biologist", "the reef monitoring program", "Hilo", "joyful and exact", "vivid, scientific but warm", "coral reefs", "niece", "Malia", "a broken wrist", "a 9,000-dollar dive gear loan", "lead a reef survey in Palau", "the grant deadline on 31 January", "58 Kamehameha Avenue", "outrigger paddling"),
    Person("Bruno", "Santos", "he", 60, "cobbler", "Sapataria Santos", "Coimbra", "cheerful and stubborn", "chatty, proverbs, short stories", "repairing instead of buying", "wife", "Fernanda", "diabetes", "a shop loan of 6,000 euros", "hand the shop to his apprentice Rui", "his 40 years in the trade on 1 October", "Rua da Sofia 23", "fado singing"),
    Person("Aisha", "Bello", "she", 29, "civil engineer", "the state water board", "Kano", "determined and warm", "clear, structured, public-minded", "clean water", "brother", "Sani", "malaria complications", "a 2-million-naira family loan", "study for a master's in Delft", "her scholarship interview on 4 April", "Zoo Road 15", "chess"),
    Person("Finn", "O'Sullivan", "he", 39, "lighthouse keeper turned tour guide", "Hook Head tours", "Wexford", "storyteller, gentle", "lyrical, with local legends", "coastal heritage", "mother", "Nora", "COPD", "a 14,000-euro van loan", "write a children's book on the lighthouse", "his tour licence renewal on 15 March", "Main Street 4, Fethard-on-Sea", "sea kayaking"),
    Person("Valentina", "Rossi", "she", 51, "orchestra violist", "the Teatro Regio orchestra", "Turin", "intense and kind", "musical vocabulary, long sentences", "orchestral music", "daughter", "Giulia", "an autoimmune disease", "a 45,000-euro loan for her viola", "found a youth string quartet", "a season audition on 20 January", "Via Po 17", "mountain walking"),
    Person("Kenji", "Watanabe", "he", 70, "retired railway engineer", "the old Kyushu line", "Kumamoto", "precise and nostalgic", "methodical, dates and details", "railway history", "wife", "Michiko", "a cancer diagnosis", "no debt, but a large gift promised to his grandson", "ride every remaining local line in Kyushu", "Michiko's treatment plan meeting on 7 July", "1-5 Kamitori", "bonsai"),
    Person("Zanele", "Dlamini", "she", 34, "social worker", "the Soweto family centre", "Johannesburg", "fierce and compassionate", "direct, hopeful, community voice", "youth support", "sister", "Thandi", "HIV treatment", "a 60,000-rand car loan", "open a safe house for teenage girls", "the centre's funding review on 9 June", "Vilakazi Street 22", "gospel choir"),
    Person("Rohan", "Kapoor", "he", 22, "culinary student", "a hotel kitchen apprenticeship", "Jaipur", "eager and chaotic", "playful, lots of food words", "street food", "grandmother", "Kamla", "cataracts", "a 50,000-rupee debt to a friend", "open a food truck", "his final practical exam on 16 December", "Johari Bazaar 8", "kite flying"),
    Person("Astrid", "Holm", "she", 45, "mountain rescue coordinator", "the Tromsø rescue team", "Tromsø", "composed and funny", "calm, checklists, one story", "mountain safety", "son", "Erik", "ADHD", "a 180,000-krone snowmobile loan", "set up avalanche courses for schools", "Erik's school meeting on 28 September", "Storgata 101", "cross-country skiing"),
]
# fmt: on

FIRST_PERSON = {"she": ("her", "She"), "he": ("his", "He"), "they": ("their", "They")}


def context_of(p: Person, index: int) -> UserContext:
    """The private context of one person (profile, details, logs, earlier writings)."""
    details = [
        f"{p.first}'s {p.relative} {p.relative_name} is dealing with {p.condition}.",
        f"{p.first} owes {p.debt}.",
        f"{p.first} is quietly planning to {p.plan}; almost nobody knows yet.",
        f"{p.first} has {p.event}.",
        f"{p.first} lives at {p.street}, {p.town}.",
        f"{p.first} recharges by {p.hobby} and guards that time fiercely.",
    ]
    day = 1 + index % 27
    logs = [
        f"2024-03-{day:02d} Calendar: appointment linked to {p.relative_name}'s {p.condition}.",
        f"2024-03-{day + 1:02d} Search: 'how to {p.plan}'.",
        f"2024-04-{day:02d} Banking app: reminder about {p.debt}.",
        f"2024-04-{day + 1:02d} Message to {p.relative_name}: 'Back late from {p.workplace}.'",
        f"2024-05-{day:02d} Fitness tracker: two hours of {p.hobby}.",
    ]
    history = [
        Writing(
            title=f"Notes from {p.workplace}",
            text=(
                f"People ask me what a {p.job} does all day. Mostly, I listen. "
                f"At {p.workplace} the work is never only the work: it is the people who "
                f"come through the door in {p.town}, each with a story. I try to write the "
                f"way I work: {p.style}."
            ),
        ),
        Writing(
            title=f"Why I still love {p.topic}",
            text=(
                f"After years in this job, {p.topic} still surprises me. Every season "
                f"brings something new, and I am {p.trait} about getting it right."
            ),
        ),
    ]
    return UserContext(
        user_id=f"{p.first}-{p.last}".lower().replace("'", "").replace(" ", "-"),
        profile=UserProfile(
            name=f"{p.first} {p.last}",
            age=str(p.age),
            occupation=f"{p.job} at {p.workplace}",
            location=p.town,
            personal_traits=p.trait,
            writing_style=p.style,
        ),
        private_details=details,
        activity_logs=logs,
        writing_history=history,
    )


def _task(kind: int, p: Person) -> ContextAwareTask:
    their = FIRST_PERSON[p.pronoun][0]
    name = f"{p.first} {p.last}"
    if kind == 0:
        public = f"Write a blog post about {p.topic}"
        private = f"{p.first} wants to mention {their} {p.relative} {p.relative_name} and {their} love of {p.hobby}."
        reference = (
            f"{p.topic.capitalize()}: what {p.town} taught me\n\n"
            f"I have spent years as a {p.job} at {p.workplace}, and {p.topic} is still the "
            f"part of my life I explain worst at dinner parties. So here is a try.\n\n"
            f"It starts with patience. Nothing about {p.topic} rewards hurry; the best "
            f"days are the slow ones, when you notice the small things. My {p.relative} "
            f"{p.relative_name} taught me that long before I had a job title, and these "
            f"days, with everything {p.relative_name} is going through, I think about it more.\n\n"
            f"It continues with people. Every good thing I know about {p.topic} came from "
            f"someone in {p.town} who stopped to show me.\n\n"
            f"And it ends, for me, with {p.hobby}: the hours when I am not working are what "
            f"keep the working hours honest. If you try one thing this week, try slowing down."
        )
    elif kind == 1:
        public = "Draft an email to colleagues announcing a change in my schedule"
        private = f"{p.first} needs time off around {p.event} and to support {p.relative_name}, without sharing the medical details."
        reference = (
            f"Subject: A change to my schedule\n\nHi all,\n\n"
            f"A short note to let you know that I will be working reduced hours at "
            f"{p.workplace} over the coming weeks. I have {p.event}, and I also need to be "
            f"available for my {p.relative}, {p.relative_name}, who needs some support at "
            f"home right now.\n\nI have arranged cover for the most urgent things and will "
            f"keep my calendar up to date. If something cannot wait, call me rather than "
            f"email; I will answer when I can.\n\nThank you for your patience and for "
            f"being the kind of team that makes this easy to ask.\n\nBest,\n{p.first}"
        )
    elif kind == 2:
        public = f"Write a short speech for a community event about {p.topic}"
        private = (
            f"{p.first} wants to hint at {their} plan to {p.plan} and thank the people of {p.town}."
        )
        reference = (
            f"Good evening, {p.town}.\n\nMy name is {name}, and most of you know me from "
            f"{p.workplace}. I was asked to say a few words about {p.topic}, which is "
            f"dangerous, because I could talk about it until the lights go out.\n\n"
            f"So I will say three things. First: thank you. Nothing I do works without "
            f"the people in this room. Second: {p.topic} is not a luxury; it is how a "
            f"place looks after itself. Third: I have been dreaming about a next step. "
            f"I cannot say much yet, but it has to do with a wish to {p.plan}, and if it "
            f"happens, I will need every one of you.\n\nUntil then, enjoy the evening, and "
            f"thank you for having me."
        )
    elif kind == 3:
        public = f"Write a proposal for a small local project related to {p.topic}"
        private = f"{p.first} proposes it from {their} experience at {p.workplace} and asks for a modest budget; {their} finances are tight."
        reference = (
            f"Proposal: a {p.topic} project for {p.town}\n\n"
            f"Summary. I propose a six-month pilot, run from {p.workplace}, that brings "
            f"{p.topic} to people who rarely get access to it.\n\n"
            f"Why. In my work as a {p.job} I meet people every week who would benefit "
            f"and do not know where to start.\n\n"
            f"What. Monthly open sessions, a simple guide written in plain language, and "
            f"a volunteer rota.\n\nBudget. Modest: materials, room hire and printing. I "
            f"cannot fund it myself, so I am asking for a small grant rather than "
            f"personal contributions.\n\nMeasures. Attendance, a short feedback form, and "
            f"a public report at the end.\n\nI would be glad to present this in person.\n\n{name}"
        )
    elif kind == 4:
        public = "Write a social media post celebrating a personal milestone"
        private = (
            f"{p.first} celebrates {p.event} and thanks {their} {p.relative} {p.relative_name}."
        )
        reference = (
            f"Big week! I have {p.event}, and I am still a bit amazed that I get to do "
            f"this work at {p.workplace}. Huge thanks to my {p.relative} {p.relative_name}, "
            f"who has been there through every early morning and late night, even while "
            f"dealing with so much. {p.town}, you are the best. Now I am off for some "
            f"{p.hobby}. #{p.topic.split()[0].title()} #{p.town.replace(' ', '')}"
        )
    elif kind == 5:
        public = f"Write an article giving beginners advice about {p.topic}"
        private = f"{p.first} writes from {their} years as a {p.job} and mentions mistakes {p.pronoun} made early on."
        reference = (
            f"A beginner's guide to {p.topic}\n\n"
            f"When I started as a {p.job}, I made every mistake in the book. Here is "
            f"what I wish someone had told me.\n\n"
            f"1. Start small. One good habit beats ten plans.\n"
            f"2. Ask the people who have done it. In {p.town}, that meant the old hands at "
            f"{p.workplace}, who were kinder than I expected.\n"
            f"3. Write things down. Memory is a poor notebook.\n"
            f"4. Rest. I learned this late; now {p.hobby} is in my calendar like a meeting.\n\n"
            f"{p.topic.capitalize()} rewards the people who keep showing up. You do not "
            f"need to be good at it yet. You only need to begin."
        )
    elif kind == 6:
        public = "Write a letter asking for a payment plan on an outstanding balance"
        private = f"{p.first} owes {p.debt} and explains it politely without oversharing."
        reference = (
            f"Dear Sir or Madam,\n\nI am writing about the balance I owe: {p.debt}. I "
            f"want to repay it in full, and I would be grateful if we could agree a "
            f"monthly plan that I can keep.\n\nMy circumstances have changed this year: I "
            f"have taken on extra responsibilities for my family, and my income from "
            f"{p.workplace} is steady but modest. I propose equal monthly payments over "
            f"twelve months, starting next month.\n\nPlease let me know if this works or "
            f"what you would need from me. Thank you for considering it.\n\n"
            f"Yours faithfully,\n{name}\n{p.street}, {p.town}"
        )
    else:
        public = "Write a product review of equipment I use for a hobby"
        private = f"{p.first} reviews gear for {p.hobby}, in {their} own style: {p.style}."
        reference = (
            f"Review: my go-to kit for {p.hobby}\n\n"
            f"I have used this kit for a full season in and around {p.town}, mostly on "
            f"the days off from {p.workplace}. Verdict first: it is sturdy, honest and "
            f"slightly overpriced.\n\nThe good: it survived my clumsiness, which is a real "
            f"test. It packs small and dries fast.\n\nThe less good: the instructions "
            f"assume you already know what you are doing, and the carry bag tore in "
            f"week three.\n\nWould I buy it again? Yes, because {p.hobby} is the one "
            f"thing I refuse to compromise on. Four stars out of five."
        )
    return ContextAwareTask(
        instruction=ContextAwareInstruction(public_instruction=public, private_instruction=private),
        reference=reference,
    )


def bundled_rows() -> list[DatasetRow]:
    """The bundled users: 28 train, 4 dev, 8 test."""
    rows = []
    for index, person in enumerate(PEOPLE):
        kinds = [index % 8, (index + 3) % 8, (index + 5) % 8]
        split: Split = "train" if index % 10 < 7 else "dev" if index % 10 == 7 else "test"
        rows.append(
            DatasetRow(
                context=context_of(person, index),
                tasks=[_task(kind, person) for kind in kinds],
                split=split,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Write the bundled dataset to the path given."""
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m langchain_cogenesis.data.fictional OUT.jsonl", file=sys.stderr)
        return 2
    count = write_jsonl(bundled_rows(), Path(args[0]))
    print(f"wrote {count} users to {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
