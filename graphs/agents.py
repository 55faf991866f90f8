"""CoGenesis inside an existing LangChain agent: a tool, and a middleware on the agent's model.

``cogenesis_tool`` gives an agent a "write this for the user, privately" tool. By default
it returns its text straight to the user (``return_direct``), so the agent's own
model, usually a cloud model, never reads the personalized text.

``PrivacyMiddleware`` (in :mod:`langchain_cogenesis.graphs.middleware`, re-exported
here) guards the agent's model calls themselves: the whole request of every call goes
through the one privacy decision, and is sent, redacted, kept local or blocked.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from langchain_cogenesis.graphs.chat_model import ChatCoGenesis
from langchain_cogenesis.graphs.middleware import PrivacyMiddleware as PrivacyMiddleware
from langchain_cogenesis.privacy.tracing import PrivatelyTracedTool


def cogenesis_tool(
    model: ChatCoGenesis,
    *,
    user_id: str | None = None,
    name: str = "write_privately",
    return_direct: bool = True,
) -> BaseTool:
    """A tool that writes a personalized text for the user with ``model`` (CoGenesis).

    The agent passes only the instruction; the user's private context is read on the
    device. With ``return_direct`` (default) the text goes to the user and the agent
    stops, so the agent's model does not read it.

    The tool's run traces through the scrubber (its input and the personalized text
    show as keyed digests). The agent's own run holds that text too, as the tool's
    result: wrap the agent with
    :func:`~langchain_cogenesis.privacy.tracing.with_private_tracing`.
    """

    def write_privately(instruction: str) -> str:
        """Write a personalized text (email, post, speech...) for the user, privately."""
        kwargs = {"user_id": user_id} if user_id else {}
        return str(model.invoke(instruction, **kwargs).content)

    return PrivatelyTracedTool.from_function(
        write_privately,
        name=name,
        description=(
            "Write a personalized text (e-mail, post, speech, letter...) for the user. "
            "Give only the instruction; the user's private context is added on their "
            "device and never sent."
        ),
        return_direct=return_direct,
    )
