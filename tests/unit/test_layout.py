"""The bucket layout: `incoming/<dataset>/<rest>` and every key derived from it, and the way back."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from etl_common.layout import (
    MAX_KEY_BYTES,
    UNKNOWN_DATASET,
    Quarantined,
    Upload,
    event_key,
    is_quarantined,
    key_bytes,
    parquet_prefix,
    quarantine_prefixes,
    s3_uri,
)


@pytest.mark.parametrize(("key", "dataset", "rest"), [
    ("incoming/orders/orders-2026-11-20.csv", "orders", "orders-2026-11-20.csv"),
    ("incoming/orders/2026/11/20/part-1.csv", "orders", "2026/11/20/part-1.csv"),
    ("incoming/customers/a/b.csv", "customers", "a/b.csv"),
    ("incoming/file.csv", UNKNOWN_DATASET, "file.csv"),
    ("incoming/orders/Q4 ventes été.csv", "orders", "Q4 ventes été.csv"),
    ("incoming/données clients/fichier n°1.csv", "données clients", "fichier n°1.csv"),
    ("incoming/orders/a+b%20c.csv", "orders", "a+b%20c.csv"),
])
def test_parse(key, dataset, rest):
    upload = Upload.parse(key)
    assert (upload.key, upload.dataset, upload.rest) == (key, dataset, rest)
    assert not upload.is_folder_marker


def test_unknown_dataset_is_underscored():
    assert UNKNOWN_DATASET == "_unknown"


def test_folder_markers():
    upload = Upload.parse("incoming/orders/")
    assert upload.is_folder_marker
    assert (upload.dataset, upload.rest) == ("orders", "")
    assert Upload.parse("incoming/orders/2026/").is_folder_marker
    assert Upload.parse("incoming/").is_folder_marker
    assert Upload.parse("incoming/").dataset == UNKNOWN_DATASET


def test_empty_dataset_folder_is_unknown():
    assert Upload.parse("incoming//file.csv").dataset == UNKNOWN_DATASET


@pytest.mark.parametrize(("key", "marker"), [
    ("incoming/orders/_SUCCESS", True), ("incoming/orders/.keep", True),
    ("incoming/orders/2026/_started", True), ("incoming/.hidden", True),
    ("incoming/orders/orders.csv", False), ("incoming/orders/my_file.csv", False),
    ("incoming/_orders/x.csv", False),
])
def test_marker_names(key, marker):
    assert Upload.parse(key).is_marker_name() is marker


@pytest.mark.parametrize(("key", "path"), [
    ("incoming/orders/orders-2026-11-20.csv", "orders/orders-2026-11-20.csv"),
    ("incoming/orders/2026/11/x.csv.gz", "orders/2026/11/x.csv.gz"),
    ("incoming/file.csv", "_unknown/file.csv"),
    ("incoming//file.csv", "_unknown//file.csv"),
    ("incoming/_unknown/file.csv", "__unknown/file.csv"),
    ("incoming/_x/file.csv", "__x/file.csv"),
    ("incoming/readings/day.txt", "readings/day.txt"),
    ("incoming/orders/Q4 ventes été.csv", "orders/Q4 ventes été.csv"),
])
def test_derived_keys(key, path):
    assert Upload.parse(key).derived_keys() == {
        "error": f"error/{path}",
        "error_report": f"error/_reports/{path}.report.json",
        "rejects": f"error/_rejects/{path}.rejects.csv",
        "rejects_report": f"error/_rejects/{path}.rejects.csv.report.json",
        "accepted_report": f"reports/{path}.report.json",
    }
    assert Upload.parse(key).history_report_key("20261120T100000Z") == (
        f"reports/_history/{path}/20261120T100000Z.report.json")


@pytest.mark.parametrize("name", ["twice*.csv", "a?.csv", "[x].csv", "{a,b}.csv", "back\\slash.csv",
                                  "c:d.csv", "..csv", "été.csv", "_x.csv", "(1).csv", "x" * 900 + ".csv"])
def test_staged_keys_are_short_ascii_and_no_path_pattern(name):
    """Spark reads a staged key as a Hadoop path: a glob, `:` or `..` in it would read other files
    or fail. The staged key is the source id and a digest of the version, never the name."""
    upload = Upload.parse(f"incoming/orders/{name}")
    key = upload.staged_key("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo")
    assert re.fullmatch(r"staging/orders/[A-Za-z0-9][A-Za-z0-9._-]{0,59}-[0-9a-f]{12}-[0-9a-f]{12}\.csv", key), key
    assert key != upload.staged_key("another-version") and len(key) < 120
    assert Upload.parse("incoming/orders/x.csv.gz").staged_key(None).endswith(".csv.gz")


def test_parquet_prefix_and_uris():
    assert parquet_prefix("orders") == "transformed/orders/"
    assert s3_uri("etl-data", parquet_prefix("orders")) == "s3://etl-data/transformed/orders/"


@pytest.mark.parametrize(("delivered", "key"), [
    ("incoming/orders/Q4+ventes+%C3%A9t%C3%A9.csv", "incoming/orders/Q4 ventes été.csv"),
    ("incoming/orders/a%2Bb.csv", "incoming/orders/a+b.csv"),
    ("incoming/orders/plain.csv", "incoming/orders/plain.csv"),
])
def test_event_key_decodes_what_s3_encodes(delivered, key):
    assert event_key(delivered) == key


def test_source_id_is_deterministic_readable_and_distinct():
    first = Upload.parse("incoming/orders/orders-2026-11-20.csv").source_id
    assert first == Upload.parse("incoming/orders/orders-2026-11-20.csv").source_id
    assert re.fullmatch(r"orders-2026-11-20-[0-9a-f]{12}", first)
    # the same name in another folder, or another dataset, is another source
    assert first != Upload.parse("incoming/orders/2026/orders-2026-11-20.csv").source_id
    assert first != Upload.parse("incoming/other/orders-2026-11-20.csv").source_id


@pytest.mark.parametrize("key", ["incoming/orders/Q4 ventes été.csv", "incoming/orders/" + "x" * 200 + ".csv",
                                 "incoming/orders/.csv", "incoming/orders/a/b c+d.csv.gz"])
def test_source_id_is_filesystem_safe(key):
    source_id = Upload.parse(key).source_id
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,60}-[0-9a-f]{12}", source_id), source_id


def test_quarantined_goes_back_to_incoming():
    quarantined = Quarantined.parse("error/orders/2026/x.csv")
    assert (quarantined.dataset, quarantined.rest) == ("orders", "2026/x.csv")
    assert quarantined.incoming_key == "incoming/orders/2026/x.csv"
    assert quarantined.report_key == "error/_reports/orders/2026/x.csv.report.json"
    # exactly where it came from: loose in incoming/, or in a dataset folder beginning with `_`
    assert Quarantined.parse("error/_unknown/loose.csv").incoming_key == "incoming/loose.csv"
    assert Quarantined.parse("error/_unknown//loose.csv").incoming_key == "incoming//loose.csv"
    assert Quarantined.parse("error/__unknown/loose.csv").incoming_key == "incoming/_unknown/loose.csv"
    assert Quarantined.parse("error/___x/y.csv").incoming_key == "incoming/__x/y.csv"


@pytest.mark.parametrize("key", ["incoming/orders/Q4 ventes été.csv", "incoming/_unknown/x.csv", "incoming/x.csv",
                                 "incoming//x.csv", "incoming/orders/", "incoming/" + "é" * 505 + "abc"])
def test_quarantined_round_trips_an_upload(key):
    upload = Upload.parse(key)
    quarantined = Quarantined.parse(upload.error_key)
    assert quarantined.incoming_key == upload.key
    assert quarantined.report_key == upload.error_report_key


def test_history_report_key():
    quarantined = Quarantined.parse("error/orders/2026/x.csv")
    assert quarantined.history_report_key("20261120T100000Z") == (
        "reports/_history/orders/2026/x.csv/20261120T100000Z.report.json")
    # a stamp is one name: a `/` (or a `%`) in a version id is escaped
    assert quarantined.history_report_key("reprocess-a/b%+c") == (
        "reports/_history/orders/2026/x.csv/reprocess-a%2Fb%25+c.report.json")


def test_quarantined_must_be_under_error():
    with pytest.raises(ValueError, match="not under error/"):
        Quarantined.parse("incoming/orders/x.csv")


@pytest.mark.parametrize("key", [
    "error/_reports/orders/x.csv.report.json", "error/_rejects/orders/x.csv.rejects.csv",
    "error/_rejects/orders/x.csv.rejects.csv.report.json", "error/_long/_reports/orders/x~ab.report.json",
    "error/_x/y.csv",        # a dataset folder `_x` is `__x` here
    "error/_unknown/a/b.csv",  # a key with no dataset folder has no `/` after it (but a leading one)
    "error/_/short.csv",     # `_` is only for a folderless name too long for `_unknown/`
    "error/orders", "error//x.csv", "error/",
])
def test_only_quarantined_copies_parse(key):
    """reprocess sends back only what the layout makes a quarantined copy: never a report, rejects
    or other object of its own regions, nor a key no upload maps to."""
    assert not is_quarantined(key)
    with pytest.raises(ValueError):
        Quarantined.parse(key)


def test_quarantine_prefixes():
    assert quarantine_prefixes("orders") == ["error/orders/"]
    assert quarantine_prefixes("_x") == ["error/__x/"]
    assert quarantine_prefixes("_unknown") == ["error/__unknown/", "error/_unknown/", "error/_/"]


# -- derived names no upload can produce, and that S3 takes ---------------------------------------

def test_an_upload_named_like_a_report_cannot_replace_it():
    """`victim.csv.report.json` uploaded after a bad `victim.csv` was quarantined beside its report,
    replacing it; reprocess then archived the forged one."""
    victim, forged = Upload.parse("incoming/orders/victim.csv"), Upload.parse("incoming/orders/victim.csv.report.json")
    assert forged.error_key not in victim.derived_keys().values()
    assert victim.error_report_key not in forged.derived_keys().values()
    assert not is_quarantined(victim.error_report_key) and is_quarantined(forged.error_key)


def test_rejects_are_named_by_the_whole_path():
    """`r.csv`, `r.csv.gz` and `r.rejects.csv` all wrote `error/<ds>/r.rejects.csv` and its report."""
    uploads = [Upload.parse(f"incoming/readings/{name}") for name in ("r.csv", "r.csv.gz", "r.rejects.csv", "r")]
    named = [key for upload in uploads for key in upload.derived_keys().values()]
    assert len(named) == len(set(named))
    assert [u.rejects_key for u in uploads[:2]] == ["error/_rejects/readings/r.csv.rejects.csv",
                                                    "error/_rejects/readings/r.csv.gz.rejects.csv"]


def test_a_dataset_folder_named_unknown_is_not_a_loose_file():
    """`incoming/x.csv` and `incoming/_unknown/x.csv` both landed at `error/_unknown/x.csv`."""
    loose, folder = Upload.parse("incoming/x.csv"), Upload.parse("incoming/_unknown/x.csv")
    assert loose.dataset == folder.dataset == UNKNOWN_DATASET
    assert (loose.error_key, folder.error_key) == ("error/_unknown/x.csv", "error/__unknown/x.csv")
    assert not set(loose.derived_keys().values()) & set(folder.derived_keys().values())


def test_an_upload_under_history_cannot_replace_an_archived_report():
    """`incoming/orders/history/<name>.<stamp>` had the report key of `<name>`'s archived report."""
    archived = Quarantined.parse("error/orders/x.csv").history_report_key("20261120T100000Z")
    upload = Upload.parse("incoming/orders/history/x.csv.20261120T100000Z")
    assert archived not in upload.derived_keys().values()
    assert archived.startswith("reports/_history/") and upload.accepted_report_key.startswith("reports/orders/")


