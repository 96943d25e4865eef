"""The rule that finds the object an S3 event names, its key URL-encoded (as S3 documents for its
notifications) or raw (EventBridge's encoding is not documented), against a fake bucket."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from etl_common.event_object import (
    EventObjectNotFound,
    EventObjectProbeDenied,
    KeyForm,
    Probe,
    key_candidates,
    normalize_version,
    resolve_key,
)
from etl_common.layout import delivered_key


class FakeBucket:
    """Object versions by key; HeadObject answers 404 for a missing key or version (a caller
    with s3:ListBucket), or 403 with `denied_when_missing` (a caller without it)."""

    def __init__(self, denied_when_missing: bool = False) -> None:
        self.versions: dict[str, list[str]] = {}
        self.denied_when_missing = denied_when_missing
        self.probed: list[str] = []

    def put(self, key: str) -> str:
        version = f"v{sum(map(len, self.versions.values())) + 1}"
        self.versions.setdefault(key, []).append(version)
        return version

    def probe(self, version_id: str | None):
        def head(key: str) -> Probe:
            self.probed.append(key)
            held = self.versions.get(key, [])
            if held and (normalize_version(version_id) is None or version_id in held):
                return Probe.FOUND
            return Probe.DENIED if self.denied_when_missing else Probe.MISSING
        return head

    def resolve(self, delivered: str, version_id: str | None) -> str:
        return resolve_key(delivered, version_id, self.probe(version_id), "bucket").key


# S3 keys are UTF-8 (no lone surrogates), at least one character; these favour the characters
# URL encoding is about: '+', '%', spaces, escapes valid and not, '/', and non-ASCII letters.
KEY_TEXT = st.lists(
    st.one_of(st.sampled_from(["+", "%", " ", "/", "%41", "%2B", "%C3%A9", "%zz", "%%", "é", "ü", "日", "€", "a", "-"]),
              st.characters(blacklist_categories=("Cs",))),
    min_size=1, max_size=12).map("".join)
KEYS = KEY_TEXT.map(lambda rest: "incoming/orders/" + rest)


def encoded(key: str) -> str:
    return delivered_key(key)


# -- the candidates -------------------------------------------------------------------------

@pytest.mark.parametrize(("delivered", "candidates"), [
    ("incoming/orders/plain.csv", ("incoming/orders/plain.csv",)),
    ("incoming/orders/100%.csv", ("incoming/orders/100%.csv",)),          # an invalid escape is kept
    ("incoming/orders/100%25.csv", ("incoming/orders/100%.csv", "incoming/orders/100%25.csv")),
    ("incoming/orders/a+b c%41.csv", ("incoming/orders/a b cA.csv", "incoming/orders/a+b c%41.csv")),
    ("incoming/orders/Q4 ventes été.csv", ("incoming/orders/Q4 ventes été.csv",)),
    ("incoming/orders/Q4+ventes+%C3%A9t%C3%A9.csv",
     ("incoming/orders/Q4 ventes été.csv", "incoming/orders/Q4+ventes+%C3%A9t%C3%A9.csv")),
    ("incoming/orders/%252B.csv", ("incoming/orders/%2B.csv", "incoming/orders/%252B.csv")),  # decoded once
])
def test_candidates_are_the_decoding_then_the_key_as_delivered(delivered, candidates):
    assert key_candidates(delivered) == candidates


def test_one_candidate_asks_nothing_of_s3():
    bucket = FakeBucket()
    resolved = resolve_key("incoming/orders/100%.csv", "v1", bucket.probe("v1"))
    assert (resolved.key, resolved.form) == ("incoming/orders/100%.csv", KeyForm.ONLY)
    assert bucket.probed == []


@pytest.mark.parametrize("version_id", [None, "null", ""])
def test_null_version_is_the_latest(version_id):
    assert normalize_version(version_id) is None
    assert normalize_version("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY") == "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"


# -- the named keys, both ways ----------------------------------------------------------------

NAMED = ["incoming/orders/a+b c%41.csv", "incoming/orders/100%.csv", "incoming/orders/Q4 ventes été.csv"]


@pytest.mark.parametrize("key", NAMED)
@pytest.mark.parametrize("deliver", [encoded, lambda key: key], ids=["url", "raw"])
@pytest.mark.parametrize("versioned", [True, False], ids=["version", "null"])
def test_named_keys_resolve_either_way(key, deliver, versioned):
    bucket = FakeBucket()
    version = bucket.put(key)
    assert bucket.resolve(deliver(key), version if versioned else "null") == key


@pytest.mark.parametrize("deliver", [encoded, lambda key: key], ids=["url", "raw"])
def test_both_keys_uploaded_the_version_id_decides(deliver):
    """`a+b c%41.csv` raw decodes to `a b cA.csv`, which exists too: each event's version id
    belongs to one of them."""
    bucket = FakeBucket()
    literal, spaced = "incoming/orders/a+b c%41.csv", "incoming/orders/a b cA.csv"
    literal_version, spaced_version = bucket.put(literal), bucket.put(spaced)
    assert bucket.resolve(deliver(literal), literal_version) == literal
    assert bucket.resolve(deliver(spaced), spaced_version) == spaced


def test_both_keys_uploaded_without_a_version_id_prefers_the_decoded_one():
    bucket = FakeBucket()
    bucket.put("incoming/orders/a+b.csv")
    bucket.put("incoming/orders/a b.csv")
    resolved = resolve_key("incoming/orders/a+b.csv", "null", bucket.probe(None))
    assert (resolved.key, resolved.form) == ("incoming/orders/a b.csv", KeyForm.DECODED)


def test_neither_key_exists_names_both():
    bucket = FakeBucket()
    bucket.put("incoming/orders/other.csv")
    with pytest.raises(EventObjectNotFound) as missing:
        bucket.resolve("incoming/orders/a+b c%41.csv", "v9")
    message = str(missing.value)
    assert "'incoming/orders/a b cA.csv'" in message and "'incoming/orders/a+b c%41.csv'" in message
    assert "object version v9" in message and "s3://bucket" in message
    assert isinstance(missing.value, FileNotFoundError)


# -- without s3:ListBucket a missing key answers 403 --------------------------------------------

@pytest.mark.parametrize("key", NAMED)
@pytest.mark.parametrize("deliver", [encoded, lambda key: key], ids=["url", "raw"])
def test_a_403_is_not_this_candidate_when_the_other_has_the_version(key, deliver):
    bucket = FakeBucket(denied_when_missing=True)
    version = bucket.put(key)
    assert bucket.resolve(deliver(key), version) == key


def test_a_403_without_a_version_id_cannot_tell():
    bucket = FakeBucket(denied_when_missing=True)
    bucket.put("incoming/orders/a+b.csv")
    with pytest.raises(EventObjectProbeDenied, match="s3:ListBucket"):
        bucket.resolve("incoming/orders/a+b.csv", "null")


def test_neither_key_and_403s_says_what_the_role_needs():
    bucket = FakeBucket(denied_when_missing=True)
    with pytest.raises(EventObjectProbeDenied, match="s3:ListBucket.*s3:GetObjectVersion"):
        bucket.resolve("incoming/orders/a+b.csv", "v1")


# -- properties -------------------------------------------------------------------------------

@given(key=KEYS, raw=st.booleans(), versioned=st.booleans(), denied=st.booleans())
@example(key="incoming/orders/a+b c%41.csv", raw=True, versioned=True, denied=False)
@example(key="incoming/orders/100%.csv", raw=False, versioned=False, denied=False)
@example(key="incoming/orders/Q4 ventes été.csv", raw=False, versioned=True, denied=True)
def test_only_the_uploaded_key_exists_so_it_is_found_either_way(key, raw, versioned, denied):
    """Delivered URL-encoded or raw, with or without a version id, with 404s or 403s for the
    missing candidate: the one uploaded key is the answer."""
    assume(versioned or not denied)  # without a version id a 403 cannot be told from a denial
    bucket = FakeBucket(denied_when_missing=denied)
    version = bucket.put(key)
    assert bucket.resolve(key if raw else encoded(key), version if versioned else "null") == key


@given(key=KEYS, raw=st.booleans())
def test_when_the_decoding_exists_too_the_version_id_still_finds_the_upload(key, raw):
    bucket = FakeBucket()
    decoys = {candidate for delivery in (key, encoded(key)) for candidate in key_candidates(delivery)} - {key}
    for decoy in sorted(decoys):
        bucket.put(decoy)
    version = bucket.put(key)
    assert bucket.resolve(key if raw else encoded(key), version) == key


@given(key=KEYS)
def test_url_encoded_delivery_of_an_existing_key_takes_one_head(key):
    """The documented encoding costs at most one HeadObject (none when decoding changes nothing)."""
    bucket = FakeBucket()
    version = bucket.put(key)
    bucket.resolve(encoded(key), version)
    assert bucket.probed == ([key] if encoded(key) != key else [])


@given(key=KEYS, raw=st.booleans())
def test_candidates_hold_the_key_either_way(key, raw):
    assert key in key_candidates(key if raw else quote_plus(key, safe="/"))
