"""agents/redact.py over a corpus of real-format credentials and personal data
(tests/data/redaction/corpus.yaml): every value goes whole, ordinary content stays."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from agents.redact import PERSONAL_KINDS, RedactConfig, configure, redact

CORPUS = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "redaction" / "corpus.yaml").read_text())
CASES = CORPUS["cases"]
PERSONAL_CASES = {"email", "phone", "ssn", "ni_number", "iban", "card"}


def _family(kind: str) -> str:
    """The personal-data kind a case belongs to, or "credential"."""
    for family in ("email", "phone", "ssn", "ni_number", "iban", "card"):
        if kind.startswith(family) or kind.startswith({"ssn": "us_ssn", "ni_number": "uk_ni"}.get(family, family)):
            return family
    return "credential"


@pytest.fixture(autouse=True)
def _default_kinds():
    yield
    configure(RedactConfig())


@pytest.mark.parametrize("case", CASES, ids=[c["kind"] for c in CASES])
def test_every_value_goes_whole(case):
    out = redact(case["text"])
    secret = case["secret"]
    assert secret not in out and case["mask"] in out, out
    # No part of it either: no eight characters of the value in a row are left.
    leftovers = {secret[i:i + 8] for i in range(len(secret) - 7)} & {out[i:i + 8] for i in range(len(out) - 7)}
    assert not leftovers, (leftovers, out)


@pytest.mark.parametrize("text", CORPUS["negatives"])
def test_ordinary_content_is_kept(text):
    assert redact(text) == text


def test_the_corpus_covers_forty_kinds_in_every_form():
    assert len({c["kind"] for c in CASES}) >= 40
    families = {_family(c["kind"]) for c in CASES}
    assert families == PERSONAL_CASES | {"credential"}
    for group in ("credential", "personal"):
        forms = {c["form"] for c in CASES if (_family(c["kind"]) == "credential") == (group == "credential")}
        assert forms == {"json", "logfmt", "text", "traceback"}, (group, forms)


def test_the_values_the_fuzzer_planted_are_masked():
    # Issue #14: these reached every sink; the SendGrid key kept its `SG.<id>.` prefix.
    out = redact("call +44 20 7946 0958 ssn 123-45-6789 key SG.ngeVfQFYQlKU0ufo8x5d1A.TwL2iGABf9DHoTf-09kq")
    assert out == "call [PHONE] ssn [SSN] key [REDACTED_SENDGRID_KEY]"


@pytest.mark.parametrize("kind", PERSONAL_KINDS)
def test_each_kind_of_personal_data_can_be_kept(kind):
    cases = [c for c in CASES if _family(c["kind"]) == kind]
    configure(RedactConfig(personal_kinds=[k for k in PERSONAL_KINDS if k != kind]))
    for case in cases:
        assert case["secret"] in redact(case["text"]), case["kind"]
    credentials = [c for c in CASES if _family(c["kind"]) == "credential"]
    assert all(c["secret"] not in redact(c["text"]) for c in credentials)


def test_credentials_are_masked_whatever_the_personal_kinds():
    for case in CASES:
        out = redact(case["text"], personal=frozenset())
        assert (case["secret"] in out) == (_family(case["kind"]) != "credential"), case["kind"]


def test_an_unknown_kind_is_refused_by_the_configuration():
    with pytest.raises(ValidationError):
        RedactConfig(personal_kinds=["passport"])


def test_redaction_stays_cheap_on_ordinary_lines():
    lines = CORPUS["negatives"] * 50
    started = time.process_time()
    for line in lines:
        redact(line)
    per_line = (time.process_time() - started) / len(lines)
    assert per_line < 200e-6, per_line  # ~30 µs here; samples are redacted on the hot path


def test_remembered_answers_are_the_answers_and_follow_the_configured_kinds():
    """redact keeps its last answers for short texts: asked again, every case is masked as
    the first time (the rules themselves, `_redact`, give the same), also after the kinds
    of personal data change, and what it keeps stays bounded."""
    from agents import redact as module

    module.forget()
    first = [redact(case["text"]) for case in CASES]
    assert [redact(case["text"]) for case in CASES] == first
    assert first == [module._redact(case["text"], False, module._enabled) for case in CASES]
    email = next(case for case in CASES if _family(case["kind"]) == "email")
    assert email["secret"] not in redact(email["text"])
    configure(RedactConfig(personal_kinds=[]))
    assert email["secret"] in redact(email["text"])  # no personal kinds masked now: the text stays
    configure(RedactConfig())
    assert email["secret"] not in redact(email["text"])
    for n in range(module._REMEMBERED + 10):
        redact(f"token={n}")
    assert len(module._remembered) <= module._REMEMBERED


def _texts_near_every_kind() -> list[str]:
    """Real log lines (loghub, stack traces), the corpus, and each corpus text inside log
    lines and beside digits, signs and capitals, where a gate could cut too close."""
    import random

    root = Path(__file__).resolve().parents[1] / "data"
    real = []
    for path in sorted((root / "loghub2").glob("*/*.csv")) + sorted((root / "extract" / "stacktraces").glob("*")):
        if path.is_file():
            real += path.read_text(errors="replace").splitlines()[:300]
    rnd = random.Random(7)
    # Numbers at the edges of their kinds: the shortest national number (Berlin, 10 digits),
    # Paris, London, New York in three forms, an SSN, an NI number, a test card, a key of
    # exactly 32 characters, Visa's 13-digit test number; and look-alikes that must stay.
    edges = ["call 030 1234567", "tel. 01 42 68 53 00", "020 7946 0958", "(212) 555-0147", "212.555.0147",
             "+1 212 555 0147", "ssn 123-45-6789", "AB 12 34 56 C", "card 4111 1111 1111 1111", "card 4222222222222",
             "key=aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1g", '"GET /a HTTP/1.1" 503 1234 "-"', "030 123456"]
    texts = edges + [case["text"] for case in CASES] + list(CORPUS["negatives"]) + real
    for case in CASES:
        for _ in range(6):
            left, right = rnd.choice(real), rnd.choice(real)
            glue = rnd.choice([" ", "\n", "-", "+", "0", " 12 ", "(", ") ", "AB", "=", ": "])
            tail = rnd.choice(["", " ", "0", "\n"])
            texts.append(f"{left}{glue}{case['text']}{tail}{right}")
            secret = case["secret"]
            cut = rnd.randrange(1, max(2, len(secret)))
            texts.append(secret[:cut] + rnd.choice([" ", "-", ".", "", "9", "X"]) + secret[cut:])
    return texts


def test_the_guards_and_gates_change_nothing(monkeypatch):
    """The rules' guards and the personal patterns' gates only skip work: over thousands of
    real lines, the corpus and its values cut and glued to them, the masked text is the
    one every rule and pattern run over gives."""
    from agents import redact as module

    texts = _texts_near_every_kind()
    assert len(texts) > 3000
    fast = [module._redact(text, False, module._enabled) for text in texts]
    monkeypatch.setattr(module, "_GATED", False)
    slow = [module._redact(text, False, module._enabled) for text in texts]
    assert sum(a != text for a, text in zip(slow, texts)) > 300  # many of them hold something to mask
    assert [i for i, (a, b) in enumerate(zip(fast, slow)) if a != b] == []
    assert fast[:2] == ["call [PHONE]", "tel. [PHONE]"]
    assert fast[11:13] == ['"GET /a HTTP/1.1" 503 1234 "-"', "030 123456"]  # a size; nine digits: no number


def _secret_field_names() -> list[str]:
    """Every name the secret-field rules take (`_SECRET_KEYS` spelled out, each `[_-]?`
    three ways)."""
    seps = ["_", "-", ""]
    names = ["pass", "password", "passwd", "passphrase", "pwd", "secret", "token", "apikey", "x-api-key",
             "credential", "credentials", "sig", "signature"]
    for sep in seps:
        names += [f"client{sep}secret", f"access{sep}token", f"refresh{sep}token", f"auth{sep}token",
                  f"api{sep}key", f"access{sep}key", f"private{sep}key", f"session{sep}id", f"signing{sep}secret",
                  f"webhook{sep}secret", f"secret{sep}key", f"secret{sep}access{sep}key"]
        names += [f"access{sep}key{sep2}id" for sep2 in seps]
    return names


@pytest.mark.parametrize("form", ['{name}={value}', '{name} = {value}', '{name}: {value}', '"{name}": "{value}"',
                                  '"{name}" : "{value}"', 'DB_{name}={value}', 'x.{name}:{value}'])
def test_every_secret_field_name_is_masked_in_every_form(form):
    """The secret-field rules run only where a field name of theirs and its separator
    stand (`_names_a_secret_field`): each name they take, in either case, still goes."""
    for name in _secret_field_names():
        for spelled in (name, name.upper(), name.title()):
            text = "login failed, " + form.format(name=spelled, value="hunter2-Xq81") + " retrying"
            out = redact(text)
            assert "hunter2" not in out and "[REDACTED]" in out, text


def test_a_key_word_that_names_no_field_skips_the_secret_field_rules(monkeypatch):
    """"KeyError: 'customer_id'" and a "tokens" directory hold the rules' guard words but
    no field of theirs: the rules are skipped, and the text is what running them gives."""
    from agents import redact as module

    text = "KeyError: 'customer_id' in /app/tokens/session.py, line 41"
    assert module._plan(text)[0] != 0  # the guard holds: before, both rules ran
    assert not module._names_a_secret_field(text.lower())
    assert module._redact(text, False, module._enabled) == text
    monkeypatch.setattr(module, "_GATED", False)  # every rule run
    assert module._redact(text, False, module._enabled) == text
