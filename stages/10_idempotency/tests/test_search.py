import pytest


def test_search_matches_title_or_author_case_insensitively(client, shelf):
    body = client.get("/books/search?q=dune").get_json()
    assert [b["title"] for b in body["data"]] == ["Dune", "Dune Messiah"]
    assert body["meta"]["total"] == 2
    by_author = client.get("/books/search?q=AUSTEN").get_json()["data"]
    assert [b["title"] for b in by_author] == ["Emma"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [("%", ["50% Off"]), ("_", ["Anna_Karenina"]), ("'", []), ("--", []), ("' OR 1=1 --", [])],
)
def test_search_treats_sql_and_like_characters_literally(client, shelf, q, expected):
    response = client.get("/books/search", query_string={"q": q})
    assert response.status_code == 200
    assert [b["title"] for b in response.get_json()["data"]] == expected


@pytest.mark.parametrize(
    ("query", "parameter"), [("", "q"), ("q=", "q"), ("q=" + "x" * 101, "q"), ("q=a&x=1", "x")]
)
def test_search_needs_a_short_q_and_nothing_else(client, query, parameter):
    response = client.get(f"/books/search?{query}")
    assert response.status_code == 400
    assert list(response.get_json()["errors"]) == [parameter]


def test_search_leaves_out_withdrawn_books(client, admin, shelf):
    client.delete(f"/books/{shelf[0]['id']}", headers=admin)
    assert [b["title"] for b in client.get("/books/search?q=dune").get_json()["data"]] == [
        "Dune Messiah"
    ]
