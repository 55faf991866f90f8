"""Training the learned combiner (paper appendix B).

Teacher forcing on reference responses: the cloud side scores the reference after the
instruction *without* context, the local side after the instruction *with* context;
both report their top-k at every position. The loss is ``-log p_c(target)`` with
``p_c`` the fused distribution over the union of both top-k sets (eq. 6), learning
rate 2e-3, batch size 2, early stopping on the dev split.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from langchain_cogenesis.errors import MissingExtra
from langchain_cogenesis.fusion.combiners import (
    TOP_K,
    LearnedCombiner,
    build_comb_model,
    combiner_features,
    leftover,
    union_probs,
)
from langchain_cogenesis.fusion.scorers import TokenScorer, TopK
from langchain_cogenesis.models.templates import chat_template_of


@dataclass(frozen=True)
class StepExample:
    """One teacher-forced position: both models' top-k and the reference token."""

    local: TopK
    cloud: TopK
    target: int


def teacher_forced_steps(
    local: TokenScorer,
    cloud: TokenScorer,
    local_prompt: Sequence[int],
    cloud_prompt: Sequence[int],
    target_ids: Sequence[int],
    *,
    top_k: int = TOP_K,
) -> list[StepExample]:
    """Both models' top-k at every position of ``target_ids`` (cached once)."""
    steps = []
    for position, target in enumerate(target_ids):
        prefix = list(target_ids[:position])
        steps.append(
            StepExample(
                local=local.next_top_k([*local_prompt, *prefix], top_k),
                cloud=cloud.next_top_k([*cloud_prompt, *prefix], top_k),
                target=int(target),
            )
        )
    return steps


def step_arrays(steps: Sequence[StepExample], vocab_size: int) -> dict[str, np.ndarray]:
    """Features and the four probabilities the exact fused likelihood needs."""
    features, slm_target, llm_target, slm_mass, llm_mass = [], [], [], [], []
    for step in steps:
        ids, p_slm, p_llm = union_probs(step.local, step.cloud, vocab_size)
        where = np.flatnonzero(ids == step.target)
        if len(where):
            slm_t, llm_t = p_slm[where[0]], p_llm[where[0]]
        else:  # in neither top-k: each model gives it its leftover mass, spread evenly
            slm_t = leftover(step.local, vocab_size)
            llm_t = leftover(step.cloud, vocab_size)
        features.append(combiner_features(step.local, step.cloud))
        slm_target.append(slm_t)
        llm_target.append(llm_t)
        slm_mass.append(p_slm.sum())
        llm_mass.append(p_llm.sum())
    return {
        "features": np.array(features, dtype=np.float32),
        "slm_target": np.array(slm_target, dtype=np.float64),
        "llm_target": np.array(llm_target, dtype=np.float64),
        "slm_mass": np.array(slm_mass, dtype=np.float64),
        "llm_mass": np.array(llm_mass, dtype=np.float64),
    }


def fused_nll(w: Any, batch: dict[str, Any]) -> Any:
    """Mean ``-log p_c(target)``, renormalized over the union as in decoding."""
    import torch

    numerator = w * batch["slm_target"] + (1 - w) * batch["llm_target"]
    denominator = w * batch["slm_mass"] + (1 - w) * batch["llm_mass"]
    return -(torch.log(numerator.clamp_min(1e-12)) - torch.log(denominator)).mean()


@dataclass
class TrainingReport:
    """What training did."""

    train_steps: int
    dev_steps: int
    epochs_run: int
    best_epoch: int
    dev_nll: list[float] = field(default_factory=list)
    train_nll: list[float] = field(default_factory=list)


