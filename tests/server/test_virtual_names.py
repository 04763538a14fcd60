"""Any model name -> a spec, or a 400/404 naming the fix; never another error."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors.server._errors import HTTPError
from abstractcore_actors.server._virtual import KINDS, is_virtual, parse_virtual

members = st.sampled_from(["fast", "slow", "openai/gpt-4o", "ollama/llama3:8b", "", " ", "x?y"])
keys = st.sampled_from(
    ["timeout", "after", "max_attempts", "combine", "judge", "min", "bogus", "", "?"]
)
values = st.sampled_from(["1", "0", "-1", "2.5", "nan", "inf", "vote", "judge", "fast", "", "&"])
option = st.tuples(keys, values).map(lambda kv: f"{kv[0]}={kv[1]}") | st.text(max_size=5)


@st.composite
def virtual_names(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(KINDS))
    head = draw(st.sampled_from(["", "0.5:", "x:", "-1:"])) if kind == "hedge" else ""
    names = ",".join(draw(st.lists(members, min_size=0, max_size=10)))
    options = draw(st.lists(option, max_size=4))
    query = ("?" + "&".join(options)) if options or draw(st.booleans()) else ""
    return f"{kind}:{head}{names}{query}"


@given(virtual_names() | st.text(max_size=40).map(lambda t: "ensemble:" + t))
def test_any_virtual_name_parses_or_is_a_clear_400(name: str) -> None:
    assert is_virtual(name)
    try:
        spec = parse_virtual(name)
    except HTTPError as error:
        assert error.status == 400
        assert error.param == "model"
        assert name[:20] in error.message or "invalid virtual model" in error.message
        return
    assert spec.kind == name.partition(":")[0]
    assert 1 <= len(spec.members) <= 8 and all(spec.members)
    assert spec.timeout is None or spec.timeout > 0
    assert spec.after >= 0
    if spec.min_responses is not None:
        assert 1 <= spec.min_responses <= len(spec.members)
    assert (spec.combine == "judge") == (spec.judge is not None)


def test_the_older_hedge_form_still_works() -> None:
    spec = parse_virtual("hedge:0.5:fast,slow")
    assert spec.after == 0.5 and spec.members == ("fast", "slow")
    # a member with a colon in its name is not taken for the older form
    spec = parse_virtual("hedge:ollama/llama3:8b,fast?after=2")
    assert spec.members == ("ollama/llama3:8b", "fast") and spec.after == 2