@pytest.mark.parametrize("name", ["x" * 1000, "é" * 500, "日" * 333, "a/" * 499 + "b.csv"])
def test_near_the_limit_every_derived_key_fits(name):
    """The report key of a key near S3's limit was longer than S3 allows: the valid file ended in
    error/ without a report."""
    key = ("incoming/orders/" + name)
    key = key.encode()[:MAX_KEY_BYTES].decode("utf-8", "ignore")
    upload, twin = Upload.parse(key), Upload.parse(key[:-1] + ("y" if key[-1] != "y" else "z"))
    derived = [*upload.derived_keys().values(), upload.history_report_key("20261120T100000Z"),
               upload.history_report_key("reprocess-" + "v" * 1000), upload.staged_key("v"),
               upload.job_contract_key("v")]
    assert all(key_bytes(k) <= MAX_KEY_BYTES for k in derived), [key_bytes(k) for k in derived]
    assert upload.accepted_report_key.startswith("reports/_long/orders/" + name[:100])
    assert re.search(r"~[0-9a-f]{64}\.report\.json$", upload.accepted_report_key)
    assert upload.accepted_report_key == Upload.parse(key).accepted_report_key  # deterministic
    assert not set(derived) & set(twin.derived_keys().values())
    assert Quarantined.parse(upload.error_key).incoming_key == key


