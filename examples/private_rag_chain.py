"""An LCEL chain that never leaves the device: private retriever -> prompt -> local model.

Run: python examples/private_rag_chain.py
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from langchain_cogenesis import ChatLocalLlama
from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.retrievers import PrivateContextRetriever, PrivateStore


def as_bullets(documents: list[Document]) -> str:
    return "\n".join(f"- {document.page_content}" for document in documents)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=120)
    args = parser.parse_args()

    user = load_demo_users()[2]  # Lena, a freelance UX designer
    with tempfile.TemporaryDirectory() as folder:
        store = PrivateStore(Path(folder) / "store")
        store.add_user_context(user.context)
        retriever = PrivateContextRetriever(store=store, user_id=user.context.user_id, k=3)
        prompt = ChatPromptTemplate.from_messages(
            [
                ("system", "You write short notes for the user, using their private context."),
                ("human", "Context:\n{context}\n\nTask: {task}"),
            ]
        )
        chain = (
            {"context": retriever | as_bullets, "task": RunnablePassthrough()}
            | prompt
            | ChatLocalLlama(max_tokens=args.max_tokens, seed=5)
            | StrOutputParser()
        )
        print(chain.invoke("Write a reminder to myself about what to finish before August"))


if __name__ == "__main__":
    main()
