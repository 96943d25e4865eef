"""Where an object lives in the bucket's zones, derived from its `incoming/` key."""

from __future__ import annotations

from dataclasses import dataclass

INCOMING = "incoming/"
UNKNOWN_DATASET = "_unknown"


@dataclass(frozen=True)
class ObjectKey:
    """An incoming key split into its dataset and the path below the dataset folder."""

    key: str
    dataset: str
    rest: str

    @classmethod
    def parse(cls, key: str) -> "ObjectKey":
        """`incoming/<dataset>/<rest>`; a key with no dataset folder gets the `_unknown` dataset."""
        body = key[len(INCOMING):] if key.startswith(INCOMING) else key
        dataset, sep, rest = body.partition("/")
        if not sep or not dataset:
            return cls(key=key, dataset=UNKNOWN_DATASET, rest=body)
        return cls(key=key, dataset=dataset, rest=rest)

    def in_zone(self, zone: str) -> str:
        """The same object's key in another zone (`staging`, `error`, `reports`)."""
        return f"{zone}/{self.dataset}/{self.rest}"

    @property
    def is_folder_marker(self) -> bool:
        return self.key.endswith("/")