def test_a_loose_name_too_long_for_unknown_is_quarantined_under_an_underscore():
    key = "incoming/" + "x" * (MAX_KEY_BYTES - len("incoming/"))
    upload = Upload.parse(key)
    assert (upload.dataset, upload.error_key) == (UNKNOWN_DATASET, "error/_/" + "x" * 1015)
    assert key_bytes(upload.error_key) < MAX_KEY_BYTES
    assert Quarantined.parse(upload.error_key).incoming_key == key
    assert Upload.parse("incoming/" + "x" * 1009).error_key == "error/_unknown/" + "x" * 1009  # fits: 1,024 bytes


# Names that collided, or came near to, in the layout before: report and rejects suffixes, `.gz`,
# `_unknown`, `history/`, folders beginning with `_`, the layout's own region names, unicode.
SEGMENTS = ["orders", "readings", "_unknown", "__unknown", "_x", "__x", "_", "", "history", "_history", "_reports",
            "_rejects", "_long", "r", "r.csv", "r.csv.gz", "r.rejects.csv", "r.csv.report.json",
            "r.rejects.csv.report.json", "r.csv.20261120T100000Z", "r.csv.20261120T100000Z.report.json",
            "été", "日本"]
SEGMENT = st.one_of(st.sampled_from(SEGMENTS),
                    st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), max_size=4))
