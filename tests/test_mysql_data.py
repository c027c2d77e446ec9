"""Checks of the loans data in the local MariaDB, and of the generator's determinism.

Needs the local server with the data loaded: run `dev/mysql.sh up` first (it installs MariaDB,
starts it where `dev/mysql.sh env` says and loads the real hdma-wi-2021.sql.gz from the repository
root if present, else the synthetic dump). The figures checked here are the contract's, so they hold for
the real dump as well as for the synthetic one.
"""

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from lenderdev import export_filter, mariadb_cmd, mysql, on_export

ROOT = Path(__file__).resolve().parent.parent
DB = mysql()["database"]

TOTAL = 447_367
IN_RANGE = 426_716
BY_TYPE = {1: 389_217, 2: 30_496, 3: 24_551, 4: 3_103}
TYPE_NAMES = {1: "Conventional", 2: "FHA-insured", 3: "VA-guaranteed", 4: "RHS or FSA-guaranteed"}
IN_RANGE_SQL = export_filter()  # the export's amount rule, from src/export_query.sql


def query(sql):
    """Runs SQL as root over TCP (the way the service connects); returns rows of strings."""
    if shutil.which("mariadb") is None:
        pytest.fail("the `mariadb` client is not installed: run dev/mysql.sh up", pytrace=False)
    proc = subprocess.run(mariadb_cmd("--batch", "--skip-column-names", "-e", sql),
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        m = mysql()
        pytest.fail(
            f"query failed against {m['host']}:{m['port']}/{DB} (is the server up and loaded? run dev/mysql.sh up):\n"
            f"{sql}\n{proc.stderr.strip()}",
            pytrace=False,
        )
    return [line.split("\t") for line in proc.stdout.splitlines()]


def scalar(sql):
    rows = query(sql)
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    return rows[0][0]


@pytest.fixture(scope="module", autouse=True)
def server_is_loaded():
    tables = {r[0] for r in query("SHOW TABLES")}
    missing = {"loans", "loan_types"} - tables
    if missing:
        pytest.fail(f"database {DB} lacks {sorted(missing)}: run dev/mysql.sh up", pytrace=False)


def test_loans_row_count():
    assert int(scalar("SELECT COUNT(*) FROM loans")) == TOTAL


def test_rows_in_range():
    assert int(scalar(f"SELECT COUNT(*) FROM loans WHERE {IN_RANGE_SQL}")) == IN_RANGE


def test_rows_per_loan_type():
    got = {int(t): int(n) for t, n in query("SELECT loan_type_id, COUNT(*) FROM loans GROUP BY loan_type_id")}
    assert got == BY_TYPE


def test_loan_types_table():
    got = {int(i): name for i, name in query("SELECT id, loan_type_name FROM loan_types")}
    assert got == TYPE_NAMES


def test_inner_join_keeps_every_row_and_maps_names():
    rows = query(
        "SELECT loans.loan_type_id, loan_types.loan_type_name, COUNT(*) FROM loans "
        "INNER JOIN loan_types ON loans.loan_type_id = loan_types.id GROUP BY 1, 2"
    )
    got = {(int(t), name): int(n) for t, name, n in rows}
    assert got == {(t, TYPE_NAMES[t]): n for t, n in BY_TYPE.items()}
    assert int(scalar(on_export("COUNT(*)"))) == IN_RANGE  # the export query: the join, in range


def test_72_wisconsin_counties_each_with_rows_in_range():
    rows = query(
        f"SELECT county_code, COUNT(*), SUM({IN_RANGE_SQL}) "
        "FROM loans WHERE county_code IS NOT NULL GROUP BY county_code"
    )
    codes = {int(float(c)) for c, _, _ in rows}
    assert len(codes) == 72
    assert all(55001 <= c <= 55141 for c in codes), sorted(codes)
    assert all(int(float(k)) > 0 for _, _, k in rows), "every county has rows in range"
    by_count = sorted(((int(n), int(float(c))) for c, n, _ in rows), reverse=True)
    assert by_count[0][1] == 55079, "Milwaukee has the most applications"
    assert 0.08 < by_count[0][0] / TOTAL < 0.12


def test_some_counties_unknown():
    n = int(scalar("SELECT COUNT(*) FROM loans WHERE county_code IS NULL"))
    assert 0 < n < 0.05 * TOTAL


def test_income_nulls_in_plausible_band():
    n = int(scalar("SELECT COUNT(*) FROM loans WHERE income IS NULL"))
    assert 40_000 <= n <= 55_000, n


def test_loan_amounts_are_bin_midpoints_with_known_max():
    assert float(scalar("SELECT MAX(loan_amount) FROM loans")) == 264_185_000
    off_bin = int(scalar("SELECT COUNT(*) FROM loans WHERE MOD(loan_amount, 10000) <> 5000"))
    assert off_bin == 0


def test_loans_columns():
    rows = query(
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{DB}' AND table_name = 'loans' ORDER BY ordinal_position"
    )
    names = [r[0] for r in rows]
    assert len(names) == 99
    assert "id" not in names and "loan_type_name" not in names
    assert names[0] == "activity_year" and names[-1] == "tract_median_age_of_housing_units"
    assert "loan_type_id" in names and "loan_type" not in names
    types = dict(rows)
    assert types["loan_amount"] in {"int", "bigint", "double", "float", "decimal"}, types["loan_amount"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@pytest.fixture(scope="module")
def generator_runs():
    """Runs the generator twice at 1x; returns each run's (size, sha256) (one generation shared by the tests)."""
    if shutil.which("cargo") is None:
        pytest.fail("cargo is needed to run the datagen generator", pytrace=False)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in (1, 2):
            out = Path(tmp) / f"run{i}.sql.gz"
            subprocess.run(
                ["cargo", "run", "-q", "-p", "datagen", "--release", "--", "--quiet", "--out", str(out)],
                cwd=ROOT, check=True, timeout=900,
            )
            runs.append((out.stat().st_size, sha256(out)))
    return runs


def test_generator_is_byte_identical_across_runs(generator_runs):
    (size, first), (_, second) = generator_runs
    assert size > 10_000_000
    assert first == second


def test_generator_output_matches_the_recorded_checksum(generator_runs):
    recorded = (ROOT / "datagen" / "expected-1x.sha256").read_text().split()[0]
    _, got = generator_runs[0]
    assert got == recorded, (
        f"the generator's 1x output has sha256 {got}, datagen/expected-1x.sha256 records {recorded}: "
        "if the data change is intended, update datagen/expected-1x.sha256"
    )
