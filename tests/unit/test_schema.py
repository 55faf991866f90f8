from __future__ import annotations

import pytest
from pydantic import ValidationError

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.schema import (
    MAX_INSTRUCTION_CHARS,
    ContextAwareInstruction,
    Sketch,
    UserContext,
    UserProfile,
)


def test_instruction_strips_and_joins_parts() -> None:
    instruction = ContextAwareInstruction(
        public_instruction="  Write a toast  ", private_instruction=" for Dana's retirement "
    )
    assert instruction.public_instruction == "Write a toast"
    assert instruction.full_instruction == "Write a toast: for Dana's retirement"
    assert ContextAwareInstruction(public_instruction="Write").full_instruction == "Write"


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_public_instruction_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="empty"):
        ContextAwareInstruction(public_instruction=text)


def test_huge_instructions_are_refused() -> None:
    with pytest.raises(ValidationError, match="limit"):
        ContextAwareInstruction(public_instruction="a" * (MAX_INSTRUCTION_CHARS + 1))
    with pytest.raises(ValidationError, match="limit"):
        ContextAwareInstruction(public_instruction="ok", private_instruction="b" * 10**6)


def test_user_id_must_be_printable() -> None:
    with pytest.raises(ValidationError):
        UserContext(user_id="  ")
    with pytest.raises(ValidationError):
        UserContext(user_id="bad\x00id")
    assert UserContext(user_id=" ana ").user_id == "ana"


def test_profile_renders_filled_fields_only() -> None:
    profile = UserProfile(name="Ana", occupation="Nurse", writing_style="terse")
    assert profile.as_text().splitlines() == [
        "Name: Ana",
        "Occupation: Nurse",
        "Writing style: terse",
    ]


def test_sketch_parses_numbered_points() -> None:
    sketch = Sketch.from_text("[Skeleton]: 1. Opening hook\n2) Main idea\nnoise\n  3. Close")
    assert sketch.points == ["Opening hook", "Main idea", "Close"]


def test_demo_users_follow_the_paper_format(demo_users: list[DatasetUser]) -> None:
    # paper appendix A.1: 5-10 private details, 5-10 activity logs; plus 2-3 earlier writings
    assert len(demo_users) >= 3
    assert len({user.context.user_id for user in demo_users}) == len(demo_users)
    for user in demo_users:
        context = user.context
        assert context.profile.writing_style
        assert 5 <= len(context.private_details) <= 10
        assert 5 <= len(context.activity_logs) <= 10
        assert 2 <= len(context.writing_history) <= 3
        assert user.tasks
        for task in user.tasks:
            assert task.instruction.public_instruction and task.instruction.private_instruction
            assert task.reference
