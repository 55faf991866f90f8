"""Store-held facts in other words, on real users of the authors' dev split.

Each case is a one-part request written personal part first, as people write it,
by a user whose store (profile, private details, activity logs, in a real Chroma
store with the bundled embeddings) holds the habit it restates. Through the sketch
graph against a recording cloud, the habit's words must stay on the device and the
request's public part must go out; with the matcher off, the same request leaks
them (the control: the recorder can see the leak).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.data.paper import load_paper_dev
from langchain_cogenesis.graphs import Components, run_sketch_graph
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.privacy.detection.paraphrase import PARAPHRASE_THRESHOLD
from tests.cloud_servers import RecordingServer
from tests.conftest import PAPER_DEV_SPLIT, REPO

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not PAPER_DEV_SPLIT.is_file(), reason=f"the dev split is not at {PAPER_DEV_SPLIT}"
    ),
]

# (dev-split task id, the request or "" for the task written personal part first,
#  words of the stored habit that must stay local, public words that must go out);
# not the users whose tasks are the sketch prompt's examples (their words are in it)
CASES = [
    (  # Jasper: "Has weekly gaming nights with friends online", "Volunteers at the local
        # animal shelter on the weekends", said in other words
        "5_2_6",
        "Given his weekly game night with friends and his Saturday shifts at the animal "
        "shelter, write a short bio for a student club website.",
        ["game night", "animal shelter"],
        "write a short bio for a student club website",
    ),
    (  # "Purchased an online course on digital marketing strategies"
        "11_2_6",
        "",
        ["online course purchase"],
        "create an informative blog post that addresses current trends",
    ),
    (  # "Regularly schedules golf games with colleagues to network and unwind"
        "10_9_3",
        "",
        ["golf"],
        "compile a guide on networking for medical professionals through social activities",
    ),
    (  # "Volunteers monthly at a local youth mentorship program"
        "10_17_1",
        "",
        ["monthly volunteer session"],
        "ensuring it resonates with a younger audience",
    ),
    (  # "Is currently authoring a book on coping strategies for managing stress"
        "3_8_7",
        "",
        ["stress coping strategies book"],
        "author a book chapter",
    ),
]


@pytest.fixture(scope="module")
def users() -> dict[str, DatasetUser]:
    return {
        user.context.user_id.removeprefix("paper-"): user
        for user in load_paper_dev(PAPER_DEV_SPLIT)
    }


def personal_first(user: DatasetUser) -> str:
    task = user.tasks[0].instruction
    general = task.public_instruction.strip().rstrip(" .?!")
    return f"{task.private_instruction.strip().rstrip(' .')}, {general[:1].lower()}{general[1:]}."


def wire_of(store: Any, user_id: str, request: str, threshold: float | None) -> str:
    with RecordingServer(reply="1. Opening\n2. Body") as server:
        components = Components(
            store=store,
            local_model=GenericFakeChatModel(messages=iter([AIMessage("A draft.")] * 3)),
            egress_guard=EgressGuard(base_url=server.base_url, model="fake", max_retries=0),
            stored_fact_threshold=threshold,
        )
        run_sketch_graph(components, {"user_id": user_id, "instruction": request})
        return server.all_bytes().decode("utf-8").casefold()


@pytest.mark.parametrize(("tid", "request_text", "habit", "public"), CASES)
def test_a_paraphrased_habit_stays_local_and_the_public_part_goes_out(
    tmp_path: Path,
    users: dict[str, DatasetUser],
    tid: str,
    request_text: str,
    habit: list[str],
    public: str,
) -> None:
    from langchain_cogenesis.retrievers import PrivateStore

    user = users[tid]
    context = user.context.model_copy(update={"writing_history": []})  # the facts only
    with PrivateStore(tmp_path / "store") as store:
        store.add_user_context(context)
        request = request_text or personal_first(user)
        guarded = wire_of(store, context.user_id, request, PARAPHRASE_THRESHOLD)
        unguarded = wire_of(store, context.user_id, request, None)
    for words in habit:
        assert words.casefold() not in guarded, (words, request)
        assert words.casefold() in unguarded, (words, request)  # the control
    assert public.casefold() in guarded


def test_the_redaction_bench_reports_the_three_phrasings_and_the_sweep(tmp_path: Path) -> None:
    out = tmp_path / "redaction.json"
    done = subprocess.run(
        [
            sys.executable,
            "bench/redaction.py",
            "--users",
            "2",
            "--no-wire",
            "--sweep",
            "--json",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert list(figures["phrasings"]) == [
        "private given apart",
        "general: personal",
        "personal part first",
    ]
    for rows in figures["phrasings"].values():
        for row in rows.values():
            assert row["store_held"] >= row["store_held_leaked"] >= 0
    assert set(figures["sweep"]["requests"]) == {"general: personal", "personal part first"}
    assert "matcher_latency" in figures  # a timing: reported, never asserted
