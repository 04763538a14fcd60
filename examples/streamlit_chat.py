"""A streaming chat in Streamlit, through the sync facade; the Stop button
cancels the model call.

    streamlit run examples/streamlit_chat.py

Streamlit runs this script again on every interaction. Pressing Stop while
an answer streams is such an interaction: Streamlit ends the running pass
with an exception at its next `st.*` call, the `finally` below closes the
stream, and closing the stream cancels the model call and its upstream
connection. One runtime (a thread) serves every session of the server
(`st.cache_resource`).

The model is the embedded local one unless CHAT_PROVIDER / CHAT_MODEL /
CHAT_BASE_URL say otherwise.
"""

from __future__ import annotations

import os

import streamlit as st

from abstractcore_actors.sync import SyncLLM, SyncRuntime


@st.cache_resource
def chat_llm() -> SyncLLM:
    runtime = SyncRuntime()  # for the server's life: its thread ends with the process
    options = {"base_url": os.environ["CHAT_BASE_URL"]} if os.environ.get("CHAT_BASE_URL") else {}
    return runtime.create_llm(
        os.environ.get("CHAT_PROVIDER", "local"), os.environ.get("CHAT_MODEL"), **options
    )


st.title("abstractcore-actors chat")
history: list[dict[str, str]] = st.session_state.setdefault("history", [])
for turn in history:
    st.chat_message(turn["role"]).text(turn["content"])

if prompt := st.chat_input("Say something"):
    history.append({"role": "user", "content": prompt})
    st.chat_message("user").text(prompt)
    with st.chat_message("assistant"):
        st.button("Stop")  # a click reruns the script, which stops this answer
        stream = chat_llm().stream(messages=history)
        try:
            text = st.write_stream(chunk.text for chunk in stream)
        finally:
            stream.close()  # stopped or not: the model call ends with this pass
    history.append({"role": "assistant", "content": str(text)})
