import pytest

# The helpers modules assert like the tests do: let pytest rewrite their asserts for useful messages.
pytest.register_assert_rewrite("tests.helpers", "tests.browser.helpers", "tests.faults.helpers")
