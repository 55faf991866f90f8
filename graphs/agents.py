"""CoGenesis inside an existing LangChain agent: a tool, and a middleware on the agent's model.

``cogenesis_tool`` gives an agent a "write this for the user, privately" tool. By default
it returns its text straight to the user (``return_direct``), so the agent's own
model, usually a cloud model, never reads the personalized text.

``PrivacyMiddleware`` (in :mod:`langchain_cogenesis.graphs.middleware`, re-exported
here) guards the agent's model calls themselves: the whole request of every call goes
through the one privacy decision, and is sent, redacted, kept local or blocked. A
tool built with ``privacy=`` the middleware redacts the values the middleware
restored on the device from its own cloud request too.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForToolRun
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from langchain_cogenesis.errors import UnknownUser
from langchain_cogenesis.graphs.chat_model import ChatCoGenesis
from langchain_cogenesis.graphs.middleware import PrivacyMiddleware as PrivacyMiddleware
from langchain_cogenesis.privacy.redaction.restoration import RestoredValues
from langchain_cogenesis.privacy.tracing.privately_traced import PrivatelyTracedTool


class WritingRequest(BaseModel):
    """What the agent passes the tool: the instruction only."""

    instruction: str = Field(description="What to write for the user, in a sentence or two.")


class CoGenesisTool(PrivatelyTracedTool):
    """The tool :func:`cogenesis_tool` builds: writes with a :class:`ChatCoGenesis`.

    ``restored_values`` are the values restored on the device earlier in the agent's
    conversation (the arguments the tool gets may carry them); the writer's cloud
    request is screened for them. A :class:`PrivacyMiddleware` refuses to run an
    agent with a tool whose ``restored_values`` are not its own.
    """

    writer: Any
    """The :class:`ChatCoGenesis` that writes."""
    user_id: str | None = None
    restored_values: RestoredValues | None = None

    def _run(
        self,
        *args: Any,
        config: RunnableConfig,
        run_manager: CallbackManagerForToolRun | None = None,
        **kwargs: Any,
    ) -> str:
        instruction = str(args[0] if args else kwargs["instruction"])
        writer = self.writer
        if self.restored_values is not None:
            writer = writer.model_copy(update={"restored_values": self.restored_values})
        call = {"user_id": self.user_id} if self.user_id else {}
        return str(writer.invoke(instruction, **call).content)


def cogenesis_tool(
    model: ChatCoGenesis,
    *,
    user_id: str | None = None,
    name: str = "write_privately",
    return_direct: bool = True,
    privacy: PrivacyMiddleware | None = None,
) -> CoGenesisTool:
    """A tool that writes a personalized text for the user with ``model`` (CoGenesis).

    The agent passes only the instruction; the user's private context is read on the
    device. With ``return_direct`` (default) the text goes to the user and the agent
    stops, so the agent's model does not read it.

    With a :class:`PrivacyMiddleware` on the agent, pass it as ``privacy=``: the
    instruction the tool gets may carry values the middleware restored on the device
    (:attr:`~PrivacyMiddleware.restored_values`), and the tool's cloud request then
    redacts them too (the audit row names them ``restored:<TYPE>``). The middleware
    refuses an agent whose ``cogenesis_tool`` is not wired to it. ``privacy=`` also
    gives the default ``user_id``.

    Instantiate:
        .. code-block:: python

            privacy = PrivacyMiddleware(store=store, user_id="maya-okafor")
            agent = create_agent(
                cloud_model,
                tools=[cogenesis_tool(writer, privacy=privacy)],
                middleware=[privacy],
            )

    The tool's run traces through the scrubber (its input and the personalized text
    show as keyed digests). The agent's own run holds that text too, as the tool's
    result: wrap the agent with
    :func:`~langchain_cogenesis.privacy.tracing.privately_traced.with_private_tracing`.

    Raises:
        UnknownUser: ``model`` has a store and it does not know ``user_id``.
    """
    if user_id is None and privacy is not None:
        user_id = privacy.user_id
    store = model.store
    # as the graph checks at each call, but before the agent runs (cloud-public reads no store)
    if (
        user_id
        and store is not None
        and model.mode != "cloud-public"
        and not store.has_user(user_id)
    ):
        raise UnknownUser(user_id)
    return CoGenesisTool(
        name=name,
        description=(
            "Write a personalized text (e-mail, post, speech, letter...) for the user. "
            "Give only the instruction; the user's private context is added on their "
            "device and never sent."
        ),
        args_schema=WritingRequest,
        return_direct=return_direct,
        writer=model,
        user_id=user_id,
        restored_values=privacy.restored_values if privacy is not None else None,
    )
