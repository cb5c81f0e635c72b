"""docs/configuration.md is generated from the settings classes; this fails when someone forgets to regenerate."""

from __future__ import annotations

import pytest

from jobs.common import settings_doc

pytestmark = pytest.mark.unit


def test_configuration_reference_is_current() -> None:
    assert settings_doc.DOC.read_text() == settings_doc.render(), "run: python -m jobs.common.settings_doc"


def test_every_variable_is_documented_once() -> None:
    text = settings_doc.render()
    variables = [line.split("`")[1] for line in text.splitlines() if line.startswith("| `BROOK_")]
    assert len(variables) == len(set(variables)), "two settings groups claim the same variable"
    assert {"BROOK_KAFKA_BOOTSTRAP", "BROOK_PG_HOST", "BROOK_S3_ENDPOINT", "BROOK_PG_SCHEMA"} <= set(variables)
