"""Fixtures live in tests/fixtures/ (loaded below); plain helpers in tests/helpers.py."""

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.processes",
    "tests.fixtures.web",
    "tests.fixtures.fakes",
    "tests.fixtures.browser",
    "tests.fixtures.i18n",
]


def pytest_generate_tests(metafunc):
    """Tests marked `both_databases` (or in a module so marked) run on SQLite and on PostgreSQL."""
    if "db_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("db_backend", ["sqlite", "postgresql"])
