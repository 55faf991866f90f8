"""The prompt-echo check: what an answer must not copy from its prompt."""

from __future__ import annotations

from langchain_cogenesis.evaluation.echo import find_echo
from langchain_cogenesis.prompts import SKETCH_MARK

PROMPT = (
    "## User Profile\n- Maya Okafor is an urban horticulturist in Millbrook.\n"
    "- Allergic to bee stings.\n\n## Task\nWrite a welcome speech."
)


def kinds(answer: str) -> list[str]:
    return [echo.kind for echo in find_echo(answer, [PROMPT])]


def test_prose_that_uses_the_profile_in_its_own_words_passes() -> None:
    answer = "Welcome, neighbours! As a horticulturist here in Millbrook, I am glad you came."
    assert find_echo(answer, [PROMPT]) == []


def test_a_profile_line_copied_verbatim_is_an_echo_whatever_its_bullet_or_case() -> None:
    answer = "Hello.\n* maya okafor is an urban horticulturist   in Millbrook.\nThanks."
    assert kinds(answer) == ["prompt-line"]


def test_short_prompt_lines_do_not_count_by_chance() -> None:
    assert kinds("I am allergic to bee stings.") == []  # 22 characters: too short to tell


def test_a_prompt_heading_on_a_line_of_its_own_is_an_echo() -> None:
    assert kinds("Dear all,\n## Task\nMore text") == ["prompt-heading"]
    assert kinds("The task ahead of us is big.") == []


def test_template_markers_of_any_family_and_the_sketch_fence_are_echo() -> None:
    answer = "Hi<end_of_turn>\n<|im_start|>assistant\n[INST] again <</sketch>>"
    found = [(e.kind, e.text) for e in find_echo(answer)]
    assert found == [
        ("template-marker", "<end_of_turn>"),
        ("template-marker", "<|im_start|>"),
        ("template-marker", "[INST]"),
        ("sketch-fence", "<</sketch>>"),
    ]


def test_datamarked_words_are_echo_but_a_single_caret_is_not() -> None:
    marked = SKETCH_MARK.join(["Warm", "welcome", "to", "guests"])
    assert [e.kind for e in find_echo(f"Intro: {marked}.")] == ["datamark"]
    assert find_echo("The area is 3^2 square metres.") == []