def train_combiner(
    train: Sequence[StepExample],
    dev: Sequence[StepExample],
    vocab_size: int,
    *,
    learning_rate: float = 2e-3,
    batch_size: int = 2,
    max_epochs: int = 20,
    patience: int = 3,
    seed: int = 0,
    show_progress: bool = False,
) -> tuple[LearnedCombiner, TrainingReport]:
    """Fit CombModel; keep the weights of the epoch with the lowest dev NLL."""
    with MissingExtra.if_absent("fusion", "Training the learned combiner"):
        import torch
    from tqdm.auto import tqdm

    if not train or not dev:
        raise ValueError("train_combiner needs at least one train and one dev step")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = build_comb_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    train_arrays = step_arrays(train, vocab_size)
    dev_tensors = {k: torch.from_numpy(v) for k, v in step_arrays(dev, vocab_size).items()}

    def dev_loss() -> float:
        with torch.no_grad():
            w = model(dev_tensors["features"]).squeeze(-1).double()
            return float(fused_nll(w, dev_tensors))

    report = TrainingReport(train_steps=len(train), dev_steps=len(dev), epochs_run=0, best_epoch=0)
    best = dev_loss()
    report.dev_nll.append(best)
    best_state = {k: v.clone() for k, v in model.state_dict().items()}
    waited = 0
    order = list(range(len(train)))
    for epoch in tqdm(range(1, max_epochs + 1), desc="combiner", disable=not show_progress):
        rng.shuffle(order)
        model.train()
        total = 0.0
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            batch = {k: torch.from_numpy(v[index]) for k, v in train_arrays.items()}
            w = model(batch["features"]).squeeze(-1).double()
            loss = fused_nll(w, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
        model.eval()
        report.train_nll.append(total / len(order))
        current = dev_loss()
        report.dev_nll.append(current)
        report.epochs_run = epoch
        if current < best - 1e-6:
            best, waited, report.best_epoch = current, 0, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    model.load_state_dict(best_state)
    return LearnedCombiner(model), report


def training_prompts(user: Any, task: Any, template: Any = None) -> tuple[str, str]:
    """Local (with context) and cloud (without context) prompts of a dataset task, in
    ``template`` (the local model's chat template; default the bundled model's)."""
    from langchain_cogenesis import prompts

    context = user.context
    profile = "\n".join(
        f"- {line}"
        for line in [context.profile.as_text(), *context.private_details, *context.activity_logs]
        if line
    )
    history = "\n\n".join(f"### {w.title}\n{w.text}" for w in context.writing_history)
    instruction = task.instruction
    local = prompts.with_context_prompt(instruction.kind).format_messages(
        profile=profile or "(none)",
        history=history or "(none)",
        task=instruction.full_instruction,
    )
    cloud = prompts.without_context_prompt(instruction.kind).format_messages(
        task=instruction.public_instruction
    )
    return prompts.chat_text(local, template), prompts.chat_text(cloud, template)


def dataset_steps(
    users: Sequence[Any],
    local: TokenScorer,
    cloud: TokenScorer,
    *,
    max_target_tokens: int = 48,
    max_prompt_tokens: int = 1536,
    show_progress: bool = False,
) -> list[StepExample]:
    """Teacher-forced steps for every task with a reference in ``users``."""
    from tqdm.auto import tqdm

    examples: list[StepExample] = []
    tasks = [(user, task) for user in users for task in user.tasks if task.reference]
    for user, task in tqdm(tasks, desc="scoring references", disable=not show_progress):
        local_text, cloud_text = training_prompts(user, task, chat_template_of(local))
        local_ids = local.tokenize(local_text, add_bos=True)
        if len(local_ids) > max_prompt_tokens:  # keep BOS, drop the oldest context
            local_ids = [local_ids[0], *local_ids[-(max_prompt_tokens - 1) :]]
        cloud_ids = local.tokenize(cloud_text, add_bos=True)
        target = local.tokenize(task.reference)[:max_target_tokens]
        examples += teacher_forced_steps(local, cloud, local_ids, cloud_ids, target)
    return examples


def heldout_nll(
    steps: Sequence[StepExample], vocab_size: int, learned: LearnedCombiner | None = None
) -> dict[str, float]:
    """Mean negative log-likelihood per reference token under each way of decoding.

    Every figure uses the distribution the decoder would sample from: the union of
    both top-k sets, renormalized (``w = 0`` is the cloud alone, ``w = 1`` the local
    model alone).
    """
    import torch

    if not steps:
        raise ValueError("heldout_nll needs at least one step")
    tensors = {k: torch.from_numpy(v) for k, v in step_arrays(steps, vocab_size).items()}

    def at(w: float) -> float:
        return float(fused_nll(torch.full_like(tensors["slm_target"], w), tensors))

    figures = {
        "cloud_without_context": at(0.0),
        "local_with_context": at(1.0),
        "mean": at(0.5),
        "max": _max_pooling_nll(steps, vocab_size),
    }
    if learned is not None:
        with torch.no_grad():
            w = learned.model(tensors["features"]).squeeze(-1).double()
        figures["learned"] = float(fused_nll(w, tensors))
    return figures


def _max_pooling_nll(steps: Sequence[StepExample], vocab_size: int) -> float:
    total = 0.0
    for step in steps:
        ids, p_slm, p_llm = union_probs(step.local, step.cloud, vocab_size)
        pooled = np.maximum(p_slm, p_llm)
        where = np.flatnonzero(ids == step.target)
        if len(where):
            target = pooled[where[0]]
        else:
            target = max(leftover(step.local, vocab_size), leftover(step.cloud, vocab_size))
        total += -np.log(max(target, 1e-12)) + np.log(pooled.sum())
    return total / len(steps)
