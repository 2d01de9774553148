"""The manifest: every enabled rule's filters and expressions, for the union check (§12). Pure
(the format; apply.write_manifest writes it, the handler reads it).

`reconcile apply` writes it to the log table (one item, key MANIFEST/MANIFEST) after the
schedules, from the schedules it leaves live; the executor reads it once per stop firing. The
body is zlib-compressed JSON: a thousand rules fit one item. Versioned: an executor refuses a
version it does not know (and acts as if there were no manifest, with a warning), as it does
a manifest that is stale (its entry for the firing rule is not the event it was sent).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.calendars import Calendar

VERSION = 1
KEY = {"pk": {"S": "MANIFEST"}, "sk": {"S": "MANIFEST"}}
MAX_BODY_BYTES = 380_000  # DynamoDB's item limit is 400 KB


class ManifestUnreadable(Exception):
    """The manifest item exists but cannot be used; the message says why."""


@dataclass(frozen=True)
class RuleEntry:
    """One enabled rule, as its schedules' Inputs and expressions say."""

    name: str
    resource: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    targets: tuple[tuple[str, tuple[str, ...]], ...]
    timezone: str
    start: str | None = None
    stop: str | None = None
    calendar: Calendar | None = None

    def as_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "name": self.name,
            "resource": self.resource,
            "accounts": list(self.accounts),
            "regions": list(self.regions),
            "targets": {name: list(values) for name, values in self.targets},
            "timezone": self.timezone,
        }
        for key in ("start", "stop"):
            if getattr(self, key) is not None:
                value[key] = getattr(self, key)
        if self.calendar is not None:
            value["calendar"] = self.calendar.as_event()
        return value

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> RuleEntry:
        return cls(
            name=str(value["name"]),
            resource=str(value.get("resource", "ec2")),
            accounts=tuple(value["accounts"]),
            regions=tuple(value["regions"]),
            targets=_targets(value["targets"]),
            timezone=str(value["timezone"]),
            start=value.get("start"),
            stop=value.get("stop"),
            calendar=Calendar.from_event(value["calendar"]) if "calendar" in value else None,
        )


@dataclass(frozen=True)
class Manifest:
    written_at: str
    rules: tuple[RuleEntry, ...]

    def rule(self, name: str) -> RuleEntry | None:
        return next((r for r in self.rules if r.name == name), None)

    def stale_for(self, firing: RuleEntry) -> str | None:
        """Why the manifest does not hold the firing rule as its event describes it, if not.

        `firing` carries what the event says (its expressions and time zone are not compared:
        the event does not carry them).
        """
        entry = self.rule(firing.name)
        if entry is None:
            return f"it has no rule {firing.name} (written {self.written_at})"
        if (entry.accounts, entry.regions, entry.targets, entry.resource, entry.calendar) != (
            firing.accounts,
            firing.regions,
            firing.targets,
            firing.resource,
            firing.calendar,
        ):
            return (
                f"its entry for rule {entry.name} is not the event's (written "
                f"{self.written_at}): run reconcile apply"
            )
        return None


def build(
    schedules: Iterable[tuple[Mapping[str, Any], str, str, bool]], written_at: str
) -> Manifest:
    """From each live schedule's (event, expression, time zone, enabled): the enabled rules."""
    by_rule: dict[str, dict[str, Any]] = {}
    for event, expression, timezone, enabled in schedules:
        if not enabled:
            continue
        entry = by_rule.setdefault(
            str(event["rule"]),
            {
                "name": event["rule"],
                "resource": event.get("resource", "ec2"),
                "accounts": event["accounts"],
                "regions": event["regions"],
                "targets": event["targets"],
                "timezone": timezone,
                **({"calendar": event["calendar"]} if "calendar" in event else {}),
            },
        )
        entry[str(event["action"])] = expression
    rules = tuple(RuleEntry.from_json(by_rule[name]) for name in sorted(by_rule))
    return Manifest(written_at, rules)


def encode(manifest: Manifest) -> dict[str, Any]:
    """The DynamoDB item."""
    body = json.dumps(
        {"version": VERSION, "rules": [r.as_json() for r in manifest.rules]},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    packed = zlib.compress(body, 9)
    if len(packed) > MAX_BODY_BYTES:
        raise ValueError(f"the manifest is {len(packed)} bytes compressed, over one item")
    return {
        **KEY,
        "kind": {"S": "manifest"},
        "version": {"N": str(VERSION)},
        "written_at": {"S": manifest.written_at},
        "rule_count": {"N": str(len(manifest.rules))},
        "body": {"B": packed},
    }


def decode(item: Mapping[str, Any]) -> Manifest:
    try:
        version = int(item["version"]["N"])
        if version != VERSION:
            raise ManifestUnreadable(
                f"version {version}, this executor reads version {VERSION}: apply again"
            )
        data = json.loads(zlib.decompress(item["body"]["B"]))
        rules = tuple(RuleEntry.from_json(r) for r in data["rules"])
        return Manifest(str(item["written_at"]["S"]), rules)
    except ManifestUnreadable:
        raise
    except (KeyError, TypeError, ValueError, zlib.error) as exc:
        raise ManifestUnreadable(f"cannot decode it ({type(exc).__name__}: {exc})") from exc


def _targets(value: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (str(name), (values,) if isinstance(values, str) else tuple(values))
        for name, values in value.items()
    )
