from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "threadline", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_the_working_commands(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "db" in result.stdout
    assert "contracts" in result.stdout


def test_db_upgrade_creates_the_default_sqlite_file_twice_without_change(tmp_path: Path) -> None:
    env = {"THREADLINE_DATABASE_URL": ""}
    env.pop("THREADLINE_DATABASE_URL")
    clean_env = {k: v for k, v in os.environ.items() if k != "THREADLINE_DATABASE_URL"}
    first = subprocess.run(
        [sys.executable, "-m", "threadline", "db", "upgrade"],
        cwd=tmp_path,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "threadline.db").exists()
    second = subprocess.run(
        [sys.executable, "-m", "threadline", "db", "upgrade"],
        cwd=tmp_path,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    assert first.stdout == second.stdout


def test_db_upgrade_honours_the_database_url(empty_database_url: str, tmp_path: Path) -> None:
    result = run_cli(
        "db", "upgrade", cwd=tmp_path, env={"THREADLINE_DATABASE_URL": empty_database_url}
    )
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(empty_database_url)
    try:
        assert "service_leases" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_contracts_export_writes_the_schemas(tmp_path: Path) -> None:
    result = run_cli("contracts", "export", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert len(index["types"]) >= 20
    for entry in index["types"]:
        assert (tmp_path / "out" / entry["file"]).is_file()
