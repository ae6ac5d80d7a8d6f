"""error_signature: variable parts normalised away, the words kept."""

import pytest

from executions.signatures import MAX_LENGTH, NO_ERROR, error_signature


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Task exec-123 failed at step 4", "Task exec-<n> failed at step <n>"),
        ("Request 3f2b9c1e-1a2b-4c3d-8e9f-0123456789ab rejected", "Request <uuid> rejected"),
        ("commit 9fceb02d0ae598e95dc970b74767f19372d61af8 not found", "commit <hex> not found"),
        ("bad pointer 0xDEADBEEF", "bad pointer <hex>"),
        ('KeyError "user_name" while parsing', "KeyError <str> while parsing"),
        ("Missing field 'customer id' in output", "Missing field <str> in output"),
        ("No such file /srv/app/jobs/run.py", "No such file <path>"),
        ("see src/app/main.py for details", "see <path> for details"),
        ("C:\\Users\\bob\\report.txt is locked", "<path> is locked"),
        ("Timeout after 30s calling https://api.example.com/v1/items?id=7", "Timeout after <n>s calling <url>"),
        ("worker user42 crashed on node a1b2c3", "worker <id> crashed on node <id>"),
        ("Token budget exceeded: 12,345 > 8000", "Token budget exceeded: <n> > <n>"),
        ("  too   many\n spaces ", "too many spaces"),
    ],
)
def test_it_normalises_the_variable_parts_of_an_error(text, expected):
    assert error_signature(text) == expected


def test_it_gives_errors_that_differ_only_in_ids_and_numbers_the_same_signature():
    a = error_signature("Task exec-17-write failed: HTTP 503 from /var/run/svc-1.sock after 3 retries (req 9f8e7d6c5b)")
    b = error_signature("Task exec-90210-write failed: HTTP 502 from /var/run/svc-2.sock after 12 retries (req 0a1b2c3d4e)")
    assert a == b == "Task exec-<n>-write failed: HTTP <n> from <path> after <n> retries (req <hex>)"


def test_it_keeps_different_words_apart():
    assert error_signature("Connection refused by 10.0.0.1") != error_signature("Connection reset by 10.0.0.1")


def test_it_keeps_apostrophes_inside_words_and_plain_slashes():
    assert error_signature("can't parse 'x.json' because it doesn't exist") == "can't parse <str> because it doesn't exist"
    assert error_signature("input and/or output missing") == "input and/or output missing"


def test_it_keeps_plain_words_that_happen_to_be_hex_letters():
    assert error_signature("decade of facade") == "decade of facade"


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_it_names_a_missing_error(text):
    assert error_signature(text) == NO_ERROR


def test_it_bounds_the_signature_length():
    signature = error_signature("word " * 500)
    assert len(signature) == MAX_LENGTH and signature.endswith("…")
