"""The e-commerce pipeline's own settings (``BROOK_ECOMMERCE_*``): its bucket, its Top-N and its Flink plugins."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from jobs.common.settings import ConfigError, setting

S3_PLUGIN = "s3-fs-hadoop"  # the plugin folder Flink needs for s3:// paths (make flink-s3-plugin)


@dataclass(frozen=True, kw_only=True)
class EcommerceSettings:
    bucket: str = setting(
        "ECOMMERCE_BUCKET",
        "brook-ecommerce",
        help="Bucket of the e-commerce day logs (logs/YYYY-MM-DD/<kind>.jsonl); the generator creates it if missing.",
    )
    top_products: int = setting("ECOMMERCE_TOP_PRODUCTS", 10, help="How many products the daily Top-N keeps.")
    plugins_dir: str = setting(
        "ECOMMERCE_FLINK_PLUGINS_DIR",
        "",
        help="Flink plugins folder holding s3-fs-hadoop/ (the batch reads s3:// with it). Empty: "
        "$BROOK_HOME/flink-plugins when BROOK_HOME is set (make flink-s3-plugin), else Flink's own plugins folder.",
    )

    def plugins(self) -> str:
        """The plugins folder the batch's JVM gets as FLINK_PLUGINS_DIR ('' = leave Flink's default)."""
        if self.plugins_dir:
            return self.plugins_dir
        home = os.environ.get("BROOK_HOME", "")
        return str(Path(home) / "flink-plugins") if home else ""

    def validate(self) -> None:
        if self.top_products < 1:
            raise ConfigError(f"BROOK_ECOMMERCE_TOP_PRODUCTS={self.top_products}: must be at least 1.")

    def check_plugins(self) -> None:
        """Fail naming the fix when the plugins folder lacks the S3 plugin (only the Flink batch needs it)."""
        folder = self.plugins()
        if folder and not (Path(folder) / S3_PLUGIN).is_dir():
            raise ConfigError(
                f"Flink plugins folder {folder} has no {S3_PLUGIN}/ (BROOK_ECOMMERCE_FLINK_PLUGINS_DIR): run "
                "`make flink-s3-plugin`, or point the setting at a folder that has it."
            )