STAMPS = ["20261120T100000Z", "reprocess-null", "reprocess-3HL4kqtJ+rm/Sp.x%2F", "reprocess-" + "v" * 1000]


@st.composite
def upload_keys(draw: st.DrawFn) -> str:
    """`incoming/` and 1-4 segments; sometimes padded to between 950 and 1,024 bytes."""
    segments = draw(st.lists(SEGMENT, min_size=1, max_size=4))
    key = "incoming/" + "/".join(segments)
    target = draw(st.one_of(st.none(), st.integers(950, MAX_KEY_BYTES)))
    if target is not None:
        filler = draw(st.sampled_from(["a", "é", "日", "/"]))
        head, _, last = key.rpartition("/")
        key = f"{head}/{filler * max(0, (target - key_bytes(key)) // len(filler.encode()))}{last}"
    return key


def _siblings(key: str) -> list[str]:
    """Keys whose derived names an old layout confused with `key`'s."""
    dataset_rest = key[len("incoming/"):]
    return [key, key + ".report.json", key + ".rejects.csv", key + ".gz", key.removesuffix(".gz"),
            key.replace(".csv", ".rejects.csv"), "incoming/_unknown/" + dataset_rest,
            "incoming/" + dataset_rest.partition("/")[2], "incoming/" + dataset_rest.replace("/", "/history/", 1)
            + ".20261120T100000Z"]


def _every_derived_key(key: str) -> dict[str, tuple[str, str, str | None]]:
    upload = Upload.parse(key)
    owned = {derived: (key, kind, None) for kind, derived in upload.derived_keys().items()}
    owned |= {upload.history_report_key(stamp): (key, "history", stamp) for stamp in STAMPS}
    for version in ("v1", None):
        owned |= {upload.staged_key(version): (key, "staged", version),
                  upload.job_contract_key(version): (key, "job_contract", version)}
    owned[f"{parquet_prefix(upload.dataset)}d=1/{upload.source_id}-00000.snappy.parquet"] = (key, "parquet", None)
    assert len(owned) == 5 + len(STAMPS) + 4 + 1, "two kinds of one upload share a key"
    return owned


@settings(max_examples=300, deadline=None)
@given(st.lists(upload_keys(), min_size=1, max_size=4))
@example(["incoming/orders/victim.csv"])
@example(["incoming/readings/r.csv"])
@example(["incoming/x.csv"])
@example(["incoming/orders/x.csv"])
@example(["incoming/orders/" + "é" * 504])
def test_derived_keys_are_one_to_one_and_fit(drawn):
    """No two (upload key, kind, stamp or version) give one S3 key, across every upload and every
    kind; each derived key is at most 1,024 bytes of UTF-8, outside incoming/, and the way back
    from error/ is exact."""
    uploads = {k for key in drawn for k in _siblings(key) if key_bytes(k) <= MAX_KEY_BYTES}
    owners: dict[str, tuple[str, str, str | None]] = {}
    for key in sorted(uploads):
        for derived, owner in _every_derived_key(key).items():
            assert owners.setdefault(derived, owner) == owner, f"{derived!r}: {owners[derived]} and {owner}"
            assert key_bytes(derived) <= MAX_KEY_BYTES, (derived, owner)
            assert not derived.startswith("incoming/")
            assert is_quarantined(derived) == (owner[1] == "error"), (derived, owner)
        assert Quarantined.parse(Upload.parse(key).error_key).incoming_key == key


def test_keys_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Upload.parse("incoming/orders/x.csv").dataset = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Quarantined.parse("error/orders/x.csv").dataset = "other"  # type: ignore[misc]
