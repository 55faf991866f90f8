"""Which model writes the demo's answer: readable prose that uses the private context.

For each family (its model as the local writer and as the stand-in cloud, as the
demo runs them) and the first ``--samples`` tasks of the authors' dev split, the
sketch graph runs in ``local`` and ``sketch`` mode, and the answer the user sees is
measured:

- **echo**: answers holding a piece of their prompt (a line of the retrieved context
  or of the prompt, a prompt heading, a chat-template marker, the sketch's fence),
  found by :func:`~langchain_cogenesis.evaluation.echo.find_echo`; a line of the
  sketch is not an echo (an answer follows its outline);
- **URLs**: answers holding a web address;
- **prose**: the share of an answer's tokens that are words (letters, with
  punctuation around them), averaged over answers;
- **private context used**: answers that repeat a distinctive word (a name, a number,
  a longer word) of a retrieved private chunk that no public text holds, as the
  demo's "Private facts the answer drew on" block finds them;
- **ROUGE-L** against the reference answer, with a 95% bootstrap interval.

``cogenesis demo`` takes its default writer from these figures. ``--json PATH``
writes them (``bench/run_all.py writer`` puts them in ``bench/results.json``).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import DEV_SPLIT
from langchain_core.documents import Document

from langchain_cogenesis import prompts
from langchain_cogenesis.cli.demo import drawn_on
from langchain_cogenesis.data.dataset import load_dataset
from langchain_cogenesis.evaluation.echo import find_echo
from langchain_cogenesis.evaluation.metrics import mean_interval, rouge_l_per_sample
from langchain_cogenesis.evaluation.runner import samples_of
from langchain_cogenesis.graphs import Components, build_sketch_graph, result_from_state
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud
from langchain_cogenesis.models.loader import bundled_model_path, smollm2_model_path
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateStore

MODES = ("local", "sketch")
URL = re.compile(r"https?://|www\.\w|\b\w+\.(?:com|org|net|html?)\b", re.IGNORECASE)
WORD = re.compile(r"^[\"'(\[]*[A-Za-z][A-Za-z'’-]*[.,;:!?\"')\]]*$")


def family_model(family: str, home: Path) -> Path:
    if family == "gemma":
        return bundled_model_path(home / "models")
    if family == "smollm2":
        return smollm2_model_path()
    raise SystemExit(f"unknown family {family!r}; choose gemma or smollm2")


def prose_share(answer: str) -> float:
    """The share of whitespace-separated tokens that are words."""
    pieces = answer.split()
    return sum(bool(WORD.match(piece)) for piece in pieces) / len(pieces) if pieces else 0.0


def measure_answer(
    answer: str, reference: str, chunks: list[str], public: list[str], prompt_texts: list[str]
) -> dict[str, Any]:
    echoes = find_echo(answer, prompt_texts)
    return {
        "echo": [f"{echo.kind}: {echo.text[:60]}" for echo in echoes],
        "url": bool(URL.search(answer)),
        "prose": prose_share(answer),
        "drawn_on": [words for _, words in drawn_on(answer, chunks, public)],
        "empty": not answer.strip(),
        "reference": reference,
        "answer": answer,
    }


def run_family(family: str, options: argparse.Namespace, home: Path) -> dict[str, Any]:
    model_path = family_model(family, home)
    samples = samples_of(load_dataset(DEV_SPLIT), limit=options.samples)
    store = PrivateStore(home / f"store-{family}")
    modes = options.modes.split(",")
    records: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    started = time.perf_counter()
    with StandInCloud(model_path) as standin:
        components = Components(
            store=store,
            local_model=ChatLocalLlama(
                model_path=model_path, max_tokens=options.max_tokens, seed=options.seed
            ),
            egress_guard=EgressGuard(
                base_url=standin.base_url, model=standin.model, audit_log=None
            ),
            sketch_max_tokens=options.sketch_tokens,
            k=options.k,
        )
        graph = build_sketch_graph(checkpointer=None)
        for sample in samples:
            if not store.has_user(sample.context.user_id):
                store.add_user_context(sample.context)
            task = sample.task.instruction
            for mode in modes:
                request: Any = {
                    "user_id": sample.context.user_id,
                    "public_instruction": task.public_instruction,
                    "private_instruction": task.private_instruction,
                    "kind": task.kind,
                    "mode": mode,
                }
                result = result_from_state(graph.invoke(request, context=components))
                sketch = result.sketch.text if result.sketch else ""
                chunks = list(result.context_used)
                documents = [Document(page_content=chunk) for chunk in chunks]
                # the prompt without the sketch: following the sketch's points is its
                # use, not an echo (its fence still counts)
                rendered = prompts.writer_messages(task.kind, task.full_instruction, documents)
                prompt_texts = [str(message.content) for message in rendered]
                record = measure_answer(
                    result.answer,
                    sample.task.reference,
                    chunks,
                    [task.public_instruction, sketch],
                    prompt_texts,
                )
                records[mode].append({"sample_id": sample.sample_id, **record})
    seconds = time.perf_counter() - started
    return {"model": model_path.name, "seconds": seconds, **summarize(records)}


def summarize(records: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    figures: dict[str, Any] = {"samples": len(next(iter(records.values())))}
    for mode, rows in records.items():
        rouge = rouge_l_per_sample([r["answer"] for r in rows], [r["reference"] for r in rows])
        figures[mode] = {
            "echo_share": sum(bool(r["echo"]) for r in rows) / len(rows),
            "url_share": sum(r["url"] for r in rows) / len(rows),
            "empty_share": sum(r["empty"] for r in rows) / len(rows),
            "prose_mean": statistics.fmean(r["prose"] for r in rows),
            "private_context_share": sum(bool(r["drawn_on"]) for r in rows) / len(rows),
            "rouge_l": mean_interval(rouge).as_dict(),
            "echo_examples": [e for r in rows for e in r["echo"]][:5],
            "first_answer": rows[0]["answer"][:400] if rows else "",
        }
    return figures


def print_figures(figures: dict[str, Any]) -> None:
    print(f"writer benchmark, {figures['samples']} dev samples per family")
    print(
        f"{'family':<8} {'mode':<7} {'echo':>6} {'URLs':>6} {'empty':>6} {'prose':>6} "
        f"{'private':>8} {'ROUGE-L (95% CI)':>22}"
    )
    for family, row in figures["families"].items():
        for mode in (m for m in MODES if m in row):
            m = row[mode]
            rouge = m["rouge_l"]
            print(
                f"{family:<8} {mode:<7} {m['echo_share']:6.0%} {m['url_share']:6.0%} "
                f"{m['empty_share']:6.0%} {m['prose_mean']:6.0%} "
                f"{m['private_context_share']:8.0%} "
                f"{rouge['estimate']:6.2f} [{rouge['low']:.2f}, {rouge['high']:.2f}]"
            )
    print(f"default writer by these figures: {figures['chosen']}")


def choose(families: dict[str, Any]) -> str:
    """The family with the fewest echoing or URL answers, then the most prose."""

    def cost(row: dict[str, Any]) -> tuple[float, float]:
        modes = [m for m in MODES if m in row]
        bad = sum(row[m]["echo_share"] + row[m]["url_share"] + row[m]["empty_share"] for m in modes)
        return (bad, -sum(row[m]["prose_mean"] for m in modes))

    return min(families, key=lambda name: cost(families[name]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", default="smollm2,gemma")
    parser.add_argument("--modes", default=",".join(MODES), help="local, sketch or both")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--sketch-tokens", type=int, default=160)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args(argv)
    if not DEV_SPLIT.is_file():
        print(f"the dev split is not at {DEV_SPLIT}; nothing measured", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        families = {name: run_family(name, options, home) for name in options.families.split(",")}
    figures = {
        "benchmark": "writer",
        "dataset": DEV_SPLIT.name,
        "options": {k: v for k, v in vars(options).items() if k != "json"},
        "samples": options.samples,
        "families": families,
        "chosen": choose(families),
    }
    print_figures(figures)
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
