"""Redaction's plan (which rules and personal-data patterns can change a text: their
guards and gates, `redact._plan`) compiled (`_scan.redact_plan`) gives Python's answer
bit for bit, on real lines, the redaction corpus and generated text made of the pieces
each gate looks for; and `redact` masks the same either way. No broker."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import redact as module
from agents.extract import findings as _findings  # noqa: F401  (it gives redaction its compiled plan)
from agents.extract.compiled import pure_python

pytestmark = pytest.mark.skipif(module._compiled_plan is None,
                                reason="compiled parts off: _scan not built (no C compiler) or LOGWARDEN_PURE_PYTHON set")

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = yaml.safe_load((DATA / "redaction" / "corpus.yaml").read_text())


def _real_texts() -> list[str]:
    texts = [case["text"] for case in CORPUS["cases"]] + list(CORPUS["negatives"])
    for path in sorted((DATA / "loghub2").glob("*/*.csv")) + sorted((DATA / "extract" / "stacktraces").glob("*.log")):
        texts += path.read_text(errors="replace").splitlines()[:400]
    return texts


def test_the_same_plan_on_real_lines_and_the_corpus():
    texts = [t for t in _real_texts() if t.isascii()]
    assert len(texts) > 3000
    planned = [module._compiled_plan(text) for text in texts]
    assert planned == [module._plan(text) for text in texts]
    # nearly every rule's guard and every personal pattern's gate holds somewhere, not everywhere
    rules = [r for r, _p in planned]
    personal = [p for _r, p in planned]
    assert sum(any(r >> i & 1 for r in rules) for i in range(len(module._RULES))) > 0.8 * len(module._RULES)
    for j in range(len(module._PERSONAL)):
        assert 0 < sum(p >> j & 1 for p in personal) < len(texts), module._PERSONAL[j][0]
    assert 0 < sum(bool(p & module._NUMERIC) for p in personal) < len(texts)
    assert 0 < sum(bool(p & module._TOKEN) for p in personal) < len(texts)


def test_text_that_is_not_ascii_gets_no_plan():
    assert module._compiled_plan("café 4111 1111 1111 1111") is None
    assert module._compiled_plan("") == module._plan("")


# Pieces each gate and guard looks for, and what sits next to them.
_PIECES = ["0", "1", "7", "9", "12", "123", "A", "B", "Z", "a", "x", " ", "-", ".", "(", ")", "+", "\n", "/", "_", "=",
           "@", ":", "sk-", "SG.", "key", "KEY", "Tel", "phone", "ssn", "Bearer ", "AKIA", "://", "xox", "eyJ", "GB",
           "123-45-6789", "(212) 555-0147", "020 7946 0958", "+44", "AB 12 34 56 C", "4111 1111 1111 1111",
           "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gZ", "PRIVATE KEY-----", "authorization", "hooks.slack.com/", "_live_"]


@settings(max_examples=4000, deadline=None)
@given(parts=st.lists(st.sampled_from(_PIECES), max_size=30))
def test_the_same_plan_on_text_made_of_the_pieces_the_gates_look_for(parts):
    text = "".join(parts)
    assert module._compiled_plan(text) == module._plan(text)


def test_redact_masks_the_same_with_the_plan_compiled_or_not():
    texts = _real_texts()
    module.forget()
    compiled = [module.redact(text) for text in texts]
    module.forget()
    with pure_python():
        assert module._compiled_plan is None
        python = [module.redact(text) for text in texts]
    module.forget()
    assert compiled == python
    assert sum(a != t for a, t in zip(compiled, texts)) > 100


def test_the_extraction_stage_gives_redaction_its_compiled_plan():
    """Importing the extraction stage (as every worker does) hands redaction the compiled
    plan: redaction itself imports no stage."""
    import subprocess
    import sys

    code = ("import agents.redact as r; before = r._compiled_plan; import agents.extract.findings; "
            "print(before is None, r._compiled_plan is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True"]
