"""Wire formats: one two-way codec per protocol, as plain dicts.

`openai_chat` (+ `openai_chat_stream`, `openai_chat_request`),
`openai_embeddings`, `anthropic_messages`. The adapters, the gateway and the
fake servers all encode and decode through these modules, so a protocol
detail is written once. Private: depends only on `types` and `errors`.
"""
